package middleware

import (
	"context"
	"reflect"
	"sync"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/rbac"
)

// Source tells how a request's session was decided.
type Source string

// Sources of a decision.
const (
	// SourceLocal: the session JWT was verified locally (no network).
	SourceLocal Source = "local"
	// SourceCache: a recent remote answer for the same credential was reused.
	SourceCache Source = "cache"
	// SourceRemote: Stytch's Authenticate endpoint answered for this request.
	SourceRemote Source = "remote"
)

// Principal is the authenticated subject of a request: a member session, or
// an M2M client. What FromContext hands out is the request's own: its
// fields, and everything they point to, are copies made for this request
// when it first asks (a handler that never asks pays nothing for them), so a
// handler may change them without affecting any other request or the
// guard's caches.
type Principal struct {
	// MemberSession is the session; nil only for an M2M principal.
	MemberSession *client.MemberSession
	// Claims are the verified JWT claims; nil when the session was decided
	// by Stytch, and for an M2M principal.
	Claims *client.Claims
	// Member and Organization are set when Stytch's Authenticate answered;
	// nil after a local verification.
	Member       *client.Member
	Organization *client.Organization
	// M2M holds the verified claims of an M2M access token; nil for a
	// member session.
	M2M *client.M2MClaims
	// Source tells whether the session (or, after a Require that had no
	// usable policy, its authorization) was decided locally or remotely.
	Source Source

	// shared is the guard's view: values owned by the verifier's and the
	// remote cache, never handed to user code. copied makes the exported
	// fields from it once, on the first FromContext.
	shared shared
	copied sync.Once

	// typed caches CustomClaims decodings, per type.
	claimsMu sync.Mutex
	typed    map[reflect.Type]typedClaims

	cred    Credential
	guard   *Guard // the Guard that decided it
	verdict *client.AuthorizationVerdict
	index   *rbac.Index
	check   client.AuthorizationCheck
}

// shared are the values a decision is made from, shared with the caches.
type shared struct {
	session *client.MemberSession
	claims  *client.Claims
	member  *client.Member
	org     *client.Organization
	m2m     *client.M2MClaims
}

// export fills p's exported fields with deep copies of the shared values,
// once.
func (p *Principal) export() {
	p.copied.Do(func() {
		p.MemberSession = deepCopy(p.shared.session)
		p.Claims = deepCopy(p.shared.claims)
		p.Member = deepCopy(p.shared.member)
		p.Organization = deepCopy(p.shared.org)
		p.M2M = deepCopy(p.shared.m2m)
	})
}

// session is the member session the guard decides with: the shared one of
// a principal the guard made, the exported one of a NewContext principal.
func (p *Principal) session() *client.MemberSession {
	if p.guard != nil {
		return p.shared.session
	}
	return p.MemberSession
}

// m2mClaims is the M2M client's claims the guard decides with.
func (p *Principal) m2mClaims() *client.M2MClaims {
	if p.guard != nil {
		return p.shared.m2m
	}
	return p.M2M
}

// Verdict returns the verdict of the last guard that authorized the request,
// with every granting role, or false when no guard has run. The verdict is
// the caller's own copy. A local verdict is computed when asked for, so
// guards pay nothing for it otherwise.
func (p *Principal) Verdict() (*client.AuthorizationVerdict, bool) {
	if p.verdict != nil {
		return deepCopy(p.verdict), true
	}
	s := p.session()
	if p.index == nil || s == nil {
		return nil, false
	}
	v, err := p.index.Verdict(s.OrganizationID, s.Roles, &p.check)
	if err != nil {
		return nil, false
	}
	return v, true
}

type ctxKey struct{}

// principalContext carries a Principal; the Guard allocates the two
// together, one allocation per request instead of two.
type principalContext struct {
	context.Context
	p Principal
}

// Value returns the Principal for the package's key and defers to the
// parent for every other key.
func (c *principalContext) Value(key any) any {
	if key == (ctxKey{}) {
		return &c.p
	}
	return c.Context.Value(key)
}

// newPrincipal returns a Principal living inside a context derived from
// parent.
func newPrincipal(parent context.Context) (*principalContext, context.Context) {
	c := &principalContext{Context: parent}
	return c, c
}

// NewContext returns a copy of ctx carrying p. It lets tests of handlers
// build a request as the Guard would. Guards do not trust such a Principal:
// a guarded route behind it still authenticates the request itself.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the Principal the Guard stored, if any. Its fields
// are the request's own copies: changing them affects no other request.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(*Principal)
	if !ok || p == nil {
		return nil, false
	}
	if p.guard != nil {
		p.export()
	}
	return p, true
}

// MemberSessionFromContext returns the session of the request, if any.
func MemberSessionFromContext(ctx context.Context) (*client.MemberSession, bool) {
	p, ok := FromContext(ctx)
	if !ok {
		return nil, false
	}
	return p.MemberSession, p.MemberSession != nil
}

// ClaimsFromContext returns the verified JWT claims of the request, if the
// session was decided from a JWT.
func ClaimsFromContext(ctx context.Context) (*client.Claims, bool) {
	p, ok := FromContext(ctx)
	if !ok {
		return nil, false
	}
	return p.Claims, p.Claims != nil
}
