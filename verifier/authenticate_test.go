package verifier

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// roleAuthorizer is a minimal Authorizer: it grants (resource, action) to
// sessions holding role, denies with client.ErrForbidden otherwise, and
// cannot decide for resource "unknown".
type roleAuthorizer struct{ role string }

var errUndecided = errors.New("test: no policy for this resource")

func (a roleAuthorizer) Authorize(_ context.Context, s *client.MemberSession, c *client.AuthorizationCheck) (*client.AuthorizationVerdict, error) {
	if c.ResourceID == "unknown" {
		return nil, errUndecided
	}
	if slices.Contains(s.Roles, a.role) {
		return &client.AuthorizationVerdict{Authorized: true, GrantingRoles: []string{a.role}}, nil
	}
	return nil, client.ErrForbidden
}

func TestAuthenticateJWT(t *testing.T) {
	ctx := context.Background()
	// session creates a live emulator session (60 min) and returns its JWT,
	// minted at the current fake time.
	session := func(t *testing.T, e *env, roles ...string) string {
		_, jwtStr, err := e.srv.NewSession(stytchtest.SessionSpec{OrganizationID: "organization-test-acme", Roles: roles, Duration: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return jwtStr
	}
	calls := func(e *env) int64 { return e.srv.Calls(stytchtest.EndpointAuthenticate) }

	t.Run("max_token_age_zero_is_always_remote", func(t *testing.T) {
		e := newEnv(t, nil)
		resp, err := e.v.AuthenticateJWT(ctx, &client.AuthenticateJWTParams{Body: &client.AuthenticateParams{SessionJWT: session(t, e)}})
		if err != nil || calls(e) != 1 || resp.SessionJWT == "" || resp.RequestID == "" {
			t.Fatalf("resp=%+v err=%v calls=%d", resp, err, calls(e))
		}
	})
	t.Run("session_token_is_remote", func(t *testing.T) {
		e := newEnv(t, nil)
		tok, _, err := e.srv.NewSession(stytchtest.SessionSpec{})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := e.v.AuthenticateJWT(ctx, &client.AuthenticateJWTParams{MaxTokenAge: time.Minute, Body: &client.AuthenticateParams{SessionToken: tok}})
		if err != nil || calls(e) != 1 || resp.MemberSession.MemberID == "" {
			t.Fatalf("resp=%+v err=%v calls=%d", resp, err, calls(e))
		}
	})
	t.Run("young_token_is_local_with_member_session_only", func(t *testing.T) {
		e := newEnv(t, nil)
		jwtStr := session(t, e)
		e.clock.Advance(10 * time.Second)
		resp, err := e.v.AuthenticateJWT(ctx, &client.AuthenticateJWTParams{MaxTokenAge: time.Minute, Body: &client.AuthenticateParams{SessionJWT: jwtStr}})
		if err != nil || calls(e) != 0 {
			t.Fatalf("err=%v calls=%d", err, calls(e))
		}
		if resp.MemberSession.OrganizationID != "organization-test-acme" || resp.SessionJWT != "" || resp.SessionToken != "" ||
			resp.RequestID != "" || resp.Member.MemberID != "" || resp.Verdict != nil {
			t.Fatalf("local response = %+v", resp)
		}
	})
	t.Run("session_changes_go_remote", func(t *testing.T) {
		e := newEnv(t, nil)
		for _, body := range []*client.AuthenticateParams{
			{SessionJWT: session(t, e), SessionDurationMinutes: 60},
			{SessionJWT: session(t, e), SessionCustomClaims: map[string]any{"plan": "pro"}},
		} {
			resp, err := e.v.AuthenticateJWT(ctx, &client.AuthenticateJWTParams{MaxTokenAge: time.Hour, Body: body})
			if err != nil || resp.SessionJWT == "" {
				t.Fatalf("resp=%+v err=%v", resp, err)
			}
		}
		if calls(e) != 2 {
			t.Fatalf("%d remote calls, want 2", calls(e))
		}
	})
	t.Run("too_old_goes_remote", func(t *testing.T) {
		e := newEnv(t, nil)
		jwtStr := session(t, e)
		e.clock.Advance(time.Minute)
		resp, err := e.v.AuthenticateJWT(ctx, &client.AuthenticateJWTParams{MaxTokenAge: 30 * time.Second, Body: &client.AuthenticateParams{SessionJWT: jwtStr}})
		if err != nil || calls(e) != 1 || resp.SessionJWT == "" || resp.SessionJWT == jwtStr {
			t.Fatalf("resp=%+v err=%v calls=%d", resp, err, calls(e))
		}
	})
	t.Run("expired_goes_remote", func(t *testing.T) {
		e := newEnv(t, nil)
		jwtStr := session(t, e)
		e.clock.Advance(10 * time.Minute)
		resp, err := e.v.AuthenticateJWT(ctx, &client.AuthenticateJWTParams{MaxTokenAge: time.Hour, Body: &client.AuthenticateParams{SessionJWT: jwtStr}})
		if err != nil || calls(e) != 1 || resp.SessionJWT == "" {
			t.Fatalf("resp=%+v err=%v calls=%d", resp, err, calls(e))
		}
	})
	t.Run("keys_unavailable_goes_remote", func(t *testing.T) {
		e, err := newColdEnv(t, stytchtest.Fault{Status: 503}, nil)
		if err != nil {
			t.Fatal(err)
		}
		jwtStr := session(t, e)
		resp, err := e.v.AuthenticateJWT(ctx, &client.AuthenticateJWTParams{MaxTokenAge: time.Hour, Body: &client.AuthenticateParams{SessionJWT: jwtStr}})
		if err != nil || calls(e) != 1 || resp.SessionJWT == "" {
			t.Fatalf("resp=%+v err=%v calls=%d", resp, err, calls(e))
		}
	})

	// Forgeries are answered locally, with no call to Stytch.
	for _, tc := range attackTable() {
		// An empty SessionJWT means "authenticate remotely" (reference semantics).
		if tc.want == nil || tc.want == ErrExpired || tc.at != (time.Time{}) || tc.name == "empty" {
			continue
		}
		t.Run("forged_"+tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			_, err := e.v.AuthenticateJWT(ctx, &client.AuthenticateJWTParams{MaxTokenAge: time.Hour, Body: &client.AuthenticateParams{SessionJWT: tc.token(t, e)}})
			if !errors.Is(err, tc.want) || calls(e) != 0 {
				t.Fatalf("err=%v (want %v) calls=%d", err, tc.want, calls(e))
			}
		})
	}

	t.Run("no_client_reports_local_reason", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.Secret = "" })
		jwtStr := session(t, e)
		e.clock.Advance(10 * time.Minute)
		_, err := e.v.AuthenticateJWT(ctx, &client.AuthenticateJWTParams{MaxTokenAge: time.Hour, Body: &client.AuthenticateParams{SessionJWT: jwtStr}})
		if !errors.Is(err, ErrNoClient) || !errors.Is(err, ErrExpired) || calls(e) != 0 {
			t.Fatalf("err=%v calls=%d", err, calls(e))
		}
		_, err = e.v.AuthenticateJWT(ctx, &client.AuthenticateJWTParams{Body: &client.AuthenticateParams{SessionJWT: jwtStr}})
		if !errors.Is(err, ErrNoClient) {
			t.Fatalf("err=%v", err)
		}
	})
	t.Run("nil_params", func(t *testing.T) {
		e := newEnv(t, nil)
		for _, p := range []*client.AuthenticateJWTParams{nil, {MaxTokenAge: time.Minute}} {
			if _, err := e.v.AuthenticateJWT(ctx, p); !errors.Is(err, client.ErrInvalidParams) {
				t.Fatalf("err=%v", err)
			}
		}
	})

	check := func(resource string) *client.AuthorizationCheck {
		return &client.AuthorizationCheck{OrganizationID: "organization-test-acme", ResourceID: resource, Action: "read"}
	}
	t.Run("authorization_without_authorizer_goes_remote", func(t *testing.T) {
		e := newEnv(t, nil)
		resp, err := e.v.AuthenticateJWT(ctx, &client.AuthenticateJWTParams{MaxTokenAge: time.Hour,
			Body: &client.AuthenticateParams{SessionJWT: session(t, e, "stytch_admin"), AuthorizationCheck: check("stytch.member")}})
		if err != nil || calls(e) != 1 || resp.Verdict == nil || !resp.Verdict.Authorized {
			t.Fatalf("resp=%+v err=%v calls=%d", resp, err, calls(e))
		}
	})
	t.Run("authorization_granted_locally", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.Authorizer = roleAuthorizer{"editor"} })
		resp, err := e.v.AuthenticateJWT(ctx, &client.AuthenticateJWTParams{MaxTokenAge: time.Hour,
			Body: &client.AuthenticateParams{SessionJWT: session(t, e, "editor"), AuthorizationCheck: check("documents")}})
		if err != nil || calls(e) != 0 || resp.Verdict == nil || resp.Verdict.GrantingRoles[0] != "editor" {
			t.Fatalf("resp=%+v err=%v calls=%d", resp, err, calls(e))
		}
	})
	t.Run("authorization_denied_locally", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.Authorizer = roleAuthorizer{"editor"} })
		_, err := e.v.AuthenticateJWT(ctx, &client.AuthenticateJWTParams{MaxTokenAge: time.Hour,
			Body: &client.AuthenticateParams{SessionJWT: session(t, e, "viewer"), AuthorizationCheck: check("documents")}})
		if !errors.Is(err, client.ErrForbidden) || calls(e) != 0 {
			t.Fatalf("err=%v calls=%d", err, calls(e))
		}
	})
	t.Run("authorization_undecided_goes_remote", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.Authorizer = roleAuthorizer{"editor"} })
		_, err := e.v.AuthenticateJWT(ctx, &client.AuthenticateJWTParams{MaxTokenAge: time.Hour,
			Body: &client.AuthenticateParams{SessionJWT: session(t, e, "stytch_admin"), AuthorizationCheck: check("unknown")}})
		if calls(e) != 1 {
			t.Fatalf("err=%v calls=%d", err, calls(e))
		}
	})
}
