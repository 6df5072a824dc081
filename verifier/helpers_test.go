package verifier

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/stytchtest"
)

// t0 is the fake clock's start in every test.
var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

var (
	keyOnce  sync.Once
	testKey  *rsa.PrivateKey
	otherKey *rsa.PrivateKey
	weakKey  *rsa.PrivateKey
)

// keys returns RSA keys generated once per test binary: the emulator's
// signing key, an unrelated 2048-bit key, and a 1024-bit key.
func keys(tb testing.TB) (signing, other, weak *rsa.PrivateKey) {
	tb.Helper()
	keyOnce.Do(func() {
		var err error
		if testKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if otherKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if weakKey, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
			panic(err)
		}
	})
	return testKey, otherKey, weakKey
}

// env is an emulator, its fake clock, and a Verifier pointed at it.
type env struct {
	srv   *stytchtest.Server
	clock *stytchtest.Clock
	v     *Verifier
	kid   string
}

// newEnv starts an emulator signing with the shared test key and a Verifier
// configured by mod (which may be nil). Both are closed by t.Cleanup.
func newEnv(tb testing.TB, mod func(*Config)) *env {
	tb.Helper()
	key, _, _ := keys(tb)
	clock := stytchtest.NewClock(t0)
	srv := stytchtest.NewServer(stytchtest.Options{SigningKey: key, KeyID: "jwk-test-primary", Now: clock.Now})
	tb.Cleanup(srv.Close)
	cfg := Config{
		ProjectID:        srv.ProjectID,
		BaseURL:          srv.URL,
		Secret:           srv.Secret,
		Now:              clock.Now,
		JWKSFetchTimeout: 2 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	v, err := New(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { _ = v.Close() })
	return &env{srv: srv, clock: clock, v: v, kid: "jwk-test-primary"}
}

// claims returns the payload of a valid session JWT issued at iat, as the
// emulator mints them, including one custom claim.
func (e *env) claims(iat time.Time) map[string]any {
	return map[string]any{
		"iss": "stytch.com/" + e.srv.ProjectID,
		"aud": []string{e.srv.ProjectID},
		"sub": "member-test-1",
		"iat": iat.Unix(),
		"nbf": iat.Unix(),
		"exp": iat.Add(5 * time.Minute).Unix(),
		SessionClaimName: map[string]any{
			"id":               "member-session-test-1",
			"started_at":       "2026-01-01T11:00:00Z",
			"last_accessed_at": "2026-01-01T11:59:00Z",
			"expires_at":       "2026-01-01T13:00:00Z",
			"attributes":       map[string]any{"ip_address": "", "user_agent": ""},
			"authentication_factors": []any{map[string]any{
				"type": "magic_link", "delivery_method": "email",
				"last_authenticated_at": "2026-01-01T11:00:00Z",
				"email_factor":          map[string]any{"email_id": "email-test-1", "email_address": "a@example.com"},
			}},
			"roles": []string{"stytch_member", "editor"},
		},
		OrganizationClaimName: map[string]any{"organization_id": "organization-test-1", "slug": "acme"},
		"tenant_tier":         "gold",
	}
}

// sign signs claims with the emulator's current key; header entries
// override (nil removes) the default header.
func (e *env) sign(tb testing.TB, claims map[string]any, header map[string]any) string {
	tb.Helper()
	tok, err := e.srv.SignClaims(claims, header)
	if err != nil {
		tb.Fatalf("SignClaims: %v", err)
	}
	return tok
}

// b64 is the JWS segment encoding.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// signRaw builds a token from raw header and payload JSON, signed RS256 with
// key, so tests can send bytes no JSON encoder would produce.
func signRaw(tb testing.TB, key *rsa.PrivateKey, header, payload string) string {
	tb.Helper()
	input := b64(header) + "." + b64(payload)
	return input + "." + rsaSign(tb, key, input)
}

// rsaSign returns the base64url RS256 signature of input.
func rsaSign(tb testing.TB, key *rsa.PrivateKey, input string) string {
	tb.Helper()
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		tb.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(sig)
}

// mustJSON encodes v.
func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// signWith signs claims with any golang-jwt method and key, with the given
// extra header entries, for algorithm-confusion cases.
func signWith(tb testing.TB, m jwt.SigningMethod, key any, header, claims map[string]any) string {
	tb.Helper()
	t := jwt.NewWithClaims(m, jwt.MapClaims(claims))
	for k, v := range header {
		t.Header[k] = v
	}
	s, err := t.SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// with returns a copy of the valid claims with the given changes applied;
// a nil value deletes the claim.
func with(base map[string]any, changes map[string]any) map[string]any {
	out := make(map[string]any, len(base))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// sessionWith returns the session claim of base with changes applied.
func sessionWith(base map[string]any, changes map[string]any) map[string]any {
	return with(base[SessionClaimName].(map[string]any), changes)
}
