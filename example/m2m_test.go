package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stytchguard/stytchguard/middleware"
)

// m2mToken gets an access token for the seeded M2M client through the
// demo's server-side proxy of the emulator's token endpoint.
func (ta *testApp) m2mToken(t *testing.T) string {
	t.Helper()
	got, _ := ta.withCookies(t, nil, "POST", "/demo/m2m/token", nil)
	var body m2mTokenResponse
	if err := json.Unmarshal(got.Body, &body); err != nil || got.Status != 200 || body.AccessToken == "" {
		t.Fatalf("token: %d %s", got.Status, got.Body)
	}
	if body.ClientID != ta.M2M.ClientID || !slices.Equal(body.Scopes, []string{"read:documents"}) || body.TokenType != "bearer" || body.ExpiresIn != 3600 {
		t.Errorf("token answer %+v", body)
	}
	if strings.Contains(string(got.Body), ta.M2M.Secret) {
		t.Fatal("the token answer holds the client secret")
	}
	return body.AccessToken
}

// TestM2MRoutes: the seeded M2M client reads acme's documents on the routes
// guarded by RequireScopes, and nothing else.
func TestM2MRoutes(t *testing.T) {
	ta := newTestApp(t)
	tok := ta.m2mToken(t)
	alice := ta.member(t, "alice")
	acme := "/orgs/" + orgAcme.ID

	bearer := func(v string) http.Header { return http.Header{"Authorization": {"Bearer " + v}} }
	cases := []struct {
		name    string
		path    string
		header  http.Header
		cookies []*http.Cookie
		want    int
		code    string
		scope   string // the scope the challenge must name
	}{
		{"documents by scope", "/m2m" + acme + "/documents", bearer(tok), nil, 200, "", ""},
		{"documents by scope (std)", "/std/m2m" + acme + "/documents", bearer(tok), nil, 200, "", ""},
		// The client holds read:documents only.
		{"missing scope", "/m2m" + acme + "/invoices", bearer(tok), nil, 403, "forbidden", "read:invoices"},
		{"missing scope (std)", "/std/m2m" + acme + "/invoices", bearer(tok), nil, 403, "forbidden", "read:invoices"},
		// The token's organization_id claim names acme, not globex.
		{"another organization", "/m2m/orgs/" + orgGlobex.ID + "/documents", bearer(tok), nil, 403, "tenancy_mismatch", ""},
		// The member routes do not take machine tokens (no AcceptM2M).
		{"member route", acme + "/documents", bearer(tok), nil, 401, "invalid_token", ""},
		{"member route (std)", "/std" + acme + "/invoices", bearer(tok), nil, 401, "invalid_token", ""},
		// A member session, even an admin's, holds no M2M scope.
		{"member session on the M2M route", "/m2m" + acme + "/documents", bearer(alice.SessionJWT), nil, 403, "forbidden", "read:documents"},
		// M2M tokens are Bearer only: in a cookie, a browser would carry it.
		{"M2M token as a cookie", "/m2m" + acme + "/documents", nil, []*http.Cookie{{Name: middleware.DefaultJWTCookie, Value: tok}}, 401, "", ""},
		{"no credential", "/m2m" + acme + "/documents", nil, nil, 401, "missing_credentials", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := ta.withCookies(t, tc.cookies, "GET", tc.path, tc.header)
			if got.Status != tc.want || tc.code != "" && got.errorCode() != tc.code {
				t.Fatalf("%d %s, want %d %s", got.Status, got.Body, tc.want, tc.code)
			}
			if tc.scope != "" {
				if ch := got.Header.Get("WWW-Authenticate"); !strings.Contains(ch, `error="insufficient_scope"`) || !strings.Contains(ch, `scope="`+tc.scope+`"`) {
					t.Errorf("challenge %q does not name %s", ch, tc.scope)
				}
			}
			if tc.want == 200 {
				var body struct {
					ClientID  string     `json:"client_id"`
					Scopes    []string   `json:"scopes"`
					Documents []document `json:"documents"`
				}
				if err := json.Unmarshal(got.Body, &body); err != nil || body.ClientID != ta.M2M.ClientID || len(body.Documents) == 0 {
					t.Errorf("body %s", got.Body)
				}
			}
		})
	}

	// The token proxy is the demo's: another site cannot use it.
	if got, _ := ta.withCookies(t, nil, "POST", "/demo/m2m/token", http.Header{"Sec-Fetch-Site": {"cross-site"}}); got.Status != 403 {
		t.Fatalf("cross-site token request: %d", got.Status)
	}
}
