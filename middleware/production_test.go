package middleware_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/internal/attacks"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestCrossOriginCookieRequests: an unsafe method authenticated by cookies
// must pass http.CrossOriginProtection; Bearer requests and safe methods
// are exempt.
func TestCrossOriginCookieRequests(t *testing.T) {
	cop := http.NewCrossOriginProtection()
	if err := cop.AddTrustedOrigin("https://partner.example"); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *middleware.Config) { c.CrossOrigin = cop })
	tok, jwt := e.session(orgAcme, "member-test-csrf", "editor")
	e.warm(jwt)
	h := e.g.Require("documents", "write")(okHandler())
	viaCookies := cookies(jwt, tok)
	cases := []struct {
		name   string
		method string
		opts   []reqOpt
		status int
		code   string
	}{
		// The browser says the request comes from the page's own origin.
		{"same origin", "POST", []reqOpt{viaCookies, header("Sec-Fetch-Site", "same-origin")}, 200, ""},
		// A form on another site posts with the victim's cookies.
		{"cross site", "POST", []reqOpt{viaCookies, header("Sec-Fetch-Site", "cross-site")}, 403, middleware.CodeCrossOrigin},
		// An older browser: only Origin, and it is not this host.
		{"foreign origin", "DELETE", []reqOpt{viaCookies, header("Origin", "https://evil.example")}, 403, middleware.CodeCrossOrigin},
		// A sibling subdomain is same-site but not same-origin.
		{"same site", "PUT", []reqOpt{viaCookies, header("Sec-Fetch-Site", "same-site")}, 403, middleware.CodeCrossOrigin},
		// curl and servers send neither header: not a browser, no CSRF.
		{"no headers", "POST", []reqOpt{viaCookies}, 200, ""},
		// A Bearer credential is never added by a browser on its own.
		{"bearer cross site", "POST", []reqOpt{bearer(jwt), header("Sec-Fetch-Site", "cross-site"), header("Origin", "https://evil.example")}, 200, ""},
		// Safe methods do not change state.
		{"safe method cross site", "GET", []reqOpt{viaCookies, header("Sec-Fetch-Site", "cross-site")}, 200, ""},
		// A GET that claims DELETE through an override header is judged as a DELETE.
		{"override to unsafe", "GET", []reqOpt{viaCookies, header("Sec-Fetch-Site", "cross-site"), header("X-HTTP-Method-Override", "DELETE")}, 403, middleware.CodeCrossOrigin},
		// A POST claiming to be a GET is still a POST to net/http handlers: refused too.
		{"override to safe", "POST", []reqOpt{viaCookies, header("Sec-Fetch-Site", "cross-site"), header("X-HTTP-Method-Override", "GET")}, 403, middleware.CodeCrossOrigin},
		// A configured trusted origin passes.
		{"trusted origin", "PATCH", []reqOpt{viaCookies, header("Origin", "https://partner.example"), header("Sec-Fetch-Site", "cross-site")}, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.srv.ResetCalls()
			wantStatus(t, do(h, req(tc.method, "/", tc.opts...)), tc.status, tc.code)
		})
	}
	// The refusal comes before verification: a forged JWT cross-site is
	// refused as cross-origin, and nothing reaches Stytch.
	rec := do(h, req("POST", "/", cookies(attacks.Tamper(jwt, 2), ""), header("Sec-Fetch-Site", "cross-site")))
	wantStatus(t, rec, 403, middleware.CodeCrossOrigin)
}

// TestRequireRecentAuth: the latest factor must be younger than maxAge, on
// local and remote decisions; MFA variants count MFA factors only.
func TestRequireRecentAuth(t *testing.T) {
	e := newEnv(t, nil)
	tok, jwt := e.session(orgAcme, "member-test-stepup", "viewer")
	e.warm(jwt)
	recent := e.g.RequireRecentAuth(10 * time.Minute)(okHandler())
	mfa := e.g.RequireRecentMFA(10 * time.Minute)(okHandler())

	// Signed in just now with a magic link: recent enough, but no MFA.
	wantStatus(t, do(recent, req("GET", "/", bearer(jwt))), 200, "")
	rec := do(mfa, req("GET", "/", bearer(jwt)))
	wantStatus(t, rec, 401, middleware.CodeInsufficientAuth)
	if ch := rec.Header().Get("WWW-Authenticate"); !strings.Contains(ch, `error="insufficient_user_authentication"`) || !strings.Contains(ch, "max_age=600") {
		t.Fatalf("challenge %q", ch)
	}
	// One second inside the bound, on a remote decision (the JWT expired
	// after 5 minutes; Stytch refreshes it, the factor keeps its time).
	e.clock.Advance(10*time.Minute - time.Second)
	rec = do(recent, req("GET", "/", cookies(jwt, tok)))
	wantStatus(t, rec, 200, "")
	if body(t, rec)["source"] != string(middleware.SourceRemote) {
		t.Fatalf("want a remote decision: %v", body(t, rec))
	}
	// Exactly maxAge old is no longer younger than maxAge: step up,
	// cookies kept.
	e.clock.Advance(time.Second)
	rec = do(recent, req("GET", "/", cookies(jwt, tok)))
	wantStatus(t, rec, 401, middleware.CodeInsufficientAuth)
	if c := setCookies(rec)[middleware.DefaultTokenCookie]; c != nil && c.MaxAge < 0 {
		t.Fatal("step-up cleared the session cookies")
	}

	// A local JWT whose session carries a TOTP factor authenticated two
	// minutes ago: MFA-recent within 5 minutes, not within 1.
	ae := &attacks.Env{Server: e.srv, T0: e.clock.Now()}
	now := e.clock.Now()
	claims := ae.Claims(now)
	claims["sub"] = "member-test-stepup"
	claims[attacks.OrganizationClaim] = map[string]any{"organization_id": orgAcme, "slug": "acme"}
	claims[attacks.SessionClaim] = attacks.SessionWith(claims, map[string]any{"authentication_factors": []any{
		map[string]any{"type": "magic_link", "delivery_method": "email", "last_authenticated_at": now.Add(-time.Minute).Format(time.RFC3339)},
		map[string]any{"type": "totp", "delivery_method": "authenticator_app", "last_authenticated_at": now.Add(-2 * time.Minute).Format(time.RFC3339)},
	}})
	mfaJWT := ae.Sign(t, claims, nil)
	for _, c := range []struct {
		name  string
		guard func(http.Handler) http.Handler
		want  int
	}{
		{"MFA within 5 minutes", e.g.RequireRecentMFA(5 * time.Minute), 200},
		{"MFA within 1 minute", e.g.RequireRecentMFA(time.Minute), 401},
		{"MFA one second past the TOTP", e.g.RequireRecentMFA(2*time.Minute + time.Second), 200},
		{"MFA exactly the TOTP's age", e.g.RequireRecentMFA(2 * time.Minute), 401},
		{"any factor: the magic link counts", e.g.RequireRecentAuth(90 * time.Second), 200},
		{"any factor, exactly the magic link's age", e.g.RequireRecentAuth(time.Minute), 401},
		{"TOTP only", e.g.RequireRecentFactor(3*time.Minute, "totp"), 200},
		{"SMS OTP only: none held", e.g.RequireRecentFactor(time.Hour, "otp"), 401},
	} {
		code := ""
		if c.want == 401 {
			code = middleware.CodeInsufficientAuth
		}
		t.Run(c.name, func(t *testing.T) {
			wantStatus(t, do(c.guard(okHandler()), req("GET", "/", bearer(mfaJWT))), c.want, code)
		})
	}
}

type tierClaims struct {
	Plan   string `json:"plan"`
	Limits struct {
		Docs int      `json:"docs"`
		Tags []string `json:"tags"`
	} `json:"limits"`
}

type wrongTypes struct {
	Plan int `json:"plan"`
}

// TestCustomClaimsTyped: custom claims decode into a struct once per
// request, strictly about types, leniently about unknown claims.
func TestCustomClaimsTyped(t *testing.T) {
	e := newEnv(t, nil)
	tok, jwt := e.sessionWith(orgAcme, "member-test-typed", map[string]any{"plan": "gold", "region": "eu", "limits": map[string]any{"docs": 3, "tags": []any{"a", "b"}}}, "viewer")
	e.warm(jwt)
	for _, cred := range []reqOpt{bearer(jwt), bearer(tok)} {
		var got tierClaims
		var ok, okWrong, sameTwice bool
		h := e.g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, ok = middleware.CustomClaims[tierClaims](r.Context())
			got.Plan = "changed" // the caller's own value
			again, _ := middleware.CustomClaims[tierClaims](r.Context())
			sameTwice = again.Plan == "gold" && again.Limits.Docs == 3
			_, okWrong = middleware.CustomClaims[wrongTypes](r.Context())
		}))
		if rec := do(h, req("GET", "/", cred)); rec.Code != 200 {
			t.Fatalf("status %d", rec.Code)
		}
		if !ok || got.Limits.Docs != 3 || len(got.Limits.Tags) != 2 || !sameTwice {
			t.Fatalf("decoded %+v ok=%v same=%v", got, ok, sameTwice)
		}
		if okWrong {
			t.Fatal("a string claim decoded into an int field")
		}
	}
	if _, ok := middleware.CustomClaims[tierClaims](req("GET", "/").Context()); ok {
		t.Fatal("claims without a principal")
	}
}

// TestInsufficientScopeNamesThePermission: a 403 says what was missing.
func TestInsufficientScopeNamesThePermission(t *testing.T) {
	e := newEnv(t, nil)
	_, jwt := e.session(orgAcme, "member-test-scope", "viewer")
	e.warm(jwt)
	rec := do(e.g.Require("documents", "write")(okHandler()), req("GET", "/", bearer(jwt)))
	wantStatus(t, rec, 403, middleware.CodeForbidden)
	if ch := rec.Header().Get("WWW-Authenticate"); !strings.Contains(ch, `error="insufficient_scope"`) || !strings.Contains(ch, `scope="documents:write"`) {
		t.Fatalf("challenge %q", ch)
	}

	// Without a usable policy Stytch decides, and its refusal names the
	// permission the same way.
	e.srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Status: 503})
	e.srv.SetFault(stytchtest.EndpointOrgPolicy, stytchtest.Fault{Status: 503})
	e.clock.Advance(2 * time.Hour) // past the cached policy's maximum staleness
	tok, jwt := e.session(orgAcme, "member-test-scope-remote", "viewer")
	rec = do(e.g.Require("documents", "write")(okHandler()), req("GET", "/", bearer(jwt)))
	wantStatus(t, rec, 403, middleware.CodeForbidden)
	if ch := rec.Header().Get("WWW-Authenticate"); !strings.Contains(ch, `scope="documents:write"`) {
		t.Fatalf("remote refusal challenge %q", ch)
	}
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n == 0 {
		t.Fatal("the refusal did not come from Stytch")
	}

	// A permission refusal of an Authenticate that asked no permission is
	// not about the request: an upstream fault, never a 403 naming nothing.
	e.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Status: 403, ErrorType: "session_authorization_error"})
	rec = do(e.g.Authenticate(okHandler()), req("GET", "/", bearer(tok)))
	wantStatus(t, rec, 503, middleware.CodeAuthUnavailable)
}

// decodeCount counts the decodings of countedPlan values.
var decodeCount atomic.Int64

// countedPlan is a claim type that counts how often it is decoded.
type countedPlan string

func (c *countedPlan) UnmarshalJSON(b []byte) error {
	decodeCount.Add(1)
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*c = countedPlan(s)
	return nil
}

type countedClaims struct {
	Plan countedPlan `json:"plan"`
}

// TestCustomClaimsDecodedOncePerRequest: however often a handler asks, a
// request decodes its claims into one type once; the next request decodes
// its own; an M2M client's custom claims decode the same way.
func TestCustomClaimsDecodedOncePerRequest(t *testing.T) {
	e := newEnv(t, nil)
	_, jwt := e.sessionWith(orgAcme, "member-test-once", map[string]any{"plan": "gold"}, "viewer")
	e.warm(jwt)
	m2m := m2mToken(t, e, []string{"read:documents"}, map[string]any{"plan": "machine"})
	var plans []countedPlan
	h := func(w http.ResponseWriter, r *http.Request) {
		for range 3 {
			c, ok := middleware.CustomClaims[countedClaims](r.Context())
			if !ok {
				t.Error("claims did not decode")
			}
			plans = append(plans, c.Plan)
		}
	}
	decodeCount.Store(0)
	wantStatus(t, do(e.g.Authenticate(http.HandlerFunc(h)), req("GET", "/", bearer(jwt))), 200, "")
	if n := decodeCount.Load(); n != 1 {
		t.Fatalf("three calls on one request decoded %d times", n)
	}
	wantStatus(t, do(e.g.Authenticate(http.HandlerFunc(h)), req("GET", "/", bearer(jwt))), 200, "")
	if n := decodeCount.Load(); n != 2 {
		t.Fatalf("a second request decoded %d times in all, want 2", n)
	}
	wantStatus(t, do(e.g.RequireScopes("read:documents")(http.HandlerFunc(h)), req("GET", "/", bearer(m2m))), 200, "")
	if n := decodeCount.Load(); n != 3 || plans[len(plans)-1] != "machine" || plans[0] != "gold" {
		t.Fatalf("M2M claims: %d decodings, plans %q", n, plans)
	}
}
