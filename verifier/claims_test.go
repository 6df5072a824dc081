package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func TestVerifyMapsClaimsToMemberSession(t *testing.T) {
	e := newEnv(t, nil)
	c := e.claims(iat0)
	c["jti"] = "jwt-id-1"                            // registered: never a custom claim
	c["https://stytch.com/other"] = map[string]any{} // Stytch namespace: dropped
	c["nested"] = map[string]any{"n": 1, "list": []any{"a", true}}
	ms, claims, err := e.v.Verify(context.Background(), e.sign(t, c, nil))
	if err != nil {
		t.Fatal(err)
	}
	ts := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	want := &client.MemberSession{
		MemberSessionID: "member-session-test-1",
		MemberID:        "member-test-1",
		StartedAt:       ts("2026-01-01T11:00:00Z"),
		LastAccessedAt:  ts("2026-01-01T11:59:00Z"),
		ExpiresAt:       ts("2026-01-01T13:00:00Z"),
		AuthenticationFactors: []client.AuthenticationFactor{{
			Type: "magic_link", DeliveryMethod: "email",
			LastAuthenticatedAt: ts("2026-01-01T11:00:00Z"),
			EmailFactor:         &client.EmailFactor{EmailID: "email-test-1", EmailAddress: "a@example.com"},
		}},
		OrganizationID:   "organization-test-1",
		Roles:            []string{"stytch_member", "editor"},
		OrganizationSlug: "acme",
		CustomClaims: map[string]any{
			"tenant_tier": "gold",
			"nested":      map[string]any{"n": float64(1), "list": []any{"a", true}},
		},
	}
	if !reflect.DeepEqual(ms, want) {
		got, _ := json.MarshalIndent(ms, "", " ")
		exp, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("MemberSession:\n%s\nwant:\n%s", got, exp)
	}
	if claims.Subject != "member-test-1" || claims.ID != "jwt-id-1" || claims.Organization.Slug != "acme" ||
		claims.Session.ID != "member-session-test-1" || !claims.ExpiresAt.Equal(iat0.Add(5*time.Minute)) {
		t.Fatalf("claims = %+v", claims)
	}
}

func TestVerifyExpiresAtFallsBackToExp(t *testing.T) {
	e := newEnv(t, nil)
	c := e.claims(iat0)
	c[SessionClaimName] = sessionWith(c, map[string]any{"expires_at": ""})
	ms, _, err := e.v.Verify(context.Background(), e.sign(t, c, nil))
	if err != nil {
		t.Fatal(err)
	}
	if !ms.ExpiresAt.Equal(iat0.Add(5*time.Minute)) || ms.ExpiresAt.Location() != time.UTC {
		t.Fatalf("ExpiresAt = %v, want exp in UTC", ms.ExpiresAt)
	}
}

func TestVerifyCustomClaimsNeverNil(t *testing.T) {
	e := newEnv(t, nil)
	c := e.claims(iat0)
	delete(c, "tenant_tier")
	ms, _, err := e.v.Verify(context.Background(), e.sign(t, c, nil))
	if err != nil {
		t.Fatal(err)
	}
	if ms.CustomClaims == nil || len(ms.CustomClaims) != 0 {
		t.Fatalf("CustomClaims = %#v, want empty non-nil map", ms.CustomClaims)
	}
}

// TestVerifyEmulatorSession verifies what the emulator mints for a real
// session, custom claims included.
func TestVerifyEmulatorSession(t *testing.T) {
	e := newEnv(t, nil)
	_, jwtStr, err := e.srv.NewSession(stytchtest.SessionSpec{
		OrganizationID: "organization-test-acme", MemberID: "member-test-ada",
		Email: "ada@example.com", Roles: []string{"editor"},
		CustomClaims: map[string]any{"plan": "pro"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ms, claims, err := e.v.Verify(context.Background(), jwtStr)
	if err != nil {
		t.Fatal(err)
	}
	if ms.MemberID != "member-test-ada" || ms.OrganizationID != "organization-test-acme" ||
		ms.CustomClaims["plan"] != "pro" || len(ms.AuthenticationFactors) != 1 || claims.Issuer != "stytch.com/"+e.srv.ProjectID {
		t.Fatalf("session = %+v", ms)
	}
}

func TestVerifyCustomDomainIssuer(t *testing.T) {
	key, _, _ := keys(t)
	clock := stytchtest.NewClock(t0)
	srv := stytchtest.NewServer(stytchtest.Options{SigningKey: key, Now: clock.Now, CustomDomainIssuer: "https://auth.example.com"})
	defer srv.Close()
	_, jwtStr, err := srv.NewSession(stytchtest.SessionSpec{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		issuer string
		want   error
	}{
		// Configured: the custom domain is accepted.
		{"configured", "https://auth.example.com", nil},
		// Not configured: only stytch.com/<project> is.
		{"not_configured", "", ErrIssuer},
		// A different custom domain is configured.
		{"other_domain", "https://auth.example.org", ErrIssuer},
		// A trailing slash is a different string.
		{"trailing_slash", "https://auth.example.com/", ErrIssuer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(context.Background(), Config{ProjectID: srv.ProjectID, BaseURL: srv.URL, Now: clock.Now, CustomDomainIssuer: tc.issuer})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			_, _, err = v.Verify(context.Background(), jwtStr)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyMaxAge(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.sign(t, e.claims(iat0), nil) // issued one minute before t0
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		maxAge time.Duration
		want   error
	}{
		{"no_limit", 0, nil},
		{"negative_is_no_limit", -time.Second, nil},
		{"younger_than_limit", 2 * time.Minute, nil},
		{"exactly_at_limit", time.Minute, nil},
		{"older_than_limit", 59 * time.Second, ErrTooOld},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := e.v.VerifyMaxAge(ctx, tok, tc.maxAge)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("VerifyMaxAge = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrTooOld) || !errors.Is(err, client.ErrJWTTooOld) || !errors.Is(err, ErrInvalidToken) || !CanRefreshRemotely(err) {
				t.Fatalf("VerifyMaxAge = %v, want ErrTooOld, client.ErrJWTTooOld, ErrInvalidToken, refreshable", err)
			}
		})
	}
}
