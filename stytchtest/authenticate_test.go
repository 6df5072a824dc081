package stytchtest_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// The keys of the objects the emulator returns: every key the reference
// SDKs declare (stytch-go b2b/organizations/types.go and b2b/sessions/types.go,
// stytch-node lib/b2b/organizations.ts and lib/b2b/sessions.ts; the two agree).

var memberSessionKeys = []string{"member_session_id", "member_id", "started_at", "last_accessed_at", "expires_at",
	"authentication_factors", "organization_id", "roles", "organization_slug", "custom_claims"}

var memberKeys = []string{"organization_id", "member_id", "email_address", "status", "name", "roles", "is_admin",
	"is_breakglass", "email_address_verified", "mfa_enrolled", "mfa_phone_number", "mfa_phone_number_verified",
	"default_mfa_method", "totp_registration_id", "member_password_id", "sso_registrations", "oauth_registrations",
	"retired_email_addresses", "trusted_metadata", "untrusted_metadata", "created_at", "updated_at", "external_id",
	"is_locked", "scim_registration", "lock_created_at", "lock_expires_at"}

var organizationKeys = []string{"organization_id", "organization_name", "organization_slug", "organization_logo_url",
	"trusted_metadata", "email_allowed_domains", "email_jit_provisioning", "email_invites", "auth_methods",
	"allowed_auth_methods", "mfa_policy", "mfa_methods", "allowed_mfa_methods", "sso_jit_provisioning",
	"sso_jit_provisioning_allowed_connections", "sso_active_connections", "sso_default_connection_id",
	"rbac_email_implicit_role_assignments", "custom_roles", "created_at", "updated_at", "organization_external_id",
	"oauth_tenant_jit_provisioning", "allowed_oauth_tenants", "claimed_email_domains",
	"first_party_connected_apps_allowed_type", "allowed_first_party_connected_apps",
	"third_party_connected_apps_allowed_type", "allowed_third_party_connected_apps", "scim_active_connection"}

func TestAuthenticateByTokenShape(t *testing.T) {
	srv, clock := newServer(t, stytchtest.Options{})
	token, _ := newSession(t, srv, stytchtest.SessionSpec{
		OrganizationID: "organization-test-acme", OrganizationSlug: "acme", MemberID: "member-test-ann",
		Email: "ann@example.com", Roles: []string{"editor", "editor", "stytch_member"},
		IPAddress: "203.0.113.7", UserAgent: "test-agent",
	})
	clock.Advance(90 * time.Second)
	r := authenticate(t, srv, map[string]any{"session_token": token})
	wantOK(t, r)
	keysExactly(t, r.body, "authenticate response", "request_id", "status_code", "member_session", "session_token",
		"session_jwt", "member", "organization")
	if r.body["session_token"] != token {
		t.Errorf("session_token changed")
	}

	ms := obj(t, r.body["member_session"], "member_session")
	keysExactly(t, ms, "member_session", memberSessionKeys...)
	if !reID("session").MatchString(ms["member_session_id"].(string)) {
		t.Errorf("member_session_id = %v", ms["member_session_id"])
	}
	want := map[string]any{
		"member_id": "member-test-ann", "organization_id": "organization-test-acme", "organization_slug": "acme",
		"started_at": "2026-01-01T00:00:00Z", "last_accessed_at": "2026-01-01T00:01:30Z",
		"expires_at": "2026-01-01T01:00:00Z",
	}
	for k, v := range want {
		if ms[k] != v {
			t.Errorf("member_session.%s = %v, want %v", k, ms[k], v)
		}
	}
	if got := ms["roles"]; !reflect.DeepEqual(got, []any{"stytch_member", "editor"}) {
		t.Errorf("roles = %v", got)
	}
	if got := obj(t, ms["custom_claims"], "custom_claims"); len(got) != 0 {
		t.Errorf("custom_claims = %v, want {}", got)
	}
	factors, _ := ms["authentication_factors"].([]any)
	if len(factors) != 1 {
		t.Fatalf("authentication_factors = %v", ms["authentication_factors"])
	}
	f := obj(t, factors[0], "factor")
	keysExactly(t, f, "factor", "type", "delivery_method", "last_authenticated_at", "created_at", "updated_at",
		"sequence_order", "email_factor")
	if f["type"] != "magic_link" || f["delivery_method"] != "email" {
		t.Errorf("factor = %v", f)
	}
	ef := obj(t, f["email_factor"], "email_factor")
	if ef["email_address"] != "ann@example.com" || !reID("email").MatchString(ef["email_id"].(string)) {
		t.Errorf("email_factor = %v", ef)
	}

	m := obj(t, r.body["member"], "member")
	keysExactly(t, m, "member", memberKeys...)
	if m["member_id"] != "member-test-ann" || m["email_address"] != "ann@example.com" || m["status"] != "active" ||
		m["is_admin"] != false || m["scim_registration"] != nil {
		t.Errorf("member = %v", m)
	}
	roles, _ := m["roles"].([]any)
	if len(roles) != 2 || obj(t, roles[0], "role")["role_id"] != "stytch_member" || obj(t, roles[1], "role")["role_id"] != "editor" {
		t.Errorf("member roles = %v", m["roles"])
	}
	o := obj(t, r.body["organization"], "organization")
	keysExactly(t, o, "organization", organizationKeys...)
	if o["organization_id"] != "organization-test-acme" || o["organization_slug"] != "acme" {
		t.Errorf("organization = %v", o)
	}
	for _, k := range []string{"email_allowed_domains", "allowed_auth_methods", "allowed_mfa_methods", "custom_roles"} {
		if a, ok := o[k].([]any); !ok || len(a) != 0 {
			t.Errorf("organization.%s = %v, want []", k, o[k])
		}
	}
	for _, ts := range []any{m["created_at"], m["updated_at"], o["created_at"], o["updated_at"], f["created_at"]} {
		if s, _ := ts.(string); !reTimestamp.MatchString(s) {
			t.Errorf("timestamp %v is not RFC 3339 UTC whole seconds", ts)
		}
	}

	// The response decodes into the client types.
	var typed client.AuthenticateResponse
	if err := json.Unmarshal(r.raw, &typed); err != nil {
		t.Fatalf("client.AuthenticateResponse: %v", err)
	}
	if typed.MemberSession.ExpiresAt == nil || !typed.MemberSession.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("typed expires_at = %v", typed.MemberSession.ExpiresAt)
	}
	if typed.Verdict != nil {
		t.Error("verdict present without an authorization_check")
	}

	// The JWT is freshly minted.
	_, payload := jwtParts(t, r.body["session_jwt"].(string))
	if iat := num(t, payload["iat"], "iat"); iat != t0.Add(90*time.Second).Unix() {
		t.Errorf("iat = %d, want now", iat)
	}
}

func TestAuthenticateByJWT(t *testing.T) {
	srv, clock := newServer(t, stytchtest.Options{})
	token, jwtStr := newSession(t, srv, stytchtest.SessionSpec{})

	t.Run("fresh", func(t *testing.T) {
		r := authenticate(t, srv, map[string]any{"session_jwt": jwtStr})
		wantOK(t, r)
		if r.body["session_token"] != token {
			t.Error("session_token is not the session's")
		}
	})
	t.Run("expired JWT of a live session", func(t *testing.T) {
		clock.Advance(10 * time.Minute)
		r := authenticate(t, srv, map[string]any{"session_jwt": jwtStr})
		wantOK(t, r)
		fresh := r.body["session_jwt"].(string)
		if fresh == jwtStr {
			t.Fatal("the same JWT came back")
		}
		_, payload := jwtParts(t, fresh)
		if exp := num(t, payload["exp"], "exp"); exp != clock.Now().Add(5*time.Minute).Unix() {
			t.Errorf("exp = %d", exp)
		}
	})
	t.Run("session expired", func(t *testing.T) {
		clock.Advance(time.Hour)
		wantError(t, authenticate(t, srv, map[string]any{"session_jwt": jwtStr}), http.StatusNotFound, "session_not_found")
		wantError(t, authenticate(t, srv, map[string]any{"session_token": token}), http.StatusNotFound, "session_not_found")
	})
}

func TestAuthenticateErrors(t *testing.T) {
	srv, clock := newServer(t, stytchtest.Options{})
	token, jwtStr := newSession(t, srv, stytchtest.SessionSpec{Duration: 30 * time.Minute})
	revokedToken, revokedJWT := newSession(t, srv, stytchtest.SessionSpec{})
	srv.RevokeSession(revokedToken)
	shortToken, _ := newSession(t, srv, stytchtest.SessionSpec{Duration: time.Minute})
	clock.Advance(time.Minute) // the short session ends exactly now

	_, payload := jwtParts(t, jwtStr)
	resign := func(mut func(map[string]any), hdr map[string]any) string {
		c := map[string]any{}
		for k, v := range payload {
			c[k] = v
		}
		mut(c)
		s, err := srv.SignClaims(c, hdr)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	parts := strings.Split(jwtStr, ".")
	otherToken, otherJWT := newSession(t, srv, stytchtest.SessionSpec{})
	otherParts := strings.Split(otherJWT, ".")
	_ = otherToken

	cases := []struct {
		name   string
		body   map[string]any
		status int
		typ    string
	}{
		{"neither credential", map[string]any{}, 400, "no_session_arguments"},
		{"both credentials", map[string]any{"session_token": token, "session_jwt": jwtStr}, 400, "too_many_session_arguments"},
		{"empty strings count as absent", map[string]any{"session_token": "", "session_jwt": ""}, 400, "no_session_arguments"},
		// A guessed token.
		{"unknown token", map[string]any{"session_token": strings.Repeat("A", 44)}, 404, "session_not_found"},
		{"revoked token", map[string]any{"session_token": revokedToken}, 404, "session_not_found"},
		// A JWT minted before revocation no longer refreshes.
		{"JWT of revoked session", map[string]any{"session_jwt": revokedJWT}, 404, "session_not_found"},
		{"session at its expiry instant", map[string]any{"session_token": shortToken}, 404, "session_not_found"},
		{"duration below 5", map[string]any{"session_token": token, "session_duration_minutes": 4}, 400, "invalid_session_duration_minutes"},
		{"duration above 527040", map[string]any{"session_token": token, "session_duration_minutes": 527041}, 400, "invalid_session_duration_minutes"},
		{"explicit zero duration", map[string]any{"session_token": token, "session_duration_minutes": 0}, 400, "invalid_session_duration_minutes"},
		{"negative duration", map[string]any{"session_token": token, "session_duration_minutes": -60}, 400, "invalid_session_duration_minutes"},
		// Payload altered after signing.
		{"tampered payload", map[string]any{"session_jwt": parts[0] + "." + otherParts[1] + "." + parts[2]}, 400, "unable_to_parse_session_jwt"},
		// Signature stripped.
		{"no signature", map[string]any{"session_jwt": parts[0] + "." + parts[1] + "."}, 400, "unable_to_parse_session_jwt"},
		// alg none downgrade.
		{"alg none", map[string]any{"session_jwt": resign(func(map[string]any) {}, map[string]any{"alg": "none"})}, 400, "unable_to_parse_session_jwt"},
		// HS256 confusion: header claims HMAC.
		{"alg HS256", map[string]any{"session_jwt": resign(func(map[string]any) {}, map[string]any{"alg": "HS256"})}, 400, "unable_to_parse_session_jwt"},
		// A kid the JWKS does not publish.
		{"unknown kid", map[string]any{"session_jwt": resign(func(map[string]any) {}, map[string]any{"kid": "jwk-test-forged"})}, 400, "unable_to_parse_session_jwt"},
		{"no kid", map[string]any{"session_jwt": resign(func(map[string]any) {}, map[string]any{"kid": nil})}, 400, "unable_to_parse_session_jwt"},
		{"not a JWT", map[string]any{"session_jwt": "abc"}, 400, "unable_to_parse_session_jwt"},
		// A token for another project.
		{"wrong issuer", map[string]any{"session_jwt": resign(func(c map[string]any) { c["iss"] = "stytch.com/project-test-other" }, nil)}, 400, "jwt_invalid_issuer"},
		{"wrong audience", map[string]any{"session_jwt": resign(func(c map[string]any) { c["aud"] = []string{"project-test-other"} }, nil)}, 400, "jwt_invalid_audience"},
		// A validly signed JWT naming someone else's session.
		{"subject of another member", map[string]any{"session_jwt": resign(func(c map[string]any) { c["sub"] = "member-test-mallory" }, nil)}, 400, "jwt_invalid_claims"},
		{"no session claim", map[string]any{"session_jwt": resign(func(c map[string]any) { delete(c, "https://stytch.com/session") }, nil)}, 400, "jwt_invalid_claims"},
		{"authorization_check without action", map[string]any{"session_token": token, "authorization_check": map[string]any{"organization_id": "o", "resource_id": "r"}}, 400, "invalid_request_value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, authenticate(t, srv, c.body), c.status, c.typ)
		})
	}
	t.Run("durations at the bounds are accepted", func(t *testing.T) {
		for _, d := range []int{5, 527040} {
			wantOK(t, authenticate(t, srv, map[string]any{"session_token": token, "session_duration_minutes": d}))
		}
	})
}

func TestAuthenticateDuration(t *testing.T) {
	srv, clock := newServer(t, stytchtest.Options{})
	token, _ := newSession(t, srv, stytchtest.SessionSpec{})
	clock.Advance(10 * time.Minute)

	r := authenticate(t, srv, map[string]any{"session_token": token})
	wantOK(t, r)
	if got := obj(t, r.body["member_session"], "ms")["expires_at"]; got != "2026-01-01T01:00:00Z" {
		t.Errorf("without duration expires_at = %v, want unchanged", got)
	}
	r = authenticate(t, srv, map[string]any{"session_token": token, "session_duration_minutes": 120})
	wantOK(t, r)
	ms := obj(t, r.body["member_session"], "ms")
	if ms["expires_at"] != "2026-01-01T02:10:00Z" || ms["last_accessed_at"] != "2026-01-01T00:10:00Z" {
		t.Errorf("after extension: %v / %v", ms["expires_at"], ms["last_accessed_at"])
	}
	clock.Advance(100 * time.Minute) // past the original hour
	wantOK(t, authenticate(t, srv, map[string]any{"session_token": token}))

	// A duration can also shorten the session; the JWT's exp is capped.
	r = authenticate(t, srv, map[string]any{"session_token": token, "session_duration_minutes": 5})
	wantOK(t, r)
	_, p := jwtParts(t, r.body["session_jwt"].(string))
	if num(t, p["exp"], "exp")-num(t, p["iat"], "iat") != 300 {
		t.Errorf("exp-iat = %d", num(t, p["exp"], "exp")-num(t, p["iat"], "iat"))
	}
	clock.Advance(5 * time.Minute)
	wantError(t, authenticate(t, srv, map[string]any{"session_token": token}), http.StatusNotFound, "session_not_found")
}

func TestAuthenticateCustomClaims(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	token, jwtStr := newSession(t, srv, stytchtest.SessionSpec{CustomClaims: map[string]any{
		"tier": "gold", "n": 12345678901234567, "nested": map[string]any{"a": 1, "b": map[string]any{"c": true}},
	}})
	_, p := jwtParts(t, jwtStr)
	if p["tier"] != "gold" || p["n"] != json.Number("12345678901234567") {
		t.Errorf("initial JWT custom claims: tier %v n %v", p["tier"], p["n"])
	}

	r := authenticate(t, srv, map[string]any{"session_token": token, "session_custom_claims": map[string]any{
		"tier": nil, "plan": "pro", "nested": map[string]any{"a": nil, "b": map[string]any{"d": "x"}, "e": []any{1, "two"}},
	}})
	wantOK(t, r)
	want := map[string]any{
		"n":    json.Number("12345678901234567"),
		"plan": "pro",
		"nested": map[string]any{
			"b": map[string]any{"c": true, "d": "x"},
			"e": []any{json.Number("1"), "two"},
		},
	}
	got := obj(t, obj(t, r.body["member_session"], "ms")["custom_claims"], "custom_claims")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("merged custom_claims = %v\nwant %v", got, want)
	}
	_, p = jwtParts(t, r.body["session_jwt"].(string))
	for k, v := range want {
		if !reflect.DeepEqual(p[k], v) {
			t.Errorf("JWT claim %s = %v, want %v", k, p[k], v)
		}
	}
	if _, ok := p["tier"]; ok {
		t.Error("deleted claim still in the JWT")
	}
	// Claims persist: the next call sees them without sending any.
	r = authenticate(t, srv, map[string]any{"session_token": token})
	if got := obj(t, obj(t, r.body["member_session"], "ms")["custom_claims"], "cc"); !reflect.DeepEqual(got, want) {
		t.Errorf("claims did not persist: %v", got)
	}

	bad := []struct {
		name   string
		claims map[string]any
		typ    string
	}{
		{"iss", map[string]any{"iss": "evil"}, "reserved_claims_in_custom_claims"},
		{"sub", map[string]any{"sub": "member-test-admin"}, "reserved_claims_in_custom_claims"},
		{"aud", map[string]any{"aud": "x"}, "reserved_claims_in_custom_claims"},
		{"exp", map[string]any{"exp": 9999999999}, "reserved_claims_in_custom_claims"},
		{"nbf", map[string]any{"nbf": 0}, "reserved_claims_in_custom_claims"},
		{"iat", map[string]any{"iat": 0}, "reserved_claims_in_custom_claims"},
		{"jti", map[string]any{"jti": "x"}, "reserved_claims_in_custom_claims"},
		{"reserved key deleted with null", map[string]any{"exp": nil}, "reserved_claims_in_custom_claims"},
		// Overwriting the session's roles through custom claims.
		{"stytch session", map[string]any{"https://stytch.com/session": map[string]any{"roles": []string{"stytch_admin"}}}, "stytch_claims_in_custom_claims"},
		{"stytch organization", map[string]any{"https://stytch.com/organization": "x"}, "stytch_claims_in_custom_claims"},
		{"stytch other", map[string]any{"https://stytch.com/anything": 1}, "stytch_claims_in_custom_claims"},
		{"too large", map[string]any{"blob": strings.Repeat("x", 4100)}, "custom_claims_too_large"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, authenticate(t, srv, map[string]any{"session_token": token, "session_custom_claims": c.claims}),
				http.StatusBadRequest, c.typ)
			_, _, err := srv.NewSession(stytchtest.SessionSpec{CustomClaims: c.claims})
			if err == nil {
				t.Error("NewSession accepted the claims")
			}
		})
	}
	// Growth past 4 KB through merging is caught too, and nothing is stored.
	wantOK(t, authenticate(t, srv, map[string]any{"session_token": token, "session_custom_claims": map[string]any{"a": strings.Repeat("x", 3000)}}))
	wantError(t, authenticate(t, srv, map[string]any{"session_token": token, "session_custom_claims": map[string]any{"b": strings.Repeat("x", 3000)}}),
		http.StatusBadRequest, "custom_claims_too_large")
	r = authenticate(t, srv, map[string]any{"session_token": token})
	if _, ok := obj(t, obj(t, r.body["member_session"], "ms")["custom_claims"], "cc")["b"]; ok {
		t.Error("rejected claims were stored")
	}
}
