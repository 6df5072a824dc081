package middleware_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// tamperer sits between the guard and the emulator and rewrites
// Authenticate requests and answers, as a buggy gateway or a compromised
// proxy would.
type tamperer struct {
	mu       sync.Mutex
	request  func(body map[string]any) // rewrites what is sent to Stytch
	response func(body map[string]any) // rewrites Stytch's 200 answer
}

func (tp *tamperer) set(req, resp func(map[string]any)) {
	tp.mu.Lock()
	tp.request, tp.response = req, resp
	tp.mu.Unlock()
}

func rewriteJSON(body io.ReadCloser, f func(map[string]any)) ([]byte, error) {
	raw, err := io.ReadAll(body)
	body.Close()
	if err != nil || f == nil {
		return raw, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return raw, nil
	}
	f(m)
	return json.Marshal(m)
}

// bindEnv is an env whose guard talks to the emulator through a tamperer.
func bindEnv(t *testing.T, breakerFailures int) (*env, *tamperer) {
	t.Helper()
	tp := &tamperer{}
	var target *url.URL
	proxy := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			if strings.HasSuffix(r.In.URL.Path, "/sessions/authenticate") {
				tp.mu.Lock()
				f := tp.request
				tp.mu.Unlock()
				raw, _ := rewriteJSON(r.Out.Body, f)
				r.Out.Body = io.NopCloser(bytes.NewReader(raw))
				r.Out.ContentLength = int64(len(raw))
				r.Out.Header.Set("Content-Length", strconv.Itoa(len(raw)))
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			if !strings.HasSuffix(resp.Request.URL.Path, "/sessions/authenticate") || resp.StatusCode != 200 {
				return nil
			}
			tp.mu.Lock()
			f := tp.response
			tp.mu.Unlock()
			raw, err := rewriteJSON(resp.Body, f)
			if err != nil {
				return err
			}
			resp.Body = io.NopCloser(bytes.NewReader(raw))
			resp.ContentLength = int64(len(raw))
			resp.Header.Set("Content-Length", strconv.Itoa(len(raw)))
			return nil
		},
	})
	t.Cleanup(proxy.Close)
	e := newEnv(t, func(c *middleware.Config) {
		target, _ = url.Parse(c.BaseURL)
		c.BaseURL = proxy.URL
		c.Remote.BreakerFailures = breakerFailures
	})
	return e, tp
}

// TestRemoteAnswersAreBound: an answer of Stytch (or of what stands in
// front of it) that is not about the credential sent is an upstream fault:
// 503 auth_unavailable, no principal, no cookie, one Error record with the
// request id, never cached.
func TestRemoteAnswersAreBound(t *testing.T) {
	e, tp := bindEnv(t, 100)
	aliceTok, aliceJWT := e.session(orgAcme, "member-test-alice", "editor")
	bobTok, bobJWT := e.session(orgAcme, "member-test-bob", "admin")
	e.warm(aliceJWT)
	e.clock.Advance(6 * time.Minute) // both JWTs expired: Stytch decides
	del := func(k string) func(map[string]any) { return func(m map[string]any) { delete(m, k) } }
	cases := []struct {
		name     string
		cred     reqOpt
		request  func(map[string]any)
		response func(map[string]any)
	}{
		// The gateway asks about bob's opaque token instead of alice's: Stytch answers truthfully about bob.
		{"another member's answer for an opaque cookie", cookies("", aliceTok), func(m map[string]any) { m["session_token"] = bobTok }, nil},
		// The same with alice's expired JWT as a Bearer credential.
		{"another member's answer for an expired JWT", bearer(aliceJWT), func(m map[string]any) { m["session_jwt"] = bobJWT }, nil},
		// The same with alice's cookies: bob's cookies must never reach alice's browser.
		{"another member's answer for expired cookies", cookies(aliceJWT, aliceTok), func(m map[string]any) { m["session_jwt"] = bobJWT }, nil},
		// A 200 without member_session.
		{"no member_session", bearer(aliceTok), nil, del("member_session")},
		// A member_session without its id.
		{"incomplete member_session", bearer(aliceTok), nil, func(m map[string]any) { delete(m["member_session"].(map[string]any), "member_session_id") }},
		// The member object is someone else's.
		{"member of another member", bearer(aliceTok), nil, func(m map[string]any) { m["member"].(map[string]any)["member_id"] = "member-test-bob" }},
		// The organization object is another organization's.
		{"organization of another organization", bearer(aliceTok), nil, func(m map[string]any) {
			m["organization"].(map[string]any)["organization_id"] = orgGlobex
		}},
		// The session token echoed is not the one sent.
		{"echoed token of another session", cookies("", aliceTok), nil, func(m map[string]any) { m["session_token"] = bobTok }},
		// A fresh JWT for another session, to be set as alice's cookie.
		{"session_jwt of another session", cookies(aliceJWT, aliceTok), nil, func(m map[string]any) { m["session_jwt"] = bobJWT }},
		// A fresh JWT that does not verify (its signature altered).
		{"forged session_jwt", cookies(aliceJWT, aliceTok), nil, func(m map[string]any) {
			j := m["session_jwt"].(string)
			m["session_jwt"] = j[:len(j)-4] + "AAAA"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.clock.Advance(10 * time.Second) // past the remote cache of the previous case
			tp.set(tc.request, tc.response)
			defer tp.set(nil, nil)
			e.logs.Reset()
			var ran bool
			h := e.g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran = true }))
			rec := do(h, req("GET", "/", tc.cred))
			wantStatus(t, rec, 503, middleware.CodeAuthUnavailable)
			if ran {
				t.Fatal("the handler ran")
			}
			if len(setCookies(rec)) != 0 {
				t.Fatalf("cookies set: %v", rec.Header().Values("Set-Cookie"))
			}
			logs := e.logs.String()
			if n := strings.Count(logs, `"level":"ERROR"`); n != 1 || !strings.Contains(logs, `"request_id":"request-id-`) {
				t.Fatalf("want one Error record with the request id, got %d: %s", n, logs)
			}
			noSecretIn(t, "log", logs, aliceTok, bobTok, aliceJWT, bobJWT)
			// Not cached: with an honest upstream the same request passes.
			tp.set(nil, nil)
			rec = do(e.g.Authenticate(okHandler()), req("GET", "/", tc.cred))
			wantStatus(t, rec, 200, "")
			if body(t, rec)["member_id"] != "member-test-alice" {
				t.Fatalf("honest answer: %v", body(t, rec))
			}
		})
	}
}

// TestUnboundAnswersOpenTheBreaker: answers about something else count as
// outages for the circuit breaker, which then fails fast.
func TestUnboundAnswersOpenTheBreaker(t *testing.T) {
	e, tp := bindEnv(t, 2)
	tok, _ := e.session(orgAcme, "member-test-breaker", "viewer")
	other, _ := e.session(orgAcme, "member-test-other", "viewer")
	tp.set(func(m map[string]any) { m["session_token"] = other }, nil)
	h := e.g.Authenticate(okHandler())
	e.srv.ResetCalls()
	for range 4 {
		wantStatus(t, do(h, req("GET", "/", bearer(tok))), 503, middleware.CodeAuthUnavailable)
	}
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 2 {
		t.Fatalf("%d calls reached Stytch; the breaker should have opened after 2", n)
	}
}

// TestRemoteVerdictsAreBound: without a usable policy Stytch decides the
// authorization check; a 200 without an authorizing verdict, or granting a
// role the session does not hold, is an upstream fault, never an allow.
func TestRemoteVerdictsAreBound(t *testing.T) {
	e, tp := bindEnv(t, 100)
	e.srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Status: 503})
	tok, _ := e.session(orgAcme, "member-test-verdict", "viewer")
	h := e.g.Require("documents", "read")(okHandler())
	cases := []struct {
		name     string
		response func(map[string]any)
		status   int
	}{
		// The honest verdict authorizes with the viewer role.
		{"honest verdict", nil, 200},
		// No verdict at all: nothing says the check passed.
		{"verdict missing", func(m map[string]any) { delete(m, "verdict") }, 503},
		// A verdict that does not authorize, on a 200.
		{"verdict not authorized", func(m map[string]any) { m["verdict"] = map[string]any{"authorized": false, "granting_roles": []any{}} }, 503},
		// A verdict granted by a role the session does not hold.
		{"verdict with a foreign role", func(m map[string]any) {
			m["verdict"] = map[string]any{"authorized": true, "granting_roles": []any{"admin"}}
		}, 503},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.clock.Advance(10 * time.Second)
			tp.set(nil, tc.response)
			defer tp.set(nil, nil)
			rec := do(h, req("GET", "/", bearer(tok)))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body.String())
			}
		})
	}

	// The check is asked about another member's session (an admin's token
	// swapped in on the way), and the answer echoes the viewer's token: the
	// admin's verdict must not authorize the viewer. An honest answer is
	// 403; a bound guard refuses the answer as an upstream fault.
	adminTok, _ := e.session(orgAcme, "member-test-admin", "admin")
	del := e.g.Require("documents", "delete")(okHandler())
	for _, tc := range []struct {
		name     string
		response func(map[string]any)
	}{
		// The admin's answer with the viewer's token echoed back.
		{"another member's verdict, echo rewritten", func(m map[string]any) { m["session_token"] = tok }},
		// The admin's answer with the echo stripped.
		{"another member's verdict, echo stripped", func(m map[string]any) { delete(m, "session_token") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.clock.Advance(10 * time.Second)
			wantStatus(t, do(del, req("GET", "/", bearer(tok))), 403, middleware.CodeForbidden)
			e.clock.Advance(10 * time.Second)
			tp.set(func(m map[string]any) {
				if m["authorization_check"] != nil {
					m["session_token"] = adminTok
				}
			}, tc.response)
			defer tp.set(nil, nil)
			rec := do(del, req("GET", "/", bearer(tok)))
			wantStatus(t, rec, 503, middleware.CodeAuthUnavailable)
		})
	}
}
