package middleware_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// The tests of this file back claims the README and the package docs make.

func TestClassifyBoundaries(t *testing.T) {
	tok := func(n int) string { return strings.Repeat("A", n) }
	jwtOf := func(n int) string { return "a." + strings.Repeat("b", n-4) + ".c" }
	cases := []struct {
		name string
		in   string
		want middleware.Kind
	}{
		// shorter than any Stytch session token
		{"token 31", tok(31), middleware.KindInvalid},
		{"token 32", tok(32), middleware.KindSessionToken},
		{"token 44", tok(44), middleware.KindSessionToken},
		{"token 128", tok(128), middleware.KindSessionToken},
		// longer than a plausible token
		{"token 129", tok(129), middleware.KindInvalid},
		{"jwt at the 8 KiB cap", jwtOf(8192), middleware.KindJWT},
		// over the cap, refused before any decoding
		{"jwt over the cap", jwtOf(8193), middleware.KindInvalid},
		// empty middle segment
		{"empty segment", "a..c", middleware.KindInvalid},
		// leading dot
		{"leading dot", ".b.c", middleware.KindInvalid},
		// trailing dot
		{"trailing dot", "a.b.", middleware.KindInvalid},
		// four segments
		{"four segments", "a.b.c.d", middleware.KindInvalid},
		// a space inside a JWT has the JWT shape: the verifier's strict
		// base64url check refuses it before decoding (see the attack tests)
		{"space in jwt", "a.b c.d", middleware.KindJWT},
		// padding in a token
		{"padded token", tok(40) + "==", middleware.KindInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := middleware.Classify(tc.in, 0); got != tc.want {
				t.Fatalf("Classify = %v, want %v", got, tc.want)
			}
		})
	}
}

// tokenShape is an oracle independent of Classify: what may reach the
// verifier or Stytch at all.
var (
	jwtShape   = regexp.MustCompile(`^[^.]+\.[^.]+\.[^.]+$`)
	tokenShape = regexp.MustCompile(`^[A-Za-z0-9_-]{32,128}$`)
)

func TestErrorResponsesAndHeaders(t *testing.T) {
	e := newEnv(t, func(c *middleware.Config) {
		c.OrganizationID = func(r *http.Request) string { return r.URL.Query().Get("org") }
	})
	_, viewer := e.session(orgAcme, "", "viewer")
	e.warm(viewer)
	h := e.g.Require("documents", "read")(okHandler())
	// every refusal is uncacheable
	for _, rec := range []*struct {
		name   string
		r      *http.Request
		status int
		code   string
		www    string
	}{
		{"missing", req("GET", "/?org="+orgAcme), 401, middleware.CodeMissingCredentials, `Bearer realm="stytchguard", error="invalid_token"`},
		{"invalid", req("GET", "/?org="+orgAcme, bearer("a.b.c")), 401, middleware.CodeInvalidToken, `error="invalid_token"`},
		{"tenancy", req("GET", "/?org="+orgGlobex, bearer(viewer)), 403, middleware.CodeTenancyMismatch, ""},
	} {
		t.Run(rec.name, func(t *testing.T) {
			got := do(h, rec.r)
			wantStatus(t, got, rec.status, rec.code)
			if cc := got.Header().Get("Cache-Control"); cc != "no-store" {
				t.Fatalf("Cache-Control = %q, want no-store", cc)
			}
			www := got.Header().Get("WWW-Authenticate")
			if rec.www == "" && www != "" || !strings.Contains(www, rec.www) {
				t.Fatalf("WWW-Authenticate = %q, want %q", www, rec.www)
			}
		})
	}
}

func TestOpaqueTokenIsRecheckedAfterTheRemoteCache(t *testing.T) {
	e := newEnv(t, nil)
	tok, _ := e.session(orgAcme, "", "viewer")
	h := e.g.Authenticate(okHandler())
	wantStatus(t, do(h, req("GET", "/", bearer(tok))), 200, "")
	e.srv.RevokeSession(tok)
	// inside the cache window the answer is reused: the revocation window
	wantStatus(t, do(h, req("GET", "/", bearer(tok))), 200, "")
	e.clock.Advance(middleware.DefaultRemoteCacheTTL)
	wantStatus(t, do(h, req("GET", "/", bearer(tok))), 401, middleware.CodeSessionExpired)
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 2 {
		t.Fatalf("authenticate calls = %d, want 2", n)
	}
}

func TestHitPathAllocations(t *testing.T) {
	e := newEnv(t, func(c *middleware.Config) { c.Logger = nil; c.OnDecision = nil })
	_, jwt := e.session(orgAcme, "", "viewer")
	e.warm(jwt)
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	guarded := e.g.Require("documents", "read")(bare)
	r := req("GET", "/", bearer(jwt))
	var w nopWriter
	if got := do(guarded, r).Code; got != 200 {
		t.Fatalf("status %d", got)
	}
	// The README and issue budget: at most 5 allocations beyond the handler's.
	n := testing.AllocsPerRun(200, func() { guarded.ServeHTTP(w, r) })
	if n > 5 {
		t.Fatalf("a guarded hit allocates %v times, want at most 5", n)
	}
	t.Logf("guarded hit: %v allocations beyond the handler's", n)
}

// nopWriter is a ResponseWriter that allocates nothing.
type nopWriter struct{}

func (nopWriter) Header() http.Header         { return http.Header{} }
func (nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (nopWriter) WriteHeader(int)             {}
