package stytchtest_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// testPolicy has overlapping roles so that verdicts list several granting
// roles.
func testPolicy() client.Policy {
	return client.Policy{
		Roles: []client.Role{
			{RoleID: "stytch_member", Permissions: []client.Permission{{ResourceID: "stytch.self", Actions: []string{"*"}}}},
			{RoleID: "stytch_admin", Permissions: []client.Permission{{ResourceID: "stytch.member", Actions: []string{"*"}}}},
			{RoleID: "reader", Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"read"}}}},
			{RoleID: "editor", Permissions: []client.Permission{
				{ResourceID: "images", Actions: []string{"read"}},
				{ResourceID: "documents", Actions: []string{"read", "write"}},
			}},
			{RoleID: "owner", Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"*"}}}},
			{RoleID: "wild", Permissions: []client.Permission{{ResourceID: "*", Actions: []string{"*"}}}},
			{RoleID: "prefix", Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"update.*"}}}},
		},
		Resources: []client.Resource{{ResourceID: "documents", Actions: []string{"read", "write", "delete"}}},
	}
}

func TestAuthorizationCheck(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	srv.SetPolicy(testPolicy())
	const org = "organization-test-acme"
	srv.SetOrgPolicy(org, client.OrgPolicy{Roles: []client.Role{
		{RoleID: "auditor", Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"read", "audit"}}}},
		// Same id as a project role: both entries apply, the role is listed once.
		{RoleID: "reader", Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"export"}}}},
	}})

	cases := []struct {
		name     string
		roles    []string
		checkOrg string
		resource string
		action   string
		status   int
		typ      string
		granting []string
	}{
		{"every granting role in policy order", []string{"owner", "reader", "editor", "auditor"}, org, "documents", "read", 200, "", []string{"reader", "editor", "owner", "auditor"}},
		{"exact action", []string{"editor"}, org, "documents", "write", 200, "", []string{"editor"}},
		{"wildcard action in the policy", []string{"owner"}, org, "documents", "delete", 200, "", []string{"owner"}},
		{"implicit stytch_member", nil, org, "stytch.self", "update.info.name", 200, "", []string{"stytch_member"}},
		{"organization role", []string{"auditor"}, org, "documents", "audit", 200, "", []string{"auditor"}},
		{"project and organization entries of one role", []string{"reader"}, org, "documents", "export", 200, "", []string{"reader"}},
		{"denied action", []string{"reader"}, org, "documents", "write", 403, "session_authorization_error", nil},
		// Asking for "*" only matches a permission that lists "*".
		{"requested wildcard action", []string{"editor"}, org, "documents", "*", 403, "session_authorization_error", nil},
		{"requested wildcard action granted by *", []string{"owner"}, org, "documents", "*", 200, "", []string{"owner"}},
		// A "*" resource in the policy is a literal, not a wildcard.
		{"wildcard resource is literal", []string{"wild"}, org, "documents", "read", 403, "session_authorization_error", nil},
		// "update.*" is not a prefix pattern.
		{"no prefix matching", []string{"prefix"}, org, "documents", "update.title", 403, "session_authorization_error", nil},
		{"resource case matters", []string{"owner"}, org, "Documents", "read", 403, "session_authorization_error", nil},
		// A role the policy does not define grants nothing.
		{"unknown role", []string{"superuser"}, org, "documents", "read", 403, "session_authorization_error", nil},
		// Cross-tenant access: permissions in one org never apply to another.
		{"other organization", []string{"owner"}, "organization-test-other", "documents", "read", 403, "session_authorization_tenancy_error", nil},
		{"slug instead of id", []string{"owner"}, "acme", "documents", "read", 403, "session_authorization_tenancy_error", nil},
		{"empty organization", []string{"owner"}, "", "documents", "read", 403, "session_authorization_tenancy_error", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			token, _ := newSession(t, srv, stytchtest.SessionSpec{OrganizationID: org, OrganizationSlug: "acme", Roles: c.roles})
			r := authenticate(t, srv, map[string]any{"session_token": token, "authorization_check": map[string]any{
				"organization_id": c.checkOrg, "resource_id": c.resource, "action": c.action}})
			if c.status != 200 {
				wantError(t, r, c.status, c.typ)
				return
			}
			wantOK(t, r)
			v := obj(t, r.body["verdict"], "verdict")
			keysExactly(t, v, "verdict", "authorized", "granting_roles")
			var got []string
			for _, g := range v["granting_roles"].([]any) {
				got = append(got, g.(string))
			}
			if v["authorized"] != true || !reflect.DeepEqual(got, c.granting) {
				t.Errorf("verdict = %v, want granting %v", v, c.granting)
			}
		})
	}
}

func TestAuthorizationFailureLeavesSessionUntouched(t *testing.T) {
	srv, clock := newServer(t, stytchtest.Options{})
	token, _ := newSession(t, srv, stytchtest.SessionSpec{OrganizationID: "organization-test-a"})
	clock.Advance(time.Minute)
	r := authenticate(t, srv, map[string]any{"session_token": token, "session_duration_minutes": 600,
		"session_custom_claims": map[string]any{"x": 1},
		"authorization_check":   map[string]any{"organization_id": "organization-test-a", "resource_id": "stytch.member", "action": "delete"}})
	wantError(t, r, http.StatusForbidden, "session_authorization_error")
	r = authenticate(t, srv, map[string]any{"session_token": token})
	ms := obj(t, r.body["member_session"], "ms")
	if ms["expires_at"] != "2026-01-01T01:00:00Z" || ms["last_accessed_at"] != "2026-01-01T00:01:00Z" ||
		len(obj(t, ms["custom_claims"], "cc")) != 0 {
		t.Errorf("session changed by a denied call: %v", ms)
	}
}

func TestDefaultPolicy(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	r := call(t, srv, http.MethodGet, pathPolicy, "")
	wantOK(t, r)
	keysExactly(t, r.body, "policy response", "request_id", "status_code", "policy")
	var resp client.PolicyResponse
	if err := json.Unmarshal(r.raw, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Policy == nil || !reflect.DeepEqual(*resp.Policy, stytchtest.DefaultPolicy()) {
		t.Fatalf("policy = %+v", resp.Policy)
	}
	roles := map[string][]client.Permission{}
	for _, role := range resp.Policy.Roles {
		roles[role.RoleID] = role.Permissions
	}
	wantRoles := map[string][]client.Permission{
		"stytch_member": {{ResourceID: "stytch.self", Actions: []string{"*"}}},
		"stytch_admin": {
			{ResourceID: "stytch.organization", Actions: []string{"*"}},
			{ResourceID: "stytch.member", Actions: []string{"*"}},
			{ResourceID: "stytch.sso", Actions: []string{"*"}},
		},
	}
	if !reflect.DeepEqual(roles, wantRoles) {
		t.Errorf("default roles = %v", roles)
	}
	// Default authorization: stytch_admin may manage members, stytch_member may not.
	admin, _ := newSession(t, srv, stytchtest.SessionSpec{OrganizationID: "organization-test-o", Roles: []string{"stytch_admin"}})
	plain, _ := newSession(t, srv, stytchtest.SessionSpec{OrganizationID: "organization-test-o"})
	check := map[string]any{"organization_id": "organization-test-o", "resource_id": "stytch.member", "action": "delete"}
	wantOK(t, authenticate(t, srv, map[string]any{"session_token": admin, "authorization_check": check}))
	wantError(t, authenticate(t, srv, map[string]any{"session_token": plain, "authorization_check": check}), 403, "session_authorization_error")
}

func TestSetPolicyEmitsEmptyArrays(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	srv.SetPolicy(client.Policy{Roles: []client.Role{{RoleID: "r"}}})
	r := call(t, srv, http.MethodGet, pathPolicy, "")
	wantOK(t, r)
	p := obj(t, r.body["policy"], "policy")
	for _, k := range []string{"resources", "scopes"} {
		if a, ok := p[k].([]any); !ok || len(a) != 0 {
			t.Errorf("policy.%s = %v, want []", k, p[k])
		}
	}
	role := obj(t, p["roles"].([]any)[0], "role")
	keysExactly(t, role, "role", "role_id", "description", "permissions")
	if a, ok := role["permissions"].([]any); !ok || len(a) != 0 {
		t.Errorf("permissions = %v, want []", role["permissions"])
	}
}

func TestOrgPolicyEndpoints(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	const org = "organization-test-acme"
	path := pathOrgPolicy + org

	r := call(t, srv, http.MethodGet, path, "")
	wantOK(t, r)
	keysExactly(t, r.body, "org policy response", "request_id", "status_code", "org_policy")
	if string(mustJSON(t, r.body["org_policy"])) != `{"roles":[]}` {
		t.Errorf("default org_policy = %s", mustJSON(t, r.body["org_policy"]))
	}

	srv.SetOrgPolicy(org, client.OrgPolicy{Roles: []client.Role{{RoleID: "auditor",
		Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"read"}}}}}})
	r = call(t, srv, http.MethodGet, path, "")
	var resp client.OrgPolicyResponse
	if err := json.Unmarshal(r.raw, &resp); err != nil || len(resp.OrgPolicy.Roles) != 1 || resp.OrgPolicy.Roles[0].RoleID != "auditor" {
		t.Fatalf("after SetOrgPolicy: %s", r.raw)
	}

	r = call(t, srv, http.MethodPut, path, `{"org_policy":{"roles":[{"role_id":"viewer","description":"d","permissions":[{"resource_id":"documents","actions":["read"]}]}]}}`)
	wantOK(t, r)
	if got := mustJSON(t, r.body["org_policy"]); got != `{"roles":[{"description":"d","permissions":[{"actions":["read"],"resource_id":"documents"}],"role_id":"viewer"}]}` {
		t.Errorf("PUT answer org_policy = %s", got)
	}
	r = call(t, srv, http.MethodGet, path, "")
	if err := json.Unmarshal(r.raw, &resp); err != nil || len(resp.OrgPolicy.Roles) != 1 || resp.OrgPolicy.Roles[0].RoleID != "viewer" {
		t.Fatalf("PUT did not replace the roles: %s", r.raw)
	}
	// The organization's custom roles show in the organization object.
	token, _ := newSession(t, srv, stytchtest.SessionSpec{OrganizationID: org, Roles: []string{"viewer"}})
	r = authenticate(t, srv, map[string]any{"session_token": token,
		"authorization_check": map[string]any{"organization_id": org, "resource_id": "documents", "action": "read"}})
	wantOK(t, r)
	if cr := obj(t, r.body["organization"], "org")["custom_roles"].([]any); len(cr) != 1 {
		t.Errorf("custom_roles = %v", cr)
	}

	for name, c := range map[string]struct{ body, typ string }{
		"missing org_policy":  {`{}`, "invalid_request_value"},
		"empty role id":       {`{"org_policy":{"roles":[{"role_id":""}]}}`, "empty_rbac_role_id"},
		"reserved role":       {`{"org_policy":{"roles":[{"role_id":"stytch_admin"}]}}`, "invalid_rbac_stytch_role_edit"},
		"empty resource":      {`{"org_policy":{"roles":[{"role_id":"x","permissions":[{"resource_id":"","actions":["a"]}]}]}}`, "empty_rbac_resource_id"},
		"roles of wrong type": {`{"org_policy":{"roles":"all"}}`, "bad_request"},
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, call(t, srv, http.MethodPut, path, c.body), http.StatusBadRequest, c.typ)
		})
	}
}
