package fleet_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/fleet"
	"github.com/stytchguard/stytchguard/internal/redistest"
)

// TestAnnounceReachesOtherReplica: A announces, B's watcher gets the session
// with its until, and A's own watcher gets it too.
func TestAnnounceReachesOtherReplica(t *testing.T) {
	url, _ := redistest.Start(t)
	a, b := newFleet(t, url), newFleet(t, url)
	recA, recB := newRecorder(), newRecorder()
	defer a.Watch(recA.fn)()
	defer b.Watch(recB.fn)()
	waitCurrent(t, b)

	until := time.Now().Add(5 * time.Minute).Truncate(time.Millisecond)
	if err := a.Announce(ctx(t), "member-session-test-1", until); err != nil {
		t.Fatalf("Announce: %v", err)
	}
	if _, ok := recA.has("member-session-test-1"); !ok {
		t.Fatal("the announcing process's watcher did not get the revocation before Announce returned")
	}
	recB.waitFor(t, "member-session-test-1")
	if got, _ := recB.has("member-session-test-1"); !got.Equal(until) {
		t.Fatalf("B got until %v, want %v", got, until)
	}
	// A hears its own entry back from the stream; fn is idempotent.
	eventually(t, "A's reader did not read its own entry", func() bool { return recA.times("member-session-test-1") == 2 })
}

// TestSeveralWatchersAndStop: every watcher of one Redis gets each
// revocation; a stopped one gets nothing more.
func TestSeveralWatchersAndStop(t *testing.T) {
	url, _ := redistest.Start(t)
	a, b := newFleet(t, url), newFleet(t, url)
	r1, r2 := newRecorder(), newRecorder()
	stop1 := b.Watch(r1.fn)
	defer b.Watch(r2.fn)()
	waitCurrent(t, b)
	a.Announce(ctx(t), "member-session-1", time.Now().Add(time.Minute))
	r1.waitFor(t, "member-session-1")
	r2.waitFor(t, "member-session-1")
	stop1()
	stop1() // idempotent
	a.Announce(ctx(t), "member-session-2", time.Now().Add(time.Minute))
	r2.waitFor(t, "member-session-2")
	if _, ok := r1.has("member-session-2"); ok {
		t.Fatal("a stopped watcher was called")
	}
}

// TestReplayAtStart: a replica that starts late gets the revocations still
// in force from the retained stream, and not those whose until has passed.
func TestReplayAtStart(t *testing.T) {
	url, _ := redistest.Start(t)
	clk := newClock()
	withClock := func(c *fleet.RedisConfig) { c.Now = clk.Now }
	a := newFleet(t, url, withClock)
	now := clk.Now()
	for i := range 3 {
		if err := a.Announce(ctx(t), fmt.Sprintf("live-%d", i), now.Add(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := a.Announce(ctx(t), fmt.Sprintf("ended-%d", i), now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(2 * time.Minute)

	// Registered before the replay: gets the entries as they are read.
	c := newFleet(t, url, withClock)
	early := newRecorder()
	defer c.Watch(early.fn)()
	waitCurrent(t, c)
	// Registered after: gets them from Watch itself.
	late := newRecorder()
	defer c.Watch(late.fn)()
	for _, rec := range []*recorder{early, late} {
		for i := range 3 {
			if _, ok := rec.has(fmt.Sprintf("live-%d", i)); !ok {
				t.Fatalf("live-%d not replayed", i)
			}
			if _, ok := rec.has(fmt.Sprintf("ended-%d", i)); ok {
				t.Fatalf("ended-%d replayed after its until", i)
			}
		}
	}
}

// TestReplayOfALongLog: a log longer than one read is replayed whole before
// Current reports nil.
func TestReplayOfALongLog(t *testing.T) {
	url, _ := redistest.Start(t)
	a := newFleet(t, url)
	const n = 1500
	until := time.Now().Add(time.Hour)
	for i := range n {
		if err := a.Announce(ctx(t), fmt.Sprintf("s-%d", i), until); err != nil {
			t.Fatal(err)
		}
	}
	b := newFleet(t, url)
	rec := newRecorder()
	defer b.Watch(rec.fn)()
	waitCurrent(t, b)
	rec.mu.Lock()
	got := len(rec.got)
	rec.mu.Unlock()
	if got != n {
		t.Fatalf("after catching up, %d of %d revocations delivered", got, n)
	}
}

// TestCatchUpAfterPartition: B is cut off from Redis (the others are not)
// while A announces; when the link returns B reads on from its last entry:
// it gets everything it missed, and nothing it had already seen again.
func TestCatchUpAfterPartition(t *testing.T) {
	url, srv := redistest.Start(t)
	proxy := redistest.NewProxy(t, srv)
	a, b := newFleet(t, url), newFleet(t, proxy.URL())
	rec := newRecorder()
	defer b.Watch(rec.fn)()
	waitCurrent(t, b)
	until := time.Now().Add(time.Hour)
	a.Announce(ctx(t), "before", until)
	rec.waitFor(t, "before")

	proxy.Cut()
	eventually(t, "B does not report being cut off", func() bool { return errors.Is(b.Current(), fleet.ErrCutOff) })
	if err := b.Current(); !errors.Is(err, fleet.ErrNotCurrent) {
		t.Fatalf("Current() = %v, want ErrNotCurrent", err)
	}
	var missed []string
	for i := range 50 {
		id := fmt.Sprintf("during-%d", i)
		missed = append(missed, id)
		if err := a.Announce(ctx(t), id, until); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := rec.has("during-0"); ok {
		t.Fatal("B got an entry through a cut link")
	}
	proxy.Restore()
	rec.waitFor(t, missed...)
	waitCurrent(t, b)
	if n := rec.times("before"); n != 1 {
		t.Fatalf("an entry seen before the cut was delivered %d times: B did not resume from its last id", n)
	}
}

// TestCatchUpAfterRestartOfReplica: B is closed while A announces; the B
// that starts afterwards gets everything from the retained stream.
func TestCatchUpAfterRestartOfReplica(t *testing.T) {
	url, _ := redistest.Start(t)
	a, b := newFleet(t, url), newFleet(t, url)
	waitCurrent(t, b)
	b.Close()
	until := time.Now().Add(time.Hour)
	var ids []string
	for i := range 20 {
		ids = append(ids, fmt.Sprintf("s-%d", i))
		a.Announce(ctx(t), ids[i], until)
	}
	b2 := newFleet(t, url)
	rec := newRecorder()
	defer b2.Watch(rec.fn)()
	rec.waitFor(t, ids...)
}

// TestAnnounceWhileRedisPaused: a frozen Redis (SIGSTOP) queues the
// announcement; after SIGCONT it is published and B, cut off meanwhile,
// gets it and becomes current again.
func TestAnnounceWhileRedisPaused(t *testing.T) {
	srv, a, b, rec := pausablePair(t)

	srv.Pause()
	start := time.Now()
	err := a.Announce(ctx(t), "paused-1", time.Now().Add(time.Hour))
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Announce to a frozen Redis took %v", took)
	}
	if !errors.Is(err, fleet.ErrQueued) || !errors.Is(err, fleet.ErrUnavailable) || errors.Is(err, fleet.ErrQueueFull) {
		t.Fatalf("Announce = %v, want ErrQueued", err)
	}
	eventually(t, "B not cut off while Redis is frozen", func() bool { return errors.Is(b.Current(), fleet.ErrCutOff) })
	srv.Resume()
	resumed := time.Now()
	rec.waitFor(t, "paused-1")
	caughtUp := time.Since(resumed)
	waitCurrent(t, b)
	t.Logf("after SIGCONT: queued announcement received by B in %v", caughtUp)
}

// TestAnnounceDuringOutage: with Redis down, Announce queues; the
// announcement is delivered after Redis restarts, to a replica that was
// connected before.
func TestAnnounceDuringOutage(t *testing.T) {
	url, srv := redistest.Start(t)
	a, b := newFleet(t, url), newFleet(t, url)
	recA, recB := newRecorder(), newRecorder()
	defer a.Watch(recA.fn)()
	defer b.Watch(recB.fn)()
	waitCurrent(t, b)
	a.Announce(ctx(t), "before", time.Now().Add(time.Hour))
	recB.waitFor(t, "before")

	srv.Stop()
	err := a.Announce(ctx(t), "outage-1", time.Now().Add(time.Hour))
	if !errors.Is(err, fleet.ErrQueued) {
		t.Fatalf("Announce = %v, want ErrQueued", err)
	}
	var ae *fleet.AnnounceError
	if !errors.As(err, &ae) || !ae.Queued || ae.Err == nil {
		t.Fatalf("Announce error = %#v, want a queued *AnnounceError with its cause", err)
	}
	if strings.Contains(err.Error(), "outage-1") {
		t.Fatalf("error text names the session: %q", err)
	}
	// This process's watchers have it at once.
	if _, ok := recA.has("outage-1"); !ok {
		t.Fatal("local watcher did not get the queued revocation")
	}
	srv.Start()
	recB.waitFor(t, "outage-1")
	waitCurrent(t, a)
	waitCurrent(t, b)
}

// TestQueueBound: past MaxQueue, announcements are dropped and say so.
func TestQueueBound(t *testing.T) {
	url, srv := redistest.Start(t)
	a := newFleet(t, url, func(c *fleet.RedisConfig) { c.MaxQueue, c.OpTimeout = 2, 200*time.Millisecond })
	srv.Stop()
	// Known to be cut off, Announce queues without trying Redis.
	eventually(t, "not cut off after Redis died", func() bool { return errors.Is(a.Current(), fleet.ErrCutOff) })
	until := time.Now().Add(time.Hour)
	for i := range 2 {
		if err := a.Announce(ctx(t), fmt.Sprintf("q-%d", i), until); !errors.Is(err, fleet.ErrQueued) {
			t.Fatalf("announcement %d: %v, want ErrQueued", i, err)
		}
	}
	err := a.Announce(ctx(t), "q-2", until)
	if !errors.Is(err, fleet.ErrQueueFull) || errors.Is(err, fleet.ErrQueued) || !errors.Is(err, fleet.ErrUnavailable) {
		t.Fatalf("third announcement: %v, want ErrQueueFull", err)
	}
	// Close cannot publish them either, and says so.
	if err := a.Close(); !errors.Is(err, fleet.ErrUnavailable) {
		t.Fatalf("Close with undeliverable announcements = %v, want ErrUnavailable", err)
	}
}

// TestRedisKilledAndRestarted: the replica reconnects by itself.
func TestRedisKilledAndRestarted(t *testing.T) {
	url, srv := redistest.Start(t)
	a, b := newFleet(t, url), newFleet(t, url)
	rec := newRecorder()
	defer b.Watch(rec.fn)()
	waitCurrent(t, b)
	srv.Stop()
	eventually(t, "B not cut off after Redis died", func() bool { return errors.Is(b.Current(), fleet.ErrCutOff) })
	var se *fleet.StaleError
	if !errors.As(b.Current(), &se) || se.Err == nil || se.Since.IsZero() {
		t.Fatalf("Current() = %#v, want a StaleError with its cause and start", b.Current())
	}
	srv.Start()
	waitCurrent(t, b)
	waitCurrent(t, a)
	if err := a.Announce(ctx(t), "after-restart", time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Announce after restart: %v", err)
	}
	rec.waitFor(t, "after-restart")
}

// TestNoRedis: with no Redis at all a replica starts, reports being cut
// off, queues announcements and fails cache operations fast; Close is
// clean. This needs no redis-server.
func TestNoRedis(t *testing.T) {
	r := newFleet(t, "unix:///nonexistent/redis.sock", func(c *fleet.RedisConfig) { c.MaxQueue, c.OpTimeout = 1, 200*time.Millisecond })
	eventually(t, "not cut off without Redis", func() bool { return errors.Is(r.Current(), fleet.ErrCutOff) })
	if err := r.Announce(ctx(t), "s-1", time.Now().Add(time.Hour)); !errors.Is(err, fleet.ErrQueued) {
		t.Fatalf("Announce = %v, want ErrQueued", err)
	}
	start := time.Now()
	if _, err := r.LoadAuthenticate(ctx(t), "credential", ""); !errors.Is(err, fleet.ErrUnavailable) {
		t.Fatalf("LoadAuthenticate = %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("LoadAuthenticate without Redis took %v", took)
	}
	if err := r.Close(); !errors.Is(err, fleet.ErrUnavailable) {
		t.Fatalf("Close = %v, want ErrUnavailable (one announcement could not be published)", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if err := r.Current(); !errors.Is(err, fleet.ErrClosed) || !errors.Is(err, fleet.ErrNotCurrent) {
		t.Fatalf("Current after Close = %v", err)
	}
	if err := r.Announce(ctx(t), "s-2", time.Now().Add(time.Hour)); !errors.Is(err, fleet.ErrClosed) {
		t.Fatalf("Announce after Close = %v", err)
	}
}

// TestAnnounceInput: bad session ids are refused, a past until is a no-op.
func TestAnnounceInput(t *testing.T) {
	r := newFleet(t, "unix:///nonexistent/redis.sock")
	for name, id := range map[string]string{
		"empty": "",
		// a newline could forge a second field in a text log or protocol.
		"control character": "member-session\nsid",
		"space":             "member session",
		"oversized":         strings.Repeat("s", fleet.MaxSessionIDLength+1),
		"non-ASCII":         "member-sessión",
	} {
		if err := r.Announce(ctx(t), id, time.Now().Add(time.Hour)); !errors.Is(err, fleet.ErrInvalidInput) {
			t.Errorf("%s: Announce = %v, want ErrInvalidInput", name, err)
		}
		if err := r.ForgetSession(ctx(t), id); !errors.Is(err, fleet.ErrInvalidInput) {
			t.Errorf("%s: ForgetSession = %v, want ErrInvalidInput", name, err)
		}
	}
	if err := r.Announce(ctx(t), "member-session-1", time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("Announce with a past until = %v, want nil", err)
	}
}

// TestCloseLeavesCallerClientOpen: Close does not close a Client it was
// given.
func TestCloseLeavesCallerClientOpen(t *testing.T) {
	url, _ := redistest.Start(t)
	c := newClient(t, url, true)
	r, err := fleet.NewRedis(fleet.RedisConfig{Client: c, ProjectID: "p", Block: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	waitCurrent(t, r)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx(t)).Err(); err != nil {
		t.Fatalf("caller's client after Close: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  fleet.RedisConfig
	}{
		{"neither URL nor Client", fleet.RedisConfig{ProjectID: "p"}},
		{"empty project", fleet.RedisConfig{URL: "redis://localhost:6379/0"}},
		{"negative timeout", fleet.RedisConfig{URL: "redis://localhost:6379/0", ProjectID: "p", OpTimeout: -1}},
		{"negative queue", fleet.RedisConfig{URL: "redis://localhost:6379/0", ProjectID: "p", MaxQueue: -1}},
		{"sub-millisecond block", fleet.RedisConfig{URL: "redis://localhost:6379/0", ProjectID: "p", Block: time.Microsecond}},
		// a hash tag in the prefix would pin every key to one cluster slot.
		{"hash tag in namespace", fleet.RedisConfig{URL: "redis://localhost:6379/0", ProjectID: "p", Namespace: "{x}"}},
		{"bad scheme", fleet.RedisConfig{URL: "http://localhost:6379", ProjectID: "p"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := fleet.NewRedis(tc.cfg)
			if err == nil {
				r.Close()
				t.Fatal("NewRedis accepted it")
			}
		})
	}
	// The URL's password never appears in the error.
	_, err := fleet.NewRedis(fleet.RedisConfig{URL: "redis://user:hunter2-secret@local host:6379", ProjectID: "p"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v: want one without the password", err)
	}
}

// TestCurrentAllocatesNothing: the hit-path check allocates neither when
// current nor when cut off.
func TestCurrentAllocatesNothing(t *testing.T) {
	url, srv := redistest.Start(t)
	r := newFleet(t, url)
	waitCurrent(t, r)
	if n := testing.AllocsPerRun(1000, func() { _ = r.Current() }); n != 0 {
		t.Fatalf("Current allocates %v times when current", n)
	}
	srv.Stop()
	eventually(t, "not cut off", func() bool { return r.Current() != nil })
	if n := testing.AllocsPerRun(1000, func() { _ = r.Current() }); n != 0 {
		t.Fatalf("Current allocates %v times when cut off", n)
	}
}

// TestStreamTrimmed: each announcement trims the entries older than
// Retention, so the stream stays bounded.
func TestStreamTrimmed(t *testing.T) {
	url, _ := redistest.Start(t)
	const retention = 50 * time.Millisecond
	r := newFleet(t, url, func(c *fleet.RedisConfig) { c.Retention = retention })
	rc := newClient(t, url, true)
	until := time.Now().Add(time.Hour)
	const n = 1000 // several of the stream's nodes, which approximate trimming drops whole
	for i := range n {
		if err := r.Announce(ctx(t), fmt.Sprintf("old-%d", i), until); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2 * retention) // only a lower bound matters: the old entries are older than Retention
	if err := r.Announce(ctx(t), "new", until); err != nil {
		t.Fatal(err)
	}
	if l := rc.XLen(ctx(t), "stytchguard:project-test-1:revocations").Val(); l >= n/2 {
		t.Fatalf("stream holds %d entries after trimming, want fewer than %d", l, n/2)

	}
}
