package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestRevokeRefusesAtOnce: after Revoke, this replica refuses the
// session's JWT (still valid by its exp) and its token, and Stytch has
// revoked it; the refusal ends when no JWT minted before it can be valid.
func TestRevokeRefusesAtOnce(t *testing.T) {
	e := newEnv(t, nil)
	tok, jwt := e.session(orgAcme, "member-test-revoke", "viewer")
	e.warm(jwt)
	var p *middleware.Principal
	grab := e.g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p, _ = middleware.FromContext(r.Context()) }))
	wantStatus(t, do(grab, req("GET", "/", bearer(jwt))), 200, "")
	if err := e.g.Revoke(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if e.srv.Calls(stytchtest.EndpointRevoke) != 1 {
		t.Fatal("Stytch was not asked to revoke")
	}
	h := e.g.Authenticate(okHandler())
	wantStatus(t, do(h, req("GET", "/", bearer(jwt))), 401, middleware.CodeSessionExpired)
	rec := do(h, req("GET", "/", cookies(jwt, tok)))
	wantStatus(t, rec, 401, middleware.CodeSessionExpired)
	if c := setCookies(rec)[middleware.DefaultJWTCookie]; c == nil || c.MaxAge >= 0 {
		t.Fatal("cookies not cleared")
	}
	wantStatus(t, do(h, req("GET", "/", bearer(tok))), 401, middleware.CodeSessionExpired)
	// Another session is untouched.
	_, other := e.session(orgAcme, "member-test-other", "viewer")
	wantStatus(t, do(h, req("GET", "/", bearer(other))), 200, "")
	if err := e.g.Revoke(context.Background(), &middleware.Principal{}); !errors.Is(err, middleware.ErrNoSession) {
		t.Fatalf("revoking nothing: %v", err)
	}
}

// TestRevokeWhileStytchIsDown: the session is refused here even when
// Stytch cannot be told; the error says so.
func TestRevokeWhileStytchIsDown(t *testing.T) {
	e := newEnv(t, nil)
	_, jwt := e.session(orgAcme, "member-test-revoke-down", "viewer")
	e.warm(jwt)
	var p *middleware.Principal
	grab := e.g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p, _ = middleware.FromContext(r.Context()) }))
	do(grab, req("GET", "/", bearer(jwt)))
	e.srv.SetFault(stytchtest.EndpointRevoke, stytchtest.Fault{Status: 503})
	if err := e.g.Revoke(context.Background(), p); err == nil {
		t.Fatal("a failed revocation at Stytch reported success")
	}
	wantStatus(t, do(e.g.Authenticate(okHandler()), req("GET", "/", bearer(jwt))), 401, middleware.CodeSessionExpired)
	// Five minutes and the leeway later no JWT minted before the
	// revocation is valid any more: the local record has done its job, and
	// Stytch, which never heard of the revocation, decides again.
	e.clock.Advance(6 * time.Minute)
	rec := do(e.g.Authenticate(okHandler()), req("GET", "/", bearer(jwt)))
	wantStatus(t, rec, 200, "")
	if body(t, rec)["source"] != "remote" {
		t.Fatalf("want Stytch to decide: %v", body(t, rec))
	}
}

// TestLogoutHandler: logout revokes, clears the cookies and answers 204,
// also without a session.
func TestLogoutHandler(t *testing.T) {
	e := newEnv(t, nil)
	tok, jwt := e.session(orgAcme, "member-test-logout", "viewer")
	e.warm(jwt)
	logout := e.g.Optional(e.g.LogoutHandler(nil))
	rec := do(logout, req("POST", "/logout", cookies(jwt, tok)))
	if rec.Code != 204 || setCookies(rec)[middleware.DefaultTokenCookie] == nil || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("logout: %d %v", rec.Code, rec.Header())
	}
	wantStatus(t, do(e.g.Authenticate(okHandler()), req("GET", "/", cookies(jwt, tok))), 401, middleware.CodeSessionExpired)
	if rec := do(logout, req("POST", "/logout")); rec.Code != 204 {
		t.Fatalf("logout without a session: %d", rec.Code)
	}
	// Another site cannot sign the user out: a cross-site POST with the
	// cookies is refused and clears nothing.
	tok2, jwt2 := e.session(orgAcme, "member-test-logout-csrf", "viewer")
	rec = do(logout, req("POST", "/logout", cookies(jwt2, tok2), header("Sec-Fetch-Site", "cross-site")))
	wantStatus(t, rec, 403, middleware.CodeCrossOrigin)
	if len(setCookies(rec)) != 0 {
		t.Fatal("a cross-site logout cleared the cookies")
	}
}

// TestRevokeOutlivesLongRemoteCache: with a remote cache longer than a
// JWT's life, the revoked opaque token stays refused while its cached
// answer could still be served, and Stytch decides once both are gone.
func TestRevokeOutlivesLongRemoteCache(t *testing.T) {
	const ttl = 20 * time.Minute
	e := newEnv(t, func(c *middleware.Config) { c.Remote.CacheTTL = ttl })
	tok, jwt := e.session(orgAcme, "member-test-revoke-long-cache", "viewer")
	e.warm(jwt)
	var p *middleware.Principal
	grab := e.g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p, _ = middleware.FromContext(r.Context()) }))
	// The opaque token's answer is cached for ttl.
	wantStatus(t, do(grab, req("GET", "/", bearer(tok))), 200, "")
	if p == nil || p.Source != middleware.SourceRemote {
		t.Fatalf("first opaque request: %+v", p)
	}
	if err := e.g.Revoke(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	h := e.g.Authenticate(okHandler())
	// The attack: replay the opaque token after the JWT lifetime but
	// while its answer sits in this replica's remote cache.
	for _, d := range []time.Duration{time.Minute, 5 * time.Minute, ttl - time.Second} {
		e.clock.Set(t0.Add(d))
		wantStatus(t, do(h, req("GET", "/", bearer(tok))), 401, middleware.CodeSessionExpired)
	}
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 1 {
		t.Fatalf("%d Authenticate calls while refused locally, want 1", n)
	}
	// Past ttl plus the leeway the cache is gone; Stytch, which revoked
	// the session, refuses it.
	e.clock.Set(t0.Add(ttl + time.Minute))
	wantStatus(t, do(h, req("GET", "/", bearer(tok))), 401, middleware.CodeSessionExpired)
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 2 {
		t.Fatalf("%d Authenticate calls, want Stytch asked once more", n)
	}
}
