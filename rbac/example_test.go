package rbac_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/rbac"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func Example() {
	policy := &client.Policy{Roles: []client.Role{
		{RoleID: "stytch_member", Permissions: []client.Permission{{ResourceID: "stytch.self", Actions: []string{"*"}}}},
		{RoleID: "editor", Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"read", "write"}}}},
	}}
	org := &client.OrgPolicy{Roles: []client.Role{
		{RoleID: "reviewer", Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"read"}}}},
	}}
	ix := rbac.Compile(policy, org)

	roles := []string{"stytch_member", "reviewer", "editor"}
	v, err := ix.Verdict("organization-test-1", roles,
		&client.AuthorizationCheck{OrganizationID: "organization-test-1", ResourceID: "documents", Action: "read"})
	fmt.Println(v.GrantingRoles, err)

	err = ix.Authorize("organization-test-1", roles,
		&client.AuthorizationCheck{OrganizationID: "organization-test-1", ResourceID: "documents", Action: "delete"})
	fmt.Println(errors.Is(err, rbac.ErrPermissionDenied), err)

	err = ix.Authorize("organization-test-1", roles,
		&client.AuthorizationCheck{OrganizationID: "organization-test-2", ResourceID: "documents", Action: "read"})
	var ae *rbac.AuthorizationError
	fmt.Println(errors.Is(err, rbac.ErrTenancy), errors.As(err, &ae) && ae.ErrorType == "session_authorization_tenancy_error")
	// Output:
	// [editor reviewer] <nil>
	// true rbac: member is not authorized to perform action "delete" on resource "documents" in organization "organization-test-1"
	// true true
}

func ExampleCache() {
	// An emulator of the Stytch API on loopback stands in for Stytch.
	srv := stytchtest.NewServer(stytchtest.Options{})
	defer srv.Close()
	srv.SetPolicy(client.Policy{Roles: []client.Role{
		{RoleID: "editor", Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"*"}}}},
	}})

	c, err := client.New(client.Config{ProjectID: srv.ProjectID, Secret: srv.Secret, BaseURL: srv.URL})
	if err != nil {
		panic(err)
	}
	cache, err := rbac.New(rbac.Config{Client: c})
	if err != nil {
		panic(err)
	}
	defer cache.Close()

	session := &client.MemberSession{OrganizationID: "organization-test-1", Roles: []string{"stytch_member", "editor"}}
	v, err := cache.Authorize(context.Background(), session,
		&client.AuthorizationCheck{OrganizationID: "organization-test-1", ResourceID: "documents", Action: "delete"})
	fmt.Println(v.Authorized, v.GrantingRoles, err)

	_, err = cache.Authorize(context.Background(), session,
		&client.AuthorizationCheck{OrganizationID: "organization-test-1", ResourceID: "billing", Action: "view"})
	fmt.Println(errors.Is(err, rbac.ErrForbidden))
	// Output:
	// true [editor] <nil>
	// true
}
