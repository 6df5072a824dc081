package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
)

// Example builds the demo in-process, as its tests do, and calls the API as
// alice, an admin of acme: her own organization's documents are served, the
// other organization's are refused.
func Example() {
	a, err := newApp(appConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()
	srv := httptest.NewServer(a.Handler)
	defer srv.Close()
	alice, _ := findMember(a.Members, "alice")

	for _, org := range []demoOrg{orgAcme, orgGlobex} {
		req, _ := http.NewRequest("GET", srv.URL+"/orgs/"+org.ID+"/documents", nil)
		req.Header.Set("Authorization", "Bearer "+alice.SessionJWT)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		var body struct {
			Error     string     `json:"error"`
			Documents []document `json:"documents"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		line := fmt.Sprintf("%s: %d", org.Slug, resp.StatusCode)
		if body.Error != "" {
			line += " " + body.Error
		}
		for _, d := range body.Documents {
			line += " [" + d.Title + "]"
		}
		fmt.Println(line)
	}
	// Output:
	// acme: 200 [Acme roadmap] [Onboarding guide]
	// globex: 403 tenancy_mismatch
}
