package fleet_test

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/stytchguard/stytchguard/fleet"
	"github.com/stytchguard/stytchguard/internal/redistest"
)

// TestMain fails the package when a test leaves a goroutine running: the
// feed's reader and publisher must stop on Close.
func TestMain(m *testing.M) {
	// go-redis logs each failed reconnection through the standard logger;
	// the tests cause many on purpose.
	if os.Getenv("FLEET_TEST_REDIS_LOG") == "" {
		redis.SetLogger(quiet{})
	}
	goleak.VerifyTestMain(m)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// wait is how long a test waits for something that should happen in
// milliseconds: far beyond, so that a loaded machine never decides a test.
const wait = 15 * time.Second

// newFleet returns a Redis on url for project "project-test-1", closed at
// cleanup, with a short Block so that cut-offs are noticed quickly and a
// long OpTimeout so that a loaded machine does not make Redis look down;
// the tests of timeouts set their own.
func newFleet(t testing.TB, url string, mod ...func(*fleet.RedisConfig)) *fleet.Redis {
	t.Helper()
	cfg := fleet.RedisConfig{URL: url, ProjectID: "project-test-1", Block: 200 * time.Millisecond, OpTimeout: 2 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	r, err := fleet.NewRedis(cfg)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// pausablePair starts a redis-server and two fleets on it, both current:
// a, which gives up on a frozen Redis within 200 ms, and b, whose
// revocations rec records.
func pausablePair(t testing.TB) (srv *redistest.Server, a, b *fleet.Redis, rec *recorder) {
	t.Helper()
	url, srv := redistest.Start(t)
	a = newFleet(t, url, func(c *fleet.RedisConfig) { c.OpTimeout = 200 * time.Millisecond })
	b = newFleet(t, url)
	rec = newRecorder()
	t.Cleanup(b.Watch(rec.fn))
	waitCurrent(t, a)
	waitCurrent(t, b)
	return srv, a, b, rec
}

// clock is a settable clock for RedisConfig.Now.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// recorder collects what a Watch function receives.
type recorder struct {
	mu    sync.Mutex
	got   map[string]time.Time
	count map[string]int
	order []string
	ch    chan struct{}
}

func newRecorder() *recorder {
	return &recorder{got: map[string]time.Time{}, count: map[string]int{}, ch: make(chan struct{}, 1)}
}

func (rec *recorder) fn(id string, until time.Time) {
	rec.mu.Lock()
	rec.got[id] = until
	rec.count[id]++
	rec.order = append(rec.order, id)
	rec.mu.Unlock()
	select {
	case rec.ch <- struct{}{}:
	default:
	}
}

func (rec *recorder) has(id string) (time.Time, bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	u, ok := rec.got[id]
	return u, ok
}

func (rec *recorder) times(id string) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.count[id]
}

// waitFor waits until every id has been received.
func (rec *recorder) waitFor(t testing.TB, ids ...string) {
	t.Helper()
	deadline := time.After(wait)
	for {
		missing := 0
		for _, id := range ids {
			if _, ok := rec.has(id); !ok {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		select {
		case <-rec.ch:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("after %v, %d of %d revocations not received", wait, missing, len(ids))
		}
	}
}

// eventually polls cond until it holds, failing the test after wait.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", wait, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitCurrent(t testing.TB, r *fleet.Redis) {
	t.Helper()
	eventually(t, "Current() still not nil", func() bool { return r.Current() == nil })
}

func ctx(t testing.TB) context.Context { return t.Context() }

func contextWithCancel(t testing.TB) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}
