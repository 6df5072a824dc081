package verifier

import (
	"context"
	"crypto/rsa"
	"hash/maphash"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/maypok86/otter/v2"

	"github.com/stytchguard/stytchguard/client"
)

// result is what Verify hands out: a session and its claims, allocated
// together so a copy costs one allocation.
type result struct {
	session client.MemberSession
	claims  client.Claims
}

// cacheEntry is the outcome of one successful verification. It is never
// modified after it is built; callers receive shallow copies of res, or deep
// copies of m2m.
type cacheEntry struct {
	kind     tokenKind        // kindSession or kindM2M
	res      result           // for a session
	m2m      client.M2MClaims // for an M2M token
	ident    Identity         // for a session
	tok      string           // the token, owned by the cache
	kid      string
	key      *rsa.PublicKey // the key that verified the token
	snap     *keySnapshot   // a key set holding key under kid, if known
	iat, exp time.Time
	times    [3]time.Time       // storage for the session's time pointers
	dates    [3]jwt.NumericDate // storage for the claims' time pointers
}

// tokenCache is the verified-token cache: a github.com/maypok86/otter/v2
// cache bounded by Config.CacheSize, whose W-TinyLFU policy evicts what is
// least likely to be asked for again (a token past its exp is never asked
// for successfully, so it goes first). Entries carry no expiry of their own:
// the Verifier checks exp, the maximum age and the key on every hit, so no
// entry is ever served past its token, and otter's per-entry expiry would
// add a clock read and timer-wheel bookkeeping to every hit (about twice
// the hit's cost, measured against BenchmarkRatio's floor). Maintenance
// runs on the calling goroutine: the cache starts no goroutine.
//
// The key is a keyed hash of the token's last bytes (the tail of the
// signature, which differs between any two tokens that verified), so a
// lookup hashes 64 bytes instead of the whole token; the entry holds the
// full token, and a hit requires it to be equal. The hash seed is random per
// cache: nobody can aim a token at another's slot, and a collision is a
// miss.
type tokenCache struct {
	seed maphash.Seed
	c    *otter.Cache[uint64, *cacheEntry]
}

// tailBytes is how much of a token's end its cache key covers.
const tailBytes = 64

func newTokenCache(size int) *tokenCache {
	return &tokenCache{seed: maphash.MakeSeed(), c: otter.Must(&otter.Options[uint64, *cacheEntry]{
		MaximumSize: size,
		Executor:    func(fn func()) { fn() },
		Logger:      discardLogger{},
	})}
}

func (c *tokenCache) key(tok string) uint64 {
	return maphash.String(c.seed, tok[max(0, len(tok)-tailBytes):])
}

func (c *tokenCache) get(tok string) *cacheEntry {
	if e, _ := c.c.GetIfPresent(c.key(tok)); e != nil && e.tok == tok {
		return e
	}
	return nil
}

// put stores e, verified from tok, replacing whatever held its key.
func (c *tokenCache) put(tok string, e *cacheEntry) {
	// Own the token: the caller's string may share memory with a larger one.
	e.tok = strings.Clone(tok)
	c.c.Set(c.key(tok), e)
}

// len returns the number of entries, for tests.
func (c *tokenCache) len() int {
	c.c.CleanUp()
	return c.c.EstimatedSize()
}

// discardLogger drops otter's warnings: they concern its own maintenance
// (a panicking executor or callback, neither of which this package has).
type discardLogger struct{}

func (discardLogger) Warn(context.Context, string, error)  {}
func (discardLogger) Error(context.Context, string, error) {}
