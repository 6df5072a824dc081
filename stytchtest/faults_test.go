package stytchtest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/internal/testkit"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func TestFaultStatus(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	cases := []struct {
		name       string
		fault      stytchtest.Fault
		status     int
		typ        string
		retryAfter string
	}{
		{"429 with Retry-After rounded up", stytchtest.Fault{Status: 429, RetryAfter: 1500 * time.Millisecond}, 429, "too_many_requests", "2"},
		{"429 without Retry-After", stytchtest.Fault{Status: 429}, 429, "too_many_requests", ""},
		{"500", stytchtest.Fault{Status: 500}, 500, "internal_server_error", ""},
		{"503 default type", stytchtest.Fault{Status: 503, RetryAfter: time.Minute}, 503, "service_unavailable", "60"},
		{"custom type", stytchtest.Fault{Status: 404, ErrorType: "session_not_found"}, 404, "session_not_found", ""},
		{"401", stytchtest.Fault{Status: 401}, 401, "unauthorized_credentials", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv.SetFault(stytchtest.EndpointPolicy, c.fault)
			defer srv.ClearFaults()
			r := call(t, srv, http.MethodGet, pathPolicy, "")
			wantError(t, r, c.status, c.typ)
			if got := r.header.Get("Retry-After"); got != c.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, c.retryAfter)
			}
		})
	}
	// Faults answer before authentication: an outage looks the same to everyone.
	srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Status: 502})
	wantError(t, call(t, srv, http.MethodGet, pathPolicy, "", noAuth()), 502, "bad_gateway")
	// Other endpoints are unaffected.
	wantOK(t, call(t, srv, http.MethodGet, pathOrgPolicy+"o", ""))
	srv.ClearFault(stytchtest.EndpointPolicy)
	wantOK(t, call(t, srv, http.MethodGet, pathPolicy, ""))
}

func TestFaultTimes(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	srv.SetFault(stytchtest.EndpointJWKS, stytchtest.Fault{Status: 500, Times: 2})
	wantError(t, call(t, srv, http.MethodGet, jwksPath(srv), "", noAuth()), 500, "internal_server_error")
	wantError(t, call(t, srv, http.MethodGet, jwksPath(srv), "", noAuth()), 500, "internal_server_error")
	wantOK(t, call(t, srv, http.MethodGet, jwksPath(srv), "", noAuth()))
	wantOK(t, call(t, srv, http.MethodGet, jwksPath(srv), "", noAuth()))
	if n := srv.Calls(stytchtest.EndpointJWKS); n != 4 {
		t.Errorf("Calls = %d, want 4 (faulted requests count)", n)
	}
	// A new fault replaces the old one.
	srv.SetFault(stytchtest.EndpointJWKS, stytchtest.Fault{Status: 500})
	srv.SetFault(stytchtest.EndpointJWKS, stytchtest.Fault{Status: 429, Times: 1})
	wantError(t, call(t, srv, http.MethodGet, jwksPath(srv), "", noAuth()), 429, "too_many_requests")
	wantOK(t, call(t, srv, http.MethodGet, jwksPath(srv), "", noAuth()))
}

func TestFaultBody(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	huge := bytes.Repeat([]byte("x"), 5<<20)
	cases := []struct {
		name        string
		fault       stytchtest.Fault
		status      int
		contentType string
		body        []byte
	}{
		{"HTML 502", stytchtest.Fault{Status: 502, Body: []byte("<html><body>Bad Gateway</body></html>"), ContentType: "text/html"},
			502, "text/html", []byte("<html><body>Bad Gateway</body></html>")},
		{"sniffed content type at 200", stytchtest.Fault{Body: []byte("<html>maintenance</html>")},
			200, "text/html; charset=utf-8", []byte("<html>maintenance</html>")},
		{"truncated JSON", stytchtest.Fault{Body: []byte(`{"keys":[`), ContentType: "application/json"},
			200, "application/json", []byte(`{"keys":[`)},
		{"empty body", stytchtest.Fault{Status: 500, Body: []byte{}, ContentType: "application/json"},
			500, "application/json", []byte{}},
		{"huge body", stytchtest.Fault{Body: huge, ContentType: "application/json"}, 200, "application/json", huge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv.SetFault(stytchtest.EndpointJWKS, c.fault)
			r := call(t, srv, http.MethodGet, jwksPath(srv), "", noAuth())
			if r.status != c.status || r.header.Get("Content-Type") != c.contentType || !bytes.Equal(r.raw, c.body) {
				t.Errorf("got %d %q %d bytes", r.status, r.header.Get("Content-Type"), len(r.raw))
			}
		})
	}
	srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Status: 429, RetryAfter: time.Second, Body: []byte("slow down")})
	r := call(t, srv, http.MethodPost, pathAuthenticate, `{}`)
	if r.status != 429 || r.header.Get("Retry-After") != "1" || string(r.raw) != "slow down" {
		t.Errorf("body fault with Retry-After: %d %q %q", r.status, r.header.Get("Retry-After"), r.raw)
	}
}

// rawDo sends a GET with its own client and returns the error.
func rawDo(t *testing.T, ctx context.Context, url string, timeout time.Duration) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := httpClient(t)
	c.Timeout = timeout
	resp, err := c.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func TestFaultDrop(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	srv.SetFault(stytchtest.EndpointJWKS, stytchtest.Fault{Drop: true, Times: 1})
	if _, err := rawDo(t, context.Background(), srv.JWKSURL(), 5*time.Second); err == nil {
		t.Fatal("a dropped connection gave a response")
	}
	if _, err := rawDo(t, context.Background(), srv.JWKSURL(), 5*time.Second); err != nil {
		t.Fatalf("after the one-time drop: %v", err)
	}
	if n := srv.Calls(stytchtest.EndpointJWKS); n != 2 {
		t.Errorf("Calls = %d", n)
	}
}

func TestFaultHangUntilClientGivesUp(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	srv.SetFault(stytchtest.EndpointJWKS, stytchtest.Fault{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := rawDo(t, ctx, srv.JWKSURL(), 0)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
	// The server keeps serving other endpoints meanwhile.
	wantOK(t, call(t, srv, http.MethodGet, pathPolicy, ""))
}

func TestFaultHangReleasedByClose(t *testing.T) {
	for _, f := range []stytchtest.Fault{{Hang: true}, {Latency: time.Hour}} {
		srv := stytchtest.NewServer(stytchtest.Options{SigningKey: testkit.SigningKey()})
		srv.SetFault(stytchtest.EndpointJWKS, f)
		done := make(chan error, 1)
		go func() {
			_, err := rawDo(t, context.Background(), srv.JWKSURL(), 0)
			done <- err
		}()
		for srv.Calls(stytchtest.EndpointJWKS) == 0 {
			time.Sleep(time.Millisecond)
		}
		srv.Close() // must not wait for the hour
		if err := <-done; err == nil {
			t.Errorf("%+v: the held request got a response after Close", f)
		}
	}
}

func TestFaultLatency(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	srv.SetFault(stytchtest.EndpointJWKS, stytchtest.Fault{Latency: 10 * time.Millisecond})
	resp, err := rawDo(t, context.Background(), srv.JWKSURL(), 5*time.Second)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("latency alone should still answer normally: %v", err)
	}
	srv.SetFault(stytchtest.EndpointJWKS, stytchtest.Fault{Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := rawDo(t, ctx, srv.JWKSURL(), 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
	srv.SetFault(stytchtest.EndpointJWKS, stytchtest.Fault{Latency: 10 * time.Millisecond, Status: 503})
	resp, err = rawDo(t, context.Background(), srv.JWKSURL(), 5*time.Second)
	if err != nil || resp.StatusCode != 503 {
		t.Fatalf("latency then status: %v", err)
	}
}

func TestCalls(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	requests := []struct {
		ep           stytchtest.Endpoint
		method, path string
	}{
		{stytchtest.EndpointAuthenticate, http.MethodPost, pathAuthenticate},
		{stytchtest.EndpointGet, http.MethodGet, pathSessions},
		{stytchtest.EndpointExchange, http.MethodPost, pathExchange},
		{stytchtest.EndpointMigrate, http.MethodPost, pathMigrate},
		{stytchtest.EndpointRevoke, http.MethodPost, pathRevoke},
		{stytchtest.EndpointJWKS, http.MethodGet, jwksPath(srv)},
		{stytchtest.EndpointPolicy, http.MethodGet, pathPolicy},
		{stytchtest.EndpointOrgPolicy, http.MethodGet, pathOrgPolicy + "o"},
	}
	for i, req := range requests {
		call(t, srv, req.method, req.path, "")
		call(t, srv, req.method, req.path, "", noAuth()) // errors count too
		for j, other := range requests {
			want := int64(0)
			if j <= i {
				want = 2
			}
			if got := srv.Calls(other.ep); got != want {
				t.Errorf("after %s: Calls(%s) = %d, want %d", req.ep, other.ep, got, want)
			}
		}
	}
	call(t, srv, http.MethodPut, pathOrgPolicy+"o", `{"org_policy":{"roles":[]}}`)
	if got := srv.Calls(stytchtest.EndpointOrgPolicy); got != 3 {
		t.Errorf("PUT not counted: %d", got)
	}
	total := func() (n int64) {
		for _, ep := range []stytchtest.Endpoint{stytchtest.EndpointAuthenticate, stytchtest.EndpointGet, stytchtest.EndpointExchange,
			stytchtest.EndpointMigrate, stytchtest.EndpointRevoke, stytchtest.EndpointJWKS, stytchtest.EndpointPolicy, stytchtest.EndpointOrgPolicy} {
			n += srv.Calls(ep)
		}
		return n
	}
	before := total()
	call(t, srv, http.MethodGet, "/v1/unknown", "")
	if got := total(); got != before {
		t.Errorf("an unknown path was counted against an endpoint: %d -> %d", before, got)
	}
	srv.ResetCalls()
	for _, req := range requests {
		if got := srv.Calls(req.ep); got != 0 {
			t.Errorf("after ResetCalls %s = %d", req.ep, got)
		}
	}
	if !strings.HasPrefix(string(stytchtest.EndpointOrgPolicy), "org") {
		t.Error("endpoint names changed")
	}
}
