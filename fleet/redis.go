package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// Redis is the fleet state of one process, kept in Redis: the revocation
// feed ([Redis.Announce], [Redis.Watch], [Redis.Current]) and the sealed
// shared cache of Authenticate answers ([Redis.LoadAuthenticate],
// [Redis.StoreAuthenticate], [Redis.ForgetSession]). Create it with
// [NewRedis] and stop it with [Redis.Close]. All methods are safe for
// concurrent use; several guards may share one Redis.
type Redis struct {
	c        redis.UniversalClient
	own      bool // c was built from URL: Close closes it
	ctxAware bool // c ends a command at its context's deadline

	stream    string
	prefix    string // "<Namespace>:<ProjectID>:"
	salt      []byte // HKDF salt of the cache keys
	opTimeout time.Duration
	block     time.Duration
	retention time.Duration
	maxQueue  int
	log       *slog.Logger
	now       func() time.Time
	breaker   *gobreaker.TwoStepCircuitBreaker[struct{}]

	// stale is nil while current with the feed; Current loads it.
	stale atomic.Pointer[StaleError]
	// smu orders the state changes; gen tells a read's watchdog whether
	// its read is still the one in progress.
	smu sync.Mutex
	gen uint64

	// dmu serializes deliveries to watchers and guards active, the
	// revocations still in force, which a new watcher is given first.
	dmu       sync.Mutex
	active    map[string]time.Time
	nextPrune time.Time
	wmu       sync.Mutex                 // guards changes of watchers
	watchers  atomic.Pointer[[]*watcher] // copy on write

	qmu   sync.Mutex
	queue []announcement
	qseq  uint64
	kick  chan struct{}

	base       context.Context // cancelled by Close
	cancel     context.CancelFunc
	life       sync.Mutex
	closed     atomic.Bool
	ops        sync.WaitGroup // cache operations detached from their caller
	readerDone chan struct{}
	flushDone  chan struct{}
}

// readGrace is how long after Block a read of the feed may take before this
// process counts itself cut off.
const readGrace = time.Second

// NewRedis validates cfg, connects lazily (it does not wait for Redis: a
// replica starts while Redis is down, and [Redis.Current] says so), and
// starts two goroutines: the reader of the revocation feed, which replays
// the retained log and then follows it, and the publisher of queued
// announcements. Both stop on [Redis.Close].
//
// It returns an error for an invalid config or URL; the error never
// contains the URL's password.
func NewRedis(cfg RedisConfig) (*Redis, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	r := &Redis{
		c:          cfg.Client,
		stream:     cfg.Stream,
		prefix:     cfg.Namespace + ":" + cfg.ProjectID + ":",
		salt:       []byte("stytchguard/fleet/v1 cache\x00" + cfg.Namespace + "\x00" + cfg.ProjectID),
		opTimeout:  cfg.OpTimeout,
		block:      cfg.Block,
		retention:  cfg.Retention,
		maxQueue:   cfg.MaxQueue,
		log:        cfg.Logger,
		now:        cfg.Now,
		active:     map[string]time.Time{},
		kick:       make(chan struct{}, 1),
		readerDone: make(chan struct{}),
		flushDone:  make(chan struct{}),
	}
	if cfg.URL != "" {
		opt, err := redis.ParseURL(cfg.URL)
		if err != nil {
			// url.Error's text repeats the URL, password included.
			if ue := (*url.Error)(nil); errors.As(err, &ue) {
				err = ue.Err
			}
			return nil, fmt.Errorf("fleet: invalid config: URL: %w", err)
		}
		// Deadlines of our contexts must end reads and writes: that is
		// what bounds every operation by OpTimeout.
		opt.ContextTimeoutEnabled = true
		r.c, r.own = redis.NewClient(opt), true
	}
	r.ctxAware = honoursDeadlines(r.c)
	failures := uint32(cfg.BreakerFailures)
	r.breaker = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "fleet-redis",
		MaxRequests: 1,
		Timeout:     cfg.BreakerOpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
		// A reply, even an error reply, is Redis answering; only timeouts
		// and broken connections count against it.
		IsSuccessful: func(err error) bool { var re redis.Error; return err == nil || errors.As(err, &re) },
		// A caller that gave up says nothing about Redis.
		IsExcluded: func(err error) bool { return errors.Is(err, errCallerGone) },
	})
	r.stale.Store(&StaleError{Reason: ErrCatchingUp, Since: r.now()})
	r.base, r.cancel = context.WithCancel(context.Background())
	go r.readLoop()
	go r.flushLoop()
	return r, nil
}

// honoursDeadlines reports whether c ends a command when its context's
// deadline passes; for a client of unknown type it assumes not.
func honoursDeadlines(c redis.UniversalClient) bool {
	switch c := c.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return false
}

// Close stops the feed's reader and the publisher, makes one last attempt
// (bounded by OpTimeout) to publish the announcements still queued, closes
// the client when it was built from URL, and waits for every goroutine of
// this Redis to end. With a Client of the caller's, the reader may be in a
// blocking read that only ends after Block (or, when Redis hangs, Block
// plus one second, or the client's own read timeout when it does not honour
// deadlines). Afterwards every method returns ErrClosed, Watch functions
// are no longer called and Current reports a StaleError with reason
// ErrClosed. It returns a *RedisError (matching ErrUnavailable) when
// queued announcements could not be published; a second call returns nil.
func (r *Redis) Close() error {
	r.life.Lock()
	if r.closed.Load() {
		r.life.Unlock()
		return nil
	}
	r.closed.Store(true)
	r.life.Unlock()

	r.cancel()
	<-r.flushDone
	var err error
	if r.queueLen() > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), r.opTimeout)
		if ferr := r.flush(ctx); ferr != nil {
			if n := r.queueLen(); n > 0 {
				r.log.Error("fleet: queued revocation announcements dropped at close", "dropped", n, "err", ferr)
				err = &RedisError{Op: "close", Err: fmt.Errorf("%d queued announcements not published: %w", n, ferr)}
			}
		}
		cancel()
	}
	if r.own {
		if cerr := r.c.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("fleet: closing the redis client: %w", cerr)
		}
	}
	<-r.readerDone
	r.ops.Wait()
	r.smu.Lock()
	r.gen++
	r.stale.Store(&StaleError{Reason: ErrClosed, Since: r.now()})
	r.smu.Unlock()
	return err
}

// errCallerGone marks an operation abandoned because its caller's context
// ended, not because Redis failed.
var errCallerGone = errors.New("fleet: caller gone")

// cacheOp runs f through the breaker, within OpTimeout and the caller's
// context, and wraps a failure in a *RedisError for op; when the caller's
// context ended, the error wraps its cause instead and does not count
// against Redis.
func cacheOp[T any](r *Redis, ctx context.Context, op string, f func(context.Context) (T, error)) (T, error) {
	var zero T
	done, err := r.breaker.Allow()
	if err != nil {
		return zero, &RedisError{Op: op, Err: err}
	}
	v, err := call(r, ctx, f)
	if err != nil && ctx.Err() != nil {
		done(errCallerGone)
		return zero, fmt.Errorf("fleet: %s: %w", op, ctx.Err())
	}
	done(err)
	if err != nil {
		return zero, &RedisError{Op: op, Err: err}
	}
	return v, nil
}

// call runs f with a context that ends after OpTimeout (or earlier with
// ctx). A client that does not honour deadlines runs f on a goroutine of
// its own, so that the answer still comes in time; Close waits for it.
func call[T any](r *Redis, ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	if r.ctxAware {
		return f(ctx)
	}
	type result struct {
		v   T
		err error
	}
	r.life.Lock()
	if r.closed.Load() {
		r.life.Unlock()
		var zero T
		return zero, ErrClosed
	}
	r.ops.Add(1)
	r.life.Unlock()
	ch := make(chan result, 1)
	go func() {
		defer r.ops.Done()
		v, err := f(ctx)
		ch <- result{v, err}
	}()
	select {
	case res := <-ch:
		return res.v, res.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
