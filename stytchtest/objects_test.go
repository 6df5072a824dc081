package stytchtest_test

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// The keys the official Node SDK's types mark as required (no "?"): a
// TypeScript caller reads them without a check, so they must be present
// and not null.
var (
	nodeRequiredOrganization = []string{"organization_id", "organization_name", "organization_logo_url",
		"organization_slug", "sso_jit_provisioning", "sso_jit_provisioning_allowed_connections", "sso_active_connections",
		"email_allowed_domains", "email_jit_provisioning", "email_invites", "auth_methods", "allowed_auth_methods",
		"mfa_policy", "rbac_email_implicit_role_assignments", "mfa_methods", "allowed_mfa_methods",
		"oauth_tenant_jit_provisioning", "claimed_email_domains", "first_party_connected_apps_allowed_type",
		"allowed_first_party_connected_apps", "third_party_connected_apps_allowed_type",
		"allowed_third_party_connected_apps", "custom_roles"}
	nodeRequiredMember = []string{"organization_id", "member_id", "email_address", "status", "name",
		"sso_registrations", "is_breakglass", "member_password_id", "oauth_registrations", "email_address_verified",
		"mfa_phone_number_verified", "is_admin", "totp_registration_id", "retired_email_addresses", "is_locked",
		"mfa_enrolled", "mfa_phone_number", "default_mfa_method", "roles"}
	nodeRequiredMemberSession = []string{"member_session_id", "member_id", "started_at", "last_accessed_at",
		"expires_at", "authentication_factors", "organization_id", "roles", "organization_slug"}
)

// freshOrganization and freshMember are the values of a fresh project for
// the keys that carry no data of the emulator's: empty lists and objects,
// null for what the Go SDK holds in a nil pointer, and the documented
// defaults of the enumerations.
var (
	freshOrganization = map[string]any{
		"sso_jit_provisioning_allowed_connections": []any{},
		"sso_active_connections":                   []any{},
		"email_allowed_domains":                    []any{},
		"rbac_email_implicit_role_assignments":     []any{},
		"allowed_mfa_methods":                      []any{},
		"claimed_email_domains":                    []any{},
		"allowed_first_party_connected_apps":       []any{},
		"allowed_third_party_connected_apps":       []any{},
		"custom_roles":                             []any{},
		"trusted_metadata":                         map[string]any{},
		"allowed_oauth_tenants":                    map[string]any{},
		"scim_active_connection":                   nil,
		"oauth_tenant_jit_provisioning":            "NOT_ALLOWED",
		"first_party_connected_apps_allowed_type":  "ALL_ALLOWED",
		"third_party_connected_apps_allowed_type":  "ALL_ALLOWED",
		"email_jit_provisioning":                   "NOT_ALLOWED",
		"sso_jit_provisioning":                     "NOT_ALLOWED",
		"email_invites":                            "ALL_ALLOWED",
		"mfa_methods":                              "ALL_ALLOWED",
	}
	freshMember = map[string]any{
		"sso_registrations":       []any{},
		"oauth_registrations":     []any{},
		"retired_email_addresses": []any{},
		"trusted_metadata":        map[string]any{},
		"untrusted_metadata":      map[string]any{},
		"scim_registration":       nil,
		"lock_created_at":         nil,
		"lock_expires_at":         nil,
		"is_locked":               false,
	}
)

// TestObjectsCarryEverySDKKey checks every Organization, Member and
// MemberSession object the emulator returns, on every endpoint that
// returns one: exactly the keys the reference SDKs declare, the Node SDK's
// required ones never null, and a fresh project's values.
func TestObjectsCarryEverySDKKey(t *testing.T) {
	w := fidNewWorld(t)
	tokenB, _, err := w.srv.NewSession(stytchtest.SessionSpec{OrganizationID: w.orgB, Email: "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	w.srv.RegisterExternalToken("external-token", w.orgA, w.memberA)
	responses := map[string]fidResponse{
		"authenticate": w.do(http.MethodPost, client.PathAuthenticate, map[string]any{"session_token": w.tokenA}),
		"exchange":     w.do(http.MethodPost, client.PathExchange, map[string]any{"session_token": w.tokenA, "organization_id": w.orgB}),
		"exchange_ist": w.do(http.MethodPost, client.PathExchange, map[string]any{"session_token": tokenB, "organization_id": w.orgC}),
		"migrate":      w.do(http.MethodPost, client.PathMigrate, map[string]any{"session_token": "external-token", "organization_id": w.orgA}),
		"get":          w.do(http.MethodGet, client.PathSessions+"?organization_id="+w.orgA+"&member_id="+w.memberA, nil),
	}
	for name, r := range responses {
		t.Run(name, func(t *testing.T) {
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			var sessions []any
			if ms, ok := r.body["member_session"].(map[string]any); ok {
				sessions = append(sessions, ms)
			}
			if list, ok := r.body["member_sessions"].([]any); ok {
				sessions = append(sessions, list...)
			}
			for _, ms := range sessions {
				checkObject(t, obj(t, ms, "member_session"), "member_session", memberSessionKeys, nodeRequiredMemberSession, nil)
			}
			if name == "get" {
				return
			}
			checkObject(t, obj(t, r.body["organization"], "organization"), "organization", organizationKeys, nodeRequiredOrganization, freshOrganization)
			checkObject(t, obj(t, r.body["member"], "member"), "member", memberKeys, nodeRequiredMember, freshMember)
		})
	}
}

func checkObject(t *testing.T, o map[string]any, what string, keys, required []string, fresh map[string]any) {
	t.Helper()
	keysExactly(t, o, what, keys...)
	for _, k := range required {
		if v, ok := o[k]; !ok || v == nil {
			t.Errorf("%s.%s = %v, the Node SDK requires a value", what, k, v)
		}
	}
	for k, want := range fresh {
		if got, ok := o[k]; !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s.%s = %#v, want %#v for a fresh project", what, k, got, want)
		}
	}
}
