package verifier

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/stytchguard/stytchguard/client"
)

// ScopeClaimName is the claim holding an M2M access token's scopes, one
// space-separated string.
const ScopeClaimName = "scope"

// MaxM2MTokenLifetime is the largest exp - iat accepted for an M2M access
// token (plus leeway): Stytch's live one hour.
const MaxM2MTokenLifetime = time.Hour

// tokenKind is what a token's claims say it is.
type tokenKind uint8

const (
	// kindSession: the https://stytch.com/session claim is present (not
	// null).
	kindSession tokenKind = iota + 1
	// kindM2M: no session claim, and scope is a JSON string.
	kindM2M
	// kindNeither: no session claim and no string scope. The session rules
	// refuse it for its missing session claim, the M2M rules for its scope.
	kindNeither
	// kindAny is a request for either kind, never a token's kind.
	kindAny
)

// kind tells a session JWT from an M2M access token by its claims alone:
// both are signed by the same project keys.
func (p *payload) kind() tokenKind {
	if p.Session != nil {
		return kindSession
	}
	if _, ok := p.Others[ScopeClaimName].(string); ok {
		return kindM2M
	}
	return kindNeither
}

// VerifyM2M checks an M2M access token (an OAuth 2.0 client-credentials
// token Stytch issued to an M2M client) locally and returns its claims.
// There is no remote path for M2M tokens: it makes no network call, except
// the shared, rate-limited JWKS refetch Verify may make too.
//
// The token is told from a session JWT by its claims, never by its key: it
// has no https://stytch.com/session claim and its scope is a JSON string. It
// is held to the session rules for keys, algorithm, header, issuer (custom
// domain included), audience, leeway and strict decoding; sub (the client
// id), exp and iat are required; exp - iat is at most MaxM2MTokenLifetime
// plus the leeway; an https://stytch.com/organization claim is refused. The
// scopes are the scope claim split at spaces; the custom claims are every
// top-level claim other than iss, sub, aud, exp, nbf, iat and scope.
//
// The result is the caller's own (a deep copy): changing it changes
// nothing the Verifier holds.
//
// Errors are *TokenError values with M2M set (CanRefreshRemotely is false
// for every one of them, an expired token included). A session JWT is
// ErrNotM2M; a token whose scope is missing or not a string, as an array or
// a number, is ErrClaims. It is safe for concurrent use.
func (v *Verifier) VerifyM2M(ctx context.Context, accessToken string) (*client.M2MClaims, error) {
	e, err := v.lookup(ctx, accessToken, kindM2M, 0, time.Time{})
	if err != nil {
		return nil, err
	}
	return cloneM2M(&e.m2m), nil
}

// m2mClaims maps the verified claims of an M2M token to c. It consumes p.
func m2mClaims(p *payload, c *client.M2MClaims) {
	scope := p.Others[ScopeClaimName].(string)
	delete(p.Others, ScopeClaimName)
	scopes := make([]string, 0, strings.Count(scope, " ")+1)
	for s := range strings.SplitSeq(scope, " ") {
		if s != "" {
			scopes = append(scopes, s)
		}
	}
	*c = client.M2MClaims{ClientID: p.Subject, Scopes: scopes, CustomClaims: p.Others}
	if c.CustomClaims == nil {
		c.CustomClaims = map[string]any{}
	}
}

// cloneM2M returns a deep copy of c.
func cloneM2M(c *client.M2MClaims) *client.M2MClaims {
	return &client.M2MClaims{
		ClientID:     c.ClientID,
		Scopes:       slices.Clone(c.Scopes),
		CustomClaims: cloneJSONObject(c.CustomClaims),
	}
}

// cloneJSONObject deep-copies a decoded JSON object: its values are nil,
// bool, float64, string, []any and map[string]any.
func cloneJSONObject(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneJSON(v)
	}
	return out
}

func cloneJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneJSONObject(v)
	case []any:
		out := slices.Clone(v)
		for i := range out {
			out[i] = cloneJSON(out[i])
		}
		return out
	}
	return v
}
