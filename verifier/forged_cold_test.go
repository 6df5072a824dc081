package verifier

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestForgedClaimsRefusedWhileKeysUnavailable: with no usable JWKS, a token
// that no key could make valid is refused for what it is, never sent to
// Stytch as "undecidable".
func TestForgedClaimsRefusedWhileKeysUnavailable(t *testing.T) {
	e, err := newColdEnv(t, stytchtest.Fault{Status: 503}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	cases := []struct {
		name   string
		change map[string]any
		want   error
	}{
		// another project's issuer
		{"wrong issuer", map[string]any{"iss": "stytch.com/project-test-other"}, ErrIssuer},
		// another project's audience
		{"wrong audience", map[string]any{"aud": []string{"project-test-other"}}, ErrAudience},
		// no subject
		{"no sub", map[string]any{"sub": nil}, ErrClaims},
		// no session claim
		{"no session claim", map[string]any{SessionClaimName: nil}, ErrClaims},
		// an hour-long JWT Stytch never mints
		{"long lifetime", map[string]any{"exp": now.Add(time.Hour).Unix()}, ErrClaims},
		// no exp
		{"no exp", map[string]any{"exp": nil}, ErrClaims},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := e.sign(t, with(e.claims(now), tc.change), nil)
			_, err := e.v.AuthenticateJWT(context.Background(), &client.AuthenticateJWTParams{MaxTokenAge: time.Hour, Body: &client.AuthenticateParams{SessionJWT: tok}})
			if !errors.Is(err, tc.want) || CanRefreshRemotely(err) {
				t.Fatalf("err = %v, want %v (local)", err, tc.want)
			}
			if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 0 {
				t.Fatalf("%d calls to Stytch for a forged token", n)
			}
		})
	}
	// A well-formed token is undecidable without keys: Stytch decides.
	good := e.sign(t, e.claims(now), nil)
	if _, _, err := e.v.Verify(context.Background(), good); !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("valid token without keys: %v, want ErrKeysUnavailable", err)
	}
}

// TestAlwaysRemoteRefusesMalformed: MaxTokenAge zero asks Stytch, but never
// with an oversized or malformed string.
func TestAlwaysRemoteRefusesMalformed(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name, tok string
		want      error
	}{
		// 9000 bytes: over the cap, not even looked at
		{"oversized", strings.Repeat("a", 4500) + "." + strings.Repeat("b", 4499) + ".c", ErrTokenTooLarge},
		// two segments
		{"two segments", "a.b", ErrMalformed},
		// a space inside
		{"space", "a.b c.d", ErrMalformed},
		// padding
		{"padding", "YQ==.Yg.Yw", ErrMalformed},
		// CRLF injection
		{"crlf", "a.b\r\n.c", ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.v.AuthenticateJWT(context.Background(), &client.AuthenticateJWTParams{Body: &client.AuthenticateParams{SessionJWT: tc.tok}})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 0 {
		t.Fatalf("%d calls to Stytch", n)
	}
}

// TestJWKSRedirectNotFollowed: keys come from the configured URL only; a
// redirect (to an attacker's key set, or to plain http) is a failed fetch.
func TestJWKSRedirectNotFollowed(t *testing.T) {
	key, _, _ := keys(t)
	srv := stytchtest.NewServer(stytchtest.Options{SigningKey: key})
	t.Cleanup(srv.Close)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, srv.URL+r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(redirect.Close)
	v, err := New(context.Background(), Config{ProjectID: srv.ProjectID, BaseURL: redirect.URL, RequireJWKS: true, JWKSFetchTimeout: time.Second})
	if err == nil {
		_ = v.Close()
		t.Fatal("JWKS fetched through a redirect")
	}
	if srv.Calls(stytchtest.EndpointJWKS) != 0 {
		t.Fatal("the redirect was followed")
	}
}

// TestBackoffSchedule: a failing JWKS is retried after 1 s, doubling to at
// most 60 s with the defaults.
func TestBackoffSchedule(t *testing.T) {
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60}
	var d time.Duration
	for i, w := range want {
		d = nextBackoff(d, DefaultJWKSRetryMin, DefaultJWKSRetryMax)
		if d != w*time.Second {
			t.Fatalf("retry %d after %v, want %v", i+1, d, w*time.Second)
		}
	}
}
