package stytchtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// Example starts an emulator, creates a session and authenticates it with an
// authorization check over plain HTTP, as any Stytch client would.
func Example() {
	clock := stytchtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	srv := stytchtest.NewServer(stytchtest.Options{Now: clock.Now})
	defer srv.Close()

	srv.SetPolicy(client.Policy{Roles: []client.Role{{
		RoleID:      "editor",
		Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"read", "write"}}},
	}}})
	token, _, err := srv.NewSession(stytchtest.SessionSpec{
		OrganizationID: "organization-test-acme",
		Roles:          []string{"editor"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	body := `{"session_token":"` + token + `","authorization_check":` +
		`{"organization_id":"organization-test-acme","resource_id":"documents","action":"write"}}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/b2b/sessions/authenticate", strings.NewReader(body))
	req.SetBasicAuth(srv.ProjectID, srv.Secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()

	var out client.AuthenticateResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode, out.MemberSession.Roles, out.Verdict.GrantingRoles)
	fmt.Println("expires", out.MemberSession.ExpiresAt.Format(time.RFC3339))
	// Output:
	// 200 [stytch_member editor] [editor]
	// expires 2026-01-01T01:00:00Z
}

// ExampleServer_SetFault makes the JWKS endpoint rate-limit the next request.
func ExampleServer_SetFault() {
	srv := stytchtest.NewServer(stytchtest.Options{})
	defer srv.Close()

	srv.SetFault(stytchtest.EndpointJWKS, stytchtest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second, Times: 1})
	for range 2 {
		resp, err := http.Get(srv.JWKSURL())
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Printf("%d Retry-After=%q\n", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	fmt.Println("calls:", srv.Calls(stytchtest.EndpointJWKS))
	// Output:
	// 429 Retry-After="30"
	// 200 Retry-After=""
	// calls: 2
}
