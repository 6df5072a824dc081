package verifier

import (
	"crypto/rsa"
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/client"
)

// result is what Verify hands out: a session and its claims, allocated
// together so a copy costs one allocation.
type result struct {
	session client.MemberSession
	claims  client.Claims
}

// cacheEntry is the outcome of one successful verification. It is never
// modified after it is built; callers receive shallow copies of res.
type cacheEntry struct {
	res      result
	tok      string // the token, owned by the cache
	hash     uint64 // its key in the tokenCache
	kid      string
	key      *rsa.PublicKey // the key that verified the token
	snap     *keySnapshot   // a key set holding key under kid, if known
	iat, exp time.Time
	times    [3]time.Time       // storage for the session's time pointers
	dates    [3]jwt.NumericDate // storage for the claims' time pointers
}

// tokenCache is a bounded map from a token to its verified result. It is
// sharded to keep lock hold times short, and each shard evicts in insertion
// order (tokens all live five minutes, so the oldest insert is the one that
// expires first). Entries are never served past exp: the Verifier checks
// exp, the maximum age and the key on every hit.
//
// The map key is a keyed hash of the token's last bytes (the tail of the
// signature, which differs between any two tokens that verified), so a
// lookup hashes 64 bytes instead of the whole token; the entry holds the
// full token, and a hit requires it to be equal. The hash seed is random per
// cache: nobody can aim a token at another's slot, and a collision is a miss.
type tokenCache struct {
	seed   maphash.Seed
	shards []cacheShard
	mask   uint64
}

type cacheShard struct {
	mu   sync.RWMutex
	m    map[uint64]*cacheEntry
	ring []*cacheEntry // insertion order; nil marks a free slot
	next int
	_    [40]byte // keep neighbouring shards' locks off one cache line
}

// tailBytes is how much of a token's end its cache key covers.
const tailBytes = 64

func newTokenCache(size int) *tokenCache {
	n := 1
	for n < 16 && size/(n*2) >= 64 {
		n *= 2
	}
	c := &tokenCache{seed: maphash.MakeSeed(), shards: make([]cacheShard, n), mask: uint64(n - 1)}
	for i := range c.shards {
		per := size / n // the first size%n shards take one more: size slots in all
		if i < size%n {
			per++
		}
		c.shards[i].m = make(map[uint64]*cacheEntry, per)
		c.shards[i].ring = make([]*cacheEntry, per)
	}
	return c
}

// key returns tok's map key and shard.
func (c *tokenCache) key(tok string) (uint64, *cacheShard) {
	k := maphash.String(c.seed, tok[max(0, len(tok)-tailBytes):])
	return k, &c.shards[(k>>56)&c.mask]
}

func (c *tokenCache) get(tok string) *cacheEntry {
	k, s := c.key(tok)
	s.mu.RLock()
	e := s.m[k]
	s.mu.RUnlock()
	if e == nil || e.tok != tok {
		return nil
	}
	return e
}

// put stores e, verified from tok, replacing whatever held its key.
func (c *tokenCache) put(tok string, e *cacheEntry) {
	k, s := c.key(tok)
	// Own the token: the caller's string may share memory with a larger one.
	e.tok, e.hash = strings.Clone(tok), k
	s.mu.Lock()
	defer s.mu.Unlock()
	// Every mapped entry holds a ring slot, so the map never outgrows the
	// ring. When e replaces an entry under the same key (the same token
	// verified twice, or another with the same tail), the older entry's
	// slot frees nothing when it comes round.
	if old := s.ring[s.next]; old != nil && s.m[old.hash] == old {
		delete(s.m, old.hash)
	}
	s.ring[s.next] = e
	s.next = (s.next + 1) % len(s.ring)
	s.m[k] = e
}

// len returns the number of entries, for tests.
func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
