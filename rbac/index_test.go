package rbac

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stytchguard/stytchguard/client"
)

const orgA = "organization-test-aaaa"

func perm(resource string, actions ...string) client.Permission {
	return client.Permission{ResourceID: resource, Actions: actions}
}

func role(id string, perms ...client.Permission) client.Role {
	return client.Role{RoleID: id, Permissions: perms}
}

// specPolicy is the project policy of the spec table.
func specPolicy() *client.Policy {
	return &client.Policy{
		Roles: []client.Role{
			role("stytch_member", perm("stytch.self", "*")),
			role("stytch_admin", perm("stytch.organization", "*"), perm("stytch.member", "*")),
			role("reader", perm("documents", "read")),
			role("editor", perm("documents", "read", "write"), perm("images", "upload")),
			role("updater", perm("documents", "update.*")),
			role("superuser", perm("*", "*")),
			role("shared", perm("reports", "read")),
		},
		Resources: []client.Resource{
			{ResourceID: "documents", Actions: []string{"read", "write", "delete"}},
			{ResourceID: "billing", Actions: []string{"view"}},
		},
		Scopes: []client.Scope{
			{Scope: "billing:view", Permissions: []client.Permission{perm("billing", "view")}},
		},
	}
}

// specOrgPolicy is the organization policy of the spec table.
func specOrgPolicy() *client.OrgPolicy {
	return &client.OrgPolicy{Roles: []client.Role{
		role("auditor", perm("audit_log", "read")),
		role("shared", perm("reports", "export")),
		role("reader", perm("documents", "comment")),
	}}
}

type outcome int

const (
	allow outcome = iota
	denyPermission
	denyTenancy
)

func (o outcome) String() string {
	return [...]string{"allow", "deny(permission)", "deny(tenancy)"}[o]
}

func outcomeOf(t *testing.T, err error) outcome {
	t.Helper()
	var ae *AuthorizationError
	switch {
	case err == nil:
		return allow
	case errors.As(err, &ae) && ae.ErrorType == client.ErrorTypeTenancy:
		return denyTenancy
	case errors.As(err, &ae) && ae.ErrorType == client.ErrorTypePermission:
		return denyPermission
	}
	t.Fatalf("unexpected error %v", err)
	return 0
}

func TestAuthorizeSpecTable(t *testing.T) {
	ix := Compile(specPolicy(), specOrgPolicy())
	check := func(resource, action string) *client.AuthorizationCheck {
		return &client.AuthorizationCheck{OrganizationID: orgA, ResourceID: resource, Action: action}
	}
	tests := []struct {
		name       string
		subjectOrg string
		roles      []string
		check      *client.AuthorizationCheck
		want       outcome
		granting   []string
	}{
		// The permission lists the requested action on the exact resource.
		{"exact match", orgA, []string{"reader"}, check("documents", "read"), allow, []string{"reader"}},
		// A permission listing "*" grants any action on its resource.
		{"wildcard action in permission", orgA, []string{"stytch_admin"}, check("stytch.member", "update.settings.roles"), allow, []string{"stytch_admin"}},
		// The default member role holds every action on stytch.self.
		{"default member role", orgA, []string{"stytch_member"}, check("stytch.self", "delete"), allow, []string{"stytch_member"}},
		// Attack: requesting the action "*" to match any listed action; only a permission listing "*" matches it.
		{"requested action * vs concrete actions", orgA, []string{"editor"}, check("documents", "*"), denyPermission, nil},
		// Requesting "*" is granted by a permission that lists "*".
		{"requested action * vs * permission", orgA, []string{"stytch_admin"}, check("stytch.member", "*"), allow, []string{"stytch_admin"}},
		// Attack: a role name the policy does not define (forged or stale) grants nothing.
		{"unknown role", orgA, []string{"owner"}, check("documents", "read"), denyPermission, nil},
		// A session without roles is denied.
		{"empty roles", orgA, []string{}, check("documents", "read"), denyPermission, nil},
		// A nil role list is denied too.
		{"nil roles", orgA, nil, check("documents", "read"), denyPermission, nil},
		// Attack: role ids are case-sensitive; "Reader" is not "reader".
		{"role case differs", orgA, []string{"Reader"}, check("documents", "read"), denyPermission, nil},
		// Attack: resource ids are case-sensitive.
		{"resource case differs", orgA, []string{"reader"}, check("Documents", "read"), denyPermission, nil},
		// Attack: actions are case-sensitive.
		{"action case differs", orgA, []string{"reader"}, check("documents", "READ"), denyPermission, nil},
		// Attack: a look-alike role name with a trailing space.
		{"look-alike role trailing space", orgA, []string{"reader "}, check("documents", "read"), denyPermission, nil},
		// Attack: a look-alike role name with an embedded NUL.
		{"look-alike role NUL", orgA, []string{"reader\x00"}, check("documents", "read"), denyPermission, nil},
		// Attack: a look-alike role name with a Cyrillic "е" instead of "e".
		{"look-alike role homoglyph", orgA, []string{"rеader"}, check("documents", "read"), denyPermission, nil},
		// Attack: a longer role name sharing a prefix with a real one.
		{"look-alike role prefix", orgA, []string{"reader_admin"}, check("documents", "read"), denyPermission, nil},
		// Attack: a sub-resource under a granted resource's name is a different resource.
		{"resource prefix documents.secret", orgA, []string{"editor"}, check("documents.secret", "read"), denyPermission, nil},
		// Attack: a resource that is a prefix of a granted one.
		{"resource prefix doc", orgA, []string{"editor"}, check("doc", "read"), denyPermission, nil},
		// Attack: a permission on resource "*" is literal; resources have no wildcard.
		{"resource * is literal", orgA, []string{"superuser"}, check("documents", "read"), denyPermission, nil},
		// The literal resource "*" is matched exactly.
		{"resource * exact", orgA, []string{"superuser"}, check("*", "read"), allow, []string{"superuser"}},
		// Attack: "update.*" is a literal action, not a hierarchy wildcard.
		{"hierarchical action is literal", orgA, []string{"updater"}, check("documents", "update.name"), denyPermission, nil},
		// The literal action "update.*" is matched exactly.
		{"hierarchical action exact", orgA, []string{"updater"}, check("documents", "update.*"), allow, []string{"updater"}},
		// Attack: an action sharing a prefix with a granted one.
		{"action prefix", orgA, []string{"reader"}, check("documents", "read_all"), denyPermission, nil},
		// Attack: an empty action is not granted by concrete actions.
		{"empty action", orgA, []string{"reader"}, check("documents", ""), denyPermission, nil},
		// Attack: an empty resource is not granted by any permission on a named resource.
		{"empty resource", orgA, []string{"editor"}, check("", "read"), denyPermission, nil},
		// Attack: the policy's resources list defines actions but grants nothing by itself.
		{"resources not consulted", orgA, []string{"reader"}, check("billing", "view"), denyPermission, nil},
		// Attack: a scope's permissions are for connected apps, not session roles.
		{"scope name as role", orgA, []string{"billing:view"}, check("billing", "view"), denyPermission, nil},
		// A role defined only by the organization policy grants.
		{"org role added", orgA, []string{"auditor"}, check("audit_log", "read"), allow, []string{"auditor"}},
		// A role_id in both policies grants the organization's permissions too.
		{"org role extends project role", orgA, []string{"shared"}, check("reports", "export"), allow, []string{"shared"}},
		// The organization's role entry does not replace the project's.
		{"org role does not override", orgA, []string{"shared"}, check("reports", "read"), allow, []string{"shared"}},
		// The organization adds "comment" to reader; "read" still comes from the project.
		{"org role adds action", orgA, []string{"reader"}, check("documents", "comment"), allow, []string{"reader"}},
		// Attack: cross-tenant request; tenancy fails even though the role grants.
		{"tenancy mismatch", "organization-test-bbbb", []string{"reader"}, check("documents", "read"), denyTenancy, nil},
		// Attack: organization ids are compared exactly, so a case variant is another tenant.
		{"tenancy case differs", "ORGANIZATION-TEST-AAAA", []string{"reader"}, check("documents", "read"), denyTenancy, nil},
		// Attack: a subject without an organization never passes tenancy for a named one.
		{"tenancy empty subject", "", []string{"stytch_admin"}, check("stytch.member", "*"), denyTenancy, nil},
		// Tenancy is decided first: an unknown role in the wrong tenant is a tenancy error.
		{"tenancy before permission", "organization-test-bbbb", []string{"nobody"}, check("documents", "read"), denyTenancy, nil},
		// A nil check asks nothing and is allowed, with no verdict.
		{"nil check", "organization-test-bbbb", nil, nil, allow, nil},
		// Every granting role is reported once, in policy order, whatever the session order.
		{"all granting roles, policy order, deduped", orgA, []string{"editor", "nobody", "reader", "editor"}, check("documents", "read"), allow, []string{"reader", "editor"}},
		// Roles that do not grant are not reported.
		{"only granting roles", orgA, []string{"stytch_member", "editor", "auditor"}, check("images", "upload"), allow, []string{"editor"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ix.Authorize(tc.subjectOrg, tc.roles, tc.check)
			if got := outcomeOf(t, err); got != tc.want {
				t.Fatalf("Authorize = %v (%v), want %v", got, err, tc.want)
			}
			v, verr := ix.Verdict(tc.subjectOrg, tc.roles, tc.check)
			if got := outcomeOf(t, verr); got != tc.want {
				t.Fatalf("Verdict = %v (%v), want %v", got, verr, tc.want)
			}
			switch {
			case tc.check == nil:
				if v != nil {
					t.Fatalf("verdict for nil check = %+v, want nil", v)
				}
			case tc.want == allow:
				if v == nil || !v.Authorized || !slices.Equal(v.GrantingRoles, tc.granting) {
					t.Fatalf("verdict = %+v, want authorized with %q", v, tc.granting)
				}
			default:
				if v != nil {
					t.Fatalf("verdict on refusal = %+v, want nil", v)
				}
				if !errors.Is(err, ErrForbidden) || !errors.Is(err, client.ErrForbidden) {
					t.Fatalf("refusal %v is not ErrForbidden", err)
				}
			}
		})
	}
}

func TestVerdictOrderFollowsFirstGrantingEntry(t *testing.T) {
	// "a" appears first in the project policy but only its organization entry
	// grants: it is ordered at that entry, after "b", as the API lists it.
	p := &client.Policy{Roles: []client.Role{
		role("a", perm("r", "other")),
		role("b", perm("r", "x")),
		role("c", perm("r", "x")),
		role("b", perm("r", "*")),
	}}
	org := &client.OrgPolicy{Roles: []client.Role{
		role("d", perm("r", "x")),
		role("a", perm("r", "x")),
		role("c", perm("r", "other")),
	}}
	ix := Compile(p, org)
	v, err := ix.Verdict(orgA, []string{"d", "c", "a", "b"}, &client.AuthorizationCheck{OrganizationID: orgA, ResourceID: "r", Action: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"b", "c", "d", "a"}; !slices.Equal(v.GrantingRoles, want) {
		t.Fatalf("granting = %q, want %q", v.GrantingRoles, want)
	}
}

func TestManyActions(t *testing.T) {
	// More than smallActionSet actions switch the set to a map.
	actions := []string{"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10"}
	ix := Compile(&client.Policy{Roles: []client.Role{role("r", perm("res", actions...))}}, nil)
	for _, a := range actions {
		if err := ix.Authorize(orgA, []string{"r"}, &client.AuthorizationCheck{OrganizationID: orgA, ResourceID: "res", Action: a}); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
	for _, a := range []string{"a", "a11", "A1", "*", ""} {
		if err := ix.Authorize(orgA, []string{"r"}, &client.AuthorizationCheck{OrganizationID: orgA, ResourceID: "res", Action: a}); !errors.Is(err, ErrPermissionDenied) {
			t.Fatalf("%q: err = %v, want ErrPermissionDenied", a, err)
		}
	}
}

func TestCompileCopiesPolicy(t *testing.T) {
	p := specPolicy()
	ix := Compile(p, nil)
	p.Roles[2].Permissions[0].Actions[0] = "delete"
	p.Roles[2].RoleID = "hacker"
	chk := &client.AuthorizationCheck{OrganizationID: orgA, ResourceID: "documents", Action: "read"}
	if err := ix.Authorize(orgA, []string{"reader"}, chk); err != nil {
		t.Fatalf("index changed with its source policy: %v", err)
	}
	if err := ix.Authorize(orgA, []string{"hacker"}, chk); err == nil {
		t.Fatal("index picked up a role added after Compile")
	}
}

func TestNilAndEmptyIndexes(t *testing.T) {
	chk := &client.AuthorizationCheck{OrganizationID: orgA, ResourceID: "documents", Action: "read"}
	for name, ix := range map[string]*Index{
		"Compile(nil, nil)": Compile(nil, nil),
		"zero Index":        {},
		"empty policies":    Compile(&client.Policy{}, &client.OrgPolicy{}),
	} {
		if err := ix.Authorize(orgA, []string{"reader"}, chk); !errors.Is(err, ErrPermissionDenied) {
			t.Errorf("%s: Authorize = %v, want ErrPermissionDenied", name, err)
		}
		if _, err := ix.Verdict(orgA, []string{"reader"}, chk); !errors.Is(err, ErrPermissionDenied) {
			t.Errorf("%s: Verdict = %v, want ErrPermissionDenied", name, err)
		}
	}
	var nilIx *Index
	// No policy: never allow, report that no decision was possible.
	if err := nilIx.Authorize(orgA, []string{"reader"}, chk); !errors.Is(err, ErrPolicyUnavailable) {
		t.Errorf("nil index: Authorize = %v, want ErrPolicyUnavailable", err)
	}
	if _, err := nilIx.Verdict(orgA, []string{"reader"}, chk); !errors.Is(err, ErrPolicyUnavailable) {
		t.Errorf("nil index: Verdict = %v, want ErrPolicyUnavailable", err)
	}
	// Tenancy needs no policy.
	if err := nilIx.Authorize("other", []string{"reader"}, chk); !errors.Is(err, ErrTenancy) {
		t.Errorf("nil index: tenancy = %v, want ErrTenancy", err)
	}
}

func TestAuthorizationError(t *testing.T) {
	ix := Compile(specPolicy(), nil)
	chk := &client.AuthorizationCheck{OrganizationID: orgA, ResourceID: "documents", Action: "delete"}

	perr := ix.Authorize(orgA, []string{"reader"}, chk)
	var ae *AuthorizationError
	if !errors.As(perr, &ae) {
		t.Fatalf("permission error %T is not *AuthorizationError", perr)
	}
	want := AuthorizationError{ErrorType: "session_authorization_error", SubjectOrganizationID: orgA,
		OrganizationID: orgA, ResourceID: "documents", Action: "delete"}
	if *ae != want {
		t.Fatalf("permission error = %+v, want %+v", *ae, want)
	}
	if !errors.Is(perr, ErrForbidden) || !errors.Is(perr, ErrPermissionDenied) || errors.Is(perr, ErrTenancy) ||
		!errors.Is(perr, client.ErrForbidden) || errors.Is(perr, ErrPolicyUnavailable) || ae.StatusCode() != 403 {
		t.Fatalf("permission error categories wrong: %v", perr)
	}

	terr := ix.Authorize("organization-test-other", []string{"reader"}, chk)
	if !errors.As(terr, &ae) || ae.ErrorType != "session_authorization_tenancy_error" ||
		ae.SubjectOrganizationID != "organization-test-other" || ae.OrganizationID != orgA {
		t.Fatalf("tenancy error = %#v", terr)
	}
	if !errors.Is(terr, ErrForbidden) || !errors.Is(terr, ErrTenancy) || errors.Is(terr, ErrPermissionDenied) {
		t.Fatalf("tenancy error categories wrong: %v", terr)
	}
	if msg := terr.Error(); !strings.Contains(msg, "organization-test-other") || !strings.Contains(msg, orgA) {
		t.Fatalf("tenancy message %q does not name both organizations", msg)
	}

	// Attack: a check built from request input carries control characters
	// and a huge value to forge or flood log lines.
	evil := &client.AuthorizationCheck{OrganizationID: orgA, ResourceID: "doc\nlevel=ERROR msg=forged", Action: strings.Repeat("x", 10000)}
	msg := ix.Authorize(orgA, nil, evil).Error()
	if strings.ContainsAny(msg, "\n\r") || len(msg) > 4*maxErrorField+200 {
		t.Fatalf("message not sanitised (%d bytes): %q", len(msg), msg[:min(len(msg), 300)])
	}
}

func TestAuthorizeAllowDoesNotAllocate(t *testing.T) {
	ix := Compile(specPolicy(), specOrgPolicy())
	roles := []string{"stytch_member", "auditor", "editor"}
	chk := &client.AuthorizationCheck{OrganizationID: orgA, ResourceID: "documents", Action: "write"}
	allocs := testing.AllocsPerRun(1000, func() {
		if err := ix.Authorize(orgA, roles, chk); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Authorize allocates %v times on allow, want 0", allocs)
	}
}
