package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// exampleSession starts an emulator with a viewer session at acme and
// returns it with a guard built by cfg's mutation.
func exampleSession(mutate func(*middleware.Config)) (*stytchtest.Server, *stytchtest.Clock, *middleware.Guard, string, string) {
	clock := stytchtest.NewClock(time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC))
	srv := stytchtest.NewServer(stytchtest.Options{Now: clock.Now})
	srv.SetPolicy(testPolicy())
	tok, jwt, err := srv.NewSession(stytchtest.SessionSpec{OrganizationID: "organization-test-acme", MemberID: "member-test-vic",
		Roles: []string{"viewer"}, CustomClaims: map[string]any{"plan": "enterprise", "seats": 40}})
	if err != nil {
		panic(err)
	}
	cfg := middleware.Config{ProjectID: srv.ProjectID, Secret: srv.Secret, BaseURL: srv.URL, Now: clock.Now}
	if mutate != nil {
		mutate(&cfg)
	}
	g, err := middleware.New(cfg)
	if err != nil {
		panic(err)
	}
	return srv, clock, g, tok, jwt
}

// serve sends one request with a Bearer credential (or none) to h.
func serve(h http.Handler, method, credential string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/", nil)
	if credential != "" {
		r.Header.Set("Authorization", "Bearer "+credential)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// An ErrorHandler that answers refusals in the service's own format,
// choosing by category, and keeps the default for everything else.
func ExampleErrorHandler() {
	srv, _, g, _, _ := exampleSession(func(c *middleware.Config) {
		c.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			switch {
			case errors.Is(err, middleware.ErrUnauthenticated):
				http.Redirect(w, r, "/login?next="+r.URL.Path, http.StatusSeeOther)
			case errors.Is(err, middleware.ErrForbidden):
				http.Error(w, "not allowed", http.StatusForbidden)
			default: // ErrUnavailable: 503 with Retry-After, no logout
				middleware.DefaultErrorHandler(w, r, err)
			}
		}
	})
	defer srv.Close()
	defer g.Close()
	rec := serve(g.Authenticate(http.NotFoundHandler()), "GET", "")
	fmt.Println(rec.Code, rec.Header().Get("Location"))
	// Output: 303 /login?next=/
}

// OnDecision feeds every decision to the service's own metrics or audit
// log; it never sees a credential.
func ExampleConfig_onDecision() {
	srv, _, g, _, jwt := exampleSession(func(c *middleware.Config) {
		c.OnDecision = func(d middleware.Decision) {
			fmt.Println(d.Allowed, d.Status, d.Code, d.Subject(), d.MemberID, d.Source, d.Resource, d.Action)
		}
	})
	defer srv.Close()
	defer g.Close()
	h := g.Require("documents", "write")(http.NotFoundHandler())
	waitReady(g)
	serve(g.Require("documents", "read")(http.NotFoundHandler()), "GET", jwt)
	serve(h, "POST", jwt)
	// Output:
	// true 0  member member-test-vic local documents read
	// false 403 forbidden member member-test-vic local documents write
}

// Optional serves signed-in and anonymous visitors alike: a page that
// shows more to members.
func ExampleGuard_Optional() {
	srv, _, g, _, jwt := exampleSession(nil)
	defer srv.Close()
	defer g.Close()
	page := g.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, ok := middleware.MemberSessionFromContext(r.Context()); ok {
			fmt.Fprintf(w, "welcome back, %s", s.MemberID)
			return
		}
		fmt.Fprint(w, "welcome, visitor")
	}))
	waitReady(g)
	fmt.Println(serve(page, "GET", jwt).Body.String())
	fmt.Println(serve(page, "GET", "").Body.String())
	fmt.Println(serve(page, "GET", "not.a.jwt").Body.String()) // a bad credential is anonymous too
	// Output:
	// welcome back, member-test-vic
	// welcome, visitor
	// welcome, visitor
}

// MaxTokenAge bounds how long a revoked session keeps working: a JWT older
// than a minute is checked with Stytch, which knows of the revocation.
func ExampleConfig_maxTokenAge() {
	srv, clock, g, tok, jwt := exampleSession(func(c *middleware.Config) { c.MaxTokenAge = time.Minute })
	defer srv.Close()
	defer g.Close()
	h := g.Authenticate(http.NotFoundHandler())
	waitReady(g)
	srv.RevokeSession(tok) // revoked elsewhere, e.g. from Stytch's dashboard
	fmt.Println(serve(h, "GET", jwt).Code)
	clock.Advance(61 * time.Second)
	rec := serve(h, "GET", jwt)
	fmt.Println(rec.Code, strings.Contains(rec.Body.String(), "session_expired"))
	// Output:
	// 404
	// 401 true
}

// Revoke ends a session from a handler: at Stytch, on this replica at once,
// and on every replica that shares Config.Fleet.
func ExampleGuard_Revoke() {
	srv, _, g, _, jwt := exampleSession(nil)
	defer srv.Close()
	defer g.Close()
	waitReady(g)
	logout := g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := middleware.FromContext(r.Context())
		if err := g.Revoke(r.Context(), p); err != nil {
			http.Error(w, "logout failed", http.StatusInternalServerError)
			return
		}
		g.ClearSessionCookies(w)
		w.WriteHeader(http.StatusNoContent)
	}))
	fmt.Println(serve(logout, "POST", jwt).Code)
	fmt.Println(serve(g.Authenticate(http.NotFoundHandler()), "GET", jwt).Code)
	// Output:
	// 204
	// 401
}

// CustomClaims decodes the session's custom claims into the service's own
// type, once per request.
func ExampleCustomClaims() {
	srv, _, g, _, jwt := exampleSession(nil)
	defer srv.Close()
	defer g.Close()
	type plan struct {
		Plan  string `json:"plan"`
		Seats int    `json:"seats"`
	}
	h := g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := middleware.CustomClaims[plan](r.Context())
		fmt.Fprint(w, p.Plan, " ", p.Seats, " ", ok)
	}))
	waitReady(g)
	fmt.Println(serve(h, "GET", jwt).Body.String())
	// Output: enterprise 40 true
}

// RequireScopes guards a route for machine clients: an M2M access token
// (Bearer only) must hold every listed scope; a member session gets 403.
func ExampleGuard_RequireScopes() {
	srv, _, g, _, jwt := exampleSession(nil)
	defer srv.Close()
	defer g.Close()
	id, secret, err := srv.NewM2MClient(stytchtest.M2MClientSpec{ClientID: "m2m-client-test-indexer",
		Scopes: []string{"read:documents", "read:invoices"}})
	if err != nil {
		panic(err)
	}
	c, err := client.New(client.Config{ProjectID: srv.ProjectID, Secret: srv.Secret, BaseURL: srv.URL})
	if err != nil {
		panic(err)
	}
	// The client asks for read:documents only: the token holds that scope.
	tok, err := c.M2M.Token(context.Background(), &client.M2MTokenParams{ClientID: id, ClientSecret: secret,
		Scopes: []string{"read:documents"}})
	if err != nil {
		panic(err)
	}
	h := func(scope string) http.Handler {
		return g.RequireScopes(scope)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := middleware.FromContext(r.Context())
			fmt.Fprint(w, p.M2M.ClientID, " ", p.M2M.Scopes)
		}))
	}
	waitReady(g)
	rec := serve(h("read:documents"), "GET", tok.AccessToken)
	fmt.Println(rec.Code, rec.Body.String())
	rec = serve(h("read:invoices"), "GET", tok.AccessToken)
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	fmt.Println(serve(h("read:documents"), "GET", jwt).Code) // a member session
	// Output:
	// 200 m2m-client-test-indexer [read:documents]
	// 403 Bearer realm="stytchguard", error="insufficient_scope", scope="read:invoices"
	// 403
}

// Testing a handler against the emulator: a session, an expired JWT that
// Stytch refreshes, and Stytch down (503, never a logout).
func Example_testingWithStytchtest() {
	srv, clock, g, _, jwt := exampleSession(nil)
	defer srv.Close()
	defer g.Close()
	h := g.Require("documents", "read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := middleware.FromContext(r.Context())
		fmt.Fprint(w, p.Source)
	}))
	waitReady(g)
	fmt.Println(serve(h, "GET", jwt).Body.String())
	clock.Advance(6 * time.Minute) // the JWT expired; the session lives
	fmt.Println(serve(h, "GET", jwt).Body.String())
	clock.Advance(6 * time.Minute)
	srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Status: 503})
	fmt.Println(serve(h, "GET", jwt).Code, srv.Calls(stytchtest.EndpointAuthenticate))
	// Output:
	// local
	// remote
	// 503 3
}

// waitReady waits until the guard holds keys and policy, as a service's
// readiness probe would.
func waitReady(g *middleware.Guard) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for g.Ready(ctx) != nil && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
}
