package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/middleware"
)

// loginCookies signs member in through /demo/login and returns the session
// cookies it set.
func (ta *testApp) loginCookies(t *testing.T, member string) []*http.Cookie {
	t.Helper()
	resp, _ := get(t, ta.noRedirect(), ta.srv.URL+"/demo/login?member="+member)
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 2 {
		t.Fatalf("login %s: status %d, cookies %v", member, resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}
	return resp.Cookies()
}

// withCookies sends method path with the cookies and returns the response
// and the cookies it set, by name.
func (ta *testApp) withCookies(t *testing.T, cookies []*http.Cookie, method, path string, header http.Header) (response, map[string]*http.Cookie) {
	t.Helper()
	req, err := http.NewRequest(method, ta.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := ta.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]*http.Cookie{}
	for _, c := range resp.Cookies() {
		set[c.Name] = c
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, set
}

func (ta *testApp) advance(t *testing.T, by string) clockState {
	t.Helper()
	got, _ := ta.withCookies(t, nil, "POST", "/demo/clock/advance?by="+by, nil)
	if got.Status != http.StatusOK {
		t.Fatalf("advance %s: %d %s", by, got.Status, got.Body)
	}
	var st clockState
	if err := json.Unmarshal(got.Body, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func source(t *testing.T, r response) string {
	t.Helper()
	var me meResponse
	if err := json.Unmarshal(r.Body, &me); err != nil {
		t.Fatalf("/me body %q: %v", r.Body, err)
	}
	return me.Source
}

// TestDemoClockShowsRefresh is the "+6 min" button of /demo: after it, the
// browser's session JWT has expired for the guards and the emulator alike,
// so the next request is decided by the emulator and the cookies are
// re-issued; the request after that is local again.
func TestDemoClockShowsRefresh(t *testing.T) {
	ta := newTestApp(t) // the default demoClock, on the wall clock
	cookies := ta.loginCookies(t, "bob")
	got, set := ta.withCookies(t, cookies, "GET", "/me", nil)
	if got.Status != 200 || source(t, got) != "local" || len(set) != 0 {
		t.Fatalf("before: %d source %s, set %v", got.Status, source(t, got), set)
	}

	st := ta.advance(t, "6m")
	if st.AdvancedBy != "6m" || !strings.HasPrefix(st.Ahead, "6m") {
		t.Errorf("clock state %+v", st)
	}
	if ahead := time.Until(st.Now); ahead < 5*time.Minute || ahead > 7*time.Minute {
		t.Errorf("demo clock %v is %v ahead of the wall clock, want about 6m", st.Now, ahead)
	}

	got, set = ta.withCookies(t, cookies, "GET", "/me", nil)
	if got.Status != 200 || source(t, got) != "remote" {
		t.Fatalf("after +6m: %d source %s: %s", got.Status, source(t, got), got.Body)
	}
	fresh := set[middleware.DefaultJWTCookie]
	if fresh == nil || fresh.Value == cookies[0].Value || fresh.Value == cookies[1].Value {
		t.Fatalf("no fresh JWT cookie after the refresh: %v", got.Header.Values("Set-Cookie"))
	}
	var next []*http.Cookie
	for _, c := range set {
		next = append(next, c)
	}
	if got, set := ta.withCookies(t, next, "GET", "/me", nil); got.Status != 200 || source(t, got) != "local" || len(set) != 0 {
		t.Fatalf("with the re-issued cookies: %d source %s, set %v", got.Status, source(t, got), set)
	}

	// Far ahead (a day of presses): the signing keys and the policy are
	// still used; the session (24 h) has ended.
	ta.advance(t, "24h")
	got, set = ta.withCookies(t, next, "GET", "/me", nil)
	if got.Status != 401 || got.errorCode() != "session_expired" || set[middleware.DefaultJWTCookie] == nil || set[middleware.DefaultJWTCookie].MaxAge >= 0 {
		t.Fatalf("a day later: %d %s, set %v", got.Status, got.Body, got.Header.Values("Set-Cookie"))
	}
	fresh2 := ta.loginCookies(t, "alice")
	if got, _ := ta.withCookies(t, fresh2, "GET", "/orgs/"+orgAcme.ID+"/invoices", nil); got.Status != 200 {
		t.Fatalf("a new login a day later: %d %s", got.Status, got.Body)
	}
}

// TestShortSessionTTL: with -session-ttl 10m, two presses of "+6 min" end
// the session itself, and the guard clears the cookies.
func TestShortSessionTTL(t *testing.T) {
	ta := newTestAppWith(t, appConfig{SessionTTL: 10 * time.Minute})
	cookies := ta.loginCookies(t, "carol")
	for _, c := range cookies {
		if until := time.Until(c.Expires); until < 9*time.Minute || until > 11*time.Minute {
			t.Errorf("%s expires in %v, want about 10m", c.Name, until)
		}
	}
	ta.advance(t, "6m")
	got, set := ta.withCookies(t, cookies, "GET", "/me", nil)
	if got.Status != 200 || set[middleware.DefaultJWTCookie] == nil {
		t.Fatalf("at +6m: %d %s", got.Status, got.Body)
	}
	ta.advance(t, "6m")
	got, set = ta.withCookies(t, cookies, "GET", "/me", nil)
	if got.Status != 401 || got.errorCode() != "session_expired" {
		t.Fatalf("at +12m: %d %s", got.Status, got.Body)
	}
	for _, name := range []string{middleware.DefaultJWTCookie, middleware.DefaultTokenCookie} {
		if c := set[name]; c == nil || c.MaxAge >= 0 {
			t.Errorf("%s not cleared: %v", name, got.Header.Values("Set-Cookie"))
		}
	}
}

func TestDemoClockRejectsBadRequests(t *testing.T) {
	ta := newTestApp(t)
	cases := []struct {
		name, method, query string
		header              http.Header
		want                int
	}{
		{"no duration", "POST", "", nil, 400},
		{"not a duration", "POST", "by=soon", nil, 400},
		// The demo's time never runs backward.
		{"negative", "POST", "by=-6m", nil, 400},
		{"zero", "POST", "by=0s", nil, 400},
		{"below a second", "POST", "by=10ms", nil, 400},
		{"over a day", "POST", "by=25h", nil, 400},
		{"GET", "GET", "by=6m", nil, 405},
		// Another site's page must not move the demo's clock.
		{"cross-site POST", "POST", "by=6m", http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403},
		{"foreign Origin", "POST", "by=6m", http.Header{"Origin": {"https://evil.example"}}, 403},
	}
	before := ta.clock.Now()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := ta.withCookies(t, nil, tc.method, "/demo/clock/advance?"+tc.query, tc.header)
			if got.Status != tc.want {
				t.Fatalf("status %d, want %d: %s", got.Status, tc.want, got.Body)
			}
		})
	}
	if moved := ta.clock.Now().Sub(before); moved > time.Minute {
		t.Fatalf("refused requests moved the clock by %v", moved)
	}
}

func TestCheckSessionTTL(t *testing.T) {
	for _, tc := range []struct {
		d  time.Duration
		ok bool
	}{
		{5 * time.Minute, true},
		{24 * time.Hour, true},
		{8784 * time.Hour, true},
		{4 * time.Minute, false},
		{90 * time.Second, false},
		{5*time.Minute + 30*time.Second, false},
		{8785 * time.Hour, false},
		{-time.Hour, false},
	} {
		if err := checkSessionTTL(tc.d); (err == nil) != tc.ok {
			t.Errorf("checkSessionTTL(%v) = %v, want ok=%v", tc.d, err, tc.ok)
		}
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour:                "24h",
		10 * time.Minute:              "10m",
		90 * time.Minute:              "1h30m",
		6*time.Minute + 5*time.Second: "6m5s",
		time.Hour + 30*time.Second:    "1h0m30s",
		8784 * time.Hour:              "8784h",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
