package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// noRedirect returns a client of ta's server that does not follow
// redirects.
func (ta *testApp) noRedirect() *http.Client {
	c := *ta.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// browser returns a client of ta's server with a cookie jar that follows
// redirects, as a browser does.
func (ta *testApp) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := *ta.srv.Client()
	c.Jar = jar
	return &c
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestDemoLoginSetsSessionCookies(t *testing.T) {
	ta := newTestApp(t)
	resp, _ := get(t, ta.noRedirect(), ta.srv.URL+"/demo/login?member=bob")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/demo" {
		t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookies := map[string]*http.Cookie{}
	for _, c := range resp.Cookies() {
		cookies[c.Name] = c
	}
	for _, name := range []string{middleware.DefaultJWTCookie, middleware.DefaultTokenCookie} {
		c := cookies[name]
		if c == nil {
			t.Fatalf("no %s cookie; got %v", name, resp.Header.Values("Set-Cookie"))
		}
		// The demo is plain HTTP: Secure would make browsers drop it; HttpOnly
		// keeps it from page scripts; Lax keeps it off cross-site POSTs.
		if !c.HttpOnly || c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
			t.Errorf("%s attributes: %s", name, c.String())
		}
		if until := time.Until(c.Expires); until < defaultSessionTTL-time.Minute || until > defaultSessionTTL+time.Minute {
			t.Errorf("%s expires in %v, want about %v", name, until, defaultSessionTTL)
		}
	}
	if got := middleware.Classify(cookies[middleware.DefaultJWTCookie].Value, 0); got != middleware.KindJWT {
		t.Errorf("JWT cookie has shape %v", got)
	}
	// Exactly the session's expires_at (cookies carry whole seconds). While
	// the app and the emulator share a clock, now + duration agrees with it
	// too: this checks the outcome, not which of the two computed it.
	ms, _, err := ta.verifier.Verify(context.Background(), cookies[middleware.DefaultJWTCookie].Value)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range cookies {
		if !c.Expires.Equal(ms.ExpiresAt.Truncate(time.Second)) {
			t.Errorf("%s expires %v, the session %v", name, c.Expires, ms.ExpiresAt)
		}
	}
	bob := ta.member(t, "bob")
	if cookies[middleware.DefaultTokenCookie].Value == bob.SessionToken {
		t.Error("login reused the start-up session instead of creating a fresh one")
	}

	// The cookies are a working session of bob, an editor of acme.
	fresh := &demoMember{SessionJWT: cookies[middleware.DefaultJWTCookie].Value, SessionToken: cookies[middleware.DefaultTokenCookie].Value}
	if got := ta.do(t, fresh, credCookies, "POST", "/orgs/"+orgAcme.ID+"/documents", `{"title":"from cookies"}`); got.Status != http.StatusCreated {
		t.Fatalf("POST with login cookies: %d %s", got.Status, got.Body)
	}
	if got := ta.do(t, fresh, credCookies, "GET", "/orgs/"+orgAcme.ID+"/invoices", ""); got.Status != http.StatusOK {
		t.Fatalf("GET invoices with login cookies: %d %s", got.Status, got.Body)
	}

	// ?run=all leads to the page that presses every button; any other value
	// to the plain page: the target is never the caller's.
	for q, want := range map[string]string{"run=all": "/demo?run=all", "run=https://evil.example": "/demo", "run=": "/demo"} {
		if resp, _ := get(t, ta.noRedirect(), ta.srv.URL+"/demo/login?member=bob&"+q); resp.Header.Get("Location") != want {
			t.Errorf("login ?%s redirects to %q, want %q", q, resp.Header.Get("Location"), want)
		}
	}

	for _, q := range []string{"member=mallory", "member=", "member=ALICE", ""} {
		if resp, _ := get(t, ta.noRedirect(), ta.srv.URL+"/demo/login?"+q); resp.StatusCode != http.StatusNotFound || len(resp.Cookies()) != 0 {
			t.Errorf("login ?%s: status %d, %d cookies", q, resp.StatusCode, len(resp.Cookies()))
		}
	}
}

// externalRef matches a reference the page would load from elsewhere.
var externalRef = regexp.MustCompile(`(?i)(src|href|action)\s*=\s*"?\s*(https?:)?//`)

func TestDemoPage(t *testing.T) {
	ta := newTestApp(t)
	scriptNonce := regexp.MustCompile(`<script nonce="([A-Za-z0-9_-]+)">`)

	t.Run("anonymous", func(t *testing.T) {
		resp, body := get(t, ta.srv.Client(), ta.srv.URL+"/demo")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if !strings.Contains(body, "Not signed in") {
			t.Error("page does not say it is anonymous")
		}
	})
	for _, tc := range []struct{ member, own, other string }{
		{"bob", orgAcme.ID, orgGlobex.ID},
		{"dave", orgGlobex.ID, orgAcme.ID},
	} {
		t.Run(tc.member, func(t *testing.T) {
			resp, body := get(t, ta.browser(t), ta.srv.URL+"/demo/login?member="+tc.member)
			if resp.StatusCode != 200 || resp.Request.URL.Path != "/demo" {
				t.Fatalf("status %d at %s", resp.StatusCode, resp.Request.URL)
			}
			if !strings.Contains(body, "Signed in as <strong>"+tc.member+"</strong>") {
				t.Errorf("page does not name %s", tc.member)
			}
			// The probes target the member's own organization, and the other
			// one once, for the tenancy row.
			probes := html.UnescapeString(body)
			if !strings.Contains(probes, `/orgs/`+tc.own+`/documents`) || !strings.Contains(probes, `/orgs/`+tc.other+`/documents`) {
				t.Errorf("probes do not name %s and %s", tc.own, tc.other)
			}
			m := scriptNonce.FindStringSubmatch(body)
			if m == nil {
				t.Fatal("no script with a nonce")
			}
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'nonce-"+m[1]+"'") || !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("CSP %q does not pin the script nonce %s", csp, m[1])
			}
			if m := externalRef.FindString(body); m != "" {
				t.Errorf("page refers to an external asset: %s", m)
			}
		})
	}
}

// TestLogoutRevokes: POST /logout revokes the session at Stytch, refuses
// it on both guards at once (they share revocations through the process
// fleet), and clears the cookies; the demo-only header names them.
func TestLogoutRevokes(t *testing.T) {
	ta := newTestApp(t)
	cookies := ta.loginCookies(t, "alice")
	jwtCookie, tokCookie := cookies[0], cookies[1]
	if jwtCookie.Name != middleware.DefaultJWTCookie {
		jwtCookie, tokCookie = tokCookie, jwtCookie
	}
	alice := &demoMember{SessionJWT: jwtCookie.Value, SessionToken: tokCookie.Value}
	docs := "/orgs/" + orgAcme.ID + "/documents"
	// Warm both guards: the JWT is verified locally and cached on each.
	for _, p := range []string{docs, "/std" + docs} {
		if got := ta.do(t, alice, credJWT, "GET", p, ""); got.Status != 200 {
			t.Fatalf("before logout %s: %d", p, got.Status)
		}
	}

	// Another site cannot log the member out (a cookie POST, cross-site):
	// neither revoke the session nor clear its cookies.
	for _, p := range []string{"/logout", "/std/logout"} {
		got, set := ta.withCookies(t, cookies, "POST", p, http.Header{"Sec-Fetch-Site": {"cross-site"}})
		if got.Status != 403 || len(set) != 0 {
			t.Fatalf("cross-site %s: %d %s, set %v", p, got.Status, got.Body, set)
		}
	}
	if got := ta.do(t, alice, credJWT, "GET", "/me", ""); got.Status != 200 {
		t.Fatalf("session ended by a cross-site logout: %d", got.Status)
	}

	got, set := ta.withCookies(t, cookies, "POST", "/logout", nil)
	if got.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", got.Status, got.Body)
	}
	for _, name := range []string{middleware.DefaultJWTCookie, middleware.DefaultTokenCookie} {
		if c := set[name]; c == nil || c.MaxAge >= 0 {
			t.Errorf("%s not cleared: %v", name, got.Header.Values("Set-Cookie"))
		}
	}
	if echo := got.Header.Get("X-Demo-Set-Cookie"); echo != "stytch_session_jwt cleared, stytch_session cleared" {
		t.Errorf("X-Demo-Set-Cookie %q", echo)
	}

	cases := []struct {
		name, path string
		kind       credKind
	}{
		// The JWT is still within its 5 minutes: only the revocation
		// refuses it, on the guard that logged out...
		{"JWT on chi", docs, credJWT},
		// ...and on the other guard, told through the fleet.
		{"JWT on ServeMux", "/std" + docs, credJWT},
		// The session token goes to Stytch, where the session is gone.
		{"token on ServeMux", "/std/me", credToken},
		// Cookies copied before the logout are the same session.
		{"cookies on chi", "/me", credCookies},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ta.do(t, alice, tc.kind, "GET", tc.path, ""); got.Status != 401 || got.errorCode() != "session_expired" {
				t.Fatalf("after logout: %d %s", got.Status, got.Body)
			}
		})
	}
	// Logging out twice, or without a session, is not an error.
	for _, cs := range [][]*http.Cookie{cookies, nil} {
		if got, _ := ta.withCookies(t, cs, "POST", "/std/logout", nil); got.Status != http.StatusNoContent {
			t.Fatalf("second logout: %d %s", got.Status, got.Body)
		}
	}
}

func TestDescribeSetCookies(t *testing.T) {
	at := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		values []string
		want   string
	}{
		{"none", nil, ""},
		{"re-issued", []string{
			"stytch_session_jwt=eyJ.a.b; Path=/; Expires=" + at.Format(http.TimeFormat) + "; HttpOnly; SameSite=Lax",
			"stytch_session=tok; Path=/; Expires=" + at.Format(http.TimeFormat) + "; HttpOnly",
		}, "stytch_session_jwt until 2030-05-01T12:00:00Z, stytch_session until 2030-05-01T12:00:00Z"},
		{"cleared by Max-Age", []string{"stytch_session=; Path=/; Max-Age=0"}, "stytch_session cleared"},
		{"cleared by a past date", []string{"stytch_session=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"}, "stytch_session cleared"},
		{"browser session", []string{"a=b; Path=/"}, "a for the browser session"},
		{"unparsable skipped", []string{"=;", "a=b"}, "a for the browser session"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := describeSetCookies(tc.values)
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			// The value of a cookie is never echoed.
			if strings.Contains(got, "eyJ") || strings.Contains(got, "tok") {
				t.Fatalf("value echoed: %q", got)
			}
		})
	}
}

// TestCrossSiteReplay is the CSRF row of /demo: the demo server replays a
// form POST of another page with the browser's cookies; the guard refuses
// it and nothing is created.
func TestCrossSiteReplay(t *testing.T) {
	ta := newTestApp(t)
	bob := ta.member(t, "bob")
	cookies := ta.loginCookies(t, "bob")
	before := documentIDs(t, ta.do(t, bob, credJWT, "GET", "/orgs/"+orgAcme.ID+"/documents", ""))

	for _, tc := range []struct {
		from, origin, site string
		cookies            []*http.Cookie
		want               int
		code               string
	}{
		// A form on another site posts to the API with the member's cookies.
		{"cross-site", crossSiteOrigin, "cross-site", cookies, 403, "cross_origin"},
		// A page on another port of the host: same site, so SameSite=Lax
		// cookies go along; only the origin check stops it.
		{"same-site", "http://127.0.0.1:", "same-site", cookies, 403, "cross_origin"},
		// Without cookies there is nothing to forge: 401.
		{"cross-site", crossSiteOrigin, "cross-site", nil, 401, "missing_credentials"},
	} {
		t.Run(tc.from+fmt.Sprint(len(tc.cookies)), func(t *testing.T) {
			got, _ := ta.withCookies(t, tc.cookies, "POST", "/demo/csrf?from="+tc.from, nil)
			if got.Status != 200 {
				t.Fatalf("replay: %d %s", got.Status, got.Body)
			}
			var r replay
			if err := json.Unmarshal(got.Body, &r); err != nil {
				t.Fatal(err)
			}
			var body struct{ Error string }
			_ = json.Unmarshal(r.Body, &body)
			if r.Status != tc.want || body.Error != tc.code {
				t.Fatalf("replayed POST: %d %s, want %d %s", r.Status, r.Body, tc.want, tc.code)
			}
			if r.Method != "POST" || r.Path != "/orgs/"+orgAcme.ID+"/documents" || !strings.HasPrefix(r.Sent["Origin"], tc.origin) || r.Sent["Sec-Fetch-Site"] != tc.site {
				t.Errorf("replay %+v", r)
			}
			if strings.Contains(string(got.Body), cookies[0].Value) || strings.Contains(string(got.Body), cookies[1].Value) {
				t.Error("the replay's answer holds a cookie value")
			}
		})
	}
	if after := documentIDs(t, ta.do(t, bob, credJWT, "GET", "/orgs/"+orgAcme.ID+"/documents", "")); !slices.Equal(after, before) {
		t.Fatalf("a refused replay created a document: %v, was %v", after, before)
	}

	// The control: the same cookies from the page's own origin create one.
	req, _ := http.NewRequest("POST", ta.srv.URL+"/orgs/"+orgAcme.ID+"/documents", strings.NewReader(`{"title":"same origin"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := ta.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("same-origin POST: %d", resp.StatusCode)
	}

	for _, tc := range []struct {
		name, query string
		header      http.Header
		want        int
	}{
		{"unknown from", "from=elsewhere", nil, 400},
		// The replay endpoint itself is protected from other sites.
		{"cross-site call of the replay", "from=cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := ta.withCookies(t, cookies, "POST", "/demo/csrf?"+tc.query, tc.header); got.Status != tc.want {
				t.Fatalf("status %d, want %d: %s", got.Status, tc.want, got.Body)
			}
		})
	}
}

// chromiumPath is where Debian's chromium package installs the browser.
const chromiumPath = "/usr/bin/chromium"

// resultRow matches one result row of the demo page as its script builds
// it, and rowAttr one of its data attributes.
var (
	resultRow = regexp.MustCompile(`<tr class="result (\w+)"([^>]*)>`)
	rowAttr   = regexp.MustCompile(`data-(\w+)="([^"]*)"`)
)

// pageRow is a result row of the demo page.
type pageRow struct{ action, request, status, verdict, code, roles, cookies, source, challenge string }

func pageRows(dom string) []pageRow {
	var rows []pageRow
	for _, m := range resultRow.FindAllStringSubmatch(dom, -1) {
		a := map[string]string{}
		for _, kv := range rowAttr.FindAllStringSubmatch(m[2], -1) {
			a[kv[1]] = html.UnescapeString(kv[2])
		}
		rows = append(rows, pageRow{a["action"], a["request"], a["status"], a["verdict"], a["code"], a["roles"], a["cookies"], a["source"], a["challenge"]})
	}
	return rows
}

// wantRow is what a test expects of a page row: request is a prefix or
// suffix of the row's; cookies a substring ("-" for none).
type wantRow struct{ action, request, status, code, roles, cookies, source string }

func checkRows(t *testing.T, dom string, want []wantRow) {
	t.Helper()
	rows := pageRows(dom)
	if len(rows) != len(want) {
		t.Fatalf("%d result rows, want %d:\n%s", len(rows), len(want), dom)
	}
	for i, w := range want {
		r := rows[i]
		ok := r.action == w.action && (strings.HasPrefix(r.request, w.request) || strings.HasSuffix(r.request, w.request)) &&
			r.status == w.status && r.code == w.code && r.roles == w.roles && r.source == w.source
		if w.cookies == "-" {
			ok = ok && r.cookies == ""
		} else {
			ok = ok && strings.Contains(r.cookies, w.cookies)
		}
		if !ok {
			t.Errorf("row %d = %+v\n        want %+v", i, r, w)
		}
	}
}

// TestDemoInChromium loads /demo in headless Chromium after /demo/login and
// checks the rows the page's script built from its API calls: on load for
// carol (a viewer), and with every button pressed in turn for alice (an
// admin): the clock, the M2M panel, the cross-site replays and the logout. With
// DEMO_SCREENSHOT=/path.png it also saves a screenshot of alice's page.
func TestDemoInChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s not found: install Debian's chromium package (example/test-browser.sh does) to run the browser test", chromiumPath)
	}
	ta := newTestApp(t)
	acme, globex := "/orgs/"+orgAcme.ID+"/documents", "/orgs/"+orgGlobex.ID+"/documents"
	invoices := "/orgs/" + orgAcme.ID + "/invoices"

	t.Run("carol", func(t *testing.T) {
		dom := dumpDOM(t, ta.srv.URL+"/demo/login?member=carol")
		if !strings.Contains(dom, `id="state" data-state="done"`) || !strings.Contains(dom, "Signed in as <strong>carol</strong>") {
			t.Fatalf("the page did not finish signed in as carol:\n%s", dom)
		}
		checkRows(t, dom, []wantRow{
			{"load", "GET /me", "200", "", "", "-", "local"},
			{"load", "GET " + acme, "200", "", "viewer", "-", ""},
			{"load", "POST " + acme, "403", "forbidden", "", "-", ""},
			{"load", "GET " + acme + "/doc-0", "404", "not_found", "", "-", ""},
			{"load", "DELETE " + acme + "/doc-0", "403", "forbidden", "", "-", ""},
			{"load", "GET " + invoices, "403", "forbidden", "", "-", ""},
			{"load", "GET " + globex, "403", "tenancy_mismatch", "", "-", ""},
			{"load", "GET /std" + acme, "200", "", "viewer", "-", ""},
			{"load", "GET /std" + invoices, "403", "forbidden", "", "-", ""},
			{"load", "GET " + acme, "401", "missing_credentials", "", "-", ""},
		})
	})

	t.Run("alice presses every button", func(t *testing.T) {
		url := ta.srv.URL + "/demo/login?member=alice&run=all"
		dom := dumpDOM(t, url)
		if !strings.Contains(dom, `id="state" data-state="done"`) || !strings.Contains(dom, "Done: every step ran.") {
			t.Fatalf("the page's script did not finish:\n%s", dom)
		}
		checkRows(t, dom, []wantRow{
			{"load", "GET /me", "200", "", "", "-", "local"},
			{"load", "GET " + acme, "200", "", "admin", "-", ""},
			{"load", "POST " + acme, "201", "", "", "-", ""},
			{"load", "GET " + acme + "/doc-", "200", "", "admin", "-", ""},
			{"load", "DELETE " + acme + "/doc-", "204", "", "", "-", ""},
			{"load", "GET " + invoices, "200", "", "admin", "-", ""},
			{"load", "GET " + globex, "403", "tenancy_mismatch", "", "-", ""},
			{"load", "GET /std" + acme, "200", "", "admin", "-", ""},
			{"load", "GET /std" + invoices, "200", "", "admin", "-", ""},
			{"load", "GET " + acme, "401", "missing_credentials", "", "-", ""},
			// +6 min: the JWT cookie has expired; Stytch answers, the guard
			// re-issues both cookies, and the next request is local again.
			{"clock", "POST /demo/clock/advance?by=6m", "200", "", "", "-", ""},
			{"clock", "GET /me", "200", "", "", "stytch_session_jwt until ", "remote"},
			{"clock", "GET " + acme, "200", "", "admin", "-", ""},
			// The M2M client: a token through the demo server, then the
			// scope routes; a missing scope, another organization, a member
			// route, and a member session on the M2M route are refused.
			{"m2m", "POST /demo/m2m/token", "200", "", "", "-", ""},
			{"m2m", "GET /m2m" + acme, "200", "", "client m2m-client-test-reporting (read:documents)", "-", ""},
			{"m2m", "GET /std/m2m" + acme, "200", "", "client m2m-client-test-reporting (read:documents)", "-", ""},
			{"m2m", "GET /m2m" + invoices, "403", "forbidden", "", "-", ""},
			{"m2m", "GET /m2m" + globex, "403", "tenancy_mismatch", "", "-", ""},
			{"m2m", "GET " + acme, "401", "invalid_token", "", "-", ""},
			{"m2m", "GET /m2m" + acme, "403", "forbidden", "", "-", ""},
			// The page's own POST passes; the replays from another site and
			// from another origin of the same site are refused.
			{"csrf", "POST " + acme, "201", "", "", "-", ""},
			{"csrf", "POST " + acme, "403", "cross_origin", "", "-", ""},
			{"csrf", "POST " + acme, "403", "cross_origin", "", "-", ""},
			// Logout clears the cookies; the next requests are 401.
			{"logout", "POST /logout", "204", "", "", "stytch_session_jwt cleared, stytch_session cleared", ""},
			{"logout", "GET /me", "401", "missing_credentials", "", "-", ""},
			{"logout", "GET " + acme, "401", "missing_credentials", "", "-", ""},
		})
		for _, r := range pageRows(dom) {
			if r.action == "m2m" && strings.HasSuffix(r.request, "/invoices") &&
				(!strings.Contains(r.challenge, `error="insufficient_scope"`) || !strings.Contains(r.challenge, `scope="read:invoices"`)) {
				t.Errorf("the missing-scope row shows the challenge %q", r.challenge)
			}
		}
		if !strings.Contains(dom, "Logged out") {
			t.Error("the page does not say it logged out")
		}
		if path := os.Getenv("DEMO_SCREENSHOT"); path != "" {
			// On an app of its own, so the page shows a fresh start.
			screenshot(t, newTestApp(t).srv.URL+"/demo/login?member=alice&run=all", path)
		}
	})
}

// dumpDOM runs headless Chromium on url and returns the DOM once the page's
// requests are done (virtual time only advances while no request is
// pending).
func dumpDOM(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromiumPath,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--user-data-dir="+t.TempDir(),
		"--virtual-time-budget=10000", "--dump-dom", url)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return string(out)
}

// screenshot saves a PNG of the page at url, as headless Chromium renders
// it once its requests are done.
func screenshot(t *testing.T, url, path string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromiumPath,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--user-data-dir="+t.TempDir(), "--hide-scrollbars",
		"--window-size=1280,3400", "--virtual-time-budget=10000", "--screenshot="+path, url)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium screenshot: %v\n%s", err, out)
	}
	t.Logf("screenshot of %s saved to %s", url, path)
}

// TestExpiredJWTCookieIsRefreshed moves the clock past the session JWT's
// 5-minute lifetime: the guard must ask the emulator, let the request
// through and re-issue cookies a plain-HTTP browser keeps (not Secure).
func TestExpiredJWTCookieIsRefreshed(t *testing.T) {
	clock := stytchtest.NewClock(time.Now())
	ta := newTestAppWith(t, appConfig{Clock: clock})
	carol := ta.member(t, "carol")
	clock.Advance(6 * time.Minute)

	req, _ := http.NewRequest("GET", ta.srv.URL+"/me", nil)
	req.AddCookie(&http.Cookie{Name: middleware.DefaultJWTCookie, Value: carol.SessionJWT})
	req.AddCookie(&http.Cookie{Name: middleware.DefaultTokenCookie, Value: carol.SessionToken})
	resp, err := ta.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var me meResponse
	err = json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || me.Source != "remote" {
		t.Fatalf("status %d, source %q, err %v", resp.StatusCode, me.Source, err)
	}
	var fresh *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == middleware.DefaultJWTCookie {
			fresh = c
		}
	}
	if fresh == nil || fresh.Value == carol.SessionJWT {
		t.Fatalf("no fresh JWT cookie: %v", resp.Header.Values("Set-Cookie"))
	}
	if fresh.Secure || !fresh.HttpOnly {
		t.Errorf("re-issued cookie %s: a plain-HTTP demo needs it not Secure, and HttpOnly", fresh.String())
	}
	// The fresh JWT is verified locally again.
	if got := ta.do(t, &demoMember{SessionJWT: fresh.Value}, credJWT, "GET", "/me", ""); got.Status != 200 || !strings.Contains(string(got.Body), `"source":"local"`) {
		t.Fatalf("fresh JWT: %d %s", got.Status, got.Body)
	}
}
