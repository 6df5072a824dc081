package main

import (
	"bytes"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"html/template"
	"net/http"

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
// cookies and redirects to /demo. It is a GET so that a plain link or a
// browser started on its URL can use it; it exists only in emulator mode.
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
	http.Redirect(w, r, "/demo", http.StatusSeeOther)
}

// logout revokes the session of the cookies in the emulator, clears the
// cookies and redirects to /demo.
func (d *demo) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(middleware.DefaultTokenCookie); err == nil {
		d.app.Emulator.RevokeSession(c.Value)
	}
	d.guard.ClearSessionCookies(w)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/demo", http.StatusSeeOther)
}

// probe is one request the demo page makes.
type probe struct {
	Method string `json:"method"`
	// Path may hold "{created}", replaced by the id of the document the
	// page's POST created (or a missing id when the POST was refused).
	Path string `json:"path"`
	// Credentials is the fetch credentials mode: "same-origin" sends the
	// session cookies, "omit" sends none.
	Credentials string            `json:"credentials"`
	Body        map[string]string `json:"body,omitempty"`
	Note        string            `json:"note"`
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
	Probes   []probe
}

func (d *demo) page(w http.ResponseWriter, r *http.Request) {
	data := demoPage{Members: d.app.Members, OwnOrg: orgAcme, OtherOrg: orgGlobex}
	if p, ok := middleware.FromContext(r.Context()); ok {
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
	data.Probes = demoProbes(data.OwnOrg, data.OtherOrg)

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

// demoProbes lists the page's requests: every route of the member's own
// organization on both routers, one in the other organization (tenancy), and
// one without credentials.
func demoProbes(own, other demoOrg) []probe {
	docs := "/orgs/" + own.ID + "/documents"
	return []probe{
		{Method: "GET", Path: "/me", Credentials: "same-origin", Note: "any session"},
		{Method: "GET", Path: docs, Credentials: "same-origin", Note: "documents:read"},
		{Method: "POST", Path: docs, Credentials: "same-origin", Body: map[string]string{"title": "Written from the demo page"}, Note: "documents:write"},
		{Method: "DELETE", Path: docs + "/{created}", Credentials: "same-origin", Note: "documents:delete"},
		{Method: "GET", Path: "/orgs/" + own.ID + "/invoices", Credentials: "same-origin", Note: "invoices:read"},
		{Method: "GET", Path: "/orgs/" + other.ID + "/documents", Credentials: "same-origin", Note: "another organization (" + other.Slug + ")"},
		{Method: "GET", Path: "/std" + docs, Credentials: "same-origin", Note: "documents:read on http.ServeMux"},
		{Method: "GET", Path: "/std/orgs/" + own.ID + "/invoices", Credentials: "same-origin", Note: "invoices:read on http.ServeMux"},
		{Method: "GET", Path: docs, Credentials: "omit", Note: "no credentials"},
	}
}
