package verifier

import (
	"crypto/rsa"
	"strings"
	"sync"
	"time"

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
	kid      string
	key      *rsa.PublicKey // the key that verified the token
	iat, exp time.Time
	times    [3]time.Time // storage for the session's time pointers
}

// tokenCache is a bounded map from the full token string to its verified
// result. It is sharded to keep lock hold times short, and each shard evicts
// in insertion order (tokens all live five minutes, so the oldest insert is
// the one that expires first). Entries are never served past exp: the
// Verifier checks exp, the maximum age and the key on every hit.
type tokenCache struct {
	shards []cacheShard
	mask   uint32
}

type cacheShard struct {
	mu   sync.RWMutex
	m    map[string]*cacheEntry
	ring []string // insertion order; "" marks a free slot
	next int
	_    [40]byte // keep neighbouring shards' locks off one cache line
}

func newTokenCache(size int) *tokenCache {
	n := 1
	for n < 16 && size/(n*2) >= 64 {
		n *= 2
	}
	per := (size + n - 1) / n
	c := &tokenCache{shards: make([]cacheShard, n), mask: uint32(n - 1)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*cacheEntry, per)
		c.shards[i].ring = make([]string, per)
	}
	return c
}

// shard picks a shard from the token's last bytes: the tail of the
// signature, which differs between any two tokens that verified.
func (c *tokenCache) shard(tok string) *cacheShard {
	var h uint32 = 2166136261
	for i := max(0, len(tok)-8); i < len(tok); i++ {
		h = (h ^ uint32(tok[i])) * 16777619
	}
	return &c.shards[h&c.mask]
}

func (c *tokenCache) get(tok string) *cacheEntry {
	s := c.shard(tok)
	s.mu.RLock()
	e := s.m[tok]
	s.mu.RUnlock()
	return e
}

func (c *tokenCache) put(tok string, e *cacheEntry) {
	s := c.shard(tok)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[tok]; ok {
		s.m[tok] = e
		return
	}
	// Own the key: the caller's string may share memory with a larger one.
	tok = strings.Clone(tok)
	if old := s.ring[s.next]; old != "" {
		delete(s.m, old)
	}
	s.ring[s.next] = tok
	s.next = (s.next + 1) % len(s.ring)
	s.m[tok] = e
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
