package middleware_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func TestNewRejectsUnusableConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  middleware.Config
	}{
		{"empty project id", middleware.Config{Secret: "s"}},
		{"no secret nor client", middleware.Config{ProjectID: "project-test-x"}},
		{"negative remote timeout", middleware.Config{ProjectID: "p", Secret: "s", Remote: middleware.RemoteConfig{Timeout: -time.Second}}},
		{"negative breaker failures", middleware.Config{ProjectID: "p", Secret: "s", Remote: middleware.RemoteConfig{BreakerFailures: -1}}},
		{"negative credential cap", middleware.Config{ProjectID: "p", Secret: "s", MaxCredentialBytes: -1}},
		{"same cookie names", middleware.Config{ProjectID: "p", Secret: "s", JWTCookie: "a", TokenCookie: "a"}},
		{"realm with quote", middleware.Config{ProjectID: "p", Secret: "s", Realm: `x"y`}},
		{"shared client of another project", middleware.Config{ProjectID: "p", Client: otherClient(t)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := middleware.New(tc.cfg)
			if err == nil {
				_ = g.Close()
				t.Fatal("New accepted an unusable config")
			}
		})
	}
}

func otherClient(t *testing.T) *client.Client {
	c, err := client.New(client.Config{ProjectID: "project-test-other", Secret: "s", BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLoginAndLogoutCookieHelpers(t *testing.T) {
	e := newEnv(t, func(c *middleware.Config) { c.Cookies.AllowInsecure = true; c.Cookies.Domain = "example.test" })
	rec := httptest.NewRecorder()
	exp := t0.Add(time.Hour)
	e.g.SetSessionCookies(rec, "a.b.c", strings.Repeat("t", 44), exp)
	c := setCookies(rec)
	j := c[middleware.DefaultJWTCookie]
	if j == nil || j.Value != "a.b.c" || j.Secure || !j.HttpOnly || j.Domain != "example.test" || !j.Expires.Equal(exp) || c[middleware.DefaultTokenCookie] == nil {
		t.Fatalf("set cookies = %v", rec.Header()["Set-Cookie"])
	}
	rec = httptest.NewRecorder()
	e.g.ClearSessionCookies(rec)
	for _, ck := range setCookies(rec) {
		if ck.MaxAge >= 0 || ck.Value != "" {
			t.Fatalf("cookie %s not cleared", ck.Name)
		}
	}
	if len(setCookies(rec)) != 2 {
		t.Fatal("want both cookies cleared")
	}
}

func TestLocalJWTMakesNoNetworkCall(t *testing.T) {
	e := newEnv(t, nil)
	_, jwt := e.session(orgAcme, "", "viewer")
	e.warm(jwt)
	h := e.g.Authenticate(okHandler())
	for i := 0; i < 5; i++ {
		rec := do(h, req("GET", "/", bearer(jwt)))
		wantStatus(t, rec, 200, "")
		if src := body(t, rec)["source"]; src != "local" {
			t.Fatalf("source = %v, want local", src)
		}
	}
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 0 {
		t.Fatalf("authenticate calls = %d, want 0", n)
	}
}

func TestOpaqueTokenIsAuthenticatedRemotelyOnceThenCached(t *testing.T) {
	e := newEnv(t, nil)
	tok, _ := e.session(orgAcme, "", "viewer")
	h := e.g.Authenticate(okHandler())
	rec := do(h, req("GET", "/", bearer(tok)))
	wantStatus(t, rec, 200, "")
	if src := body(t, rec)["source"]; src != "remote" {
		t.Fatalf("source = %v, want remote", src)
	}
	rec = do(h, req("GET", "/", bearer(tok)))
	wantStatus(t, rec, 200, "")
	if src := body(t, rec)["source"]; src != "cache" {
		t.Fatalf("second source = %v, want cache", src)
	}
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 1 {
		t.Fatalf("authenticate calls = %d, want 1", n)
	}
	// Bearer requests never get cookies.
	if len(setCookies(rec)) != 0 {
		t.Fatal("cookies set for a bearer request")
	}
}

func TestExpiredJWTCookieIsRefreshedAndCookiesReissued(t *testing.T) {
	e := newEnv(t, nil)
	tok, jwt := e.session(orgAcme, "", "viewer")
	e.warm(jwt)
	e.clock.Advance(6 * time.Minute) // the JWT (5 min) expired; the session (60 min) lives
	h := e.g.Authenticate(okHandler())
	rec := do(h, req("GET", "/", cookies(jwt, tok)))
	wantStatus(t, rec, 200, "")
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 1 {
		t.Fatalf("authenticate calls = %d, want 1", n)
	}
	c := setCookies(rec)
	nj, nt := c[middleware.DefaultJWTCookie], c[middleware.DefaultTokenCookie]
	if nj == nil || nt == nil {
		t.Fatalf("cookies not re-issued: %v", rec.Header()["Set-Cookie"])
	}
	if nj.Value == jwt || nj.Value == "" {
		t.Fatal("JWT cookie not refreshed")
	}
	if !nj.HttpOnly || !nj.Secure || nj.SameSite != http.SameSiteLaxMode || nj.Path != "/" {
		t.Fatalf("cookie attributes not strict: %+v", nj)
	}
	wantExp := t0.Add(60 * time.Minute)
	if !nj.Expires.Equal(wantExp) || !nt.Expires.Equal(wantExp) {
		t.Fatalf("cookie expiry = %v / %v, want session expiry %v", nj.Expires, nt.Expires, wantExp)
	}
	// The next request with the new cookie is local again.
	e.srv.ResetCalls()
	rec = do(h, req("GET", "/", cookies(nj.Value, nt.Value)))
	wantStatus(t, rec, 200, "")
	if src := body(t, rec)["source"]; src != "local" {
		t.Fatalf("source after refresh = %v, want local", src)
	}
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 0 {
		t.Fatalf("authenticate calls after refresh = %d, want 0", n)
	}
}

func TestMaxTokenAgeSendsOlderJWTsToStytch(t *testing.T) {
	e := newEnv(t, func(c *middleware.Config) { c.MaxTokenAge = time.Minute })
	_, jwt := e.session(orgAcme, "", "viewer")
	e.warm(jwt)
	h := e.g.Authenticate(okHandler())
	e.clock.Advance(2 * time.Minute) // younger than exp, older than MaxTokenAge
	rec := do(h, req("GET", "/", bearer(jwt)))
	wantStatus(t, rec, 200, "")
	if src := body(t, rec)["source"]; src != "remote" {
		t.Fatalf("source = %v, want remote", src)
	}
}

func TestRevokedSessionIs401AndClearsCookies(t *testing.T) {
	e := newEnv(t, nil)
	tok, jwt := e.session(orgAcme, "", "viewer")
	e.warm(jwt)
	e.srv.RevokeSession(tok)
	e.clock.Advance(6 * time.Minute)
	h := e.g.Authenticate(okHandler())
	rec := do(h, req("GET", "/", cookies(jwt, tok)))
	wantStatus(t, rec, 401, middleware.CodeSessionExpired)
	c := setCookies(rec)
	for _, name := range []string{middleware.DefaultJWTCookie, middleware.DefaultTokenCookie} {
		if c[name] == nil || c[name].MaxAge >= 0 || c[name].Value != "" {
			t.Fatalf("cookie %s not cleared: %v", name, rec.Header()["Set-Cookie"])
		}
	}
	if got := rec.Header().Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) {
		t.Fatalf("WWW-Authenticate = %q", got)
	}
	noSecretIn(t, "body", rec.Body.String(), tok, jwt)
	noSecretIn(t, "logs", e.logs.String(), tok, jwt, e.srv.Secret)
}

func TestMissingCredentials(t *testing.T) {
	e := newEnv(t, nil)
	rec := do(e.g.Authenticate(okHandler()), req("GET", "/"))
	wantStatus(t, rec, 401, middleware.CodeMissingCredentials)
	if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="stytchguard", error="invalid_token", error_description="no session credential"` {
		t.Fatalf("WWW-Authenticate = %q", got)
	}
}

func TestOutageIs503ThenRecovers(t *testing.T) {
	e := newEnv(t, func(c *middleware.Config) { c.Remote.BreakerFailures = 100; c.Remote.Timeout = 500 * time.Millisecond })
	tok, jwt := e.session(orgAcme, "", "viewer")
	e.warm(jwt)
	e.clock.Advance(6 * time.Minute)
	h := e.g.Authenticate(okHandler())

	e.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Status: 500})
	rec := do(h, req("GET", "/", cookies(jwt, tok)))
	wantStatus(t, rec, 503, middleware.CodeAuthUnavailable)
	if rec.Header().Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	if len(setCookies(rec)) != 0 {
		t.Fatal("cookies touched during an outage")
	}
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 2 {
		t.Fatalf("calls = %d, want 2 (one retry on 5xx)", n)
	}

	e.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Status: 429, RetryAfter: time.Second})
	rec = do(h, req("GET", "/", cookies(jwt, tok)))
	wantStatus(t, rec, 503, middleware.CodeAuthUnavailable)
	if got := rec.Header().Get("Retry-After"); got != "1" {
		t.Fatalf("Retry-After = %q, want 1 from Stytch's 429", got)
	}
	// Stytch asked to wait: no call until the wait is over.
	before := e.srv.Calls(stytchtest.EndpointAuthenticate)
	e.srv.ClearFaults()
	wantStatus(t, do(h, req("GET", "/", cookies(jwt, tok))), 503, middleware.CodeAuthUnavailable)
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != before {
		t.Fatalf("called Stytch during its Retry-After: %d -> %d", before, n)
	}
	time.Sleep(1100 * time.Millisecond) // Retry-After is real time

	e.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Hang: true})
	start := time.Now()
	rec = do(h, req("GET", "/", cookies(jwt, tok)))
	wantStatus(t, rec, 503, middleware.CodeAuthUnavailable)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("hanging Stytch held the request %v", d)
	}

	e.srv.ClearFaults()
	rec = do(h, req("GET", "/", cookies(jwt, tok)))
	wantStatus(t, rec, 200, "")
}

func TestBreakerFailsFastThenProbes(t *testing.T) {
	e := newEnv(t, func(c *middleware.Config) {
		c.Remote.BreakerFailures = 2
		c.Remote.BreakerOpenFor = 300 * time.Millisecond
		c.Remote.CacheTTL = -1
	})
	tok, _ := e.session(orgAcme, "", "viewer")
	h := e.g.Authenticate(okHandler())
	e.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Status: 503})
	for i := 0; i < 2; i++ {
		wantStatus(t, do(h, req("GET", "/", bearer(tok))), 503, middleware.CodeAuthUnavailable)
	}
	before := e.srv.Calls(stytchtest.EndpointAuthenticate)
	wantStatus(t, do(h, req("GET", "/", bearer(tok))), 503, middleware.CodeAuthUnavailable)
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != before {
		t.Fatalf("open breaker let a call through: %d -> %d", before, n)
	}
	e.srv.ClearFaults()
	time.Sleep(350 * time.Millisecond) // the breaker's open period is real time
	wantStatus(t, do(h, req("GET", "/", bearer(tok))), 200, "")
}

func TestHerdOfOneExpiredJWTMakesOneRemoteCall(t *testing.T) {
	e := newEnv(t, nil)
	_, jwt := e.session(orgAcme, "", "viewer")
	e.warm(jwt)
	e.clock.Advance(6 * time.Minute)
	e.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Latency: 200 * time.Millisecond})
	h := e.g.Authenticate(okHandler())
	const n = 1000
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			codes[i] = do(h, req("GET", "/", bearer(jwt))).Code
		}(i)
	}
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Fatalf("request %d: status %d", i, c)
		}
	}
	if got := e.srv.Calls(stytchtest.EndpointAuthenticate); got != 1 {
		t.Fatalf("authenticate calls = %d, want 1", got)
	}
}

func TestGuardsOnChi(t *testing.T) {
	e := newEnv(t, func(c *middleware.Config) {
		c.OrganizationID = func(r *http.Request) string { return chi.URLParam(r, "orgID") }
	})
	_, viewer := e.session(orgAcme, "", "viewer")
	_, editor := e.session(orgAcme, "", "editor")
	_, admin := e.session(orgGlobex, "", "admin")
	e.warm(viewer)

	r := chi.NewRouter()
	r.Get("/public", okHandler().ServeHTTP)
	r.Group(func(r chi.Router) {
		r.Use(e.g.Authenticate)
		r.Get("/me", okHandler().ServeHTTP)
		r.Route("/orgs/{orgID}", func(r chi.Router) {
			r.With(e.g.Require("documents", "read")).Get("/documents", okHandler().ServeHTTP)
			r.With(e.g.Require("documents", "write")).Post("/documents", okHandler().ServeHTTP)
			r.With(e.g.Require("documents", "read"), e.g.Require("invoices", "read")).Get("/report", okHandler().ServeHTTP)
		})
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	cases := []struct {
		name, method, path, jwt string
		status                  int
		code                    string
	}{
		{"public without session", "GET", "/public", "", 200, ""},
		{"me without session", "GET", "/me", "", 401, middleware.CodeMissingCredentials},
		{"viewer reads own org", "GET", "/orgs/" + orgAcme + "/documents", viewer, 200, ""},
		{"viewer may not write", "POST", "/orgs/" + orgAcme + "/documents", viewer, 403, middleware.CodeForbidden},
		{"editor writes", "POST", "/orgs/" + orgAcme + "/documents", editor, 200, ""},
		// a valid session of acme must not reach globex data by changing the URL
		{"cross-tenant read", "GET", "/orgs/" + orgGlobex + "/documents", viewer, 403, middleware.CodeTenancyMismatch},
		// an admin of another org is still another org
		{"foreign admin", "GET", "/orgs/" + orgAcme + "/documents", admin, 403, middleware.CodeTenancyMismatch},
		{"composed guards both pass", "GET", "/orgs/" + orgAcme + "/report", editor, 200, ""},
		{"composed guards second denies", "GET", "/orgs/" + orgAcme + "/report", viewer, 403, middleware.CodeForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := req(tc.method, tc.path)
			if tc.jwt != "" {
				r.Header.Set("Authorization", "Bearer "+tc.jwt)
			}
			rec := viaLoopback(t, srv, r)
			wantStatus(t, rec, tc.status, tc.code)
			if tc.code == middleware.CodeForbidden && !strings.Contains(rec.Header().Get("WWW-Authenticate"), "insufficient_scope") {
				t.Fatalf("403 forbidden without insufficient_scope challenge")
			}
		})
	}
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 0 {
		t.Fatalf("authenticate calls = %d, want 0 (all local)", n)
	}
}

func TestGuardsOnServeMux(t *testing.T) {
	e := newEnv(t, func(c *middleware.Config) {
		c.OrganizationID = func(r *http.Request) string { return r.PathValue("orgID") }
	})
	_, viewer := e.session(orgAcme, "", "viewer")
	e.warm(viewer)
	mux := http.NewServeMux()
	mux.Handle("GET /orgs/{orgID}/documents", e.g.Require("documents", "read")(okHandler()))
	mux.Handle("DELETE /orgs/{orgID}/documents/{id}", e.g.Require("documents", "delete")(okHandler()))
	mux.Handle("GET /me", e.g.Authenticate(okHandler()))
	// Every request goes through a real server on loopback.
	srv := httptest.NewServer(mux)
	defer srv.Close()
	do := func(_ http.Handler, r *http.Request) *httptest.ResponseRecorder { return viaLoopback(t, srv, r) }

	rec := do(mux, req("GET", "/orgs/"+orgAcme+"/documents", bearer(viewer)))
	wantStatus(t, rec, 200, "")
	if roles, _ := body(t, rec)["granting_roles"].([]any); len(roles) != 1 || roles[0] != "viewer" {
		t.Fatalf("granting_roles = %v, want [viewer]", body(t, rec)["granting_roles"])
	}
	wantStatus(t, do(mux, req("DELETE", "/orgs/"+orgAcme+"/documents/7", bearer(viewer))), 403, middleware.CodeForbidden)
	wantStatus(t, do(mux, req("GET", "/orgs/"+orgGlobex+"/documents", bearer(viewer))), 403, middleware.CodeTenancyMismatch)
	wantStatus(t, do(mux, req("GET", "/me", bearer(viewer))), 200, "")
	// a hook that finds no organization (wrong router, misspelt parameter)
	// must fail closed, not fall back to the session's organization
	mux.Handle("GET /misspelt/{org}/documents", e.g.Require("documents", "read")(okHandler()))
	wantStatus(t, do(mux, req("GET", "/misspelt/"+orgGlobex+"/documents", bearer(viewer))), 403, middleware.CodeTenancyMismatch)
}

func TestOptional(t *testing.T) {
	e := newEnv(t, nil)
	tok, jwt := e.session(orgAcme, "", "viewer")
	e.warm(jwt)
	h := e.g.Optional(okHandler())
	rec := do(h, req("GET", "/"))
	wantStatus(t, rec, 200, "")
	if body(t, rec)["anonymous"] != true {
		t.Fatal("no credential: want anonymous")
	}
	rec = do(h, req("GET", "/", bearer(jwt)))
	if body(t, rec)["member_id"] == nil {
		t.Fatal("valid credential: want a principal")
	}
	rec = do(h, req("GET", "/", bearer("not a token")))
	wantStatus(t, rec, 200, "")
	if body(t, rec)["anonymous"] != true {
		t.Fatal("invalid credential: want anonymous")
	}
	e.srv.RevokeSession(tok)
	e.clock.Advance(6 * time.Minute)
	rec = do(h, req("GET", "/", cookies(jwt, tok)))
	if body(t, rec)["anonymous"] != true || setCookies(rec)[middleware.DefaultJWTCookie] == nil {
		t.Fatal("revoked session: want anonymous and cleared cookies")
	}
}

func TestHeaderWinsOverCookies(t *testing.T) {
	e := newEnv(t, nil)
	_, viewerJWT := e.session(orgAcme, "member-test-header", "viewer")
	_, otherJWT := e.session(orgAcme, "member-test-cookie", "viewer")
	e.warm(viewerJWT)
	rec := do(e.g.Authenticate(okHandler()), req("GET", "/", bearer(viewerJWT), cookies(otherJWT, "")))
	if got := body(t, rec)["member_id"]; got != "member-test-header" {
		t.Fatalf("member = %v, want the header's", got)
	}
}

func TestPolicyUnavailableAsksStytch(t *testing.T) {
	e := newEnv(t, nil)
	_, viewer := e.session(orgAcme, "", "viewer")
	e.warm(viewer)
	e.srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Status: 500})
	h := e.g.Require("documents", "read")(okHandler())
	rec := do(h, req("GET", "/", bearer(viewer)))
	wantStatus(t, rec, 200, "")
	if roles, _ := body(t, rec)["granting_roles"].([]any); len(roles) != 1 || roles[0] != "viewer" {
		t.Fatalf("remote verdict roles = %v", body(t, rec)["granting_roles"])
	}
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 1 {
		t.Fatalf("authenticate calls = %d, want 1", n)
	}
	wantStatus(t, do(e.g.Require("documents", "write")(okHandler()), req("GET", "/", bearer(viewer))), 403, middleware.CodeForbidden)
	e.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Status: 500})
	wantStatus(t, do(e.g.Require("documents", "delete")(okHandler()), req("GET", "/", bearer(viewer))), 503, middleware.CodeAuthUnavailable)
}

func TestErrorHandlerGetsTypedErrors(t *testing.T) {
	var got error
	e := newEnv(t, func(c *middleware.Config) {
		c.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			got = err
			w.WriteHeader(418)
		}
	})
	_, viewer := e.session(orgAcme, "", "viewer")
	e.warm(viewer)
	do(e.g.Authenticate(okHandler()), req("GET", "/"))
	if !errors.Is(got, middleware.ErrUnauthenticated) || !errors.Is(got, middleware.ErrMissingCredentials) {
		t.Fatalf("missing credential error = %v", got)
	}
	do(e.g.Require("documents", "write")(okHandler()), req("GET", "/", bearer(viewer)))
	if !errors.Is(got, middleware.ErrForbidden) || !errors.Is(got, middleware.ErrPermissionDenied) {
		t.Fatalf("denied error = %v", got)
	}
	var me *middleware.Error
	if !errors.As(got, &me) || me.Status != 403 {
		t.Fatalf("errors.As *Error: %v", got)
	}
}

func TestDecisionsAreReportedWithoutCredentials(t *testing.T) {
	e := newEnv(t, nil)
	_, viewer := e.session(orgAcme, "member-test-obs", "viewer")
	e.warm(viewer)
	e.mu.Lock()
	e.decisions = nil
	e.mu.Unlock()
	do(e.g.Require("documents", "read")(okHandler()), req("GET", "/x", bearer(viewer)))
	do(e.g.Require("documents", "write")(okHandler()), req("GET", "/x", bearer(viewer)))
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.decisions) != 2 {
		t.Fatalf("decisions = %d, want 2", len(e.decisions))
	}
	d := e.decisions[0]
	if d.Latency <= 0 {
		t.Fatalf("decision latency = %v, want the wall-clock time spent", d.Latency)
	}
	if !d.Allowed || d.MemberID != "member-test-obs" || d.Resource != "documents" || d.Action != "read" || d.Source != middleware.SourceLocal {
		t.Fatalf("allow decision = %+v", d)
	}
	if d := e.decisions[1]; d.Allowed || d.Status != 403 || d.Code != middleware.CodeForbidden {
		t.Fatalf("deny decision = %+v", d)
	}
	for _, d := range e.decisions {
		if d.FleetErr != nil {
			t.Fatalf("FleetErr %v without a Fleet", d.FleetErr)
		}
	}
	if !strings.Contains(e.logs.String(), `"outcome":"refuse"`) {
		t.Fatal("no debug log record for the refusal")
	}
	noSecretIn(t, "logs", e.logs.String(), viewer, e.srv.Secret)
}
