package rbac

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// t0 is the fake clock's start.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// signingKey is shared by the emulators of this package's tests: generating
// an RSA key per test would dominate the run time.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// env is an emulator, a client talking to it over loopback, and the fake
// clock both use.
type env struct {
	srv    *stytchtest.Server
	client *client.Client
	clock  *stytchtest.Clock
}

// newEnv starts an emulator on a fake clock and a client for it; both are
// closed when the test ends.
func newEnv(t testing.TB) *env {
	t.Helper()
	clock := stytchtest.NewClock(t0)
	srv := stytchtest.NewServer(stytchtest.Options{Now: clock.Now, SigningKey: signingKey()})
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	cl, err := client.New(client.Config{
		ProjectID:  srv.ProjectID,
		Secret:     srv.Secret,
		BaseURL:    srv.URL,
		HTTPClient: &http.Client{Transport: tr, Timeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, client: cl, clock: clock}
}

// newCache returns a Cache on e's client and clock (cfg.Client and cfg.Now
// are filled in), closed when the test ends, before the emulator.
func (e *env) newCache(t testing.TB, cfg Config) *Cache {
	t.Helper()
	cfg.Client = e.client
	if cfg.Now == nil {
		cfg.Now = e.clock.Now
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
