package middleware

import (
	"context"

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

// Principal is the authenticated session of a request. Treat it as
// read-only, down to the fields of what it points to: the session and claims
// of a locally verified JWT are the verified-token cache's own, shared by
// every request with the same token, and a remote answer is shared with the
// requests it was coalesced or cached for. Copy a value before changing it.
type Principal struct {
	// MemberSession is the session; never nil.
	MemberSession *client.MemberSession
	// Claims are the verified JWT claims, shared with the verifier's
	// verified-token cache; nil when the session was decided by Stytch.
	Claims *client.Claims
	// Member and Organization are set when Stytch's Authenticate answered;
	// nil after a local verification.
	Member       *client.Member
	Organization *client.Organization
	// Source tells whether the session (or, after a Require that had no
	// usable policy, its authorization) was decided locally or remotely.
	Source Source

	cred    Credential
	guard   *Guard // the Guard that decided it
	verdict *client.AuthorizationVerdict
	index   *rbac.Index
	check   client.AuthorizationCheck
}

// Verdict returns the verdict of the last guard that authorized the request,
// with every granting role, or false when no guard has run. A local verdict
// is computed when asked for, so guards pay nothing for it otherwise.
func (p *Principal) Verdict() (*client.AuthorizationVerdict, bool) {
	if p.verdict != nil {
		return p.verdict, true
	}
	if p.index == nil {
		return nil, false
	}
	v, err := p.index.Verdict(p.MemberSession.OrganizationID, p.MemberSession.Roles, &p.check)
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

// FromContext returns the Principal the Guard stored, if any.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(*Principal)
	return p, ok && p != nil
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
