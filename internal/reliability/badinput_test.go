package reliability

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/stytchtest"
)

// rawRequest writes req on a fresh TCP connection to addr and returns the
// response status. The write runs beside the read: a server that refuses
// an oversized request answers before it has read all of it.
func rawRequest(t *testing.T, addr, req string) (int, error) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		_, _ = io.WriteString(conn, req)
	}()
	defer func() { _ = conn.Close(); <-wrote }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// hostileCases are requests a client may send to a guarded route, with the
// statuses acceptable for each (400 from the HTTP server, 401 from the
// Guard, 431 for oversized headers). Each names the attack it stands for.
func hostileCases(jwt string) []struct {
	name    string
	headers string // raw header lines, each ending in CRLF
	path    string // "" means pathRead
	want    []int
} {
	dots := strings.Repeat(".", 1_000_000)
	mib := strings.Repeat("a", 1<<20)
	return []struct {
		name    string
		headers string
		path    string
		want    []int
	}{
		// Baseline: no credential at all.
		{"no credential", "", "", []int{401}},
		// A proxy checks the first Authorization header, the app reads the second.
		{"two Authorization headers", "Authorization: Bearer " + jwt + "\r\nAuthorization: Bearer " + jwt + "\r\n", "", []int{401}},
		// Basic for the proxy, Bearer for the app.
		{"Basic then Bearer", "Authorization: Basic dXNlcjpwYXNz\r\nAuthorization: Bearer " + jwt + "\r\n", "", []int{401}},
		// Header-count amplification.
		{"100 Authorization headers", strings.Repeat("Authorization: Bearer a.b.c\r\n", 100), "", []int{401}},
		// Memory exhaustion through one huge credential, within the
		// server's header limit: the Guard's size cap refuses it.
		{"1 MiB Authorization header", "Authorization: Bearer " + mib + "\r\n", "", []int{401, 431}},
		// A 1 MiB cookie header of junk cookies, no session among them.
		{"1 MiB cookie header", "Cookie: a=" + mib[:1<<19] + "; b=" + mib[:1<<19-64] + "\r\n", "", []int{401, 431}},
		// A header block over the server's limit (1 MiB plus its 4 KiB slack).
		{"header block over the limit", "Authorization: Bearer " + jwt + "\r\nX-Padding: " + mib + strings.Repeat("b", 8<<10) + "\r\n", "", []int{431}},
		// Splitting cost: a million segment separators as a bearer JWT.
		{"10^6 dots as bearer", "Authorization: Bearer " + dots + "\r\n", "", []int{401}},
		// The same in the session JWT cookie.
		{"10^6 dots as JWT cookie", "Cookie: stytch_session_jwt=" + dots + "\r\n", "", []int{401}},
		// A million dots after a valid JWT: shape check before any decode.
		{"valid JWT followed by 10^6 dots", "Authorization: Bearer " + jwt + dots[:900_000] + "\r\n", "", []int{401}},
		// C-string truncation in a downstream parser.
		{"NUL in JWT cookie", "Cookie: stytch_session_jwt=" + jwt[:20] + "\x00" + jwt[20:] + "\r\n", "", []int{400}},
		{"NUL after bearer JWT", "Authorization: Bearer " + jwt + "\x00\r\n", "", []int{400}},
		// Bare CR: header splitting in a proxy that treats CR as a line end.
		{"CR in JWT cookie", "Cookie: stytch_session_jwt=" + jwt + "\rX-Injected: 1\r\n", "", []int{400}},
		// CRLF plus folding: the rest of the cookie on a continuation line.
		{"CRLF and fold in JWT cookie", "Cookie: stytch_session_jwt=" + jwt[:20] + "\r\n " + jwt[20:] + "\r\n", "", []int{400, 401}},
		// CRLF injecting a second credential after a cookie.
		{"CRLF-injected Authorization after cookie", "Cookie: stytch_session_jwt=" + jwt + "\r\nAuthorization: Bearer x.y.z\r\nAuthorization: Bearer " + jwt + "\r\n", "", []int{401}},
		// Encoding confusion: bytes that are not UTF-8.
		{"non-UTF-8 bearer", "Authorization: Bearer \xff\xfe\xfd\xfc\xc3\x28aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", "", []int{400, 401}},
		{"non-UTF-8 in a JWT-shaped bearer", "Authorization: Bearer \xff\xfe.\xc3\x28." + jwt[strings.LastIndexByte(jwt, '.')+1:] + "\r\n", "", []int{400, 401}},
		{"non-UTF-8 JWT cookie", "Cookie: stytch_session_jwt=\xff" + jwt + "\r\n", "", []int{400, 401}},
		{"overlong UTF-8 dot in JWT", "Authorization: Bearer " + strings.Replace(jwt, ".", "\xc0\xae", 1) + "\r\n", "", []int{400, 401}},
		// Cookie tossing: a sibling domain plants a second session cookie.
		{"duplicate JWT cookies", "Cookie: stytch_session_jwt=" + jwt + "; stytch_session_jwt=a.b.c\r\n", "", []int{401}},
		{"duplicate JWT cookies in two headers", "Cookie: stytch_session_jwt=" + jwt + "\r\nCookie: stytch_session_jwt=a.b.c\r\n", "", []int{401}},
		// Percent-encoded NUL that a decoding layer might turn into a NUL.
		{"percent-encoded NUL in cookie", "Cookie: stytch_session_jwt=" + jwt + "%00\r\n", "", []int{401}},
		// Lookalike scheme in Cyrillic.
		{"Cyrillic Bearer scheme", "Authorization: \xd0\x92earer " + jwt + "\r\n", "", []int{401}},
		// Whitespace before the colon: RFC 9112 requires a 400.
		{"space before colon", "Authorization : Bearer " + jwt + "\r\n", "", []int{400}},
		// NUL in the request target.
		{"NUL in path", "Authorization: Bearer " + jwt + "\r\n", pathRead + "\x00", []int{400}},
	}
}

// Scenario 8: hostile input at the HTTP level, sent over raw TCP to the
// real http.Server. Pass: each request is answered 400, 401 or 431 as its
// case expects; never a 500, a dropped connection or a panic; and the
// Guard's cost per rejection is bounded: few allocations and no copy of the
// oversized input.
func TestHostileHTTPInput(t *testing.T) {
	s := newStack(t, stackOptions{})
	_, jwt := s.session("viewer")
	s.waitReady(jwt)
	addr := strings.TrimPrefix(s.base, "http://")
	auth0 := s.srv.Calls(stytchtest.EndpointAuthenticate)

	for _, c := range hostileCases(jwt) {
		t.Run(c.name, func(t *testing.T) {
			path := c.path
			if path == "" {
				path = pathRead
			}
			start := time.Now()
			status, err := rawRequest(t, addr, "GET "+path+" HTTP/1.1\r\nHost: app.example\r\n"+c.headers+"Connection: close\r\n\r\n")
			if err != nil {
				t.Fatalf("no HTTP answer (dropped connection or panic?): %v", err)
			}
			t.Logf("answered %d in %v", status, time.Since(start).Round(time.Microsecond))
			if !slices.Contains(c.want, status) {
				t.Errorf("answered %d, want one of %v", status, c.want)
			}
		})
	}
	if log := s.errLog.String(); strings.Contains(log, "panic") {
		t.Errorf("the HTTP server recovered a panic:\n%s", log)
	}
	if n := s.srv.Calls(stytchtest.EndpointAuthenticate) - auth0; n != 0 {
		t.Errorf("%d hostile requests reached Stytch", n)
	}
	if o := s.get(pathRead, jwt); o.status != http.StatusOK {
		t.Errorf("valid request after the hostile ones: %d", o.status)
	}

	t.Run("cost per rejection", func(t *testing.T) {
		h := s.guard.Require("documents", "read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.Error("a hostile request reached the handler")
		}))
		dots := strings.Repeat(".", 1_000_000)
		costs := []struct {
			name   string
			header http.Header
		}{
			{"no credential", http.Header{}},
			{"two Authorization headers", http.Header{"Authorization": {"Bearer " + jwt, "Bearer " + jwt}}},
			{"1 MiB Authorization header", http.Header{"Authorization": {"Bearer " + strings.Repeat("a", 1<<20)}}},
			{"10^6 dots as bearer", http.Header{"Authorization": {"Bearer " + dots}}},
			{"10^6 dots as JWT cookie", http.Header{"Cookie": {"stytch_session_jwt=" + dots}}},
			{"non-UTF-8 bearer", http.Header{"Authorization": {"Bearer \xff\xfe.\xc3\x28.abc"}}},
			{"duplicate JWT cookies", http.Header{"Cookie": {"stytch_session_jwt=" + jwt + "; stytch_session_jwt=a.b.c"}}},
			{"JWT of garbage segments", http.Header{"Authorization": {"Bearer aaaa.bbbb.cccc"}}},
		}
		const maxAllocs, maxBytes = 50, 4 << 10
		for _, c := range costs {
			r, err := http.NewRequest(http.MethodGet, "http://app.example"+pathRead, nil)
			if err != nil {
				t.Fatal(err)
			}
			r.Header = c.header
			w := &discardWriter{h: http.Header{}}
			serve := func() {
				clear(w.h)
				w.code = 0
				h.ServeHTTP(w, r)
			}
			serve()
			if w.code != http.StatusUnauthorized {
				t.Errorf("%s: answered %d, want 401", c.name, w.code)
			}
			allocs := testing.AllocsPerRun(200, serve)
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			const runs = 200
			for range runs {
				serve()
			}
			runtime.ReadMemStats(&m1)
			bytes := (m1.TotalAlloc - m0.TotalAlloc) / runs
			figures(t, "%s: %.0f allocations, %d bytes per rejection", c.name, allocs, bytes)
			if allocs > maxAllocs {
				t.Errorf("%s: %.0f allocations per rejection, want at most %d", c.name, allocs, maxAllocs)
			}
			if bytes > maxBytes {
				t.Errorf("%s: %d bytes allocated per rejection, want at most %d (no copy of the input)", c.name, bytes, maxBytes)
			}
		}
	})
}

// discardWriter is a ResponseWriter that keeps the status and drops the
// body, so allocation counts are the Guard's own.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header { return d.h }

func (d *discardWriter) Write(p []byte) (int, error) {
	if d.code == 0 {
		d.code = http.StatusOK
	}
	return len(p), nil
}

func (d *discardWriter) WriteHeader(code int) {
	if d.code == 0 {
		d.code = code
	}
}
