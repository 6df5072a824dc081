package fleet

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of [RedisConfig]'s zero values.
const (
	DefaultNamespace       = "stytchguard"
	DefaultOpTimeout       = 200 * time.Millisecond
	DefaultBlock           = time.Second
	DefaultRetention       = 15 * time.Minute
	DefaultMaxQueue        = 1024
	DefaultBreakerFailures = 3
	DefaultBreakerOpenFor  = 5 * time.Second
)

// RedisConfig configures [NewRedis]. Every field's zero value is a safe
// default or, for the required ones, a validation error.
type RedisConfig struct {
	// URL names the Redis server in go-redis's form, parsed by
	// redis.ParseURL: "redis://[user:password@]host:port/db",
	// "rediss://…" for TLS, or "unix:///path/redis.sock?db=N"; query
	// options such as dial_timeout are honoured. NewRedis builds a client
	// from it, with context deadlines honoured, and Close closes it.
	// Exactly one of URL and Client must be set.
	URL string

	// Client is an existing client (redis.NewClient, NewClusterClient,
	// NewFailoverClient, NewUniversalClient…), so that Cluster and
	// Sentinel deployments work. Close does not close it. When it does not
	// honour context deadlines (ContextTimeoutEnabled false) each cache
	// operation runs on a goroutine of its own so that its caller still
	// gets an answer within OpTimeout; set ContextTimeoutEnabled to avoid
	// that, and so that a blocked read ends at its deadline.
	Client redis.UniversalClient

	// ProjectID is the Stytch project id; required. It is part of every
	// key and of the key derivation, so two projects sharing one Redis
	// never see each other's entries.
	ProjectID string

	// Namespace prefixes every key: "<Namespace>:<ProjectID>:…". Zero
	// means DefaultNamespace ("stytchguard"). It may not contain '{' or
	// '}' (Redis Cluster hash tags).
	Namespace string

	// Stream is the key of the revocation stream. Zero means
	// "<Namespace>:<ProjectID>:revocations". Every replica of a service
	// must use the same one.
	Stream string

	// OpTimeout bounds each cache operation and each announcement (one
	// round trip, or one pipeline). Zero means DefaultOpTimeout (200 ms).
	OpTimeout time.Duration

	// Block is how long one read of the revocation stream waits for new
	// entries before asking again (XREAD BLOCK). A read that gets no
	// answer within Block plus one second marks this process cut off, so
	// Block bounds how late a hung Redis is noticed; with a Client (not a
	// URL) it also bounds how long Close waits for that read. New entries
	// are delivered at once whatever Block is. Zero means DefaultBlock
	// (1 s).
	Block time.Duration

	// Retention is how long an entry stays in the revocation stream: each
	// announcement trims entries older than Retention (XADD MINID ~), so
	// the stream holds about Retention's worth of revocations. It must
	// exceed the longest time a revocation has to be remembered (the
	// `until` passed to Announce minus now), or a replica that starts or
	// reconnects late could miss one. Zero means DefaultRetention (15
	// minutes).
	Retention time.Duration

	// MaxQueue bounds the announcements held while Redis is unreachable.
	// Zero means DefaultMaxQueue (1024); negative is an error.
	MaxQueue int

	// BreakerFailures is how many consecutive cache operations that fail
	// for want of Redis (timeouts, connection errors) open the breaker,
	// after which cache operations fail fast with gobreaker.ErrOpenState
	// for BreakerOpenFor, then one probe decides. Zero means
	// DefaultBreakerFailures (3).
	BreakerFailures int

	// BreakerOpenFor is how long the breaker stays open. Zero means
	// DefaultBreakerOpenFor (5 s).
	BreakerOpenFor time.Duration

	// Logger receives state changes (cut off, current again), queued and
	// dropped announcements, and malformed stream entries; never a
	// credential, a session id or session content. Nil discards.
	Logger *slog.Logger

	// Now is the clock for `until` and for the expiry sealed in cache
	// entries; tests set it. Nil means time.Now. Trimming and timeouts use
	// the real clock.
	Now func() time.Time
}

// normalize validates cfg and fills the defaults.
func (cfg *RedisConfig) normalize() error {
	if (cfg.URL == "") == (cfg.Client == nil) {
		return errors.New("fleet: invalid config: exactly one of URL and Client must be set")
	}
	if cfg.ProjectID == "" {
		return errors.New("fleet: invalid config: empty ProjectID")
	}
	if strings.ContainsAny(cfg.ProjectID+cfg.Namespace, "{}") {
		return errors.New("fleet: invalid config: ProjectID and Namespace may not contain '{' or '}'")
	}
	if cfg.OpTimeout < 0 || cfg.Block < 0 || cfg.Retention < 0 || cfg.BreakerOpenFor < 0 ||
		cfg.MaxQueue < 0 || cfg.BreakerFailures < 0 {
		return errors.New("fleet: invalid config: durations and counts must not be negative")
	}
	if cfg.Block > 0 && cfg.Block < time.Millisecond {
		return fmt.Errorf("fleet: invalid config: Block %v is below Redis's 1 ms resolution", cfg.Block)
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.Stream == "" {
		cfg.Stream = cfg.Namespace + ":" + cfg.ProjectID + ":revocations"
	}
	if cfg.OpTimeout == 0 {
		cfg.OpTimeout = DefaultOpTimeout
	}
	if cfg.Block == 0 {
		cfg.Block = DefaultBlock
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.MaxQueue == 0 {
		cfg.MaxQueue = DefaultMaxQueue
	}
	if cfg.BreakerFailures == 0 {
		cfg.BreakerFailures = DefaultBreakerFailures
	}
	if cfg.BreakerOpenFor == 0 {
		cfg.BreakerOpenFor = DefaultBreakerOpenFor
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return nil
}
