package stytchtest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/stytchtest"
)

func TestNewServerDefaults(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	if !reID("project").MatchString(srv.ProjectID) {
		t.Errorf("ProjectID = %q", srv.ProjectID)
	}
	if !strings.HasPrefix(srv.Secret, "secret-test-") || len(srv.Secret) < 40 {
		t.Errorf("Secret has an unexpected shape")
	}
	if !reID("jwk").MatchString(srv.KeyID()) {
		t.Errorf("KeyID = %q", srv.KeyID())
	}
	u, err := url.Parse(srv.URL)
	if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" || u.Path != "" {
		t.Errorf("URL = %q, want http://127.0.0.1:<port>", srv.URL)
	}
	if srv.Issuer() != "stytch.com/"+srv.ProjectID {
		t.Errorf("Issuer = %q", srv.Issuer())
	}
	if srv.JWKSURL() != srv.URL+"/v1/b2b/sessions/jwks/"+srv.ProjectID {
		t.Errorf("JWKSURL = %q", srv.JWKSURL())
	}
}

func TestNewServerOptions(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{ProjectID: "project-test-abc", Secret: "secret-test-xyz", KeyID: "my-kid",
		CustomDomainIssuer: "https://auth.example.com"})
	if srv.ProjectID != "project-test-abc" || srv.Secret != "secret-test-xyz" || srv.KeyID() != "my-kid" {
		t.Fatalf("options not applied: %q %q", srv.ProjectID, srv.KeyID())
	}
	if srv.Issuer() != "https://auth.example.com" {
		t.Errorf("Issuer = %q", srv.Issuer())
	}
}

func TestLiveProjectUsesLiveIDs(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{ProjectID: "project-live-123"})
	if !strings.HasPrefix(srv.Secret, "secret-live-") || !strings.HasPrefix(srv.KeyID(), "jwk-live-") {
		t.Errorf("secret/kid not live-shaped: kid %q", srv.KeyID())
	}
	r := call(t, srv, http.MethodGet, pathPolicy, "")
	if id, _ := r.body["request_id"].(string); !strings.HasPrefix(id, "request-id-live-") {
		t.Errorf("request_id = %q", id)
	}
}

func TestBasicAuth(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	token, _ := newSession(t, srv, stytchtest.SessionSpec{OrganizationID: "organization-test-a"})
	endpoints := []struct{ method, path, body string }{
		{http.MethodPost, pathAuthenticate, mustJSON(t, map[string]any{"session_token": token})},
		{http.MethodGet, pathSessions + "?organization_id=organization-test-a&member_id=x", ""},
		{http.MethodPost, pathExchange, `{}`},
		{http.MethodPost, pathMigrate, `{}`},
		{http.MethodPost, pathRevoke, `{}`},
		{http.MethodGet, pathPolicy, ""},
		{http.MethodGet, pathOrgPolicy + "organization-test-a", ""},
		{http.MethodPut, pathOrgPolicy + "organization-test-a", `{"org_policy":{"roles":[]}}`},
	}
	cases := []struct {
		name string
		opt  reqOption
	}{
		// An unauthenticated caller reaches no session data.
		{"missing", noAuth()},
		// The right project with a guessed secret.
		{"wrong secret", basicAuth(srv.ProjectID, "secret-test-guess")},
		// The right secret presented for another project.
		{"wrong project", basicAuth("project-test-other", srv.Secret)},
		// A secret that is a prefix of the real one.
		{"secret prefix", basicAuth(srv.ProjectID, srv.Secret[:len(srv.Secret)-1])},
		// A bearer token instead of Basic credentials.
		{"bearer", header("Authorization", "Bearer "+srv.Secret)},
	}
	for _, c := range cases {
		for _, ep := range endpoints {
			t.Run(c.name+" "+ep.method+" "+ep.path, func(t *testing.T) {
				r := call(t, srv, ep.method, ep.path, ep.body, c.opt)
				wantError(t, r, http.StatusUnauthorized, "unauthorized_credentials")
			})
		}
	}
	// The session is untouched by the rejected calls.
	wantOK(t, authenticate(t, srv, map[string]any{"session_token": token}))
}

func TestJWKSWithAndWithoutAuth(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	for name, opts := range map[string][]reqOption{
		"with basic auth":    nil,
		"without auth":       {noAuth()},
		"with a wrong login": {basicAuth("x", "y")},
	} {
		t.Run(name, func(t *testing.T) {
			r := call(t, srv, http.MethodGet, jwksPath(srv), "", opts...)
			wantOK(t, r)
			keysExactly(t, r.body, "jwks", "keys", "request_id", "status_code")
		})
	}
	t.Run("other project", func(t *testing.T) {
		r := call(t, srv, http.MethodGet, "/v1/b2b/sessions/jwks/project-test-other", "", noAuth())
		wantError(t, r, http.StatusNotFound, "project_not_found")
	})
	t.Run("escaped project id", func(t *testing.T) {
		r := call(t, srv, http.MethodGet, "/v1/b2b/sessions/jwks/"+url.PathEscape(srv.ProjectID), "", noAuth())
		wantOK(t, r)
	})
}

func TestMethodNotAllowed(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	cases := []struct{ method, path, allow string }{
		{http.MethodGet, pathAuthenticate, "POST"},
		{http.MethodPost, pathSessions, "GET"},
		{http.MethodGet, pathExchange, "POST"},
		{http.MethodPut, pathMigrate, "POST"},
		{http.MethodDelete, pathRevoke, "POST"},
		{http.MethodPost, jwksPath(srv), "GET"},
		{http.MethodPost, pathPolicy, "GET"},
		{http.MethodDelete, pathOrgPolicy + "org", "GET, PUT"},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := call(t, srv, c.method, c.path, "")
			wantError(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
			if got := r.header.Get("Allow"); got != c.allow {
				t.Errorf("Allow = %q, want %q", got, c.allow)
			}
		})
	}
}

func TestUnknownRoute(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	for _, p := range []string{"/", "/v1/b2b/sessions/authenticate/", "/v1/b2b/sessions/jwks/", "/v1/b2b/rbac/organizations/a/b"} {
		r := call(t, srv, http.MethodGet, p, "")
		wantError(t, r, http.StatusNotFound, "not_found")
	}
}

func TestMalformedJSON(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	bodies := map[string]string{
		"truncated":       `{"session_token":`,
		"not an object":   `[1,2]`,
		"wrong type":      `{"session_token": 5}`,
		"trailing object": `{} {}`,
		"trailing brace":  `{}}`,
		"html":            `<html></html>`,
	}
	for _, path := range []string{pathAuthenticate, pathExchange, pathMigrate, pathRevoke} {
		for name, body := range bodies {
			t.Run(path+" "+name, func(t *testing.T) {
				wantError(t, call(t, srv, http.MethodPost, path, body), http.StatusBadRequest, "bad_request")
			})
		}
	}
	t.Run("put org policy", func(t *testing.T) {
		wantError(t, call(t, srv, http.MethodPut, pathOrgPolicy+"o", `{"org_policy":`), http.StatusBadRequest, "bad_request")
	})
	t.Run("body over 1 MiB", func(t *testing.T) {
		big := `{"session_token":"` + strings.Repeat("a", 1<<20) + `"}`
		wantError(t, call(t, srv, http.MethodPost, pathAuthenticate, big), http.StatusBadRequest, "bad_request")
	})
}

func TestRequestIDsAreUnique(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	seen := map[string]bool{}
	for range 20 {
		r := call(t, srv, http.MethodGet, pathPolicy, "")
		wantOK(t, r)
		id := r.body["request_id"].(string)
		if seen[id] {
			t.Fatalf("request_id %s repeated", id)
		}
		seen[id] = true
	}
	// Errors carry one too.
	checkMeta(t, call(t, srv, http.MethodGet, pathPolicy, "", noAuth()))
}

func TestCloseIsIdempotent(t *testing.T) {
	srv := stytchtest.NewServer(stytchtest.Options{})
	srv.Close()
	srv.Close()
	c := &http.Client{Timeout: time.Second}
	if resp, err := c.Get(srv.URL + pathPolicy); err == nil {
		resp.Body.Close()
		t.Fatal("closed server still answers")
	}
}

func TestClock(t *testing.T) {
	c := stytchtest.NewClock(t0)
	if !c.Now().Equal(t0) {
		t.Fatal("NewClock")
	}
	c.Advance(90 * time.Second)
	if !c.Now().Equal(t0.Add(90 * time.Second)) {
		t.Fatal("Advance")
	}
	c.Set(t0)
	if !c.Now().Equal(t0) {
		t.Fatal("Set")
	}
	var zero stytchtest.Clock
	if !zero.Now().IsZero() {
		t.Fatal("zero Clock")
	}
}

func TestLogfNeverSeesCredentials(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	srv, _ := newServer(t, stytchtest.Options{Logf: func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, fmt.Sprintf(format, args...))
	}})
	token, jwtStr := newSession(t, srv, stytchtest.SessionSpec{})
	wantOK(t, authenticate(t, srv, map[string]any{"session_token": token}))
	wantOK(t, revoke(t, srv, map[string]any{"session_jwt": jwtStr}, header("X-Stytch-Member-Session", token)))
	call(t, srv, http.MethodGet, pathSessions+"?organization_id=x&member_id=y", "")
	mu.Lock()
	defer mu.Unlock()
	if len(lines) != 3 {
		t.Fatalf("want one line per request, got %q", lines)
	}
	if !strings.Contains(lines[0], "POST /v1/b2b/sessions/authenticate -> 200") {
		t.Errorf("line = %q", lines[0])
	}
	for _, l := range lines {
		for _, secret := range []string{token, jwtStr, srv.Secret, "organization_id=x"} {
			if strings.Contains(l, secret) {
				t.Errorf("log line %q leaks a credential or query", l)
			}
		}
	}
}
