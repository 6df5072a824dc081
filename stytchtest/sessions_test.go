package stytchtest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func getPath(org, member string) string {
	q := url.Values{}
	if org != "" {
		q.Set("organization_id", org)
	}
	if member != "" {
		q.Set("member_id", member)
	}
	return pathSessions + "?" + q.Encode()
}

func sessionIDs(t *testing.T, r response) []string {
	t.Helper()
	var ids []string
	list, ok := r.body["member_sessions"].([]any)
	if !ok {
		t.Fatalf("member_sessions = %v", r.body["member_sessions"])
	}
	for _, s := range list {
		ms := obj(t, s, "member session")
		keysExactly(t, ms, "member session", memberSessionKeys...)
		ids = append(ids, ms["member_session_id"].(string))
	}
	return ids
}

func sessionID(t *testing.T, srv *stytchtest.Server, token string) string {
	t.Helper()
	r := authenticate(t, srv, map[string]any{"session_token": token})
	wantOK(t, r)
	return obj(t, r.body["member_session"], "ms")["member_session_id"].(string)
}

func TestGetSessions(t *testing.T) {
	srv, clock := newServer(t, stytchtest.Options{})
	const org, mem = "organization-test-a", "member-test-a"
	spec := stytchtest.SessionSpec{OrganizationID: org, MemberID: mem}
	t1, _ := newSession(t, srv, spec)
	clock.Advance(time.Second)
	t2, _ := newSession(t, srv, spec)
	clock.Advance(time.Second)
	t3, _ := newSession(t, srv, stytchtest.SessionSpec{OrganizationID: org, MemberID: mem, Duration: time.Minute})
	newSession(t, srv, stytchtest.SessionSpec{OrganizationID: org, MemberID: "member-test-b"})
	id1, id2, id3 := sessionID(t, srv, t1), sessionID(t, srv, t2), sessionID(t, srv, t3)

	r := call(t, srv, http.MethodGet, getPath(org, mem), "")
	wantOK(t, r)
	keysExactly(t, r.body, "get response", "request_id", "status_code", "member_sessions")
	if got := strings.Join(sessionIDs(t, r), ","); got != strings.Join([]string{id1, id2, id3}, ",") {
		t.Errorf("sessions = %v", got)
	}
	var typed client.GetResponse
	if err := json.Unmarshal(r.raw, &typed); err != nil || len(typed.MemberSessions) != 3 {
		t.Fatalf("client.GetResponse: %v", err)
	}

	srv.RevokeSession(t2)
	clock.Advance(time.Minute) // t3 expires
	r = call(t, srv, http.MethodGet, getPath(org, mem), "")
	wantOK(t, r)
	if got := sessionIDs(t, r); len(got) != 1 || got[0] != id1 {
		t.Errorf("active sessions = %v, want only %s", got, id1)
	}
	srv.RevokeSession(t1)
	r = call(t, srv, http.MethodGet, getPath(org, mem), "")
	if got := sessionIDs(t, r); len(got) != 0 || string(mustJSON(t, r.body["member_sessions"])) != "[]" {
		t.Errorf("no sessions should give [], got %s", r.raw)
	}

	newSession(t, srv, stytchtest.SessionSpec{OrganizationID: "organization-test-z"})
	for name, c := range map[string]struct {
		org, member string
		status      int
		typ         string
	}{
		"no organization": {"", mem, 400, "invalid_organization_id"},
		"no member":       {org, "", 400, "invalid_member_id"},
		"unknown org":     {"organization-test-nope", mem, 404, "organization_not_found"},
		"unknown member":  {org, "member-test-nope", 404, "member_not_found"},
		// Listing a member's sessions through another tenant.
		"member of another org": {"organization-test-z", mem, 404, "member_not_found"},
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, call(t, srv, http.MethodGet, getPath(c.org, c.member), ""), c.status, c.typ)
		})
	}
}

func revoke(t *testing.T, srv *stytchtest.Server, body map[string]any, opts ...reqOption) response {
	t.Helper()
	return call(t, srv, http.MethodPost, pathRevoke, mustJSON(t, body), opts...)
}

func alive(t *testing.T, srv *stytchtest.Server, token string) bool {
	t.Helper()
	r := authenticate(t, srv, map[string]any{"session_token": token})
	switch r.status {
	case 200:
		return true
	case 404:
		return false
	}
	t.Fatalf("authenticate: %d %s", r.status, r.raw)
	return false
}

func TestRevokeSelectors(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	spec := stytchtest.SessionSpec{OrganizationID: "organization-test-a", MemberID: "member-test-a"}

	t.Run("member_session_id", func(t *testing.T) {
		tok, _ := newSession(t, srv, spec)
		other, _ := newSession(t, srv, spec)
		r := revoke(t, srv, map[string]any{"member_session_id": sessionID(t, srv, tok)})
		wantOK(t, r)
		keysExactly(t, r.body, "revoke response", "request_id", "status_code")
		if alive(t, srv, tok) || !alive(t, srv, other) {
			t.Error("wrong session revoked")
		}
	})
	t.Run("session_token", func(t *testing.T) {
		tok, _ := newSession(t, srv, spec)
		wantOK(t, revoke(t, srv, map[string]any{"session_token": tok}))
		if alive(t, srv, tok) {
			t.Error("still alive")
		}
	})
	t.Run("session_jwt", func(t *testing.T) {
		tok, jwtStr := newSession(t, srv, spec)
		wantOK(t, revoke(t, srv, map[string]any{"session_jwt": jwtStr}))
		if alive(t, srv, tok) {
			t.Error("still alive")
		}
	})
	t.Run("member_id revokes all", func(t *testing.T) {
		a, _ := newSession(t, srv, spec)
		b, _ := newSession(t, srv, spec)
		c, _ := newSession(t, srv, stytchtest.SessionSpec{OrganizationID: "organization-test-a", MemberID: "member-test-b"})
		wantOK(t, revoke(t, srv, map[string]any{"member_id": "member-test-a"}))
		if alive(t, srv, a) || alive(t, srv, b) || !alive(t, srv, c) {
			t.Error("member_id revoked the wrong sessions")
		}
		// A member without sessions is fine.
		wantOK(t, revoke(t, srv, map[string]any{"member_id": "member-test-a"}))
	})

	tok, jwtStr := newSession(t, srv, spec)
	revoked, _ := newSession(t, srv, spec)
	srv.RevokeSession(revoked)
	for name, c := range map[string]struct {
		body   map[string]any
		status int
		typ    string
	}{
		"none":              {map[string]any{}, 400, "no_session_revoke_arguments"},
		"two":               {map[string]any{"session_token": tok, "session_jwt": jwtStr}, 400, "too_many_session_revoke_arguments"},
		"four":              {map[string]any{"session_token": tok, "session_jwt": jwtStr, "member_id": "m", "member_session_id": "s"}, 400, "too_many_session_revoke_arguments"},
		"unknown id":        {map[string]any{"member_session_id": "session-test-nope"}, 404, "session_not_found"},
		"unknown token":     {map[string]any{"session_token": strings.Repeat("B", 44)}, 404, "session_not_found"},
		"already revoked":   {map[string]any{"session_token": revoked}, 404, "session_not_found"},
		"unknown member":    {map[string]any{"member_id": "member-test-nope"}, 404, "member_not_found"},
		"bad jwt":           {map[string]any{"session_jwt": "a.b.c"}, 400, "unable_to_parse_session_jwt"},
		"null values count": {map[string]any{"session_token": nil}, 400, "no_session_revoke_arguments"},
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, revoke(t, srv, c.body), c.status, c.typ)
		})
	}
	if !alive(t, srv, tok) {
		t.Error("a rejected revoke ended a session")
	}
}

func TestRevokeWithMemberSessionHeaders(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	const org = "organization-test-a"
	admin, adminJWT := newSession(t, srv, stytchtest.SessionSpec{OrganizationID: org, MemberID: "member-test-admin", Roles: []string{"stytch_admin"}})
	plain, plainJWT := newSession(t, srv, stytchtest.SessionSpec{OrganizationID: org, MemberID: "member-test-plain"})
	outsider, _ := newSession(t, srv, stytchtest.SessionSpec{OrganizationID: "organization-test-b", MemberID: "member-test-out", Roles: []string{"stytch_admin"}})
	victimSpec := stytchtest.SessionSpec{OrganizationID: org, MemberID: "member-test-victim"}

	cases := []struct {
		name   string
		opts   []reqOption
		self   bool // revoke a session of the acting member
		status int
		typ    string
	}{
		{"admin token", []reqOption{header("X-Stytch-Member-Session", admin)}, false, 200, ""},
		{"admin JWT, canonical header name", []reqOption{header(client.HeaderMemberSessionJWT, adminJWT)}, false, 200, ""},
		{"admin JWT, header name as the SDK spells it", []reqOption{func(r *http.Request) { r.Header["X-Stytch-Member-SessionJWT"] = []string{adminJWT} }}, false, 200, ""},
		{"admin JWT, lower-case header name", []reqOption{func(r *http.Request) { r.Header["x-stytch-member-sessionjwt"] = []string{adminJWT} }}, false, 200, ""},
		{"both headers of one session", []reqOption{header("X-Stytch-Member-Session", admin), header(client.HeaderMemberSessionJWT, adminJWT)}, false, 200, ""},
		// A plain member ending a colleague's sessions.
		{"member without revoke-sessions", []reqOption{header("X-Stytch-Member-Session", plain)}, false, 403, "session_authorization_error"},
		{"member JWT without revoke-sessions", []reqOption{header(client.HeaderMemberSessionJWT, plainJWT)}, false, 403, "session_authorization_error"},
		// An admin of another organization.
		{"admin of another org", []reqOption{header("X-Stytch-Member-Session", outsider)}, false, 403, "session_authorization_tenancy_error"},
		{"own session", []reqOption{header("X-Stytch-Member-Session", plain)}, true, 200, ""},
		{"unknown acting token", []reqOption{header("X-Stytch-Member-Session", strings.Repeat("C", 44))}, false, 404, "session_not_found"},
		// A forged acting JWT.
		{"bad acting JWT", []reqOption{header(client.HeaderMemberSessionJWT, adminJWT[:len(adminJWT)-4]+"AAAA")}, false, 401, "unable_to_parse_session_jwt"},
		// Borrowing the admin's authority with a mismatched pair of headers.
		{"headers of two sessions", []reqOption{header("X-Stytch-Member-Session", plain), header(client.HeaderMemberSessionJWT, adminJWT)}, false, 400, "too_many_session_arguments"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			victim, _ := newSession(t, srv, victimSpec)
			if c.self {
				victim, _ = newSession(t, srv, stytchtest.SessionSpec{MemberID: "member-test-plain"})
			}
			r := revoke(t, srv, map[string]any{"session_token": victim}, c.opts...)
			if c.status != 200 {
				wantError(t, r, c.status, c.typ)
				if !alive(t, srv, victim) {
					t.Error("victim revoked despite the error")
				}
				return
			}
			wantOK(t, r)
			if alive(t, srv, victim) {
				t.Error("victim still alive")
			}
		})
	}
	t.Run("member_id with a plain member", func(t *testing.T) {
		victim, _ := newSession(t, srv, victimSpec)
		wantError(t, revoke(t, srv, map[string]any{"member_id": "member-test-victim"}, header("X-Stytch-Member-Session", plain)),
			403, "session_authorization_error")
		if !alive(t, srv, victim) {
			t.Error("victim revoked")
		}
	})
}

func exchange(t *testing.T, srv *stytchtest.Server, body map[string]any) response {
	t.Helper()
	return call(t, srv, http.MethodPost, pathExchange, mustJSON(t, body))
}

var exchangeKeys = []string{"request_id", "status_code", "member_id", "member_session", "session_token", "session_jwt",
	"member", "organization", "member_authenticated", "intermediate_session_token",
	"intermediate_session_token_expires_at", "mfa_required", "primary_required", "member_device"}

func TestExchange(t *testing.T) {
	srv, clock := newServer(t, stytchtest.Options{})
	token, jwtStr := newSession(t, srv, stytchtest.SessionSpec{OrganizationID: "organization-test-a", Email: "ann@example.com",
		CustomClaims: map[string]any{"from": "a"}})
	target, err := srv.AddMember(stytchtest.SessionSpec{OrganizationID: "organization-test-b", OrganizationSlug: "bee",
		Email: "ANN@example.com", Roles: []string{"editor"}})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetOrganizationAuthMethods("organization-test-c", []string{"sso"})
	if _, err := srv.AddMember(stytchtest.SessionSpec{OrganizationID: "organization-test-c", Email: "ann@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddMember(stytchtest.SessionSpec{OrganizationID: "organization-test-d"}); err != nil {
		t.Fatal(err)
	}
	srv.SetOrganizationMFARequired("organization-test-m", true)
	if _, err := srv.AddMember(stytchtest.SessionSpec{OrganizationID: "organization-test-m", Email: "ann@example.com", MFAPhoneNumber: "+15555550123"}); err != nil {
		t.Fatal(err)
	}
	srv.SetOrganizationMFARequired("organization-test-n", true)
	if _, err := srv.AddMember(stytchtest.SessionSpec{OrganizationID: "organization-test-n", Email: "ann@example.com"}); err != nil {
		t.Fatal(err)
	}
	srv.SetOrganizationMFARequired("organization-test-p", true)
	srv.SetOrganizationAuthMethods("organization-test-p", []string{"sso"})
	if _, err := srv.AddMember(stytchtest.SessionSpec{OrganizationID: "organization-test-p", Email: "ann@example.com", MFAPhoneNumber: "+15555550123"}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)

	t.Run("full session", func(t *testing.T) {
		r := exchange(t, srv, map[string]any{"organization_id": "organization-test-b", "session_token": token,
			"session_duration_minutes": 30, "session_custom_claims": map[string]any{"to": "b"}, "locale": "pt-br"})
		wantOK(t, r)
		keysExactly(t, r.body, "exchange response", exchangeKeys...)
		if r.body["member_authenticated"] != true || r.body["member_id"] != target ||
			r.body["intermediate_session_token"] != "" || r.body["intermediate_session_token_expires_at"] != nil ||
			r.body["primary_required"] != nil || r.body["mfa_required"] != nil || r.body["member_device"] != nil {
			t.Errorf("exchange = %s", r.raw)
		}
		newToken := r.body["session_token"].(string)
		if !reToken.MatchString(newToken) || newToken == token {
			t.Errorf("session_token = %q", newToken)
		}
		ms := obj(t, r.body["member_session"], "member_session")
		keysExactly(t, ms, "member_session", memberSessionKeys...)
		if ms["organization_id"] != "organization-test-b" || ms["organization_slug"] != "bee" || ms["member_id"] != target ||
			ms["expires_at"] != "2026-01-01T00:31:00Z" || mustJSON(t, ms["roles"]) != `["stytch_member","editor"]` ||
			mustJSON(t, ms["custom_claims"]) != `{"to":"b"}` {
			t.Errorf("member_session = %v", ms)
		}
		_, p := jwtParts(t, r.body["session_jwt"].(string))
		if obj(t, p["https://stytch.com/organization"], "org claim")["organization_id"] != "organization-test-b" || p["sub"] != target {
			t.Errorf("JWT names %v / %v", p["https://stytch.com/organization"], p["sub"])
		}
		keysExactly(t, obj(t, r.body["member"], "member"), "member", memberKeys...)
		keysExactly(t, obj(t, r.body["organization"], "organization"), "organization", organizationKeys...)
		if !alive(t, srv, newToken) || !alive(t, srv, token) {
			t.Error("both sessions should be alive")
		}
		var typed client.ExchangeResponse
		if err := json.Unmarshal(r.raw, &typed); err != nil || typed.MemberSession == nil || !typed.MemberAuthenticated {
			t.Errorf("client.ExchangeResponse: %v", err)
		}
	})
	t.Run("by JWT with default duration", func(t *testing.T) {
		r := exchange(t, srv, map[string]any{"organization_id": "organization-test-b", "session_jwt": jwtStr})
		wantOK(t, r)
		if got := obj(t, r.body["member_session"], "ms")["expires_at"]; got != "2026-01-01T01:01:00Z" {
			t.Errorf("expires_at = %v, want 60 minutes", got)
		}
	})
	t.Run("primary auth required", func(t *testing.T) {
		r := exchange(t, srv, map[string]any{"organization_id": "organization-test-c", "session_token": token})
		wantOK(t, r)
		keysExactly(t, r.body, "exchange response", exchangeKeys...)
		if r.body["member_authenticated"] != false || r.body["session_token"] != "" || r.body["session_jwt"] != "" ||
			r.body["member_session"] != nil || r.body["intermediate_session_token_expires_at"] != "2026-01-01T00:11:00Z" {
			t.Errorf("exchange = %s", r.raw)
		}
		if ist, _ := r.body["intermediate_session_token"].(string); !reToken.MatchString(ist) {
			t.Errorf("intermediate_session_token = %q", ist)
		}
		if got := mustJSON(t, r.body["primary_required"]); got != `{"allowed_auth_methods":["sso"]}` {
			t.Errorf("primary_required = %s", got)
		}
		if got := mustJSON(t, obj(t, r.body["organization"], "org")["allowed_auth_methods"]); got != `["sso"]` {
			t.Errorf("organization.allowed_auth_methods = %s", got)
		}
		var typed client.ExchangeResponse
		if err := json.Unmarshal(r.raw, &typed); err != nil || typed.IntermediateSessionTokenExpiresAt == nil || typed.PrimaryRequired == nil {
			t.Errorf("client.ExchangeResponse: %v", err)
		}
	})
	// An organization that requires MFA: an IST with mfa_required, the SMS
	// code sent to an enrolled phone, nothing sent without one.
	t.Run("mfa required", func(t *testing.T) {
		for org, want := range map[string]string{
			"organization-test-m": `{"member_options":{"mfa_phone_number":"+15555550123","totp_registration_id":""},"secondary_auth_initiated":"sms_otp"}`,
			"organization-test-n": `{"member_options":{"mfa_phone_number":"","totp_registration_id":""},"secondary_auth_initiated":null}`,
		} {
			r := exchange(t, srv, map[string]any{"organization_id": org, "session_token": token})
			wantOK(t, r)
			keysExactly(t, r.body, "exchange response", exchangeKeys...)
			if r.body["member_authenticated"] != false || r.body["session_token"] != "" || r.body["member_session"] != nil ||
				r.body["primary_required"] != nil || r.body["intermediate_session_token_expires_at"] != "2026-01-01T00:11:00Z" {
				t.Errorf("%s: exchange = %s", org, r.raw)
			}
			if got := mustJSON(t, r.body["mfa_required"]); got != want {
				t.Errorf("%s: mfa_required = %s, want %s", org, got, want)
			}
			if got := obj(t, r.body["organization"], "org")["mfa_policy"]; got != "REQUIRED_FOR_ALL" {
				t.Errorf("%s: organization.mfa_policy = %v", org, got)
			}
			// The member's MFA enrollment shows on the member object.
			m := obj(t, r.body["member"], "member")
			enrolled := org == "organization-test-m"
			wantMember := map[string]any{"mfa_enrolled": enrolled, "mfa_phone_number_verified": enrolled,
				"mfa_phone_number": "", "default_mfa_method": ""}
			if enrolled {
				wantMember["mfa_phone_number"], wantMember["default_mfa_method"] = "+15555550123", "sms_otp"
			}
			for k, v := range wantMember {
				if m[k] != v {
					t.Errorf("%s: member.%s = %v, want %v", org, k, m[k], v)
				}
			}
			var typed client.ExchangeResponse
			if err := json.Unmarshal(r.raw, &typed); err != nil || typed.MFARequired == nil || typed.MFARequired.MemberOptions == nil {
				t.Errorf("%s: client.ExchangeResponse: %v %+v", org, err, typed.MFARequired)
			}
		}
	})
	// Primary authentication comes before MFA: an organization that
	// restricts methods and requires MFA asks for the method first.
	t.Run("primary before mfa", func(t *testing.T) {
		r := exchange(t, srv, map[string]any{"organization_id": "organization-test-p", "session_token": token})
		wantOK(t, r)
		if got := mustJSON(t, r.body["primary_required"]); got != `{"allowed_auth_methods":["sso"]}` || r.body["mfa_required"] != nil {
			t.Errorf("primary_required = %s, mfa_required = %v; want the methods and null", got, r.body["mfa_required"])
		}
	})
	t.Run("allowed method gives a full session", func(t *testing.T) {
		sso, _ := newSession(t, srv, stytchtest.SessionSpec{OrganizationID: "organization-test-e", Email: "ann@example.com", AuthMethod: "sso"})
		r := exchange(t, srv, map[string]any{"organization_id": "organization-test-c", "session_token": sso})
		wantOK(t, r)
		if r.body["member_authenticated"] != true {
			t.Errorf("exchange = %s", r.raw)
		}
		f := obj(t, obj(t, r.body["member_session"], "ms")["authentication_factors"].([]any)[0], "factor")
		if f["type"] != "sso" || f["delivery_method"] != "sso_saml" || f["saml_sso_factor"] == nil {
			t.Errorf("factor = %v", f)
		}
	})

	revoked, _ := newSession(t, srv, stytchtest.SessionSpec{OrganizationID: "organization-test-a", Email: "bob@example.com"})
	srv.RevokeSession(revoked)
	for name, c := range map[string]struct {
		body   map[string]any
		status int
		typ    string
	}{
		"no organization": {map[string]any{"session_token": token}, 400, "invalid_organization_id"},
		"no session":      {map[string]any{"organization_id": "organization-test-b"}, 400, "no_session_arguments"},
		"token and JWT":   {map[string]any{"organization_id": "organization-test-b", "session_token": token, "session_jwt": jwtStr}, 400, "too_many_session_arguments"},
		"bad locale":      {map[string]any{"organization_id": "organization-test-b", "session_token": token, "locale": "xx"}, 400, "invalid_locale"},
		"locale case":     {map[string]any{"organization_id": "organization-test-b", "session_token": token, "locale": "de-de"}, 400, "invalid_locale"},
		"bad duration":    {map[string]any{"organization_id": "organization-test-b", "session_token": token, "session_duration_minutes": 1}, 400, "invalid_session_duration_minutes"},
		"reserved claim":  {map[string]any{"organization_id": "organization-test-b", "session_token": token, "session_custom_claims": map[string]any{"sub": "x"}}, 400, "reserved_claims_in_custom_claims"},
		"unknown org":     {map[string]any{"organization_id": "organization-test-nope", "session_token": token}, 404, "organization_not_found"},
		"revoked session": {map[string]any{"organization_id": "organization-test-b", "session_token": revoked}, 404, "session_not_found"},
		// Joining an organization the member does not belong to.
		"not a member": {map[string]any{"organization_id": "organization-test-d", "session_token": token}, 404, "member_not_found"},
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, exchange(t, srv, c.body), c.status, c.typ)
		})
	}
	t.Run("every listed locale", func(t *testing.T) {
		for _, l := range client.ExchangeRequestLocales() {
			wantOK(t, exchange(t, srv, map[string]any{"organization_id": "organization-test-b", "session_token": token, "locale": string(l)}))
		}
	})
}

func TestMigrate(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	member, err := srv.AddMember(stytchtest.SessionSpec{OrganizationID: "organization-test-a", Email: "ann@example.com", Roles: []string{"editor"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddMember(stytchtest.SessionSpec{OrganizationID: "organization-test-b"}); err != nil {
		t.Fatal(err)
	}
	srv.RegisterExternalToken("idp-token-1", "organization-test-a", member)
	srv.RegisterExternalToken("idp-token-ghost", "organization-test-a", "member-test-ghost")

	r := call(t, srv, http.MethodPost, pathMigrate, mustJSON(t, map[string]any{"session_token": "idp-token-1",
		"organization_id": "organization-test-a", "session_duration_minutes": 15, "session_custom_claims": map[string]any{"m": true}}))
	wantOK(t, r)
	keysExactly(t, r.body, "migrate response", "request_id", "status_code", "member_id", "session_token", "session_jwt",
		"member", "organization", "member_session")
	ms := obj(t, r.body["member_session"], "member_session")
	if r.body["member_id"] != member || ms["member_id"] != member || ms["expires_at"] != "2026-01-01T00:15:00Z" ||
		mustJSON(t, ms["roles"]) != `["stytch_member","editor"]` || mustJSON(t, ms["custom_claims"]) != `{"m":true}` {
		t.Errorf("migrate = %s", r.raw)
	}
	if f := obj(t, ms["authentication_factors"].([]any)[0], "factor"); f["type"] != "imported" {
		t.Errorf("factor = %v", f)
	}
	newToken := r.body["session_token"].(string)
	if !reToken.MatchString(newToken) || !alive(t, srv, newToken) {
		t.Error("migrated session is not usable")
	}
	var typed client.MigrateResponse
	if err := json.Unmarshal(r.raw, &typed); err != nil || typed.MemberSession == nil {
		t.Errorf("client.MigrateResponse: %v", err)
	}

	for name, c := range map[string]struct {
		body   map[string]any
		status int
		typ    string
	}{
		"no token":     {map[string]any{"organization_id": "organization-test-a"}, 400, "invalid_session_token"},
		"no org":       {map[string]any{"session_token": "idp-token-1"}, 400, "invalid_organization_id"},
		"bad duration": {map[string]any{"session_token": "idp-token-1", "organization_id": "organization-test-a", "session_duration_minutes": 527041}, 400, "invalid_session_duration_minutes"},
		"stytch claim": {map[string]any{"session_token": "idp-token-1", "organization_id": "organization-test-a", "session_custom_claims": map[string]any{"https://stytch.com/session": 1}}, 400, "stytch_claims_in_custom_claims"},
		"unknown org":  {map[string]any{"session_token": "idp-token-1", "organization_id": "organization-test-nope"}, 404, "organization_not_found"},
		// A token the identity provider never issued.
		"unregistered token": {map[string]any{"session_token": "idp-token-forged", "organization_id": "organization-test-a"}, 400, "migrate_from_external_unexpected_response"},
		"member not in org":  {map[string]any{"session_token": "idp-token-1", "organization_id": "organization-test-b"}, 404, "migrate_from_external_email_does_not_exist"},
		"unknown member":     {map[string]any{"session_token": "idp-token-ghost", "organization_id": "organization-test-a"}, 404, "migrate_from_external_email_does_not_exist"},
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, call(t, srv, http.MethodPost, pathMigrate, mustJSON(t, c.body)), c.status, c.typ)
		})
	}
}

func TestNewSessionSpecs(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	if _, err := srv.AddMember(stytchtest.SessionSpec{OrganizationID: "organization-test-a", MemberID: "member-test-a", Email: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	newSession(t, srv, stytchtest.SessionSpec{OrganizationID: "organization-test-x", OrganizationSlug: "taken"})
	bad := map[string]stytchtest.SessionSpec{
		"member of another org":   {OrganizationID: "organization-test-b", MemberID: "member-test-a"},
		"member with other email": {MemberID: "member-test-a", Email: "other@example.com"},
		"email used by another":   {OrganizationID: "organization-test-a", MemberID: "member-test-new", Email: "A@example.com"},
		"negative duration":       {Duration: -time.Second},
		"unknown auth method":     {AuthMethod: "carrier_pigeon"},
		"slug taken":              {OrganizationID: "organization-test-y", OrganizationSlug: "taken"},
		"unencodable claims":      {CustomClaims: map[string]any{"f": func() {}}},
	}
	for name, spec := range bad {
		t.Run(name, func(t *testing.T) {
			if _, _, err := srv.NewSession(spec); err == nil || !strings.Contains(err.Error(), "invalid session spec") {
				t.Errorf("err = %v, want ErrInvalidSpec", err)
			}
		})
	}
	// The email of an existing member selects that member.
	tok, _ := newSession(t, srv, stytchtest.SessionSpec{OrganizationID: "organization-test-a", Email: "A@EXAMPLE.com", Roles: []string{"r2"}})
	r := authenticate(t, srv, map[string]any{"session_token": tok})
	if r.body["member"].(map[string]any)["member_id"] != "member-test-a" {
		t.Errorf("email did not select the existing member: %v", r.body["member"])
	}
	for _, m := range []string{"email_otp", "password", "google_oauth", "microsoft_oauth"} {
		tok, _ := newSession(t, srv, stytchtest.SessionSpec{AuthMethod: m})
		r := authenticate(t, srv, map[string]any{"session_token": tok})
		f := obj(t, obj(t, r.body["member_session"], "ms")["authentication_factors"].([]any)[0], "factor")
		if f["type"] == "" || f["delivery_method"] == "" || len(f) != 7 {
			t.Errorf("%s factor = %v", m, f)
		}
	}
}
