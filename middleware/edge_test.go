package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/internal/testkit"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
	"github.com/stytchguard/stytchguard/verifier"
)

func TestPrincipalOfAnotherGuardIsNotTrusted(t *testing.T) {
	e := newEnv(t, func(c *middleware.Config) { c.MaxTokenAge = time.Minute })
	tok, jwt := e.session(orgAcme, "", "viewer")
	e.warm(jwt)
	lax, err := middleware.New(middleware.Config{ProjectID: e.srv.ProjectID, Secret: e.srv.Secret, BaseURL: e.srv.URL, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer lax.Close()
	e.srv.RevokeSession(tok)
	e.clock.Advance(2 * time.Minute) // older than the strict guard's MaxTokenAge
	// a lax outer guard must not vouch for the strict inner one
	h := lax.Authenticate(e.g.Require("documents", "read")(okHandler()))
	wantStatus(t, do(h, req("GET", "/", bearer(jwt))), 401, middleware.CodeSessionExpired)
	// a Principal planted with NewContext is not trusted either
	planted := middleware.NewContext(context.Background(), &middleware.Principal{MemberSession: &client.MemberSession{OrganizationID: orgAcme, Roles: []string{"admin"}}})
	wantStatus(t, do(e.g.Require("documents", "delete")(okHandler()), req("GET", "/").WithContext(planted)), 401, middleware.CodeMissingCredentials)
}

func TestCustomExtractorOutputIsChecked(t *testing.T) {
	e := newEnv(t, func(c *middleware.Config) {
		c.Extractors = []middleware.Extractor{func(r *http.Request) (middleware.Credential, error) {
			return middleware.Credential{SessionToken: r.Header.Get("X-Session")}, nil
		}}
	})
	tok, _ := e.session(orgAcme, "", "viewer")
	h := e.g.Authenticate(okHandler())
	// a custom extractor's oversized or odd value never reaches Stytch
	wantStatus(t, do(h, req("GET", "/", header("X-Session", strings.Repeat("a b", 7000)))), 401, middleware.CodeInvalidToken)
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 0 {
		t.Fatalf("authenticate calls = %d, want 0", n)
	}
	wantStatus(t, do(h, req("GET", "/", header("X-Session", tok))), 200, "")
}

// A description a custom extractor wrote cannot break the challenge header.
func TestChallengeDescriptionIsQuotable(t *testing.T) {
	e := newEnv(t, func(c *middleware.Config) {
		c.Extractors = []middleware.Extractor{func(r *http.Request) (middleware.Credential, error) {
			return middleware.Credential{}, &middleware.Error{Status: 401, Code: middleware.CodeInvalidToken, Description: "bad \"quote\" \\ \r\nX-Injected: 1"}
		}}
	})
	rec := do(e.g.Authenticate(okHandler()), req("GET", "/"))
	want := `Bearer realm="stytchguard", error="invalid_token", error_description="bad quote  X-Injected: 1"`
	if got := rec.Header().Get("WWW-Authenticate"); got != want {
		t.Fatalf("WWW-Authenticate = %q, want %q", got, want)
	}
}

func TestSharedComponentsMustMatchTheProject(t *testing.T) {
	e := newEnv(t, nil)
	v, err := verifier.New(context.Background(), verifier.Config{ProjectID: "project-test-other", BaseURL: e.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	g, err := middleware.New(middleware.Config{ProjectID: e.srv.ProjectID, Secret: e.srv.Secret, BaseURL: e.srv.URL, Verifier: v})
	if err == nil {
		_ = g.Close()
		t.Fatal("a verifier of another project was accepted")
	}
}

func TestRemoteAnswersThatSayNothingAboutTheSession(t *testing.T) {
	e := newEnv(t, func(c *middleware.Config) { c.Remote.BreakerFailures = 100 })
	tok, jwt := e.session(orgAcme, "", "viewer")
	e.warm(jwt)
	e.clock.Advance(6 * time.Minute)
	h := e.g.Authenticate(okHandler())
	// a gateway's JSON 404 must not log the user out
	e.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Status: 404, ErrorType: "not_found"})
	rec := do(h, req("GET", "/", cookies(jwt, tok)))
	wantStatus(t, rec, 503, middleware.CodeAuthUnavailable)
	if len(setCookies(rec)) != 0 {
		t.Fatal("cookies cleared on a 404 that is not session_not_found")
	}
	// a wrong project secret is our misconfiguration, not the user's fault
	e.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Status: 401, ErrorType: "unauthorized_credentials"})
	rec = do(h, req("GET", "/", cookies(jwt, tok)))
	wantStatus(t, rec, 503, middleware.CodeAuthUnavailable)
	if len(setCookies(rec)) != 0 {
		t.Fatal("cookies cleared on a credentials error")
	}
	e.srv.ClearFaults()
}

func TestRetryAfterIsCapped(t *testing.T) {
	e := newEnv(t, nil)
	tok, _ := e.session(orgAcme, "", "viewer")
	e.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Status: 429, RetryAfter: 2 * time.Hour})
	rec := do(e.g.Authenticate(okHandler()), req("GET", "/", bearer(tok)))
	wantStatus(t, rec, 503, middleware.CodeAuthUnavailable)
	if got := rec.Header().Get("Retry-After"); got != "60" {
		t.Fatalf("Retry-After = %q, want the 60 s cap", got)
	}
}

func TestOptionalDuringAnOutageIs503(t *testing.T) {
	e := newEnv(t, nil)
	tok, _ := e.session(orgAcme, "", "viewer")
	e.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Status: 500})
	// a signed-in user must not be shown the signed-out page because Stytch is down
	wantStatus(t, do(e.g.Optional(okHandler()), req("GET", "/", cookies("", tok))), 503, middleware.CodeAuthUnavailable)
}

func TestRequireWithoutResourcePanics(t *testing.T) {
	e := newEnv(t, nil)
	defer func() {
		if recover() == nil {
			t.Fatal("Require(\"\", \"\") did not panic")
		}
	}()
	e.g.Require("", "read")
}

func TestKeysUnavailableGoesRemote(t *testing.T) {
	clock := stytchtest.NewClock(t0)
	srv := stytchtest.NewServer(stytchtest.Options{Now: clock.Now, SigningKey: testkit.SigningKey()})
	defer srv.Close()
	srv.SetPolicy(testPolicy())
	srv.SetFault(stytchtest.EndpointJWKS, stytchtest.Fault{Status: 503})
	g, err := middleware.New(middleware.Config{ProjectID: srv.ProjectID, Secret: srv.Secret, BaseURL: srv.URL, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	_, jwt, _ := srv.NewSession(stytchtest.SessionSpec{OrganizationID: orgAcme, Roles: []string{"viewer"}})
	rec := do(g.Require("documents", "read")(okHandler()), req("GET", "/", bearer(jwt)))
	wantStatus(t, rec, 200, "")
	if src := body(t, rec)["source"]; src != "remote" {
		t.Fatalf("source = %v, want remote while keys are unavailable", src)
	}
	// a forged token is still refused locally
	forged, _ := srv.SignClaims(map[string]any{"iss": "stytch.com/project-test-other", "sub": "x"}, nil)
	before := srv.Calls(stytchtest.EndpointAuthenticate)
	wantStatus(t, do(g.Authenticate(okHandler()), req("GET", "/", bearer(forged))), 401, middleware.CodeInvalidToken)
	if srv.Calls(stytchtest.EndpointAuthenticate) != before {
		t.Fatal("forged token sent to Stytch while keys are unavailable")
	}
}

func TestCookiesOverLoopback(t *testing.T) {
	e := newEnv(t, func(c *middleware.Config) {
		c.Cookies = middleware.CookieAttributes{Path: "/app", Domain: "127.0.0.1", SameSite: http.SameSiteStrictMode, ScriptReadable: true}
	})
	tok, jwt := e.session(orgAcme, "", "viewer")
	e.warm(jwt)
	e.clock.Advance(6 * time.Minute)
	srv := httptest.NewServer(e.g.Authenticate(okHandler()))
	defer srv.Close()
	rec := viaLoopback(t, srv, req("GET", "/app", cookies(jwt, tok)))
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	jc := setCookies(rec)[middleware.DefaultJWTCookie]
	if jc == nil || jc.Path != "/app" || jc.Domain != "127.0.0.1" || jc.SameSite != http.SameSiteStrictMode || jc.HttpOnly || !jc.Secure {
		t.Fatalf("re-issued cookie = %+v", jc)
	}
}

func TestTokenOnlyCookieGetsBothCookies(t *testing.T) {
	e := newEnv(t, nil)
	tok, _ := e.session(orgAcme, "", "viewer")
	rec := do(e.g.Authenticate(okHandler()), req("GET", "/", cookies("", tok)))
	wantStatus(t, rec, 200, "")
	c := setCookies(rec)
	if c[middleware.DefaultJWTCookie] == nil || c[middleware.DefaultJWTCookie].Value == "" || c[middleware.DefaultTokenCookie] == nil {
		t.Fatalf("want both cookies from a token-only request: %v", rec.Header()["Set-Cookie"])
	}
	// the next request carries the JWT and is decided locally
	e.srv.ResetCalls()
	e.warm(c[middleware.DefaultJWTCookie].Value)
	rec = do(e.g.Authenticate(okHandler()), req("GET", "/", cookies(c[middleware.DefaultJWTCookie].Value, tok)))
	if src := body(t, rec)["source"]; src != "local" {
		t.Fatalf("source = %v, want local", src)
	}
}

// countingTransport records the peak number of Authenticate requests in
// flight.
type countingTransport struct {
	base      *http.Transport
	mu        sync.Mutex
	cur, peak int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path != client.PathAuthenticate {
		return c.base.RoundTrip(r)
	}
	c.mu.Lock()
	c.cur++
	c.peak = max(c.peak, c.cur)
	c.mu.Unlock()
	defer func() { c.mu.Lock(); c.cur--; c.mu.Unlock() }()
	return c.base.RoundTrip(r)
}

func TestRemoteConcurrencyIsBounded(t *testing.T) {
	ct := &countingTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(ct.base.CloseIdleConnections)
	e := newEnv(t, func(c *middleware.Config) {
		c.HTTPClient = &http.Client{Transport: ct}
		c.Remote.MaxConcurrent = 3
	})
	e.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Latency: 50 * time.Millisecond})
	const n = 30
	toks := make([]string, n)
	for i := range toks {
		toks[i], _ = e.session(orgAcme, "", "viewer")
	}
	h := e.g.Authenticate(okHandler())
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range toks {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			codes[i] = do(h, req("GET", "/", bearer(toks[i]))).Code
		}(i)
	}
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Fatalf("request %d: %d", i, c)
		}
	}
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if ct.peak != 3 {
		t.Fatalf("peak Authenticate calls in flight = %d, want the limit, 3", ct.peak)
	}
	if got := e.srv.Calls(stytchtest.EndpointAuthenticate); got != n {
		t.Fatalf("authenticate calls = %d, want %d", got, n)
	}
}

// A negative Leeway reaches the verifier and means no clock skew: one second
// past exp, a JWT is expired and goes to Stytch, where the default five
// seconds of skew still accept it locally.
func TestNegativeLeewayMeansNoSkew(t *testing.T) {
	for _, tc := range []struct {
		name      string
		leeway    time.Duration
		wantCalls int64
	}{{"default", 0, 0}, {"none", -1, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *middleware.Config) { c.Leeway = tc.leeway })
			_, jwt := e.session(orgAcme, "", "viewer")
			e.warm(jwt)
			e.clock.Advance(5*time.Minute + time.Second) // the JWT lives five minutes
			before := e.srv.Calls(stytchtest.EndpointAuthenticate)
			wantStatus(t, do(e.g.Authenticate(okHandler()), req("GET", "/", bearer(jwt))), 200, "")
			if n := e.srv.Calls(stytchtest.EndpointAuthenticate) - before; n != tc.wantCalls {
				t.Fatalf("%d authenticate calls, want %d", n, tc.wantCalls)
			}
		})
	}
}

// After a remote decision the policy's age is judged when Stytch has
// answered, not when the request arrived: a policy that grew too old while
// Stytch was answering is not used, and Stytch decides the authorization.
func TestPolicyAgeIsJudgedAfterTheRemoteCall(t *testing.T) {
	e := newEnv(t, nil)
	tok, jwt, err := e.srv.NewSession(stytchtest.SessionSpec{OrganizationID: orgAcme, Roles: []string{"viewer"}, Duration: 3 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e.warm(jwt)
	h := e.g.Require("documents", "read")(okHandler())
	wantStatus(t, do(h, req("GET", "/", bearer(jwt))), 200, "") // the policies are cached now
	e.srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Status: http.StatusInternalServerError})
	e.srv.SetFault(stytchtest.EndpointOrgPolicy, stytchtest.Fault{Status: http.StatusInternalServerError})
	e.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Latency: 300 * time.Millisecond})
	before := e.srv.Calls(stytchtest.EndpointAuthenticate)
	done := make(chan int, 1)
	go func() { done <- do(h, req("GET", "/", bearer(tok))).Code }() // an opaque token: Stytch decides the session
	for deadline := time.Now().Add(5 * time.Second); e.srv.Calls(stytchtest.EndpointAuthenticate) == before; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the request never reached Stytch")
		}
	}
	e.clock.Advance(time.Hour + time.Second) // past the policies' MaxStaleness, while Stytch answers
	if code := <-done; code != http.StatusOK {
		t.Fatalf("status %d, want 200", code)
	}
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate) - before; n != 2 {
		t.Fatalf("%d authenticate calls, want 2 (the session, then the authorization the stale policy could not decide)", n)
	}
}
