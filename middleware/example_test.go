package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// Guarding a ServeMux route with a resource/action check, against the
// emulator.
func Example() {
	srv := stytchtest.NewServer(stytchtest.Options{})
	defer srv.Close()
	srv.SetPolicy(client.Policy{Roles: []client.Role{{
		RoleID:      "viewer",
		Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"read"}}},
	}}})
	_, jwt, _ := srv.NewSession(stytchtest.SessionSpec{OrganizationID: "organization-test-acme", Roles: []string{"viewer"}})

	g, err := middleware.New(middleware.Config{
		ProjectID:      srv.ProjectID,
		Secret:         srv.Secret,
		BaseURL:        srv.URL,
		OrganizationID: func(r *http.Request) string { return r.PathValue("orgID") },
	})
	if err != nil {
		panic(err)
	}
	defer g.Close()

	mux := http.NewServeMux()
	list := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.MemberSessionFromContext(r.Context())
		fmt.Fprintf(w, "documents of %s", s.OrganizationID)
	})
	mux.Handle("GET /orgs/{orgID}/documents", g.Require("documents", "read")(list))
	mux.Handle("DELETE /orgs/{orgID}/documents", g.Require("documents", "delete")(list))

	call := func(method, path string) {
		r := httptest.NewRequest(method, path, nil)
		r.Header.Set("Authorization", "Bearer "+jwt)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, r)
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	call("GET", "/orgs/organization-test-acme/documents")
	call("GET", "/orgs/organization-test-globex/documents")
	call("DELETE", "/orgs/organization-test-acme/documents")
	// Output:
	// 200 documents of organization-test-acme
	// 403 {"error":"tenancy_mismatch","error_description":"session belongs to another organization"}
	// 403 {"error":"forbidden","error_description":"session may not perform this action"}
}
