package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/stytchguard/stytchguard/middleware"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testApp is the whole demo in emulator mode behind an httptest server.
type testApp struct {
	*app
	srv *httptest.Server
}

func newTestApp(t *testing.T) *testApp {
	t.Helper()
	return newTestAppWith(t, appConfig{})
}

func newTestAppWith(t *testing.T, cfg appConfig) *testApp {
	t.Helper()
	a, err := newApp(cfg)
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	srv := httptest.NewServer(a.Handler)
	t.Cleanup(func() {
		srv.Close()
		if err := a.Close(); err != nil {
			t.Errorf("app.Close: %v", err)
		}
	})
	return &testApp{app: a, srv: srv}
}

func (ta *testApp) member(t *testing.T, name string) *demoMember {
	t.Helper()
	m, ok := findMember(ta.Members, name)
	if !ok {
		t.Fatalf("no demo member %q", name)
	}
	return m
}

// credKind is how a test request carries a member's session.
type credKind string

const (
	credNone    credKind = "none"
	credJWT     credKind = "bearer-jwt"   // Authorization: Bearer <session JWT>
	credToken   credKind = "bearer-token" // Authorization: Bearer <session token>
	credCookies credKind = "cookies"      // both session cookies, as a browser sends them
)

// response is a finished test request.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// errorCode returns the "error" field of a JSON error body.
func (r response) errorCode() string {
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error
}

// do sends method path (with an optional JSON body) as member m (nil: no
// credentials) carrying the credential kind.
func (ta *testApp) do(t *testing.T, m *demoMember, kind credKind, method, path, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ta.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if m != nil {
		switch kind {
		case credJWT:
			req.Header.Set("Authorization", "Bearer "+m.SessionJWT)
		case credToken:
			req.Header.Set("Authorization", "Bearer "+m.SessionToken)
		case credCookies:
			req.AddCookie(&http.Cookie{Name: middleware.DefaultJWTCookie, Value: m.SessionJWT})
			req.AddCookie(&http.Cookie{Name: middleware.DefaultTokenCookie, Value: m.SessionToken})
		}
	}
	resp, err := ta.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// documentIDs lists the ids of a GET documents response.
func documentIDs(t *testing.T, r response) []string {
	t.Helper()
	var body struct {
		Documents []document `json:"documents"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("documents body %q: %v", r.Body, err)
	}
	ids := make([]string, 0, len(body.Documents))
	for _, d := range body.Documents {
		ids = append(ids, d.ID)
	}
	return ids
}
