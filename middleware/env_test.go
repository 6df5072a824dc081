package middleware_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/internal/attacks"
	"github.com/stytchguard/stytchguard/internal/testkit"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

const (
	orgAcme   = "organization-test-acme"
	orgGlobex = "organization-test-globex"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testPolicy() client.Policy {
	p := stytchtest.DefaultPolicy()
	p.Resources = append(p.Resources,
		client.Resource{ResourceID: "documents", Actions: []string{"read", "write", "delete"}},
		client.Resource{ResourceID: "invoices", Actions: []string{"read"}})
	p.Roles = append(p.Roles,
		client.Role{RoleID: "admin", Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"*"}}, {ResourceID: "invoices", Actions: []string{"*"}}}},
		client.Role{RoleID: "editor", Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"read", "write"}}, {ResourceID: "invoices", Actions: []string{"read"}}}},
		client.Role{RoleID: "viewer", Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"read"}}}},
	)
	return p
}

// env is an emulator, a fake clock and a Guard talking to it over loopback.
type env struct {
	t     *testing.T
	srv   *stytchtest.Server
	clock *stytchtest.Clock
	g     *middleware.Guard
	logs  *testkit.SyncBuffer

	mu        sync.Mutex
	decisions []middleware.Decision
}

func newEnv(t *testing.T, mutate func(*middleware.Config)) *env {
	t.Helper()
	e := &env{t: t, clock: stytchtest.NewClock(t0), logs: &testkit.SyncBuffer{}}
	// The key and kid of internal/attacks, so its table can be replayed.
	e.srv = stytchtest.NewServer(stytchtest.Options{Now: e.clock.Now, SigningKey: testkit.SigningKey(), KeyID: attacks.KID})
	t.Cleanup(e.srv.Close)
	e.srv.SetPolicy(testPolicy())
	cfg := middleware.Config{
		ProjectID:  e.srv.ProjectID,
		Secret:     e.srv.Secret,
		BaseURL:    e.srv.URL,
		Now:        e.clock.Now,
		Logger:     slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnDecision: func(d middleware.Decision) { e.mu.Lock(); e.decisions = append(e.decisions, d); e.mu.Unlock() },
	}
	if mutate != nil {
		mutate(&cfg)
	}
	g, err := middleware.New(cfg)
	if err != nil {
		t.Fatalf("middleware.New: %v", err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	e.g = g
	return e
}

// session creates a session and returns its token and JWT.
func (e *env) session(org, member string, roles ...string) (token, jwt string) {
	e.t.Helper()
	token, jwt, err := e.srv.NewSession(stytchtest.SessionSpec{OrganizationID: org, MemberID: member, Roles: roles})
	if err != nil {
		e.t.Fatalf("NewSession: %v", err)
	}
	return token, jwt
}

// warm makes one local request so the JWKS is loaded before assertions on
// call counts.
func (e *env) warm(jwt string) {
	e.t.Helper()
	h := e.g.Authenticate(okHandler())
	for i := 0; i < 200; i++ {
		rec := do(h, req("GET", "/", bearer(jwt)))
		if rec.Code == http.StatusOK {
			e.srv.ResetCalls()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("verifier never became ready")
}

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := middleware.FromContext(r.Context())
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			_, _ = io.WriteString(w, `{"anonymous":true}`)
			return
		}
		if p.M2M != nil {
			_ = json.NewEncoder(w).Encode(map[string]any{"client_id": p.M2M.ClientID, "scopes": p.M2M.Scopes, "source": p.Source})
			return
		}
		out := map[string]any{"member_id": p.MemberSession.MemberID, "organization_id": p.MemberSession.OrganizationID, "source": p.Source}
		if v, ok := p.Verdict(); ok {
			out["granting_roles"] = v.GrantingRoles
		}
		_ = json.NewEncoder(w).Encode(out)
	})
}

type reqOpt func(*http.Request)

func bearer(tok string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func header(k, v string) reqOpt {
	return func(r *http.Request) { r.Header.Add(k, v) }
}

func cookies(jwt, token string) reqOpt {
	return func(r *http.Request) {
		if jwt != "" {
			r.AddCookie(&http.Cookie{Name: middleware.DefaultJWTCookie, Value: jwt})
		}
		if token != "" {
			r.AddCookie(&http.Cookie{Name: middleware.DefaultTokenCookie, Value: token})
		}
	}
}

func req(method, target string, opts ...reqOpt) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	for _, o := range opts {
		o(r)
	}
	return r
}

func do(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func body(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	return m
}

func wantStatus(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body.String())
	}
	if code != "" {
		if got := body(t, rec)["error"]; got != code {
			t.Fatalf("error code = %v, want %s", got, code)
		}
	}
}

func setCookies(rec *httptest.ResponseRecorder) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range (&http.Response{Header: rec.Header()}).Cookies() {
		out[c.Name] = c
	}
	return out
}

func noSecretIn(t *testing.T, where, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Fatalf("%s leaks a credential", where)
		}
	}
}

// viaLoopback sends r (built with req) to srv over loopback and returns the
// answer as a recorder, so assertions read the same as for in-process calls.
func viaLoopback(t *testing.T, srv *httptest.Server, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	out, err := http.NewRequest(r.Method, srv.URL+r.URL.RequestURI(), nil)
	if err != nil {
		t.Fatal(err)
	}
	out.Header = r.Header.Clone()
	resp, err := srv.Client().Do(out)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rec := httptest.NewRecorder()
	for k, v := range resp.Header {
		rec.Header()[k] = v
	}
	rec.Code = resp.StatusCode
	if _, err := rec.Body.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return rec
}
