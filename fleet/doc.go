// Package fleet keeps the state that the replicas of a service share, in
// the Redis they already run, through github.com/redis/go-redis/v9: a feed
// of session revocations that no replica can miss, and a shared cache of
// Stytch Authenticate answers that a Redis reader cannot read. A
// [*Redis] from [NewRedis] implements the Fleet interface the middleware
// consumes; this package imports no other package of the module but client.
//
// # Revocation feed
//
// [Redis.Announce] appends an entry (the member session id and the time
// until which it must be refused) to a Redis stream with XADD; each entry
// trims those older than RedisConfig.Retention (XADD MINID ~), so the
// stream stays bounded. Every replica runs one reader goroutine that
// follows the stream with XREAD BLOCK from the last entry it saw, and hands
// each revocation to the functions registered with [Redis.Watch]:
//
//	replica A                       Redis                        replica B
//	Announce(sid, until) ──XADD──▶ stream ◀──XREAD BLOCK(last id)── reader ──▶ Watch fns
//
// At start the reader replays the retained stream (delivering the entries
// whose until has not passed), so a replica that starts late knows every
// revocation still in force. When Redis is unreachable the reader retries
// with backoff and, on reconnection, reads on from its last entry: nothing
// retained is lost. [Redis.Current] tells, with one atomic load, whether
// this replica is current with the feed; the middleware trusts JWTs less
// while it is not.
//
// An announcement that Redis cannot take is delivered to this process's
// watchers at once, queued (at most RedisConfig.MaxQueue) and published on
// reconnection; Announce's error says so ([ErrQueued], [ErrQueueFull]).
//
// The stream holds session ids, which are identifiers, not credentials; it
// never holds a token or any session content.
//
// # Shared cache
//
// [Redis.StoreAuthenticate] shares an Authenticate answer among the
// replicas for a TTL, and [Redis.LoadAuthenticate] reads it back. From the
// credential (session token or JWT) HKDF-SHA256, salted with the namespace
// and project id, derives two independent values per variant: the Redis
// key (a digest) and an AES-256-GCM key that seals the value, with the
// Redis key as additional data and the entry's expiry inside the seal. A
// Redis reader therefore learns no credential and no session content; a
// value altered, moved under another key or replayed after its expiry does
// not open, and is a miss. [Redis.ForgetSession] deletes a session's
// entries fleet-wide through an index keyed by a digest of the session id.
//
// Cache operations are bounded by RedisConfig.OpTimeout and go through a
// circuit breaker of their own, so a slow or dead Redis costs a caller at
// most OpTimeout, then nothing while the breaker is open. Errors match
// [ErrUnavailable] and keep the Redis cause.
//
// # Trust
//
// Whoever can write to Redis can add revocations (refusing sessions) and
// can delete entries (delaying a revocation on the replicas until the
// session's JWTs expire, as without a fleet); they cannot make a replica
// accept a credential, because cached answers are sealed with keys only the
// credential's holder can derive. Run Redis with persistence (AOF) if
// revocations must survive a Redis restart: a restarted empty Redis has
// lost the entries not yet read.
//
// # Lifecycle
//
// [NewRedis] does not wait for Redis. [Redis.Close] stops both goroutines
// (the reader and the publisher of queued announcements), closes the client
// it built from RedisConfig.URL (not a RedisConfig.Client), and waits.
package fleet
