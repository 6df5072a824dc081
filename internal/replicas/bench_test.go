package replicas

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/fleet"
	"github.com/stytchguard/stytchguard/internal/redistest"
	"github.com/stytchguard/stytchguard/internal/testkit"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// BenchmarkFleetHitCost interleaves, in every iteration, the floor (one
// RSA-2048 verification and the SHA-256 of the token's signing input) and
// guarded hits with and without a Fleet (a real fleet.Redis, current with
// its feed, holding revocations of other sessions), and reports the
// difference as a ratio to the floor: "fleet-extra/floor". Run it with
//
//	go test -run '^$' -bench FleetHitCost -benchmem ./internal/replicas/
func BenchmarkFleetHitCost(b *testing.B) {
	url, _ := redistest.Start(b)
	srv := stytchtest.NewServer(stytchtest.Options{SigningKey: testkit.SigningKey()})
	b.Cleanup(srv.Close)
	_, jwt, err := srv.NewSession(stytchtest.SessionSpec{OrganizationID: org, Roles: []string{"viewer"}})
	if err != nil {
		b.Fatal(err)
	}
	f, err := fleet.NewRedis(fleet.RedisConfig{URL: url, ProjectID: srv.ProjectID})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = f.Close() })
	guard := func(fl middleware.Fleet) http.Handler {
		g, err := middleware.New(middleware.Config{ProjectID: srv.ProjectID, Secret: srv.Secret, BaseURL: srv.URL, Fleet: fl})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = g.Close() })
		return g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	}
	alone, shared := guard(nil), guard(f)
	// Other sessions revoked fleet-wide: the set the hit path looks into
	// is not empty.
	for i := range 100 {
		if err := f.Announce(context.Background(), "member-session-test-other-"+string(rune('a'+i%26))+string(rune('a'+i/26)), time.Now().Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+jwt)
	deadline := time.Now().Add(10 * time.Second)
	for _, h := range []http.Handler{alone, shared} {
		for {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code == 200 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("guard never ready: %d", rec.Code)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if f.Current() != nil {
		b.Fatal("fleet not current")
	}
	dot := strings.LastIndexByte(jwt, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(jwt[dot+1:])
	pub := &testkit.SigningKey().PublicKey
	const k = 32
	floor, withF, without := make([]float64, b.N), make([]float64, b.N), make([]float64, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		sum := sha256.Sum256([]byte(jwt[:dot]))
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
			b.Fatal("floor")
		}
		t1 := time.Now()
		for range k {
			alone.ServeHTTP(httptest.NewRecorder(), req)
		}
		t2 := time.Now()
		for range k {
			shared.ServeHTTP(httptest.NewRecorder(), req)
		}
		t3 := time.Now()
		floor[i], without[i], withF[i] = float64(t1.Sub(t0)), float64(t2.Sub(t1))/k, float64(t3.Sub(t2))/k
	}
	b.StopTimer()
	fl := median(floor)
	b.ReportMetric((median(withF)-median(without))/fl, "fleet-extra/floor")
	b.ReportMetric(median(without)/fl, "hit/floor")
	b.ReportMetric(median(withF)/fl, "hit-fleet/floor")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestFleetHitAllocatesNothingExtra: a hit with a Fleet allocates exactly as
// much as one without, with hundreds of other sessions revoked (more than
// the revocation set's recent part holds, so its check looks into both of
// its maps). The time the fleet adds is a ratio of BenchmarkFleetHitCost,
// never asserted here.
func TestFleetHitAllocatesNothingExtra(t *testing.T) {
	c := newCluster(t, nil)
	_, jwt := c.session("member-test-allocs")
	c.ready(jwt)
	alone, err := middleware.New(middleware.Config{ProjectID: c.srv.ProjectID, Secret: c.srv.Secret, BaseURL: c.srv.URL, Now: c.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer alone.Close()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+jwt)
	allocs := func(h http.Handler) float64 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req) // warm
		if rec.Code != 200 {
			t.Fatalf("status %d", rec.Code)
		}
		w := httptest.NewRecorder()
		return testing.AllocsPerRun(200, func() {
			clear(w.Header())
			h.ServeHTTP(w, req)
		})
	}
	if err := c.guards[1].Revoke(context.Background(), principalOn(t, c, 1, jwtOf(t, c))); err != nil {
		t.Fatal(err)
	}
	// Announced through replica 0's fleet: its guard holds them when
	// Announce returns.
	for i := range 300 {
		if err := c.fleets[0].Announce(context.Background(), fmt.Sprintf("member-session-test-other-%d", i), c.clock.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	a, f := allocs(alone.Authenticate(ok)), allocs(c.guards[0].Authenticate(ok))
	t.Logf("FIGURES: allocations per hit: %v without a fleet, %v with one", a, f)
	if f != a {
		t.Fatalf("a hit with a fleet allocates %v, without %v", f, a)
	}
}

// jwtOf makes another session and returns its JWT once every replica holds
// it.
func jwtOf(t *testing.T, c *cluster) string {
	t.Helper()
	_, jwt := c.session("member-test-revoked-elsewhere")
	c.ready(jwt)
	return jwt
}
