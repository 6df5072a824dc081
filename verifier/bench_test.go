package verifier

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/client"
)

// The benchmarks below share one file so a single run yields the ratios the
// project holds itself to: Verify on a cache miss against the floor (one
// RSA-2048 PKCS#1 v1.5 verification plus the SHA-256 of the same token's
// signing input), and Verify on a cache hit against the same floor.

// newBenchEnv is newEnv on the real clock (as in production; the fake
// clock's mutex would be measured otherwise) with the given cache size.
func newBenchEnv(b *testing.B, cacheSize int) *env {
	return newEnv(b, func(c *Config) {
		c.Now = nil
		c.CacheSize = cacheSize
	})
}

// benchPool returns n distinct valid tokens minted outside the timer,
// valid for the next four minutes of real time.
func benchPool(b *testing.B, e *env, n int) []string {
	b.Helper()
	toks := make([]string, n)
	for i := range toks {
		c := e.claims(time.Now().Add(-time.Minute))
		c["jti_seq"] = i // distinct payloads
		toks[i] = e.sign(b, c, nil)
	}
	return toks
}

// floorInput is a token's signing input and decoded signature: what the
// floor, one RSA verification, works on.
type floorInput struct {
	input string
	sig   []byte
}

func newFloorInput(b *testing.B, tok string) floorInput {
	i := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	return floorInput{tok[:i], sig}
}

// verify is the floor: the SHA-256 of the signing input and one RSA-2048
// PKCS#1 v1.5 verification.
func (f floorInput) verify(pub *rsa.PublicKey) error {
	sum := sha256.Sum256([]byte(f.input))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], f.sig)
}

// warmPool is benchPool with every token verified once, so that a verifier
// with a cache holds them all.
func warmPool(b *testing.B, e *env, n int) []string {
	toks := benchPool(b, e, n)
	for _, t := range toks {
		if _, _, err := e.v.Verify(context.Background(), t); err != nil {
			b.Fatal(err)
		}
	}
	return toks
}

// verifyParallel verifies toks round-robin from every core.
func verifyParallel(b *testing.B, e *env, toks []string) {
	ctx := context.Background()
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer() // the pool was built on the clock
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			if _, _, err := e.v.Verify(ctx, toks[i%uint64(len(toks))]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkFloor is the physical floor of one verification.
func BenchmarkFloor(b *testing.B) {
	e := newBenchEnv(b, 0)
	f := newFloorInput(b, benchPool(b, e, 1)[0])
	key, _, _ := keys(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := f.verify(&key.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyMiss verifies a different token every iteration with the
// cache disabled: the full local path.
func BenchmarkVerifyMiss(b *testing.B) { benchMiss(b, -1) }

// BenchmarkVerifyMissCached is a miss with the cache on: a pool larger than
// the cache cycled in order never hits (insertion-order eviction), so each
// iteration pays verification plus the insert.
func BenchmarkVerifyMissCached(b *testing.B) { benchMiss(b, 64) }

// benchMiss cycles 256 distinct tokens through a verifier whose cache holds
// cacheSize entries (-1: no cache).
func benchMiss(b *testing.B, cacheSize int) {
	e := newBenchEnv(b, cacheSize)
	toks := benchPool(b, e, 256)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, err := e.v.Verify(ctx, toks[i%len(toks)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkVerifyHit verifies tokens already in the cache.
func BenchmarkVerifyHit(b *testing.B) {
	e := newBenchEnv(b, 0)
	toks := warmPool(b, e, 16)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, err := e.v.Verify(ctx, toks[i%len(toks)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkVerifySharedHit is a session hit on the hot path's call, which
// hands out the cache's own values.
func BenchmarkVerifySharedHit(b *testing.B) {
	e := newBenchEnv(b, 0)
	toks := warmPool(b, e, 16)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := e.v.VerifyShared(ctx, toks[i%len(toks)], 0, time.Time{}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkVerifyMissParallel is BenchmarkVerifyMiss on every core.
func BenchmarkVerifyMissParallel(b *testing.B) {
	e := newBenchEnv(b, -1)
	verifyParallel(b, e, benchPool(b, e, 256))
}

// BenchmarkVerifyHitParallel is BenchmarkVerifyHit on every core.
func BenchmarkVerifyHitParallel(b *testing.B) {
	e := newBenchEnv(b, 0)
	verifyParallel(b, e, warmPool(b, e, 16))
}

// BenchmarkFloorParallel is the floor on every core.
func BenchmarkFloorParallel(b *testing.B) {
	e := newBenchEnv(b, 0)
	f := newFloorInput(b, benchPool(b, e, 1)[0])
	key, _, _ := keys(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := f.verify(&key.PublicKey); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkGolangJWTParse is a reference point, not a target: golang-jwt's
// ParseWithClaims into client.Claims with RS256 only and no claim checks
// beyond its defaults, i.e. what any verifier built on it pays at least.
func BenchmarkGolangJWTParse(b *testing.B) {
	e := newBenchEnv(b, -1)
	toks := benchPool(b, e, 256)
	key, _, _ := keys(b)
	p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}))
	keyFunc := func(*jwt.Token) (any, error) { return &key.PublicKey, nil }
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var c client.Claims
		if _, err := p.ParseWithClaims(toks[i%len(toks)], &c, keyFunc); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkRatio interleaves the floor and every measured path inside each
// iteration and reports their ratios to the floor as metrics ("miss/floor",
// "hit/floor"), so that load from other processes affects the floor and the
// measured paths alike. A miss verifies a token of a 256-token pool with the
// cache off (Verify); a hit is a batch of 32 cached tokens on the hot path
// (VerifyShared), timed as a batch. The per-op timers cost well under 1% of
// a verification.
func BenchmarkRatio(b *testing.B) { benchRatio(b, false, sessionPaths) }

// BenchmarkRatioParallel is BenchmarkRatio on every core.
func BenchmarkRatioParallel(b *testing.B) { benchRatio(b, true, sessionPaths) }

// BenchmarkRatioM2M is BenchmarkRatio for M2M access tokens ("m2m-miss",
// VerifyM2M with the cache off; "m2m-hit", VerifyShared; "m2m-copy-hit",
// VerifyM2M's hit, deep copy included).
func BenchmarkRatioM2M(b *testing.B) { benchRatio(b, false, m2mPaths) }

// m2mPool is benchPool for M2M access tokens.
func m2mPool(b *testing.B, e *env, n int) []string {
	b.Helper()
	toks := make([]string, n)
	for i := range toks {
		c := e.m2mClaims(time.Now().Add(-time.Minute))
		c["seq"] = i
		toks[i] = e.sign(b, c, nil)
	}
	return toks
}

// ratioPath is one path benchRatio measures: run performs batch operations
// for iteration i.
type ratioPath struct {
	name  string
	batch int64
	run   func(i uint64) error
	ns    atomic.Int64
}

// sessionPaths are BenchmarkRatio's paths: a miss on miss (cache off), hits
// on hit.
func sessionPaths(b *testing.B, miss, hit *env) []*ratioPath {
	ctx := context.Background()
	toks, hot := benchPool(b, miss, 256), warmPool(b, hit, 32)
	return []*ratioPath{
		{name: "miss", batch: 1, run: func(i uint64) error {
			_, _, err := miss.v.Verify(ctx, toks[i%uint64(len(toks))])
			return err
		}},
		{name: "hit", batch: int64(len(hot)), run: func(uint64) error {
			for _, t := range hot {
				if _, err := hit.v.VerifyShared(ctx, t, 0, time.Time{}); err != nil {
					return err
				}
			}
			return nil
		}},
	}
}

// m2mPaths are BenchmarkRatioM2M's paths.
func m2mPaths(b *testing.B, miss, hit *env) []*ratioPath {
	ctx := context.Background()
	toks, hot := m2mPool(b, miss, 256), m2mPool(b, hit, 32)
	for _, t := range hot {
		if _, err := hit.v.VerifyM2M(ctx, t); err != nil {
			b.Fatal(err)
		}
	}
	return []*ratioPath{
		{name: "m2m-miss", batch: 1, run: func(i uint64) error {
			_, err := miss.v.VerifyM2M(ctx, toks[i%uint64(len(toks))])
			return err
		}},
		{name: "m2m-hit", batch: int64(len(hot)), run: func(uint64) error {
			for _, t := range hot {
				if _, err := hit.v.VerifyShared(ctx, t, 0, time.Time{}); err != nil {
					return err
				}
			}
			return nil
		}},
		{name: "m2m-copy-hit", batch: int64(len(hot)), run: func(uint64) error {
			for _, t := range hot {
				if _, err := hit.v.VerifyM2M(ctx, t); err != nil {
					return err
				}
			}
			return nil
		}},
	}
}

func benchRatio(b *testing.B, parallel bool, build func(b *testing.B, miss, hit *env) []*ratioPath) {
	miss := newBenchEnv(b, -1)
	hit := newBenchEnv(b, 0)
	paths := build(b, miss, hit)
	key, _, _ := keys(b)
	floors := make([]floorInput, 256)
	for i, tok := range benchPool(b, miss, len(floors)) {
		floors[i] = newFloorInput(b, tok)
	}
	var floorNS, n atomic.Int64
	var next atomic.Uint64
	work := func() error {
		i := next.Add(1)
		f := floors[i%uint64(len(floors))]
		t0 := time.Now()
		if err := f.verify(&key.PublicKey); err != nil {
			return err
		}
		floorNS.Add(int64(time.Since(t0)))
		for _, p := range paths {
			t := time.Now()
			if err := p.run(i); err != nil {
				return err
			}
			p.ns.Add(int64(time.Since(t)) / p.batch)
		}
		n.Add(1)
		return nil
	}
	b.ReportAllocs()
	b.ResetTimer()
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := work(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	} else {
		for b.Loop() {
			if err := work(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if c := float64(n.Load()); c > 0 {
		f := float64(floorNS.Load())
		b.ReportMetric(f/c, "floor-ns")
		for _, p := range paths {
			b.ReportMetric(float64(p.ns.Load())/c, p.name+"-ns")
			b.ReportMetric(float64(p.ns.Load())/f, p.name+"/floor")
		}
	}
}

// BenchmarkVerifyM2MHit is a cache hit of VerifyM2M, deep copy included.
func BenchmarkVerifyM2MHit(b *testing.B) {
	e := newBenchEnv(b, 0)
	ctx := context.Background()
	toks := m2mPool(b, e, 16)
	for _, t := range toks {
		if _, err := e.v.VerifyM2M(ctx, t); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := e.v.VerifyM2M(ctx, toks[i%len(toks)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkVerifySharedM2MHit is an M2M hit on the hot path's call.
func BenchmarkVerifySharedM2MHit(b *testing.B) {
	e := newBenchEnv(b, 0)
	ctx := context.Background()
	toks := m2mPool(b, e, 16)
	for _, t := range toks {
		if _, err := e.v.VerifyM2M(ctx, t); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := e.v.VerifyShared(ctx, toks[i%len(toks)], 0, time.Time{}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
