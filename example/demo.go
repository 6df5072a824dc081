package main

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stytchguard/stytchguard/middleware"
)

//go:embed demo.html
var demoHTML string

var demoTemplate = template.Must(template.New("demo").Parse(demoHTML))

// demo serves the browser demo (emulator mode only): /demo/login creates a
// fresh session for a seeded member and sets the session cookies the way
// Stytch's frontend SDK does; /demo is a page whose script calls the API with
// those cookies and shows which requests the guards let through.
type demo struct {
	app *app
	// guard sets and clears the session cookies with the names and
	// attributes it uses when it re-issues them.
	guard *middleware.Guard
}

// login creates a new emulator session for ?member=<name>, sets the session
// cookies and redirects to /demo (to /demo?run=all with ?run=all, which
// makes the page press its buttons in turn: the browser test and a quick
// tour). It is a GET so that a plain link or a browser started on its URL
// can use it; it exists only in emulator mode.
func (d *demo) login(w http.ResponseWriter, r *http.Request) {
	m, ok := findMember(d.app.Members, r.URL.Query().Get("member"))
	if !ok {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("unknown member; try ?member=alice, bob, carol or dave\n"))
		return
	}
	tok, jwt, err := d.app.Emulator.NewSession(m.sessionSpec(d.app.SessionTTL))
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, "emulator", "could not create a session")
		return
	}
	// The cookies live as long as the session: its expires_at, read from
	// the session JWT just minted (a local verification, no network).
	ms, _, err := d.app.verifier.Verify(r.Context(), jwt)
	if err != nil || ms.ExpiresAt == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "auth_unavailable", "could not verify the new session")
		return
	}
	d.guard.SetSessionCookies(w, jwt, tok, *ms.ExpiresAt)
	w.Header().Set("Cache-Control", "no-store")
	next := "/demo"
	if r.URL.Query().Get("run") == "all" {
		next = "/demo?run=all" // a fixed target: never a redirect to a caller's URL
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// otherOf returns the seeded organization that is not org.
func otherOf(org demoOrg) demoOrg {
	if org == orgAcme {
		return orgGlobex
	}
	return orgAcme
}

// crossSiteOrigin is the origin of the cross-site replay.
const crossSiteOrigin = "https://evil.example"

// replayOrigin returns the Origin and Sec-Fetch-Site of the page the replay
// plays: a page of another site (from=cross-site, the default), or of
// another origin of the same site (from=same-site): the demo's host on
// another port, whose requests carry SameSite=Lax cookies, which is why
// SameSite alone does not stop them.
func replayOrigin(r *http.Request) (origin, fetchSite string, ok bool) {
	switch r.URL.Query().Get("from") {
	case "", "cross-site":
		return crossSiteOrigin, "cross-site", true
	case "same-site":
		host, port, err := net.SplitHostPort(r.Host)
		if err != nil {
			host, port = r.Host, "80"
		}
		other := "8081"
		if p, err := strconv.Atoi(port); err == nil && p < 65535 {
			other = strconv.Itoa(p + 1)
		}
		return "http://" + net.JoinHostPort(host, other), "same-site", true
	}
	return "", "", false
}

// replay is the body of POST /demo/csrf: the request the demo server
// replayed and the API's answer to it.
type replay struct {
	Method string            `json:"method"`
	Path   string            `json:"path"`
	Sent   map[string]string `json:"sent_headers"`
	Status int               `json:"status"`
	// Challenge is the answer's WWW-Authenticate header, if any.
	Challenge string          `json:"www_authenticate,omitempty"`
	Body      json.RawMessage `json:"body"`
}

// replayCrossSite serves POST /demo/csrf?from=cross-site|same-site
// (emulator mode only). A page cannot forge the Origin or Sec-Fetch-Site
// headers of its own requests, so the demo server plays the other page: it
// sends the API the request a form there would make this browser send (a
// text/plain POST to the documents route, with this browser's session
// cookies, the other page's Origin and the matching Sec-Fetch-* headers) and
// answers what the API said. The request goes through the app's own
// handler, guards included: the guard refuses it (403 cross_origin) before
// the handler, which would refuse its content type (415) but only because
// this demo's handler happens to check it.
func (d *demo) replayCrossSite(w http.ResponseWriter, r *http.Request) {
	origin, fetchSite, ok := replayOrigin(r)
	if !ok {
		writeJSONError(w, http.StatusBadRequest, "bad_request", "from must be cross-site or same-site")
		return
	}
	org := orgAcme.ID
	if p, ok := middleware.FromContext(r.Context()); ok && p.MemberSession != nil {
		org = p.MemberSession.OrganizationID
	}
	path := "/orgs/" + org + "/documents"
	// What <form method="post" enctype="text/plain"> with one field named
	// {"title":"Planted by evil.example","x":" and valued "} sends: a
	// JSON-looking body without a CORS preflight, the classic way round
	// APIs that only look at the body.
	body := `{"title":"Planted by evil.example","x":"="}`
	// A fresh context, cancelled with this request's: r's context carries
	// the Principal that Optional stored for /demo/csrf itself, and a guard
	// reuses the Principal it finds (an outer guard's decision) without
	// looking at the request again. The replay must be decided afresh, as
	// the other site's request would be.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer context.AfterFunc(r.Context(), cancel)()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, path, strings.NewReader(body))
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, "replay", "could not build the request")
		return
	}
	req.Host, req.RemoteAddr, req.RequestURI = r.Host, r.RemoteAddr, path
	sent := map[string]string{
		"Content-Type":   "text/plain",
		"Origin":         origin,
		"Sec-Fetch-Site": fetchSite,
		"Sec-Fetch-Mode": "navigate",
		"Sec-Fetch-Dest": "document",
	}
	for k, v := range sent {
		req.Header.Set(k, v)
	}
	// This browser's cookies, as it attaches them to the other page's
	// request: always from another origin of the same site; from another
	// site only where SameSite=Lax is not enforced (or for cookies set with
	// SameSite=None).
	for _, c := range r.Cookies() {
		req.AddCookie(c)
	}
	sent["Cookie"] = "(this browser's " + strings.Join(cookieNames(r.Cookies()), " and ") + " cookies)"
	if len(r.Cookies()) == 0 {
		sent["Cookie"] = "(none: not signed in)"
	}
	rec := &recorder{header: http.Header{}}
	d.app.Handler.ServeHTTP(rec, req)
	out := replay{Method: req.Method, Path: path, Sent: sent, Status: rec.status, Challenge: rec.header.Get("WWW-Authenticate"), Body: json.RawMessage(`null`)}
	if b := rec.body.Bytes(); json.Valid(b) {
		out.Body = b
	}
	writeJSON(w, http.StatusOK, out)
}

// recorder keeps the answer of a request served in-process.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// demoCookieEcho adds to every response that sets cookies a demo-only
// header, X-Demo-Set-Cookie, naming each cookie set with its expiry (or
// "cleared"), never its value. The session cookies are HttpOnly, so the
// page's script cannot see them or the Set-Cookie header; this header is how
// /demo shows that the guard re-issued them. It is served in emulator mode
// only and is no part of the library.
func demoCookieEcho(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&cookieEchoWriter{ResponseWriter: w}, r)
	})
}

// cookieEchoWriter sets X-Demo-Set-Cookie just before the header is written.
type cookieEchoWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *cookieEchoWriter) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.wrote = true
		if echo := describeSetCookies(w.Header().Values("Set-Cookie")); echo != "" {
			w.Header().Set("X-Demo-Set-Cookie", echo)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *cookieEchoWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *cookieEchoWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// describeSetCookies names each cookie of the Set-Cookie values with its
// expiry: "stytch_session_jwt until 2026-05-01T12:00:00Z, stytch_session
// cleared". Values are left out.
func describeSetCookies(values []string) string {
	var parts []string
	for _, v := range values {
		c, err := http.ParseSetCookie(v)
		if err != nil {
			continue
		}
		switch {
		case c.MaxAge < 0 || !c.Expires.IsZero() && c.Expires.Before(time.Unix(1, 0)):
			parts = append(parts, c.Name+" cleared")
		case !c.Expires.IsZero():
			parts = append(parts, c.Name+" until "+c.Expires.UTC().Format(time.RFC3339))
		default:
			parts = append(parts, c.Name+" for the browser session")
		}
	}
	return strings.Join(parts, ", ")
}

func cookieNames(cs []*http.Cookie) []string {
	names := make([]string, 0, len(cs))
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return names
}

// step is one request the demo page makes.
type step struct {
	Method string `json:"method"`
	// Path may hold "{created}", replaced by the id of the document the
	// page's last POST created (doc-0, which never exists, when none was).
	Path string `json:"path"`
	// Send is the credential sent: "cookies" (the session cookies),
	// "none", or "m2m" (the M2M access token the panel obtained, as
	// Authorization: Bearer, without cookies).
	Send string            `json:"send"`
	Body map[string]string `json:"body,omitempty"`
	// Note says what the route requires, or what the step shows.
	Note string `json:"note"`
	// Kind is "" for an API request, "replay" for POST /demo/csrf (the
	// row shows the replayed request and the API's answer to it), "token"
	// for POST /demo/m2m/token (the page keeps the access token), "clock"
	// for POST /demo/clock/advance.
	Kind string `json:"kind,omitempty"`
}

// action is a group of steps behind one button of the page.
type action struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Button string `json:"button"`
	// Explain is the paragraph the page shows above the button.
	Explain string `json:"-"`
	Steps   []step `json:"steps"`
}

// demoPage is the data of demo.html.
type demoPage struct {
	Nonce    string
	Who      *demoMember // nil when not signed in
	MemberID string      // set when signed in as a member not seeded here
	Source   string
	Members  []demoMember
	OwnOrg   demoOrg
	OtherOrg demoOrg
	// SessionTTL is the demo sessions' lifetime, as text.
	SessionTTL string
	// Clock is the demo clock when the page was made, and Ahead how far
	// ahead of the wall clock it runs ("" when not ahead).
	Clock, Ahead string
	// Actions are the page's buttons; the first runs when the page loads.
	Actions []action
	// RunAll makes the page press every button in turn after loading
	// (/demo?run=all).
	RunAll bool
}

func (d *demo) page(w http.ResponseWriter, r *http.Request) {
	data := demoPage{Members: d.app.Members, OwnOrg: orgAcme, OtherOrg: orgGlobex, SessionTTL: shortDuration(d.app.SessionTTL)}
	if p, ok := middleware.FromContext(r.Context()); ok && p.MemberSession != nil {
		data.Source = string(p.Source)
		data.MemberID = p.MemberSession.MemberID
		for i := range d.app.Members {
			if d.app.Members[i].MemberID == p.MemberSession.MemberID {
				data.Who = &d.app.Members[i]
			}
		}
		if p.MemberSession.OrganizationID == orgGlobex.ID {
			data.OwnOrg, data.OtherOrg = orgGlobex, orgAcme
		}
	}
	now := d.app.clock.Now()
	data.Clock = now.UTC().Format(time.RFC3339)
	if ahead := time.Until(now).Round(time.Minute); ahead > 0 {
		data.Ahead = shortDuration(ahead)
	}
	data.Actions = demoActions(data.OwnOrg, data.OtherOrg, d.app.M2M)
	data.RunAll = r.URL.Query().Get("run") == "all"

	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	data.Nonce = base64.RawURLEncoding.EncodeToString(nonce[:])
	var buf bytes.Buffer
	if err := demoTemplate.Execute(&buf, data); err != nil {
		writeJSONError(w, http.StatusInternalServerError, "template", "could not render the page")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+data.Nonce+"'; style-src 'nonce-"+data.Nonce+
		"'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	_, _ = w.Write(buf.Bytes())
}

// demoActions lists the page's buttons and their requests: every route of
// the member's own organization on both routers, one in the other
// organization (tenancy) and one without credentials when the page loads;
// then the clock, the M2M client, the cross-site replays and the logout.
func demoActions(own, other demoOrg, m2m *demoM2M) []action {
	docs := "/orgs/" + own.ID + "/documents"
	m2mDocs := "/orgs/" + m2m.Org.ID + "/documents"
	title := map[string]string{"title": "Written from the demo page"}
	return []action{
		{
			ID: "load", Title: "Requests with your session cookies", Button: "Run again",
			Explain: "The page calls the API with fetch; the browser attaches the HttpOnly session cookies set by /demo/login.",
			Steps: []step{
				{Method: "GET", Path: "/me", Send: "cookies", Note: "any session"},
				{Method: "GET", Path: docs, Send: "cookies", Note: "documents:read"},
				{Method: "POST", Path: docs, Send: "cookies", Body: title, Note: "documents:write"},
				{Method: "GET", Path: docs + "/{created}", Send: "cookies", Note: "documents:read"},
				{Method: "DELETE", Path: docs + "/{created}", Send: "cookies", Note: "documents:delete"},
				{Method: "GET", Path: "/orgs/" + own.ID + "/invoices", Send: "cookies", Note: "invoices:read"},
				{Method: "GET", Path: "/orgs/" + other.ID + "/documents", Send: "cookies", Note: "another organization (" + other.Slug + ")"},
				{Method: "GET", Path: "/std" + docs, Send: "cookies", Note: "documents:read on http.ServeMux"},
				{Method: "GET", Path: "/std/orgs/" + own.ID + "/invoices", Send: "cookies", Note: "invoices:read on http.ServeMux"},
				{Method: "GET", Path: docs, Send: "none", Note: "no credentials"},
			},
		},
		{
			ID: "clock", Title: "Expired JWT: refreshed through Stytch", Button: "+6 min",
			Explain: "A session JWT lives 5 minutes. The button moves the demo clock, shared by the emulator and the guards, " +
				"6 minutes forward: the JWT in your cookies has expired, so the guard asks Stytch (the emulator), which answers " +
				"with a fresh JWT, and the guard re-issues both cookies (column Re-issued cookies). The next request is local again.",
			Steps: []step{
				{Method: "POST", Path: "/demo/clock/advance?by=6m", Send: "none", Note: "demo clock +6 min", Kind: "clock"},
				{Method: "GET", Path: "/me", Send: "cookies", Note: "any session; see source in the body"},
				{Method: "GET", Path: docs, Send: "cookies", Note: "documents:read, with the re-issued cookies"},
			},
		},
		{
			ID: "m2m", Title: "Machine clients (M2M)", Button: "Get a token and call",
			Explain: "The emulator holds an M2M client, " + m2m.Name + " (" + m2m.ClientID + "), with the scope " +
				strings.Join(m2m.Scopes, " ") + " and the custom claim organization_id = " + m2m.Org.ID + ". The demo server, " +
				"which keeps its secret as a service would, gets an access token from the emulator's token endpoint " +
				"(client credentials); the page then plays the machine and sends it as a Bearer token to routes guarded by " +
				"RequireScopes. A missing scope is 403 with WWW-Authenticate naming it (insufficient_scope); another " +
				"organization is 403 tenancy_mismatch; the member routes refuse M2M tokens (401, the guards do not set " +
				"AcceptM2M), and the M2M routes refuse member sessions (403).",
			Steps: []step{
				{Method: "POST", Path: "/demo/m2m/token", Send: "none", Note: "client credentials at the emulator's token endpoint", Kind: "token"},
				{Method: "GET", Path: "/m2m" + m2mDocs, Send: "m2m", Note: "scope read:documents"},
				{Method: "GET", Path: "/std/m2m" + m2mDocs, Send: "m2m", Note: "scope read:documents on http.ServeMux"},
				{Method: "GET", Path: "/m2m/orgs/" + m2m.Org.ID + "/invoices", Send: "m2m", Note: "scope read:invoices, which the client lacks"},
				{Method: "GET", Path: "/m2m/orgs/" + otherOf(m2m.Org).ID + "/documents", Send: "m2m", Note: "scope read:documents in another organization"},
				{Method: "GET", Path: m2mDocs, Send: "m2m", Note: "a member route (documents:read)"},
				{Method: "GET", Path: "/m2m" + m2mDocs, Send: "cookies", Note: "your member session on the M2M route"},
			},
		},
		{
			ID: "csrf", Title: "Cross-site request forgery", Button: "Replay from another site",
			Explain: "A page cannot forge the Origin or Sec-Fetch-Site headers of its own requests, so the demo server plays the " +
				"other page: it sends the API the POST a form on another origin would make your browser send (a text/plain body, " +
				"which needs no CORS preflight), with your session cookies and that page's Origin and Sec-Fetch-* headers, and " +
				"shows the API's answer. The guard refuses a cookie-authenticated unsafe method that Go's " +
				"http.CrossOriginProtection refuses (403 cross_origin), before the handler runs; Bearer requests are exempt, " +
				"since a browser never adds a Bearer header by itself.",
			Steps: []step{
				{Method: "POST", Path: docs, Send: "cookies", Body: title, Note: "from this page (same origin)"},
				{Method: "POST", Path: "/demo/csrf?from=cross-site", Send: "cookies", Note: "replayed from " + crossSiteOrigin + " (another site)", Kind: "replay"},
				{Method: "POST", Path: "/demo/csrf?from=same-site", Send: "cookies", Note: "replayed from this host on another port (same site: SameSite=Lax cookies are sent)", Kind: "replay"},
			},
		},
		{
			ID: "logout", Title: "Log out", Button: "Log out",
			Explain: "POST /logout is the guard's LogoutHandler: it revokes the session at Stytch, refuses it on both guards " +
				"at once (they share revocations through Config.Fleet) and clears the cookies. The next request is refused with 401.",
			Steps: []step{
				{Method: "POST", Path: "/logout", Send: "cookies", Note: "revoke and clear the cookies"},
				{Method: "GET", Path: "/me", Send: "cookies", Note: "any session"},
				{Method: "GET", Path: docs, Send: "cookies", Note: "documents:read"},
			},
		},
	}
}
