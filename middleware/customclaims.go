package middleware

import (
	"context"
	"reflect"

	"github.com/go-json-experiment/json"
)

// typedClaims is one decoding of a principal's custom claims.
type typedClaims struct {
	v  any
	ok bool
}

// CustomClaims decodes the custom claims of the request's principal (the
// member session's, or the M2M client's) into a T, once per request and
// type: later calls on the same request return the value decoded first.
// The decoding is strict about types and names (JSON names match field
// names or tags exactly; a claim of the wrong type fails the decoding) and
// ignores claims T does not declare. It returns false when the request has
// no principal or when the claims do not decode into T.
//
// The value is the request's own: changing it affects no other request,
// but later calls on this request see the change.
func CustomClaims[T any](ctx context.Context) (T, bool) {
	var zero T
	p, ok := ctx.Value(ctxKey{}).(*Principal)
	if !ok || p == nil {
		return zero, false
	}
	typ := reflect.TypeFor[T]()
	p.claimsMu.Lock()
	defer p.claimsMu.Unlock()
	if tc, ok := p.typed[typ]; ok {
		v, _ := tc.v.(T)
		return v, tc.ok
	}
	var src map[string]any
	switch {
	case p.guard != nil && p.shared.session != nil:
		src = p.shared.session.CustomClaims
	case p.guard != nil && p.shared.m2m != nil:
		src = p.shared.m2m.CustomClaims
	case p.MemberSession != nil:
		src = p.MemberSession.CustomClaims
	case p.M2M != nil:
		src = p.M2M.CustomClaims
	}
	var v T
	ok = decodeClaims(src, &v)
	if !ok {
		v = zero
	}
	if p.typed == nil {
		p.typed = map[reflect.Type]typedClaims{}
	}
	p.typed[typ] = typedClaims{v: v, ok: ok}
	return v, ok
}

// decodeClaims decodes the JSON values of src into dst with the strict
// parser: a nil src decodes as an empty object.
func decodeClaims(src map[string]any, dst any) bool {
	if src == nil {
		src = map[string]any{}
	}
	b, err := json.Marshal(src)
	if err != nil {
		return false
	}
	return json.Unmarshal(b, dst) == nil
}
