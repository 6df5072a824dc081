package verifier

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/internal/attacks"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// m2mClaims returns the payload of a valid M2M access token issued at iat.
func (e *env) m2mClaims(iat time.Time) map[string]any { return e.attackEnv().M2MClaims(iat) }

func TestVerifyM2M(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	c := e.m2mClaims(iat0)
	c["jti"] = "token-id-1"                                         // not among the excluded names: a custom claim for M2M
	c["nested"] = map[string]any{"list": []any{"a", 1.0}, "n": nil} // deep custom claim
	tok := e.sign(t, c, nil)
	got, err := e.v.VerifyM2M(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	want := &client.M2MClaims{
		ClientID: attacks.M2MClientID,
		Scopes:   []string{"read:documents", "write:documents"},
		CustomClaims: map[string]any{
			"organization_id": "organization-test-1",
			"jti":             "token-id-1",
			"nested":          map[string]any{"list": []any{"a", 1.0}, "n": nil},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("VerifyM2M = %#v, want %#v", got, want)
	}
	// The result is the caller's: changing every part of it changes nothing
	// the next caller (a cache hit) sees.
	got.ClientID = "m2m-client-test-evil"
	got.Scopes[0] = "admin:*"
	got.Scopes = append(got.Scopes, "delete:*")
	got.CustomClaims["organization_id"] = "organization-test-evil"
	got.CustomClaims["nested"].(map[string]any)["list"].([]any)[0] = "evil"
	again, err := e.v.VerifyM2M(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, want) {
		t.Fatalf("a caller's change reached the cache: %#v", again)
	}
	if e.v.cache.len() != 1 {
		t.Fatalf("cache holds %d entries, want 1", e.v.cache.len())
	}
}

// TestVerifyM2MScopes: the scope claim splits at spaces, in order, empty
// parts dropped; an empty scope grants nothing.
func TestVerifyM2MScopes(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		scope string
		want  []string
	}{
		{"read:documents", []string{"read:documents"}},
		{"b:x a:y", []string{"b:x", "a:y"}},
		{" a  b ", []string{"a", "b"}},
		{"", []string{}},
		// A tab is not a separator (Stytch's SDK splits at spaces only).
		{"read:a\twrite:b", []string{"read:a\twrite:b"}},
	} {
		got, err := e.v.VerifyM2M(context.Background(), e.sign(t, with(e.m2mClaims(iat0), map[string]any{"scope": tc.scope}), nil))
		if err != nil {
			t.Fatalf("%q: %v", tc.scope, err)
		}
		if !reflect.DeepEqual(got.Scopes, tc.want) {
			t.Errorf("scope %q: Scopes = %q, want %q", tc.scope, got.Scopes, tc.want)
		}
	}
}

// TestTokenKinds: a session JWT and an M2M token are told apart by their
// claims; each is refused where the other is asked for, with a reason of
// its own that is never refreshable, on a miss and on a cache hit alike.
func TestTokenKinds(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	session := e.sign(t, e.claims(iat0), nil)
	m2m := e.sign(t, e.m2mClaims(iat0), nil)
	for _, round := range []string{"miss", "hit"} {
		_, _, err := e.v.Verify(ctx, m2m)
		if !errors.Is(err, ErrM2MToken) || !errors.Is(err, ErrInvalidToken) || CanRefreshRemotely(err) {
			t.Fatalf("%s: Verify(M2M token) = %v, want ErrM2MToken, not refreshable", round, err)
		}
		_, err = e.v.VerifyM2M(ctx, session)
		if !errors.Is(err, ErrNotM2M) || !errors.Is(err, ErrInvalidToken) || CanRefreshRemotely(err) {
			t.Fatalf("%s: VerifyM2M(session JWT) = %v, want ErrNotM2M, not refreshable", round, err)
		}
		// Warm the cache with both, each through its own call.
		if _, _, err := e.v.Verify(ctx, session); err != nil {
			t.Fatal(err)
		}
		if _, err := e.v.VerifyM2M(ctx, m2m); err != nil {
			t.Fatal(err)
		}
	}
}

// TestM2MNeverRefreshable: an expired M2M token, or one checked while no
// keys are held, is refused locally and CanRefreshRemotely is false;
// AuthenticateJWT never sends an M2M token to Stytch, whatever MaxTokenAge.
func TestM2MNeverRefreshable(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	tok := e.sign(t, e.m2mClaims(iat0), nil)
	e.clock.Set(iat0.Add(attacks.M2MLifetime + DefaultLeeway))
	_, err := e.v.VerifyM2M(ctx, tok)
	if !errors.Is(err, ErrExpired) || CanRefreshRemotely(err) {
		t.Fatalf("expired M2M token: %v, want ErrExpired, not refreshable", err)
	}
	for _, age := range []time.Duration{0, time.Minute} {
		_, err := e.v.AuthenticateJWT(ctx, &client.AuthenticateJWTParams{MaxTokenAge: age, Body: &client.AuthenticateParams{SessionJWT: tok}})
		if !errors.Is(err, ErrM2MToken) || CanRefreshRemotely(err) {
			t.Fatalf("AuthenticateJWT(M2M token, MaxTokenAge %v) = %v, want ErrM2MToken", age, err)
		}
	}
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 0 {
		t.Fatalf("%d authenticate calls for an M2M token, want 0", n)
	}

	cold, err := newColdEnv(t, stytchtest.Fault{Status: 503}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cold.v.VerifyM2M(ctx, cold.sign(t, cold.m2mClaims(iat0), nil))
	if !errors.Is(err, ErrKeysUnavailable) || CanRefreshRemotely(err) {
		t.Fatalf("M2M token without keys: %v, want ErrKeysUnavailable, not refreshable", err)
	}
	_, err = cold.v.AuthenticateJWT(ctx, &client.AuthenticateJWTParams{MaxTokenAge: time.Minute, Body: &client.AuthenticateParams{SessionJWT: cold.sign(t, cold.m2mClaims(iat0), nil)}})
	if !errors.Is(err, ErrM2MToken) || cold.srv.Calls(stytchtest.EndpointAuthenticate) != 0 {
		t.Fatalf("AuthenticateJWT(M2M token) without keys = %v, want ErrM2MToken and no call", err)
	}
}

// TestM2MCustomDomainIssuer: the configured custom-domain issuer holds for
// M2M tokens as for sessions.
func TestM2MCustomDomainIssuer(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.CustomDomainIssuer = "https://auth.example.com" })
	tok := e.sign(t, with(e.m2mClaims(iat0), map[string]any{"iss": "https://auth.example.com"}), nil)
	if _, err := e.v.VerifyM2M(context.Background(), tok); err != nil {
		t.Fatalf("VerifyM2M with the custom-domain issuer = %v", err)
	}
}
