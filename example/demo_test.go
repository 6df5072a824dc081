package main

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"regexp"
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

	for _, q := range []string{"member=mallory", "member=", "member=ALICE", ""} {
		if resp, _ := get(t, ta.noRedirect(), ta.srv.URL+"/demo/login?"+q); resp.StatusCode != http.StatusNotFound || len(resp.Cookies()) != 0 {
			t.Errorf("login ?%s: status %d, %d cookies", q, resp.StatusCode, len(resp.Cookies()))
		}
	}
}

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
			for _, asset := range []string{"http://", "https://", "src=\"//"} {
				if strings.Contains(strings.ReplaceAll(body, ta.srv.URL, ""), asset) {
					t.Errorf("page refers to an external asset (%q)", asset)
				}
			}
		})
	}
}

func TestDemoLogoutRevokes(t *testing.T) {
	ta := newTestApp(t)
	resp, _ := get(t, ta.noRedirect(), ta.srv.URL+"/demo/login?member=alice")
	var tok string
	var jar []*http.Cookie
	for _, c := range resp.Cookies() {
		jar = append(jar, c)
		if c.Name == middleware.DefaultTokenCookie {
			tok = c.Value
		}
	}
	req, _ := http.NewRequest("GET", ta.srv.URL+"/demo/logout", nil)
	for _, c := range jar {
		req.AddCookie(c)
	}
	out, err := ta.noRedirect().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	if out.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout status %d", out.StatusCode)
	}
	cleared := 0
	for _, c := range out.Cookies() {
		if c.MaxAge < 0 {
			cleared++
		}
	}
	if cleared != 2 {
		t.Errorf("logout cleared %d cookies, want 2: %v", cleared, out.Header.Values("Set-Cookie"))
	}
	// The session is gone at Stytch: its token is refused.
	if got := ta.do(t, &demoMember{SessionToken: tok}, credToken, "GET", "/me", ""); got.Status != 401 || got.errorCode() != "session_expired" {
		t.Fatalf("revoked session token: %d %s", got.Status, got.Body)
	}
}

// chromiumPath is where Debian's chromium package installs the browser.
const chromiumPath = "/usr/bin/chromium"

// row matches one result row of the demo page as the page's script builds
// it.
var row = regexp.MustCompile(`<tr class="(\w+)" data-verdict="\w+" data-status="(\d+)"><td>(\w+)</td><td>([^<]*)</td><td>[^<]*</td><td>(\w+)</td><td class="status">\d+</td><td class="verdict">\w+</td><td class="code">([^<]*)</td></tr>`)

// TestDemoInChromium loads /demo in headless Chromium after /demo/login and
// checks the table the page's script built from its API calls.
func TestDemoInChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s not found: install Debian's chromium package (example/test-browser.sh does) to run the browser test", chromiumPath)
	}
	ta := newTestApp(t)

	type want struct{ method, pathSuffix, status, verdict, code string }
	cases := []struct {
		member string
		rows   []want
	}{
		{"alice", []want{
			{"GET", "/me", "200", "allowed", ""},
			{"GET", "/orgs/" + orgAcme.ID + "/documents", "200", "allowed", ""},
			{"POST", "/orgs/" + orgAcme.ID + "/documents", "201", "allowed", ""},
			{"DELETE", "/documents/doc-", "204", "allowed", ""},
			{"GET", "/orgs/" + orgAcme.ID + "/invoices", "200", "allowed", ""},
			{"GET", "/orgs/" + orgGlobex.ID + "/documents", "403", "refused", "tenancy_mismatch"},
			{"GET", "/std/orgs/" + orgAcme.ID + "/documents", "200", "allowed", ""},
			{"GET", "/std/orgs/" + orgAcme.ID + "/invoices", "200", "allowed", ""},
			{"GET", "/orgs/" + orgAcme.ID + "/documents", "401", "refused", "missing_credentials"},
		}},
		{"carol", []want{
			{"GET", "/me", "200", "allowed", ""},
			{"GET", "/orgs/" + orgAcme.ID + "/documents", "200", "allowed", ""},
			{"POST", "/orgs/" + orgAcme.ID + "/documents", "403", "refused", "forbidden"},
			{"DELETE", "/documents/doc-0", "403", "refused", "forbidden"},
			{"GET", "/orgs/" + orgAcme.ID + "/invoices", "403", "refused", "forbidden"},
			{"GET", "/orgs/" + orgGlobex.ID + "/documents", "403", "refused", "tenancy_mismatch"},
			{"GET", "/std/orgs/" + orgAcme.ID + "/documents", "200", "allowed", ""},
			{"GET", "/std/orgs/" + orgAcme.ID + "/invoices", "403", "refused", "forbidden"},
			{"GET", "/orgs/" + orgAcme.ID + "/documents", "401", "refused", "missing_credentials"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.member, func(t *testing.T) {
			dom := dumpDOM(t, ta.srv.URL+"/demo/login?member="+tc.member)
			if !strings.Contains(dom, `data-state="done"`) {
				t.Fatalf("the page's script did not finish:\n%s", dom)
			}
			if !strings.Contains(dom, "Signed in as <strong>"+tc.member+"</strong>") {
				t.Errorf("page not signed in as %s", tc.member)
			}
			rows := row.FindAllStringSubmatch(dom, -1)
			if len(rows) != len(tc.rows) {
				t.Fatalf("%d result rows, want %d:\n%s", len(rows), len(tc.rows), dom)
			}
			for i, w := range tc.rows {
				r := rows[i] // class, status, method, path, credentials, code
				if r[3] != w.method || !strings.Contains(r[4], w.pathSuffix) || r[2] != w.status || r[1] != w.verdict || r[6] != w.code {
					t.Errorf("row %d = %s %s -> %s %s %q, want %s ...%s -> %s %s %q",
						i, r[3], r[4], r[2], r[1], r[6], w.method, w.pathSuffix, w.status, w.verdict, w.code)
				}
			}
		})
	}
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
