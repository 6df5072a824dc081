package stytchtest_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/internal/testkit"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// t0 is the fake clock's start in most tests.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	reRequestID = regexp.MustCompile(`^request-id-test-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	reToken     = regexp.MustCompile(`^[A-Za-z0-9_-]{44}$`)
	reTimestamp = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)
)

func reID(kind string) *regexp.Regexp {
	return regexp.MustCompile(`^` + kind + `-test-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
}

// newServer starts an emulator on a fake clock and closes it with the test.
func newServer(t *testing.T, opts stytchtest.Options) (*stytchtest.Server, *stytchtest.Clock) {
	t.Helper()
	clock := stytchtest.NewClock(t0)
	if opts.SigningKey == nil {
		opts.SigningKey = testkit.SigningKey() // key generation dominates the suite's time otherwise
	}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	srv := stytchtest.NewServer(opts)
	t.Cleanup(srv.Close)
	return srv, clock
}

// httpClient returns a client whose idle connections are closed with the
// test, so goleak sees no lingering transport goroutines.
func httpClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

type reqOption func(*http.Request)

func noAuth() reqOption { return func(r *http.Request) { r.Header.Del("Authorization") } }

func basicAuth(user, pass string) reqOption {
	return func(r *http.Request) { r.SetBasicAuth(user, pass) }
}

func header(k, v string) reqOption { return func(r *http.Request) { r.Header.Set(k, v) } }

// call sends a request with the server's Basic credentials and decodes a
// JSON object body.
func call(t *testing.T, srv *stytchtest.Server, method, path, body string, opts ...reqOption) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(srv.ProjectID, srv.Secret)
	for _, o := range opts {
		o(req)
	}
	resp, err := httpClient(t).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&r.body); err != nil {
			r.body = nil // callers that expect JSON fail on the missing keys
		}
	}
	return r
}

// mustJSON marshals v for a request body.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantOK checks a 200 response with the common keys.
func wantOK(t *testing.T, r response) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", r.status, short(r.raw))
	}
	checkMeta(t, r)
}

func checkMeta(t *testing.T, r response) {
	t.Helper()
	if id, _ := r.body["request_id"].(string); !reRequestID.MatchString(id) {
		t.Errorf("request_id = %q, want request-id-test-<uuid v4>", id)
	}
	if sc, _ := r.body["status_code"].(json.Number); sc.String() != itoa(r.status) {
		t.Errorf("status_code = %v, want %d", r.body["status_code"], r.status)
	}
}

// wantError checks an error response of the API's shape.
func wantError(t *testing.T, r response, status int, errorType string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, short(r.raw))
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want JSON", ct)
	}
	checkMeta(t, r)
	if got := r.body["error_type"]; got != errorType {
		t.Errorf("error_type = %v, want %s", got, errorType)
	}
	if m, _ := r.body["error_message"].(string); m == "" {
		t.Error("error_message is empty")
	}
	if u := r.body["error_url"]; u != "https://stytch.com/docs/api/errors/"+itoa(status) {
		t.Errorf("error_url = %v", u)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// decodeSegment decodes one base64url segment of a JWT into a map.
func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("segment is not base64url: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("segment is not a JSON object: %v", err)
	}
	return m
}

// jwtParts returns the decoded header and payload of a compact JWT.
func jwtParts(t *testing.T, token string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT has %d segments", len(parts))
	}
	return decodeSegment(t, parts[0]), decodeSegment(t, parts[1])
}

func obj(t *testing.T, v any, what string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s = %T(%v), want object", what, v, v)
	}
	return m
}

func num(t *testing.T, v any, what string) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%s = %T(%v), want number", what, v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("%s = %v, want integer", what, n)
	}
	return i
}

// keysExactly checks that m has exactly the keys want.
func keysExactly(t *testing.T, m map[string]any, what string, want ...string) {
	t.Helper()
	for _, k := range want {
		if _, ok := m[k]; !ok {
			t.Errorf("%s lacks key %q", what, k)
		}
	}
	if len(m) != len(want) {
		var extra []string
		for k := range m {
			found := false
			for _, w := range want {
				found = found || w == k
			}
			if !found {
				extra = append(extra, k)
			}
		}
		t.Errorf("%s has unexpected keys %v", what, extra)
	}
}

const (
	pathAuthenticate = "/v1/b2b/sessions/authenticate"
	pathSessions     = "/v1/b2b/sessions"
	pathExchange     = "/v1/b2b/sessions/exchange"
	pathMigrate      = "/v1/b2b/sessions/migrate"
	pathRevoke       = "/v1/b2b/sessions/revoke"
	pathPolicy       = "/v1/b2b/rbac/policy"
	pathOrgPolicy    = "/v1/b2b/rbac/organizations/"
)

func jwksPath(srv *stytchtest.Server) string { return "/v1/b2b/sessions/jwks/" + srv.ProjectID }

// newSession creates a session or fails the test.
func newSession(t *testing.T, srv *stytchtest.Server, spec stytchtest.SessionSpec) (token, jwtStr string) {
	t.Helper()
	token, jwtStr, err := srv.NewSession(spec)
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	return token, jwtStr
}

// authenticate posts an Authenticate body.
func authenticate(t *testing.T, srv *stytchtest.Server, body map[string]any) response {
	t.Helper()
	return call(t, srv, http.MethodPost, pathAuthenticate, mustJSON(t, body))
}

// short abbreviates a body for failure messages.
func short(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}
