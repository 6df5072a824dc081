package main

import (
	"fmt"
	"io"
	"strings"
)

// try is one example request of the start-up output: a sentence saying
// what it shows and the status it answers, then a shell line that makes it.
type try struct {
	Say    string
	Status int
	Code   string // the "error" of the answer's body, if any
	Line   string
}

// write prints t as two lines: "  <say>: <status> [<code>]" and
// "  <line>". The expectation is prose, not a shell comment, so the line
// pastes as it is into shells without interactive comments (zsh).
func (t try) write(w io.Writer) {
	expect := fmt.Sprint(t.Status)
	if t.Code != "" {
		expect += " " + t.Code
	}
	fmt.Fprintf(w, "  %s: %s\n  %s\n", t.Say, expect, t.Line)
}

// shellVar is the name of the shell variable holding a member's session JWT
// ("ALICE_JWT") or session token ("ALICE_TOKEN").
func shellVar(m *demoMember, what string) string {
	return strings.ToUpper(m.Name) + "_" + what
}

// bearer is a curl header argument carrying the shell variable v.
func bearer(v string) string {
	return `-H "Authorization: Bearer $` + v + `"`
}

// printBanner says which Stytch the app uses and, in emulator mode, prints
// the demo members' credentials as shell variables and curl lines that work
// as written, in order, on a fresh start.
func printBanner(w io.Writer, a *app, baseURL string) {
	if a.Mode != modeEmulator {
		fmt.Fprintf(w, "stytchguard example: using Stytch at %s (project %s)\n", a.BaseURL, a.ProjectID)
		fmt.Fprintf(w, "serving on %s (the same API on net/http's ServeMux under /std/)\n\n", baseURL)
		fmt.Fprintf(w, "No demo data and no /demo pages in this mode. Call the API with a session of your project:\n")
		fmt.Fprintf(w, "  curl -H \"Authorization: Bearer $SESSION_JWT\" %s/me\n", baseURL)
		return
	}
	fmt.Fprintf(w, "stytchguard example: using the embedded Stytch emulator at %s (project %s); no network needed.\n", a.BaseURL, a.ProjectID)
	fmt.Fprintf(w, "Set STYTCH_PROJECT_ID and STYTCH_SECRET to use your Stytch project instead.\n")
	fmt.Fprintf(w, "serving on %s (the same API on net/http's ServeMux under /std/)\n\n", baseURL)
	fmt.Fprintf(w, "In a browser: %s/demo/login?member=alice (or bob, carol, dave) signs in and opens /demo,\n", baseURL)
	fmt.Fprintf(w, "whose \"+6 min\" button shows the expired-JWT refresh at once.\n\n")

	fmt.Fprintf(w, "Demo members. Sessions last %s; their session JWTs expire 5 minutes after start-up, after\n", shortDuration(a.SessionTTL))
	fmt.Fprintf(w, "which each request with one is checked by the emulator instead of locally (\"source\" in /me).\n")
	for _, m := range a.Members {
		fmt.Fprintf(w, "  %-6s %-7s %-7s org %-27s member %s\n", m.Name, m.Role, m.Org.Slug, m.Org.ID, m.MemberID)
	}
	fmt.Fprintf(w, "Paste these lines into a shell (their session JWTs and tokens), then the curl lines below:\n\n")
	for i := range a.Members {
		m := &a.Members[i]
		fmt.Fprintf(w, "%s='%s'\n", shellVar(m, "JWT"), m.SessionJWT)
		fmt.Fprintf(w, "%s='%s'\n", shellVar(m, "TOKEN"), m.SessionToken)
	}
	fmt.Fprintf(w, "\nTry (each line says the status it answers; document ids are doc-N, and the POST answers its id):\n")
	for _, t := range memberTries(a, baseURL) {
		t.write(w)
	}
	if m := a.M2M; m != nil {
		fmt.Fprintf(w, "\nM2M client %s (%s) holds the scope %s and acts for %s (custom claim organization_id):\n",
			m.Name, m.ClientID, strings.Join(m.Scopes, " "), m.Org.Slug)
		for _, t := range m2mTries(a, baseURL) {
			t.write(w)
		}
	}
	fmt.Fprintln(w)
}

// m2mTries are the example requests of the M2M client: a token from the
// emulator's token endpoint, kept in TOKEN, and the scope-guarded routes.
func m2mTries(a *app, baseURL string) []try {
	m := a.M2M
	token := "curl -s -u " + m.ClientID + ":" + m.Secret + " -d grant_type=client_credentials " +
		a.Emulator.URL + "/v1/public/" + a.ProjectID + "/oauth2/token"
	routes := baseURL + "/m2m/orgs/" + m.Org.ID
	return []try{
		{Say: "an access token from the emulator's token endpoint (OAuth 2.0 client credentials)", Status: 200, Line: token},
		{Say: "the same, kept in TOKEN", Status: 200, Line: `TOKEN=$(` + token + ` | sed -n 's/.*"access_token": *"\([^"]*\)".*/\1/p')`},
		{Say: "the route guarded by RequireScopes(\"read:documents\")", Status: 200, Line: `curl -H "Authorization: Bearer $TOKEN" ` + routes + "/documents"},
		{Say: "a scope the client lacks (-i shows WWW-Authenticate naming read:invoices)", Status: 403, Code: "forbidden",
			Line: `curl -i -H "Authorization: Bearer $TOKEN" ` + routes + "/invoices"},
		{Say: "another organization", Status: 403, Code: "tenancy_mismatch",
			Line: `curl -H "Authorization: Bearer $TOKEN" ` + baseURL + "/m2m/orgs/" + otherOf(m.Org).ID + "/documents"},
		{Say: "a member route refuses M2M tokens", Status: 401, Code: "invalid_token",
			Line: `curl -H "Authorization: Bearer $TOKEN" ` + baseURL + "/orgs/" + m.Org.ID + "/documents"},
	}
}

// memberTries are the example requests of the demo members: every route,
// a refusal of each kind, a cookie login and a logout.
func memberTries(a *app, baseURL string) []try {
	alice, _ := findMember(a.Members, "alice")
	bob, _ := findMember(a.Members, "bob")
	carol, _ := findMember(a.Members, "carol")
	dave, _ := findMember(a.Members, "dave")
	docs := baseURL + "/orgs/" + orgAcme.ID + "/documents"
	json := `-H 'Content-Type: application/json' -d '{"title":"Written with curl"}'`
	jar := "/tmp/stytchguard-bob.cookies"
	return []try{
		{Say: "alice (admin) lists acme's documents", Status: 200, Line: "curl " + bearer(shellVar(alice, "JWT")) + " " + docs},
		{Say: "bob (editor) creates a document", Status: 201, Line: "curl " + bearer(shellVar(bob, "JWT")) + " " + json + " " + docs},
		{Say: "carol (viewer) reads doc-1", Status: 200, Line: "curl " + bearer(shellVar(carol, "JWT")) + " " + docs + "/doc-1"},
		{Say: "alice deletes doc-2", Status: 204, Line: "curl -X DELETE " + bearer(shellVar(alice, "JWT")) + " " + docs + "/doc-2"},
		{Say: "alice reads acme's invoices", Status: 200, Line: "curl " + bearer(shellVar(alice, "JWT")) + " " + baseURL + "/orgs/" + orgAcme.ID + "/invoices"},
		{Say: "carol may not write", Status: 403, Code: "forbidden", Line: "curl " + bearer(shellVar(carol, "JWT")) + " " + json + " " + docs},
		{Say: "dave (admin of globex) may not read acme's documents", Status: 403, Code: "tenancy_mismatch", Line: "curl " + bearer(shellVar(dave, "JWT")) + " " + docs},
		{Say: "no credential", Status: 401, Code: "missing_credentials", Line: "curl " + docs},
		{Say: "bob's session token, checked by the emulator", Status: 200, Line: "curl " + bearer(shellVar(bob, "TOKEN")) + " " + baseURL + "/me"},
		{Say: "bob signs in with a cookie jar, as a browser does (the status is printed)", Status: 303,
			Line: "curl -s -o /dev/null -w '%{http_code}\\n' -c " + jar + " '" + baseURL + "/demo/login?member=bob'"},
		{Say: "bob lists the documents with the session cookies", Status: 200, Line: "curl -b " + jar + " " + docs},
		{Say: "carol logs out: her session is revoked at Stytch and on every guard", Status: 204, Line: "curl -X POST " + bearer(shellVar(carol, "TOKEN")) + " " + baseURL + "/logout"},
		{Say: "carol's JWT, still within its 5 minutes, is refused", Status: 401, Code: "session_expired", Line: "curl " + bearer(shellVar(carol, "JWT")) + " " + baseURL + "/me"},
		{Say: "the guards' metrics", Status: 200, Line: "curl " + baseURL + "/metrics"},
	}
}
