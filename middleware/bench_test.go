package middleware_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/stytchguard/stytchguard/internal/testkit"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
	"github.com/stytchguard/stytchguard/verifier"
)

// The benchmarks of this file are read as ratios against BenchmarkFloor, run
// in the same invocation:
//
//	go test -run '^$' -bench . -benchmem ./middleware/

// benchEnv is a guard on a chi route, with a real clock.
func benchEnv(b *testing.B, noCache bool) (http.Handler, string) {
	b.Helper()
	srv := stytchtest.NewServer(stytchtest.Options{SigningKey: testkit.SigningKey()})
	b.Cleanup(srv.Close)
	srv.SetPolicy(testPolicy())
	_, jwt, err := srv.NewSession(stytchtest.SessionSpec{OrganizationID: orgAcme, Roles: []string{"viewer", "editor"}})
	if err != nil {
		b.Fatal(err)
	}
	cfg := middleware.Config{
		ProjectID: srv.ProjectID, Secret: srv.Secret, BaseURL: srv.URL,
		OrganizationID: func(r *http.Request) string { return chi.URLParam(r, "orgID") },
	}
	if noCache {
		v, err := verifier.New(context.Background(), verifier.Config{ProjectID: srv.ProjectID, BaseURL: srv.URL, CacheSize: -1, RequireJWKS: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = v.Close() })
		cfg.Verifier = v
	}
	g, err := middleware.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Close() })
	r := chi.NewRouter()
	r.With(g.Require("documents", "read")).Get("/orgs/{orgID}/documents", bareHandler)
	// Warm the JWKS and the policy.
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, guardedRequest(jwt))
		if rec.Code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("guard never ready: %d %s", rec.Code, rec.Body.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return r, jwt
}

// bareHandler is the handler of every benchmark: like a real one, it sets a
// response header, so the header map exists with or without the guard's
// Vary.
func bareHandler(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Type"] = textPlain
	w.WriteHeader(http.StatusOK)
}

var textPlain = []string{"text/plain"}

func guardedRequest(jwt string) *http.Request {
	r := httptest.NewRequest("GET", "/orgs/"+orgAcme+"/documents", nil)
	r.Header.Set("Authorization", "Bearer "+jwt)
	return r
}

// BenchmarkFloor is the physical floor of a local decision: one RSA-2048
// PKCS#1 v1.5 verification and the SHA-256 of the same token's signing
// input.
func BenchmarkFloor(b *testing.B) {
	srv := stytchtest.NewServer(stytchtest.Options{SigningKey: testkit.SigningKey()})
	defer srv.Close()
	_, jwt, err := srv.NewSession(stytchtest.SessionSpec{})
	if err != nil {
		b.Fatal(err)
	}
	floor := newFloor(b, jwt)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := floor(); err != nil {
			b.Fatal(err)
		}
	}
}

// newFloor returns the floor for jwt: the SHA-256 of its signing input and
// one RSA-2048 PKCS#1 v1.5 verification of its signature.
func newFloor(b *testing.B, jwt string) func() error {
	dot := strings.LastIndexByte(jwt, '.')
	input := jwt[:dot]
	sig, err := base64.RawURLEncoding.DecodeString(jwt[dot+1:])
	if err != nil {
		b.Fatal(err)
	}
	pub := &testkit.SigningKey().PublicKey
	return func() error {
		h := sha256.Sum256([]byte(input))
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig)
	}
}

// serveOK serves req and reports whether the answer was 200.
func serveOK(h http.Handler, req *http.Request) (int, bool) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Code == http.StatusOK
}

// BenchmarkBareHandler is the same chi route and recorder without a guard.
func BenchmarkBareHandler(b *testing.B) {
	r := chi.NewRouter()
	r.Get("/orgs/{orgID}/documents", bareHandler)
	req := guardedRequest("x.y.z")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// BenchmarkGuardHit is a full guarded request whose JWT is in the
// verified-token cache.
func BenchmarkGuardHit(b *testing.B) { benchGuarded(b, false) }

// BenchmarkGuardMiss is a full guarded request with the verified-token cache
// off: every request verifies the JWT (signature, header, claims) locally.
func BenchmarkGuardMiss(b *testing.B) { benchGuarded(b, true) }

func benchGuarded(b *testing.B, noCache bool) {
	h, jwt := benchEnv(b, noCache)
	req := guardedRequest(jwt)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if code, ok := serveOK(h, req); !ok {
			b.Fatal(code)
		}
	}
}

// BenchmarkGuardHitParallel is BenchmarkGuardHit on every core.
func BenchmarkGuardHitParallel(b *testing.B) {
	h, jwt := benchEnv(b, false)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := guardedRequest(jwt)
		for pb.Next() {
			if code, ok := serveOK(h, req); !ok {
				b.Error(code) // Fatal must not be called off the benchmark's goroutine
				return
			}
		}
	})
}

// BenchmarkRatio interleaves the floor, a guarded miss, guarded hits and bare
// requests inside every iteration, so that all of them see the same machine
// load, and reports the ratios the project holds itself to:
// miss/floor, hit/floor, and guard-hit/floor = (hit-bare)/floor, the guard's
// own cost on a hit.
//
// Each ratio is the median over iterations of the part's time divided by the
// median floor, as benchstat summarizes runs: a virtual machine's stolen
// time lands on a few iterations and would otherwise move the mean by
// several percent. Garbage collection is spread over every iteration and
// stays in. The "-mean" metrics give the means for comparison.
func BenchmarkRatio(b *testing.B) {
	hitH, jwt := benchEnv(b, false)
	missH, missJWT := benchEnv(b, true)
	bare := chi.NewRouter()
	bare.Get("/orgs/{orgID}/documents", bareHandler)
	verifyFloor := newFloor(b, jwt)
	hitReq, missReq, bareReq := guardedRequest(jwt), guardedRequest(missJWT), guardedRequest(jwt)
	const k = 16 // hits and bare requests per iteration
	floor, miss, hit, guard := make([]float64, b.N), make([]float64, b.N), make([]float64, b.N), make([]float64, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := verifyFloor(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if code, ok := serveOK(missH, missReq); !ok {
			b.Fatal(code)
		}
		t2 := time.Now()
		codes := 0
		for j := 0; j < k; j++ {
			rec := httptest.NewRecorder()
			hitH.ServeHTTP(rec, hitReq)
			codes += rec.Code
		}
		t3 := time.Now()
		for j := 0; j < k; j++ {
			rec := httptest.NewRecorder()
			bare.ServeHTTP(rec, bareReq)
			codes += rec.Code
		}
		t4 := time.Now()
		if codes != 2*k*http.StatusOK {
			b.Fatal("a hit or bare request was not answered 200")
		}
		floor[i] = float64(t1.Sub(t0))
		miss[i] = float64(t2.Sub(t1))
		hit[i] = float64(t3.Sub(t2)) / k
		guard[i] = float64(t3.Sub(t2)-t4.Sub(t3)) / k
	}
	b.StopTimer()
	f, fMean := median(floor), mean(floor)
	b.ReportMetric(median(miss)/f, "miss/floor")
	b.ReportMetric(median(hit)/f, "hit/floor")
	b.ReportMetric(median(guard)/f, "guard-hit/floor")
	b.ReportMetric(mean(miss)/fMean, "miss/floor-mean")
	b.ReportMetric(mean(guard)/fMean, "guard-hit/floor-mean")
	b.ReportMetric(f, "floor-ns")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func mean(xs []float64) float64 {
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}
