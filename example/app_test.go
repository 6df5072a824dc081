package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestRouteMatrix sends every route as every demo member (with each kind of
// credential) and without credentials, on the chi routes and on the
// ServeMux routes under /std/, and checks the status the policy implies.
func TestRouteMatrix(t *testing.T) {
	ta := newTestApp(t)

	// want maps a role ("" = no credentials) to the expected status.
	type want map[string]int
	routes := []struct {
		name, method, path, body string
		want                     want
	}{
		{"healthz", "GET", "/healthz", "", want{"admin": 200, "editor": 200, "viewer": 200, "": 200}},
		{"me", "GET", "/me", "", want{"admin": 200, "editor": 200, "viewer": 200, "": 401}},
		{"list documents", "GET", "/orgs/{org}/documents", "", want{"admin": 200, "editor": 200, "viewer": 200, "": 401}},
		{"get document", "GET", "/orgs/{org}/documents/{doc}", "", want{"admin": 200, "editor": 200, "viewer": 200, "": 401}},
		{"create document", "POST", "/orgs/{org}/documents", `{"title":"matrix"}`, want{"admin": 201, "editor": 201, "viewer": 403, "": 401}},
		// A missing id: 404 means the guard let the request through to the
		// handler, 403 that it did not.
		{"delete document", "DELETE", "/orgs/{org}/documents/doc-missing", "", want{"admin": 404, "editor": 403, "viewer": 403, "": 401}},
		{"list invoices", "GET", "/orgs/{org}/invoices", "", want{"admin": 200, "editor": 200, "viewer": 403, "": 401}},
	}
	callers := append([]*demoMember{nil}, func() []*demoMember {
		var ms []*demoMember
		for i := range ta.Members {
			ms = append(ms, &ta.Members[i])
		}
		return ms
	}()...)

	for _, mount := range []string{"", "/std"} {
		router := "chi"
		if mount != "" {
			router = "servemux"
		}
		for _, rt := range routes {
			for _, m := range callers {
				kinds := []credKind{credJWT, credToken, credCookies}
				name, role, org := "anonymous", "", orgAcme.ID
				if m == nil {
					kinds = []credKind{credNone}
				} else {
					name, role, org = m.Name, m.Role, m.Org.ID
				}
				for _, kind := range kinds {
					t.Run(router+"/"+rt.name+"/"+name+"/"+string(kind), func(t *testing.T) {
						// {doc}: a seeded document of the caller's organization.
						doc := map[string]string{orgAcme.ID: "doc-1", orgGlobex.ID: "doc-3"}[org]
						path := mount + strings.NewReplacer("{org}", org, "{doc}", doc).Replace(rt.path)
						got := ta.do(t, m, kind, rt.method, path, rt.body)
						if got.Status != rt.want[role] {
							t.Fatalf("%s %s as %s (%s): status %d, want %d; body %s", rt.method, path, name, kind, got.Status, rt.want[role], got.Body)
						}
						switch got.Status {
						case 401:
							if c := got.errorCode(); c != "missing_credentials" {
								t.Errorf("401 error code %q, want missing_credentials", c)
							}
							if got.Header.Get("WWW-Authenticate") == "" {
								t.Error("401 without WWW-Authenticate")
							}
						case 403:
							if c := got.errorCode(); c != "forbidden" {
								t.Errorf("403 error code %q, want forbidden", c)
							}
						}
					})
				}
			}
		}
	}
}

// TestTenancy checks that the organization in the path must be the
// session's own, on both routers and with every credential kind, and that
// refused requests leave the other organization's data untouched.
func TestTenancy(t *testing.T) {
	ta := newTestApp(t)
	alice, dave := ta.member(t, "alice"), ta.member(t, "dave")
	acmeBefore := documentIDs(t, ta.do(t, alice, credJWT, "GET", "/orgs/"+orgAcme.ID+"/documents", ""))
	if len(acmeBefore) == 0 {
		t.Fatal("acme has no seeded documents")
	}

	cases := []struct {
		name         string
		m            *demoMember
		kind         credKind
		method, path string
		body         string
		wantStatus   int
		wantCode     string
	}{
		// An admin of acme reads another tenant's documents by naming its org.
		{"acme admin reads globex documents", alice, credJWT, "GET", "/orgs/" + orgGlobex.ID + "/documents", "", 403, "tenancy_mismatch"},
		// The same through net/http's ServeMux and its own guard.
		{"acme admin reads globex documents (std)", alice, credJWT, "GET", "/std/orgs/" + orgGlobex.ID + "/documents", "", 403, "tenancy_mismatch"},
		// The remote path (opaque token) must apply the same tenancy rule.
		{"acme admin reads globex invoices by session token", alice, credToken, "GET", "/orgs/" + orgGlobex.ID + "/invoices", "", 403, "tenancy_mismatch"},
		// Cookies are just another carrier of the same session.
		{"acme admin reads globex invoices by cookies (std)", alice, credCookies, "GET", "/std/orgs/" + orgGlobex.ID + "/invoices", "", 403, "tenancy_mismatch"},
		// An admin of globex writes into acme.
		{"globex admin creates an acme document", dave, credJWT, "POST", "/orgs/" + orgAcme.ID + "/documents", `{"title":"planted"}`, 403, "tenancy_mismatch"},
		// An admin of globex deletes acme's first document by id.
		{"globex admin deletes an acme document", dave, credJWT, "DELETE", "/orgs/" + orgAcme.ID + "/documents/" + acmeBefore[0], "", 403, "tenancy_mismatch"},
		{"globex admin deletes an acme document (std)", dave, credToken, "DELETE", "/std/orgs/" + orgAcme.ID + "/documents/" + acmeBefore[0], "", 403, "tenancy_mismatch"},
		// Organization ids compare exactly: a case variant is another org.
		{"case variant of the own org id", alice, credJWT, "GET", "/orgs/ORGANIZATION-TEST-ACME/documents", "", 403, "tenancy_mismatch"},
		// An encoded slash must not let the path name two organizations.
		{"encoded slash in the org id", alice, credJWT, "GET", "/orgs/" + orgGlobex.ID + "%2F..%2F" + orgAcme.ID + "/documents", "", 403, "tenancy_mismatch"},
		{"encoded slash in the org id (std)", alice, credJWT, "GET", "/std/orgs/" + orgGlobex.ID + "%2F..%2F" + orgAcme.ID + "/documents", "", 403, "tenancy_mismatch"},
		// An empty org id is refused by the guard (403); the routers do not
		// even route it.
		{"empty org id", alice, credJWT, "GET", "/orgs//documents", "", 404, ""},
		{"empty org id (std)", alice, credJWT, "GET", "/std/orgs//documents", "", 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ta.do(t, tc.m, tc.kind, tc.method, tc.path, tc.body)
			if got.Status != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %s", got.Status, tc.wantStatus, got.Body)
			}
			if tc.wantCode != "" && got.errorCode() != tc.wantCode {
				t.Fatalf("error %q, want %q", got.errorCode(), tc.wantCode)
			}
		})
	}
	if after := documentIDs(t, ta.do(t, alice, credJWT, "GET", "/orgs/"+orgAcme.ID+"/documents", "")); !slices.Equal(after, acmeBefore) {
		t.Fatalf("acme documents changed by refused requests: %v, were %v", after, acmeBefore)
	}
}

// TestDocumentLifecycle creates a document through chi, reads it through
// ServeMux, checks it stays in its organization, and deletes it.
func TestDocumentLifecycle(t *testing.T) {
	ta := newTestApp(t)
	alice, bob, carol, dave := ta.member(t, "alice"), ta.member(t, "bob"), ta.member(t, "carol"), ta.member(t, "dave")
	acmeDocs := "/orgs/" + orgAcme.ID + "/documents"

	created := ta.do(t, bob, credJWT, "POST", acmeDocs, `{"title":"  Quarterly report  "}`)
	if created.Status != http.StatusCreated {
		t.Fatalf("create: status %d, body %s", created.Status, created.Body)
	}
	var doc document
	if err := json.Unmarshal(created.Body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Title != "Quarterly report" || doc.CreatedBy != bob.MemberID || doc.ID == "" {
		t.Fatalf("created %+v", doc)
	}
	if loc := created.Header.Get("Location"); loc != acmeDocs+"/"+doc.ID {
		t.Errorf("Location %q", loc)
	}

	if ids := documentIDs(t, ta.do(t, carol, credCookies, "GET", "/std"+acmeDocs, "")); !slices.Contains(ids, doc.ID) {
		t.Fatalf("viewer does not see the new document through /std: %v", ids)
	}
	// One document, with the roles that granted the read.
	for _, tc := range []struct {
		m     *demoMember
		path  string
		roles []string
	}{
		{carol, acmeDocs + "/" + doc.ID, []string{"viewer"}},
		{alice, "/std" + acmeDocs + "/" + doc.ID, []string{"admin"}},
	} {
		got := ta.do(t, tc.m, credJWT, "GET", tc.path, "")
		var body struct {
			Document      document `json:"document"`
			GrantingRoles []string `json:"granting_roles"`
		}
		if err := json.Unmarshal(got.Body, &body); err != nil || got.Status != 200 {
			t.Fatalf("GET %s: %d %s", tc.path, got.Status, got.Body)
		}
		if body.Document != doc || !slices.Equal(body.GrantingRoles, tc.roles) {
			t.Errorf("GET %s as %s: %+v, roles %v, want %+v, %v", tc.path, tc.m.Name, body.Document, body.GrantingRoles, doc, tc.roles)
		}
	}
	// Another organization's id is not found there, even by its admin.
	if got := ta.do(t, dave, credJWT, "GET", "/orgs/"+orgGlobex.ID+"/documents/"+doc.ID, ""); got.Status != http.StatusNotFound {
		t.Fatalf("globex read of an acme id: status %d", got.Status)
	}
	if ids := documentIDs(t, ta.do(t, dave, credJWT, "GET", "/orgs/"+orgGlobex.ID+"/documents", "")); slices.Contains(ids, doc.ID) {
		t.Fatalf("globex lists an acme document: %v", ids)
	}
	// Dave may delete in globex, but acme's id is not there.
	if got := ta.do(t, dave, credJWT, "DELETE", "/orgs/"+orgGlobex.ID+"/documents/"+doc.ID, ""); got.Status != http.StatusNotFound {
		t.Fatalf("globex delete of an acme id: status %d", got.Status)
	}
	if got := ta.do(t, alice, credToken, "DELETE", "/std"+acmeDocs+"/"+doc.ID, ""); got.Status != http.StatusNoContent {
		t.Fatalf("delete: status %d, body %s", got.Status, got.Body)
	}
	if ids := documentIDs(t, ta.do(t, alice, credJWT, "GET", acmeDocs, "")); slices.Contains(ids, doc.ID) {
		t.Fatalf("deleted document still listed: %v", ids)
	}
	if got := ta.do(t, alice, credJWT, "DELETE", acmeDocs+"/"+doc.ID, ""); got.Status != http.StatusNotFound {
		t.Fatalf("second delete: status %d", got.Status)
	}
}

// TestCreateDocumentRejectsBadInput checks the handler's own validation,
// behind a guard that let the request through.
func TestCreateDocumentRejectsBadInput(t *testing.T) {
	ta := newTestApp(t)
	bob := ta.member(t, "bob")
	path := "/orgs/" + orgAcme.ID + "/documents"
	cases := []struct {
		name, body string
		want       int
	}{
		{"empty title", `{"title":"   "}`, 400},
		{"unknown field", `{"title":"x","owner":"member-test-dave"}`, 400},
		{"not JSON", `title=x`, 400},
		{"title too long", `{"title":"` + strings.Repeat("a", maxDocumentTitle+1) + `"}`, 400},
		{"body too large", `{"title":"` + strings.Repeat("a", maxDocumentBody) + `"}`, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ta.do(t, bob, credJWT, "POST", path, tc.body); got.Status != tc.want {
				t.Fatalf("status %d, want %d; body %s", got.Status, tc.want, got.Body)
			}
		})
	}
	t.Run("form content type", func(t *testing.T) {
		// A cross-site HTML form can only send form or text bodies.
		req, _ := http.NewRequest("POST", ta.srv.URL+path, strings.NewReader(`{"title":"x"}`))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Authorization", "Bearer "+bob.SessionJWT)
		resp, err := ta.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Fatalf("status %d, want 415", resp.StatusCode)
		}
	})
}

// TestMe checks that /me returns the Principal: local for a JWT, remote for
// a session token, with the session's custom claims.
func TestMe(t *testing.T) {
	ta := newTestApp(t)
	carol := ta.member(t, "carol")
	for _, tc := range []struct {
		kind       credKind
		wantSource string
		wantClaims bool
	}{
		{credJWT, "local", true},
		{credToken, "remote", false},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			got := ta.do(t, carol, tc.kind, "GET", "/std/me", "")
			if got.Status != 200 {
				t.Fatalf("status %d: %s", got.Status, got.Body)
			}
			var me meResponse
			if err := json.Unmarshal(got.Body, &me); err != nil {
				t.Fatal(err)
			}
			if me.Source != tc.wantSource {
				t.Errorf("source %q, want %q", me.Source, tc.wantSource)
			}
			s := me.MemberSession
			if s == nil || s.MemberID != carol.MemberID || s.OrganizationID != orgAcme.ID || !slices.Contains(s.Roles, "viewer") {
				t.Fatalf("member_session %+v", s)
			}
			if me.CustomClaims["demo_role"] != "viewer" || me.CustomClaims["demo_name"] != "carol" {
				t.Errorf("custom_claims %v", me.CustomClaims)
			}
			if (me.Claims != nil) != tc.wantClaims {
				t.Errorf("claims present = %v, want %v", me.Claims != nil, tc.wantClaims)
			}
			if tc.wantClaims && me.Claims.Subject != carol.MemberID {
				t.Errorf("claims sub %q", me.Claims.Subject)
			}
			if !tc.wantClaims && (me.Member == nil || me.Member.EmailAddress != carol.Email) {
				t.Errorf("member %+v", me.Member)
			}
		})
	}
}

// TestStytchMode runs the app against an emulator standing in for the real
// Stytch API (configured like STYTCH_PROJECT_ID/STYTCH_SECRET/STYTCH_BASE_URL):
// nothing is seeded and the /demo routes do not exist.
func TestStytchMode(t *testing.T) {
	stytch := stytchtest.NewServer(stytchtest.Options{})
	defer stytch.Close()
	stytch.SetPolicy(demoPolicy())
	tok, jwt, err := stytch.NewSession(stytchtest.SessionSpec{OrganizationID: "organization-test-real", Roles: []string{"editor"}})
	if err != nil {
		t.Fatal(err)
	}

	a, err := newApp(configFromEnv(func(k string) string {
		return map[string]string{"STYTCH_PROJECT_ID": stytch.ProjectID, "STYTCH_SECRET": stytch.Secret, "STYTCH_BASE_URL": stytch.URL}[k]
	}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler)
	ta := &testApp{app: a, srv: srv}
	defer func() {
		srv.Close()
		if err := a.Close(); err != nil {
			t.Error(err)
		}
	}()
	if a.Mode != modeStytch || a.Emulator != nil || a.Members != nil || a.BaseURL != stytch.URL {
		t.Fatalf("mode %q, emulator %v, members %v, base %q", a.Mode, a.Emulator, a.Members, a.BaseURL)
	}
	var banner strings.Builder
	printBanner(&banner, a, srv.URL)
	if !strings.Contains(banner.String(), "using Stytch at "+stytch.URL) || strings.Contains(banner.String(), "emulator") {
		t.Errorf("banner does not say it uses Stytch:\n%s", banner.String())
	}

	m := &demoMember{SessionJWT: jwt, SessionToken: tok}
	for _, tc := range []struct {
		name, method, path, body string
		kind                     credKind
		want                     int
	}{
		{"me", "GET", "/me", "", credJWT, 200},
		{"documents", "GET", "/orgs/organization-test-real/documents", "", credToken, 200},
		{"create", "POST", "/std/orgs/organization-test-real/documents", `{"title":"x"}`, credJWT, 201},
		{"invoices", "GET", "/orgs/organization-test-real/invoices", "", credJWT, 200},
		{"delete not granted", "DELETE", "/orgs/organization-test-real/documents/doc-1", "", credJWT, 403},
		{"no demo page", "GET", "/demo", "", credJWT, 404},
		{"no demo login", "GET", "/demo/login?member=alice", "", credNone, 404},
		{"no seeded acme", "GET", "/orgs/" + orgAcme.ID + "/documents", "", credJWT, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mm := m
			if tc.kind == credNone {
				mm = nil
			}
			if got := ta.do(t, mm, tc.kind, tc.method, tc.path, tc.body); got.Status != tc.want {
				t.Fatalf("status %d, want %d; body %s", got.Status, tc.want, got.Body)
			}
		})
	}
}

func TestNewAppConfigErrors(t *testing.T) {
	for _, cfg := range []appConfig{
		{ProjectID: "project-test-00000000-0000-0000-0000-000000000000"},
		{Secret: "secret-test-x"},
	} {
		if a, err := newApp(cfg); err == nil {
			_ = a.Close()
			t.Errorf("newApp(%+v) accepted half a configuration", cfg)
		} else if strings.Contains(err.Error(), "secret-test-x") {
			t.Errorf("error repeats the secret: %v", err)
		}
	}
}
