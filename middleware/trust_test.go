package middleware_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/internal/attacks"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
	"github.com/stytchguard/stytchguard/verifier"
)

// TestOnlyPreflightsPass: an OPTIONS request passes untouched only when it
// is a real CORS preflight; everything else is guarded like the method it
// claims.
func TestOnlyPreflightsPass(t *testing.T) {
	preflight := []reqOpt{header("Origin", "https://app.example"), header("Access-Control-Request-Method", "DELETE")}
	cases := []struct {
		name   string
		guard  bool // Config.GuardOPTIONS
		method string
		opts   []reqOpt
		status int
	}{
		// A browser's preflight carries no credential and must pass.
		{"cors preflight passes", false, "OPTIONS", preflight, 200},
		// An OPTIONS without Origin is no preflight: a handler registered for every method would serve it.
		{"options without origin is guarded", false, "OPTIONS", []reqOpt{header("Access-Control-Request-Method", "GET")}, 401},
		// An OPTIONS without Access-Control-Request-Method is no preflight.
		{"options without request method is guarded", false, "OPTIONS", []reqOpt{header("Origin", "https://app.example")}, 401},
		// A bare OPTIONS probing the route.
		{"bare options is guarded", false, "OPTIONS", nil, 401},
		// A preflight that also claims DELETE through an override header is a DELETE to frameworks that honour it.
		{"preflight with method override is guarded", false, "OPTIONS", append([]reqOpt{header("X-HTTP-Method-Override", "DELETE")}, preflight...), 401},
		// The other override spellings.
		{"preflight with x-http-method is guarded", false, "OPTIONS", append([]reqOpt{header("X-HTTP-Method", "delete")}, preflight...), 401},
		{"preflight with x-method-override is guarded", false, "OPTIONS", append([]reqOpt{header("X-Method-Override", "PUT")}, preflight...), 401},
		// An override naming OPTIONS itself changes nothing.
		{"override naming options keeps the preflight", false, "OPTIONS", append([]reqOpt{header("X-HTTP-Method-Override", "options")}, preflight...), 200},
		// A GET claiming to be OPTIONS never passes.
		{"get claiming options is guarded", false, "GET", append([]reqOpt{header("X-HTTP-Method-Override", "OPTIONS")}, preflight...), 401},
		// GuardOPTIONS guards even real preflights.
		{"guarded preflight with GuardOPTIONS", true, "OPTIONS", preflight, 401},
	}
	e := newEnv(t, nil)
	eg := newEnv(t, func(c *middleware.Config) { c.GuardOPTIONS = true })
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := e.g
			if tc.guard {
				g = eg.g
			}
			var ran bool
			h := g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran = true }))
			rec := do(h, req(tc.method, "/orgs/x/documents", tc.opts...))
			if rec.Code != tc.status || ran != (tc.status == 200) {
				t.Fatalf("status %d, handler ran %v; want %d", rec.Code, ran, tc.status)
			}
		})
	}
}

// TestNoPrincipalMeansNone: a guard that decides "no principal" removes one
// an outer guard or NewContext stored.
func TestNoPrincipalMeansNone(t *testing.T) {
	e := newEnv(t, nil)
	inner := newEnv(t, func(c *middleware.Config) {
		// The inner guard shares the emulator and clock of the outer one.
		c.ProjectID, c.Secret, c.BaseURL, c.Now = e.srv.ProjectID, e.srv.Secret, e.srv.URL, e.clock.Now
		c.MaxTokenAge = time.Minute
	})
	tok, jwt := e.session(orgAcme, "member-test-nested", "viewer")
	e.warm(jwt)
	seen := func(w http.ResponseWriter, r *http.Request) {
		if _, ok := middleware.FromContext(r.Context()); ok {
			_, _ = w.Write([]byte("principal"))
			return
		}
		_, _ = w.Write([]byte("anonymous"))
	}
	h := e.g.Authenticate(inner.g.Optional(http.HandlerFunc(seen)))
	// Two minutes later the JWT is too old for the inner guard, which asks
	// Stytch; the session was revoked meanwhile.
	e.clock.Advance(2 * time.Minute)
	e.srv.RevokeSession(tok)
	rec := do(h, req("GET", "/", bearer(jwt)))
	if rec.Code != 200 || rec.Body.String() != "anonymous" {
		t.Fatalf("outer guard's principal leaked through Optional: %d %q", rec.Code, rec.Body.String())
	}
	// A principal planted with NewContext does not survive Optional without
	// a credential either.
	r := req("GET", "/")
	r = r.WithContext(middleware.NewContext(r.Context(), &middleware.Principal{MemberSession: &client.MemberSession{MemberID: "member-test-planted"}}))
	rec = do(e.g.Optional(http.HandlerFunc(seen)), r)
	if rec.Body.String() != "anonymous" {
		t.Fatalf("NewContext principal survived Optional: %q", rec.Body.String())
	}
}

// TestCookieResponsesAreNeverStored: a response that sets or clears the
// session cookies carries Cache-Control: no-store whatever the handler
// sets, and every guarded response varies on the credential headers.
func TestCookieResponsesAreNeverStored(t *testing.T) {
	e := newEnv(t, nil)
	tok, jwt := e.session(orgAcme, "member-test-store", "viewer")
	e.warm(jwt)
	public := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600")
		_, _ = w.Write([]byte("ok"))
	})
	h := e.g.Authenticate(public)
	// Local decision: the handler's caching choice stands, but Vary says
	// the answer depends on the credential.
	rec := do(h, req("GET", "/", cookies(jwt, tok)))
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "public, max-age=600" || !strings.Contains(rec.Header().Get("Vary"), "Cookie") ||
		!strings.Contains(rec.Header().Get("Vary"), "Authorization") {
		t.Fatalf("local: %d %v", rec.Code, rec.Header())
	}
	// Expired JWT in cookies: Stytch refreshes, the cookies are re-issued,
	// and the handler's public caching is overridden.
	e.clock.Advance(6 * time.Minute)
	rec = do(h, req("GET", "/", cookies(jwt, tok)))
	if rec.Code != 200 || setCookies(rec)[middleware.DefaultJWTCookie] == nil {
		t.Fatalf("refresh: %d %v", rec.Code, rec.Header())
	}
	if got := rec.Header().Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
		t.Fatalf("refreshed cookies with Cache-Control %q", got)
	}
	// Revoked: the cookies are cleared on a 401, never stored either.
	e.srv.RevokeSession(tok)
	e.clock.Advance(6 * time.Minute)
	rec = do(h, req("GET", "/", cookies(jwt, tok)))
	if rec.Code != 401 || rec.Header().Get("Cache-Control") != "no-store" || setCookies(rec)[middleware.DefaultTokenCookie] == nil {
		t.Fatalf("cleared: %d %v", rec.Code, rec.Header())
	}
	// Optional clears the cookies and goes on: the handler's answer is
	// not stored either.
	rec = do(e.g.Optional(public), req("GET", "/", cookies(jwt, tok)))
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-store" || setCookies(rec)[middleware.DefaultTokenCookie] == nil {
		t.Fatalf("optional cleared: %d %v", rec.Code, rec.Header())
	}
	// A handler that sets public caching and writes nothing, served by a
	// real server: the refreshed cookies still go out with no-store.
	tok2, jwt2 := e.session(orgAcme, "member-test-store-silent", "viewer")
	silent := httptest.NewServer(e.g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600")
	})))
	defer silent.Close()
	e.clock.Advance(6 * time.Minute)
	r, _ := http.NewRequest("GET", silent.URL, nil)
	r.AddCookie(&http.Cookie{Name: middleware.DefaultJWTCookie, Value: jwt2})
	r.AddCookie(&http.Cookie{Name: middleware.DefaultTokenCookie, Value: tok2})
	resp, err := silent.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Values("Cache-Control"); resp.StatusCode != 200 || len(resp.Cookies()) != 2 || len(got) != 1 || got[0] != "no-store" {
		t.Fatalf("silent handler: %d, %d cookies, Cache-Control %q", resp.StatusCode, len(resp.Cookies()), got)
	}
}

// TestErrorDescriptionIsPrintableASCII: whatever an extractor writes, the
// challenge and the body carry printable ASCII only.
func TestErrorDescriptionIsPrintableASCII(t *testing.T) {
	e := newEnv(t, func(c *middleware.Config) {
		c.Extractors = []middleware.Extractor{func(r *http.Request) (middleware.Credential, error) {
			return middleware.Credential{}, &middleware.Error{Status: 401, Code: middleware.CodeInvalidToken, Reason: middleware.ErrMalformedCredentials,
				Description: "bad\u00e9 \"token\"\\ \x00\x1b[31m\r\nInjected: yes \u202e"}
		}}
	})
	rec := do(e.g.Authenticate(okHandler()), req("GET", "/"))
	for where, v := range map[string]string{"challenge": rec.Header().Get("WWW-Authenticate"), "body": fmt.Sprint(body(t, rec)["error_description"])} {
		for _, r := range v {
			if r < 0x20 || r > 0x7e {
				t.Fatalf("%s carries %q", where, v)
			}
		}
	}
	if got := body(t, rec)["error_description"]; got != "bad token [31mInjected: yes " {
		t.Fatalf("description %q", got)
	}
}

// TestUpstreamMessagesAreRedacted: an error message from Stytch that echoes
// the credential is logged without it.
func TestUpstreamMessagesAreRedacted(t *testing.T) {
	e := newEnv(t, nil)
	tok, _ := e.session(orgAcme, "member-test-echo", "viewer")
	// Stytch (or what stands in front of it) answers 400 quoting the token.
	e.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Status: 400, ContentType: "application/json",
		Body: []byte(`{"status_code":400,"request_id":"request-id-echo","error_type":"invalid_argument","error_message":"cannot use ` + tok + ` here"}`)})
	rec := do(e.g.Authenticate(okHandler()), req("GET", "/", bearer(tok)))
	if rec.Code != 503 {
		t.Fatalf("status %d", rec.Code)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "[redacted]") || !strings.Contains(logs, "request-id-echo") {
		t.Fatalf("no redacted error record with the request id: %s", logs)
	}
	noSecretIn(t, "log", logs, tok, tok[:20], tok[len(tok)-20:])
	// The error handed to OnDecision (and to an ErrorHandler) prints
	// without it too.
	e.mu.Lock()
	defer e.mu.Unlock()
	last := e.decisions[len(e.decisions)-1]
	if last.Err == nil || !strings.Contains(last.Err.Error(), "[redacted]") {
		t.Fatalf("decision error %v", last.Err)
	}
	noSecretIn(t, "decision error", last.Err.Error(), tok)
}

// mutateAll changes every settable value reachable from v: strings,
// numbers, booleans, times, slices, maps and what they hold.
func mutateAll(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return
		}
		if v.Kind() == reflect.Interface {
			e := v.Elem()
			n := reflect.New(e.Type()).Elem()
			n.Set(e)
			mutateAll(n)
			if v.CanSet() {
				v.Set(n)
			}
			return
		}
		mutateAll(v.Elem())
	case reflect.Struct:
		if t, ok := v.Addr().Interface().(*time.Time); ok {
			*t = t.Add(time.Hour)
			return
		}
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				mutateAll(v.Field(i))
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			mutateAll(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			mutateAll(e)
			v.SetMapIndex(k, e)
		}
		if v.Type().Key().Kind() == reflect.String {
			v.SetMapIndex(reflect.ValueOf("planted").Convert(v.Type().Key()), reflect.Zero(v.Type().Elem()))
		}
	case reflect.String:
		v.SetString(v.String() + "-changed")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(v.Float() + 1)
	}
}

// snapshot is what a handler sees of its principal, as plain values.
type snapshot struct {
	Session *client.MemberSession
	Claims  *client.Claims
	Member  *client.Member
	Org     *client.Organization
	Verdict *client.AuthorizationVerdict
	M2M     *client.M2MClaims
	Source  middleware.Source
}

// TestPrincipalsAreImmutable: handlers that change everything they receive,
// concurrently, change nothing another request sees, on a local decision
// (verified-token cache), a remote one and a cached remote one.
func TestPrincipalsAreImmutable(t *testing.T) {
	for _, path := range []string{"local", "remote", "remote verdict", "m2m"} {
		t.Run(path, func(t *testing.T) {
			e := newEnv(t, nil)
			if path == "remote verdict" {
				// No policy: Stytch decides the check, and its verdict is
				// handed to the handlers.
				e.srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Status: 503})
				e.srv.SetFault(stytchtest.EndpointOrgPolicy, stytchtest.Fault{Status: 503})
			}
			tok, jwt := e.sessionWith(orgAcme, "member-test-immutable", map[string]any{"plan": "gold", "limits": map[string]any{"docs": 3.0, "tags": []any{"a", "b"}}}, "viewer", "editor")
			e.warm(jwt)
			cred := bearer(jwt)
			guard := e.g.Require("documents", "read")
			switch path {
			case "remote", "remote verdict":
				cred = bearer(tok)
			case "m2m":
				cred = bearer(m2mToken(t, e, []string{"read:documents", "write:documents"}, map[string]any{"plan": "gold", "tags": []any{"a", "b"}}))
				guard = e.g.RequireScopes("read:documents")
			}
			var mu sync.Mutex
			var seen []snapshot
			look := func(mutate bool) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					p, ok := middleware.FromContext(r.Context())
					if !ok {
						t.Error("no principal")
						return
					}
					s, _ := middleware.MemberSessionFromContext(r.Context())
					c, _ := middleware.ClaimsFromContext(r.Context())
					if s != p.MemberSession || c != p.Claims {
						t.Error("the context helpers disagree with FromContext")
					}
					v, _ := p.Verdict()
					snap := snapshot{Session: p.MemberSession, Claims: p.Claims, Member: p.Member, Org: p.Organization, Verdict: v, M2M: p.M2M, Source: p.Source}
					if !mutate {
						mu.Lock()
						seen = append(seen, deepClone(snap))
						mu.Unlock()
						return
					}
					mutateAll(reflect.ValueOf(p).Elem())
					mutateAll(reflect.ValueOf(v))
				})
			}
			before := do(guard(look(false)), req("GET", "/", cred))
			if before.Code != 200 || len(seen) != 1 {
				t.Fatalf("first request %d", before.Code)
			}
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() { do(guard(look(true)), req("GET", "/", cred)) })
			}
			wg.Wait()
			do(guard(look(false)), req("GET", "/", cred))
			if len(seen) != 2 {
				t.Fatalf("%d snapshots", len(seen))
			}
			seen[0].Source, seen[1].Source = "", "" // the second may come from the remote cache
			if !reflect.DeepEqual(seen[0], seen[1]) {
				t.Fatalf("a handler's changes reached another request:\n%+v\n%+v", seen[0].Session, seen[1].Session)
			}
			switch {
			case path == "m2m":
				if seen[0].M2M == nil || seen[0].M2M.CustomClaims["plan"] != "gold" || len(seen[0].M2M.Scopes) != 2 {
					t.Fatalf("snapshot lacks the client's content: %+v", seen[0].M2M)
				}
			case seen[0].Session.CustomClaims["plan"] != "gold" || len(seen[0].Session.Roles) == 0:
				t.Fatalf("snapshot lacks the session's content: %+v", seen[0].Session)
			case path == "remote verdict" && (seen[0].Verdict == nil || len(seen[0].Verdict.GrantingRoles) == 0):
				t.Fatalf("snapshot lacks the remote verdict: %+v", seen[0].Verdict)
			}
		})
	}
}

// cloneVia copies v through JSON, independently of the code under test.
func cloneVia[T any](v *T) *T {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		panic(err)
	}
	return out
}

// deepClone copies a snapshot so that later changes cannot reach it.
func deepClone(s snapshot) snapshot {
	out := s
	out.Session = cloneVia(s.Session)
	out.Claims = cloneVia(s.Claims)
	out.Member = cloneVia(s.Member)
	out.Org = cloneVia(s.Org)
	out.Verdict = cloneVia(s.Verdict)
	out.M2M = cloneVia(s.M2M)
	return out
}

// sessionWith creates a session with custom claims.
func (e *env) sessionWith(org, member string, custom map[string]any, roles ...string) (token, jwt string) {
	e.t.Helper()
	token, jwt, err := e.srv.NewSession(stytchtest.SessionSpec{OrganizationID: org, MemberID: member, Roles: roles, CustomClaims: custom})
	if err != nil {
		e.t.Fatalf("NewSession: %v", err)
	}
	return token, jwt
}

// TestCredentialCapIsMaxCredentialBytes: the size cap is
// Config.MaxCredentialBytes alone; a larger configured cap admits a larger
// JWT all the way through local verification, and a shared verifier with
// a smaller cap is refused at New instead of failing requests later.
func TestCredentialCapIsMaxCredentialBytes(t *testing.T) {
	e := newEnv(t, func(c *middleware.Config) { c.MaxCredentialBytes = 16 << 10 })
	// Stytch caps custom claims; a large claim signed by the project key
	// stands for any JWT over 8 KiB.
	ae := &attacks.Env{Server: e.srv, T0: e.clock.Now()}
	claims := ae.Claims(e.clock.Now())
	claims["blob"] = strings.Repeat("x", 10<<10)
	jwt := ae.Sign(t, claims, nil)
	if len(jwt) <= 8<<10 {
		t.Fatalf("the JWT is %d bytes, want over the default cap", len(jwt))
	}
	_, small := e.session(orgAcme, "member-test-small", "viewer")
	e.warm(small)
	wantStatus(t, do(e.g.Authenticate(okHandler()), req("GET", "/", bearer(jwt))), 200, "")
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 0 {
		t.Fatalf("%d calls to Stytch for a JWT under the configured cap", n)
	}

	// The default cap refuses it before decoding, with no call either.
	d := newEnv(t, nil)
	_, small = d.session(orgAcme, "member-test-small", "viewer")
	d.warm(small)
	wantStatus(t, do(d.g.Authenticate(okHandler()), req("GET", "/", bearer(jwt))), 401, middleware.CodeInvalidToken)
	if n := d.srv.Calls(stytchtest.EndpointAuthenticate); n != 0 {
		t.Fatalf("%d calls to Stytch for an oversized credential", n)
	}

	// A shared verifier with the default 8 KiB cap under a 16 KiB guard cap.
	v, err := verifier.New(context.Background(), verifier.Config{ProjectID: e.srv.ProjectID, BaseURL: e.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	_, err = middleware.New(middleware.Config{ProjectID: e.srv.ProjectID, Secret: e.srv.Secret, BaseURL: e.srv.URL, Verifier: v, MaxCredentialBytes: 16 << 10})
	if err == nil || !strings.Contains(err.Error(), "MaxTokenBytes") {
		t.Fatalf("New with a shared verifier of a smaller cap: %v", err)
	}
}
