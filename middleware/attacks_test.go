package middleware_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stytchguard/stytchguard/internal/attacks"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestVerifierAttackTableOverHTTP replays the verifier's whole attack table
// (internal/attacks, session and M2M cases) through a Guard (Authenticate
// for session cases, RequireScopes for M2M ones), each token as a Bearer
// header and as a cookie, each case on its own emulator and clock: a token
// the verifier refuses is 401 with no call to Stytch's Authenticate; an
// authentic expired one goes to Stytch, which never issued its session, so
// it is 401 session_expired after one call per credential at most; a valid
// one reaches the handler.
func TestVerifierAttackTableOverHTTP(t *testing.T) {
	for _, tc := range append(attacks.Table(t0), attacks.M2MTable(t0)...) {
		t.Run(tc.Name, func(t *testing.T) {
			e := newEnv(t, nil)
			_, jwt := e.session(orgAcme, "", "viewer")
			e.warm(jwt) // keys loaded: no case goes remote for want of them
			tok := tc.Token(t, &attacks.Env{Server: e.srv, T0: t0})
			if !tc.At.IsZero() {
				e.clock.Set(tc.At)
			}
			h := e.g.Authenticate(okHandler())
			if tc.Kind == attacks.M2M {
				// Machine tokens are for scope routes (the table's carry
				// read:documents).
				h = e.g.RequireScopes("read:documents")(okHandler())
			}
			before := e.srv.Calls(stytchtest.EndpointAuthenticate)
			for _, via := range []string{"header", "cookie"} {
				r := req("GET", "/", bearer(tok))
				if via == "cookie" {
					r = req("GET", "/")
					r.Header.Set("Cookie", middleware.DefaultJWTCookie+"="+tok)
				}
				rec := do(h, r)
				want := tc.Want
				if via == "cookie" && tc.Name == "trailing_space" {
					// Cookie parsing drops the whitespace around a value
					// (RFC 6265): the Guard receives the valid token.
					want = attacks.Accepted
				}
				if via == "cookie" && tc.Kind == attacks.M2M && want != attacks.NotM2M {
					// An M2M token is never accepted from a cookie.
					want = attacks.Reason("refused as a cookie")
				}
				if tc.Kind == attacks.M2M && want == attacks.Expired {
					// No remote path for M2M tokens: expired is final.
					want = attacks.Reason("expired M2M token")
				}
				switch want {
				case attacks.Accepted:
					if rec.Code != http.StatusOK {
						t.Fatalf("%s: status %d, want 200; body %s", via, rec.Code, rec.Body.String())
					}
					continue
				case attacks.Expired:
					wantStatus(t, rec, http.StatusUnauthorized, middleware.CodeSessionExpired)
				case attacks.NotM2M:
					// A member's session JWT on a machine route, whether
					// valid or expired: 403, and Stytch is not asked.
					wantStatus(t, rec, http.StatusForbidden, middleware.CodeForbidden)
				default:
					if rec.Code != http.StatusUnauthorized {
						t.Fatalf("%s: status %d, want 401; body %s", via, rec.Code, rec.Body.String())
					}
				}
				noSecretIn(t, via+" body", rec.Body.String(), tok)
				noSecretIn(t, via+" headers", strings.Join(rec.Header().Values("WWW-Authenticate"), ";"), tok)
			}
			calls := e.srv.Calls(stytchtest.EndpointAuthenticate) - before
			switch {
			case tc.Want == attacks.Expired && tc.Kind == attacks.Session && (calls < 1 || calls > 2):
				t.Fatalf("%d authenticate calls for an authentic expired token, want 1 or 2", calls)
			case (tc.Want != attacks.Expired || tc.Kind == attacks.M2M) && calls != 0:
				t.Fatalf("%d authenticate calls, want 0", calls)
			}
		})
	}
}

func TestExtractionEdgeCases(t *testing.T) {
	e := newEnv(t, nil)
	tok, valid := e.session(orgAcme, "", "viewer")
	e.warm(valid)
	h := e.g.Authenticate(okHandler())
	cases := []struct {
		name   string
		opts   []reqOpt
		status int
	}{
		// two Authorization headers: which one would a proxy check?
		{"two authorization headers", []reqOpt{header("Authorization", "Bearer "+valid), header("Authorization", "Bearer "+valid)}, 401},
		// lower-case scheme is legal
		{"lowercase scheme", []reqOpt{header("Authorization", "bearer "+valid)}, 200},
		// several spaces are still a space separator
		{"several spaces", []reqOpt{header("Authorization", "Bearer    "+valid)}, 200},
		// a tab is not a space
		{"tab separator", []reqOpt{header("Authorization", "Bearer\t"+valid)}, 401},
		// credential with an embedded space
		{"embedded space", []reqOpt{header("Authorization", "Bearer "+valid[:20]+" "+valid[20:])}, 401},
		// empty bearer
		{"empty bearer", []reqOpt{header("Authorization", "Bearer")}, 401},
		// another scheme is not ours: no credential
		{"basic scheme", []reqOpt{header("Authorization", "Basic dXNlcjpwYXNz")}, 401},
		// a planted duplicate cookie from a sibling domain
		{"duplicate jwt cookie", []reqOpt{header("Cookie", "stytch_session_jwt="+valid+"; stytch_session_jwt="+valid)}, 401},
		// duplicate token cookie
		{"duplicate token cookie", []reqOpt{header("Cookie", "stytch_session="+tok+"; stytch_session="+tok)}, 401},
		// a token too short to be Stytch's
		{"short opaque token", []reqOpt{bearer("abc")}, 401},
		// JWT-shaped cookie value that is not a JWT
		{"malformed jwt cookie", []reqOpt{header("Cookie", "stytch_session_jwt=a.b")}, 401},
		// NUL in a cookie is dropped by the parser: no credential
		{"nul in cookie", []reqOpt{header("Cookie", "stytch_session_jwt=a\x00b")}, 401},
		{"valid cookie", []reqOpt{cookies(valid, "")}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(h, req("GET", "/", tc.opts...))
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.status, rec.Body.String())
			}
		})
	}
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 0 {
		t.Fatalf("authenticate calls = %d, want 0", n)
	}
}
