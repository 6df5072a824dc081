package verifier

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestCacheServesCopies pins who owns what: Verify hands out copies a caller
// may change without touching the cache; VerifyShared the cache's own.
func TestCacheServesCopies(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	tok := e.sign(t, e.claims(iat0), nil)
	ms1, c1, err := e.v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	ms1.MemberID = "member-test-evil" // the caller's copy only
	c1.Subject = "member-test-evil"
	ms2, c2, err := e.v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if ms2.MemberID != "member-test-1" || c2.Subject != "member-test-1" {
		t.Fatalf("a caller's change leaked into the cache: %q %q", ms2.MemberID, c2.Subject)
	}
	if ms1 == ms2 || c1 == c2 {
		t.Fatal("cache returned the same pointers twice")
	}
	// VerifyShared, by contrast, hands every caller the cache's own values.
	r1, err := e.v.VerifyShared(ctx, tok, 0, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := e.v.VerifyShared(ctx, tok, 0, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if r1.Session != r2.Session || r1.Claims != r2.Claims || r1.Session == ms2 || r1.Claims == c2 || r1.M2M != nil {
		t.Fatal("VerifyShared did not return the cache's own values, or Verify did not copy them")
	}
	if e.v.cache.len() != 1 {
		t.Fatalf("cache holds %d entries, want 1", e.v.cache.len())
	}
}

func TestCacheSecurity(t *testing.T) {
	ctx := context.Background()
	exp0 := iat0.Add(5 * time.Minute)

	// A cached token is not served at or past exp + leeway.
	t.Run("no_entry_outlives_its_token", func(t *testing.T) {
		e := newEnv(t, nil)
		tok := e.sign(t, e.claims(iat0), nil)
		if _, _, err := e.v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
		e.clock.Set(exp0.Add(DefaultLeeway))
		if _, _, err := e.v.Verify(ctx, tok); !errors.Is(err, ErrExpired) {
			t.Fatalf("Verify after expiry = %v, want ErrExpired", err)
		}
	})
	// The maximum age applies to cached tokens too.
	t.Run("max_age_applies_to_hits", func(t *testing.T) {
		e := newEnv(t, nil)
		tok := e.sign(t, e.claims(iat0), nil)
		if _, _, err := e.v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.v.VerifyMaxAge(ctx, tok, 30*time.Second); !errors.Is(err, ErrTooOld) {
			t.Fatalf("VerifyMaxAge on a cached token = %v, want ErrTooOld", err)
		}
	})
	// A token differing from a cached one (forged signature) is verified on its own.
	t.Run("different_string_never_shares_entry", func(t *testing.T) {
		e := newEnv(t, nil)
		tok := e.sign(t, e.claims(iat0), nil)
		if _, _, err := e.v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.v.Verify(ctx, tamper(tok, 2)); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("tampered copy of a cached token = %v, want ErrBadSignature", err)
		}
	})
	// A key removed from the JWKS stops its cached tokens at the next refresh.
	t.Run("unpublished_key_revokes_cached_tokens", func(t *testing.T) {
		e := newEnv(t, nil)
		tok := e.sign(t, e.claims(iat0), nil)
		if _, _, err := e.v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := e.srv.RotateKey(); err != nil {
			t.Fatal(err)
		}
		e.srv.UnpublishKey(e.kid)
		if err := e.v.sharedFetch(ctx, false); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.v.Verify(ctx, tok); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("Verify with an unpublished key = %v, want ErrUnknownKey", err)
		}
	})
	// Keys beyond the maximum staleness stop cached tokens too.
	t.Run("stale_keys_stop_hits", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.JWKSMaxStaleness = time.Minute })
		tok := e.sign(t, e.claims(iat0), nil)
		if _, _, err := e.v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
		e.srv.SetFault(stytchtest.EndpointJWKS, stytchtest.Fault{Status: 503})
		e.clock.Advance(time.Minute + time.Second)
		if _, _, err := e.v.Verify(ctx, tok); !errors.Is(err, ErrKeysUnavailable) {
			t.Fatalf("Verify with stale keys = %v, want ErrKeysUnavailable", err)
		}
	})
}

func TestCacheBounded(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.CacheSize = 4 })
	ctx := context.Background()
	for i := range 10 {
		c := e.claims(iat0)
		c["n"] = i
		if _, _, err := e.v.Verify(ctx, e.sign(t, c, nil)); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.v.cache.len(); n > 4 {
		t.Fatalf("cache holds %d entries, want at most 4", n)
	}
}

// TestCacheLargeBounded: a full cache keeps at most its size, and about
// that many.
func TestCacheLargeBounded(t *testing.T) {
	c := newTokenCache(10000)
	for i := range 20000 {
		c.put(fmt.Sprintf("token-%d", i), &cacheEntry{exp: t0.Add(time.Hour)})
	}
	if n := c.len(); n > 10000 || n < 9000 {
		t.Fatalf("cache holds %d entries, want about 10000 and never more", n)
	}
}

func TestCacheDisabled(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.CacheSize = -1 })
	if e.v.cache != nil {
		t.Fatal("negative CacheSize kept a cache")
	}
	tok := e.sign(t, e.claims(iat0), nil)
	for range 2 {
		if _, _, err := e.v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCacheKeyIdentity: cached tokens survive a refresh that republishes
// the same key, and stop when a different key appears under their kid.
func TestCacheKeyIdentity(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	tok := e.sign(t, e.claims(iat0), nil)
	if _, _, err := e.v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	entry := e.v.cache.get(tok)
	if err := e.v.sharedFetch(ctx, false); err != nil {
		t.Fatal(err)
	}
	if !e.v.servable(entry, e.clock.Now()) {
		t.Fatal("an unchanged key invalidated the cached token")
	}
	// The kid now names another key: the token must be verified again, and fails.
	_, other, _ := keys(t)
	e.srv.PublishKey(&other.PublicKey, e.kid)
	if err := e.v.sharedFetch(ctx, false); err != nil {
		t.Fatal(err)
	}
	if e.v.servable(entry, e.clock.Now()) {
		t.Fatal("cached token served after its kid changed key")
	}
	if _, _, err := e.v.Verify(ctx, tok); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("Verify after the key changed = %v, want ErrBadSignature", err)
	}
}

// TestHitAllocations pins the hit path's allocations: none for VerifyShared
// (the middleware's path), session or M2M; one copy for VerifyMaxAge.
func TestHitAllocations(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	for _, tok := range []string{e.sign(t, e.claims(e.clock.Now()), nil), e.sign(t, e.m2mClaims(e.clock.Now()), nil)} {
		if _, err := e.v.VerifyShared(ctx, tok, 0, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = e.v.VerifyShared(ctx, tok, time.Hour, time.Time{}) }); n != 0 {
			t.Fatalf("VerifyShared hit allocates %v times, want 0", n)
		}
	}
	tok := e.sign(t, e.claims(e.clock.Now()), nil)
	if n := testing.AllocsPerRun(100, func() { _, _, _ = e.v.VerifyMaxAge(ctx, tok, 0) }); n != 1 {
		t.Fatalf("VerifyMaxAge hit allocates %v times, want 1", n)
	}
}

// TestCacheSameTail: the key covers only a token's last bytes; two tokens
// sharing them never answer for each other, and the newer one takes the
// slot.
func TestCacheSameTail(t *testing.T) {
	c := newTokenCache(64)
	tail := strings.Repeat("s", tailBytes)
	a, b := "header.payload-a."+tail, "header.payload-b."+tail
	ea, eb := &cacheEntry{}, &cacheEntry{}
	c.put(a, ea)
	if c.get(a) != ea || c.get(b) != nil {
		t.Fatal("a token sharing a cached token's tail was answered from its entry")
	}
	c.put(b, eb)
	if c.get(b) != eb || c.get(a) != nil || c.len() != 1 {
		t.Fatalf("after the second put: get(b) ok=%v, get(a)=%v, len=%d", c.get(b) == eb, c.get(a), c.len())
	}
}
