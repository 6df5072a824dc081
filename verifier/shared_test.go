package verifier

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestVerifyShared pins the hot path's result: exactly one kind set on
// success, Identity and IssuedAt on success and on every refreshable error,
// and nothing about the session otherwise.
func TestVerifyShared(t *testing.T) {
	ctx := context.Background()
	alice := Identity{SessionID: "member-session-test-1", MemberID: "member-test-1", OrganizationID: "organization-test-1"}
	exp0 := iat0.Add(MaxTokenLifetime)
	cases := []struct {
		name     string
		token    func(e *env) string
		at       time.Time     // zero: t0
		maxAge   time.Duration // session tokens only
		cold     bool          // no keys held
		want     error
		session  bool
		m2m      bool
		identity Identity
	}{
		// A session JWT: the session and its identity.
		{name: "session", token: func(e *env) string { return e.sign(t, e.claims(iat0), nil) }, session: true, identity: alice},
		// An M2M token: its claims and no identity; maxAge does not apply to it.
		{name: "m2m", token: func(e *env) string { return e.sign(t, e.m2mClaims(iat0), nil) }, maxAge: time.Second, m2m: true},
		// Expired with a verified signature: refreshable, so its identity is known.
		{name: "session_expired", token: func(e *env) string { return e.sign(t, e.claims(iat0), nil) }, at: exp0.Add(time.Hour), want: ErrExpired, identity: alice},
		// Older than maxAge: refreshable, identity known.
		{name: "session_too_old", token: func(e *env) string { return e.sign(t, e.claims(iat0), nil) }, maxAge: time.Second, want: ErrTooOld, identity: alice},
		// No keys to check it: refreshable, identity as decoded.
		{name: "session_no_keys", token: func(e *env) string { return e.sign(t, e.claims(iat0), nil) }, cold: true, want: ErrKeysUnavailable, identity: alice},
		// A forged signature: nothing about it is trusted, not even its identity.
		{name: "session_forged", token: func(e *env) string { return tamper(e.sign(t, e.claims(iat0), nil), 2) }, want: ErrBadSignature},
		// An expired M2M token: no identity, never refreshable.
		{name: "m2m_expired", token: func(e *env) string { return e.sign(t, e.m2mClaims(iat0), nil) }, at: iat0.Add(2 * time.Hour), want: ErrExpired},
		// An M2M token without keys: no identity, never refreshable.
		{name: "m2m_no_keys", token: func(e *env) string { return e.sign(t, e.m2mClaims(iat0), nil) }, cold: true, want: ErrKeysUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e *env
			if tc.cold {
				var err error
				if e, err = newColdEnv(t, stytchtest.Fault{Status: 503}, nil); err != nil {
					t.Fatal(err)
				}
			} else {
				e = newEnv(t, nil)
			}
			tok := tc.token(e)
			if !tc.at.IsZero() {
				e.clock.Set(tc.at)
			}
			for _, round := range []string{"first", "second"} { // a miss, then a hit where one is cached
				res, err := e.v.VerifyShared(ctx, tok, tc.maxAge, time.Time{})
				if tc.want == nil && err != nil || !errors.Is(err, tc.want) {
					t.Fatalf("%s: err = %v, want %v", round, err, tc.want)
				}
				if (res.Session != nil) != tc.session || (res.Claims != nil) != tc.session || (res.M2M != nil) != tc.m2m {
					t.Fatalf("%s: Session %v, Claims %v, M2M %v; want session %v, m2m %v", round, res.Session != nil, res.Claims != nil, res.M2M != nil, tc.session, tc.m2m)
				}
				if res.Identity != tc.identity {
					t.Fatalf("%s: Identity = %+v, want %+v", round, res.Identity, tc.identity)
				}
				if refreshable := CanRefreshRemotely(err); refreshable != (tc.identity != Identity{} && err != nil) {
					t.Fatalf("%s: CanRefreshRemotely = %v", round, refreshable)
				}
				if known := !res.IssuedAt.IsZero(); known != (tc.session || tc.m2m || tc.identity != Identity{}) {
					t.Fatalf("%s: IssuedAt = %v", round, res.IssuedAt)
				} else if known && !res.IssuedAt.Equal(iat0) {
					t.Fatalf("%s: IssuedAt = %v, want %v", round, res.IssuedAt, iat0)
				}
			}
		})
	}
}
