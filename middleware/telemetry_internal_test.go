package middleware

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// BenchmarkTelemetryNoProvider measures what the guard's telemetry adds to
// a hit with no provider configured (the otel globals, no SDK installed):
// the decision span check, the decisions counter and the verified-token
// cache counter, against the floor (an
// RSA-2048 verification and a SHA-256 of a token-sized input) in the same
// run. Read "telemetry/floor".
func BenchmarkTelemetryNoProvider(b *testing.B) {
	g := &Guard{cfg: Config{Now: time.Now}}
	tel, err := newTelemetry(&g.cfg, g)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tel.close() })
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	input := make([]byte, 1200)
	sum := sha256.Sum256(input)
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/orgs/x/documents", nil)
	const k = 1000
	floor, cost := make([]float64, b.N), make([]float64, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		h := sha256.Sum256(input)
		if rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, h[:], sig) != nil {
			b.Fatal("floor")
		}
		t1 := time.Now()
		for range k {
			r2, span := tel.startDecision(r)
			tel.count(r2.Context(), outcomeAllow, sourceLocal, subjectMember)
			tel.cacheLookup(r2.Context(), cacheVerified, true)
			if span != nil {
				b.Fatal("a span without a provider")
			}
		}
		t2 := time.Now()
		floor[i], cost[i] = float64(t1.Sub(t0)), float64(t2.Sub(t1))/k
	}
	b.StopTimer()
	slices.Sort(floor)
	slices.Sort(cost)
	b.ReportMetric(cost[len(cost)/2]/floor[len(floor)/2], "telemetry/floor")
	b.ReportMetric(cost[len(cost)/2], "telemetry-ns")
}

// TestTelemetryNoProviderAllocatesNothing: with the otel globals and no SDK,
// the telemetry of a hit allocates nothing.
func TestTelemetryNoProviderAllocatesNothing(t *testing.T) {
	g := &Guard{cfg: Config{Now: time.Now}}
	tel, err := newTelemetry(&g.cfg, g)
	if err != nil {
		t.Fatal(err)
	}
	defer tel.close()
	r := httptest.NewRequest("GET", "/", nil)
	if n := testing.AllocsPerRun(1000, func() {
		r2, _ := tel.startDecision(r)
		tel.count(r2.Context(), outcomeAllow, sourceLocal, subjectMember)
		tel.cacheLookup(r2.Context(), cacheVerified, true)
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
