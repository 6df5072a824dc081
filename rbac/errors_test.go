package rbac

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestErrorCategories: every category is defined once, in package client;
// the rbac sentinels and errors wrap it, and match nothing beyond it.
func TestErrorCategories(t *testing.T) {
	ix := Compile(specPolicy(), specOrgPolicy())
	tenancy := ix.Authorize("organization-test-other", []string{"reader"}, &client.AuthorizationCheck{OrganizationID: orgA, ResourceID: "documents", Action: "read"})
	permission := ix.Authorize(orgA, []string{"reader"}, &client.AuthorizationCheck{OrganizationID: orgA, ResourceID: "documents", Action: "delete"})
	var nilIx *Index
	noPolicy := nilIx.Authorize(orgA, nil, &client.AuthorizationCheck{OrganizationID: orgA})

	all := []error{
		ErrForbidden, ErrTenancy, ErrPermissionDenied, ErrPolicyUnavailable, ErrClosed,
		client.ErrForbidden, client.ErrTenancy, client.ErrUnavailable, client.ErrSessionInvalid,
		client.ErrBadRequest, client.ErrUnauthorizedCredentials,
	}
	tests := []struct {
		name string
		err  error
		want []error // every category of all that err matches
	}{
		{"ErrForbidden", ErrForbidden, []error{ErrForbidden, client.ErrForbidden}},
		{"ErrTenancy", ErrTenancy, []error{ErrTenancy, ErrForbidden, client.ErrTenancy, client.ErrForbidden}},
		{"ErrPermissionDenied", ErrPermissionDenied, []error{ErrPermissionDenied, ErrForbidden, client.ErrForbidden}},
		{"ErrPolicyUnavailable", ErrPolicyUnavailable, []error{ErrPolicyUnavailable, client.ErrUnavailable}},
		{"tenancy refusal", tenancy, []error{ErrTenancy, ErrForbidden, client.ErrTenancy, client.ErrForbidden}},
		{"permission refusal", permission, []error{ErrPermissionDenied, ErrForbidden, client.ErrForbidden}},
		{"nil Index", noPolicy, []error{ErrPolicyUnavailable, client.ErrUnavailable}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, target := range all {
				want := false
				for _, w := range tc.want {
					want = want || w == target
				}
				if got := errors.Is(tc.err, target); got != want {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", tc.err, target, got, want)
				}
			}
		})
	}
	var ae *AuthorizationError
	if !errors.As(tenancy, &ae) || ae.ErrorType != client.ErrorTypeTenancy || ae.StatusCode() != http.StatusForbidden {
		t.Fatalf("tenancy refusal = %#v", tenancy)
	}
	if ErrorTypeTenancy != client.ErrorTypeTenancy || ErrorTypePermission != client.ErrorTypePermission {
		t.Fatal("the deprecated error types differ from the client's")
	}
}

// TestPolicyUnavailableCategories: a policy that cannot be fetched is
// "unavailable" whatever the policy endpoint answered, and never a verdict
// about the member.
func TestPolicyUnavailableCategories(t *testing.T) {
	tests := []struct {
		name  string
		fault stytchtest.Fault
		cause error // a category of the answer kept by the error
	}{
		// A 403 from the organization policy endpoint refuses the fetch: it
		// must not read as a denial of the member's check.
		{"403", stytchtest.Fault{Status: http.StatusForbidden, ErrorType: client.ErrorTypeTenancy}, nil},
		// A 401 from the policy endpoint is about the project, never the
		// member's session: it must not read as a logged-out session.
		{"401", stytchtest.Fault{Status: http.StatusUnauthorized, ErrorType: "unauthorized"}, nil},
		{"401 credentials", stytchtest.Fault{Status: http.StatusUnauthorized, ErrorType: "unauthorized_credentials"}, client.ErrUnauthorizedCredentials},
		// A 404 is unavailable too, though not retried sooner than others.
		{"404", stytchtest.Fault{Status: http.StatusNotFound, ErrorType: "organization_not_found"}, client.ErrBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c := e.newCache(t, Config{})
			e.srv.SetFault(stytchtest.EndpointOrgPolicy, tc.fault)
			_, err := c.Authorize(context.Background(), member(orgA, "stytch_member"), docs(orgA, "read"))
			if !errors.Is(err, ErrPolicyUnavailable) || !errors.Is(err, client.ErrUnavailable) {
				t.Fatalf("err = %v, want ErrPolicyUnavailable and client.ErrUnavailable", err)
			}
			for _, never := range []error{ErrForbidden, ErrTenancy, ErrPermissionDenied, client.ErrForbidden, client.ErrTenancy, client.ErrSessionInvalid} {
				if errors.Is(err, never) {
					t.Errorf("err %v matches %v", err, never)
				}
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("err %v lost the category %v of its cause", err, tc.cause)
			}
		})
	}
	// Not only through a cause: an undecidable request matches
	// client.ErrUnavailable too.
	e := newEnv(t)
	c := e.newCache(t, Config{})
	if _, err := c.Index(context.Background(), ""); !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("Index(\"\") = %v, want client.ErrUnavailable", err)
	}
}
