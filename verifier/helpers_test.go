package verifier

import (
	"context"
	"crypto/rsa"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/internal/attacks"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// t0 is the fake clock's start in every test.
var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// keys returns the RSA keys of the attack table: the emulator's signing
// key, an unrelated 2048-bit key, and a 1024-bit key.
func keys(tb testing.TB) (signing, other, weak *rsa.PrivateKey) { return attacks.Keys() }

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

// attackEnv is the attack table's view of e.
func (e *env) attackEnv() *attacks.Env { return &attacks.Env{Server: e.srv, T0: t0} }

// claims returns the payload of a valid session JWT issued at iat, as the
// emulator mints them, including one custom claim.
func (e *env) claims(iat time.Time) map[string]any { return e.attackEnv().Claims(iat) }

// sign signs claims with the emulator's current key; header entries
// override (nil removes) the default header.
func (e *env) sign(tb testing.TB, claims map[string]any, header map[string]any) string {
	tb.Helper()
	return e.attackEnv().Sign(tb, claims, header)
}

// Helpers shared with the attack table.
var (
	signRaw     = attacks.SignRaw
	mustJSON    = attacks.MustJSON
	with        = attacks.With
	sessionWith = attacks.SessionWith
	tamper      = attacks.Tamper
)

// rawPayload is the valid claims as JSON text, with extra raw members
// spliced in before the closing brace.
func rawPayload(tb testing.TB, e *env, drop []string, extra string) string {
	return attacks.RawPayload(tb, e.attackEnv(), drop, extra)
}
