package fleet_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/fleet"
	"github.com/stytchguard/stytchguard/internal/redistest"
	"github.com/stytchguard/stytchguard/internal/testkit"
)

// The benchmarks of this file are read as ratios against the floors beside
// them, run in the same invocation:
//
//	go test -run '^$' -bench . -benchmem ./fleet/
//
// BenchmarkCurrent against BenchmarkFloorAtomicLoad (the hit-path check);
// BenchmarkDelivery (A announces, B's watcher gets it) and the cache
// benchmarks against BenchmarkFloorRoundTrip (one PING through go-redis to
// the same server).

var sink error

// BenchmarkFloorAtomicLoad is one atomic pointer load, what Current costs
// at best.
func BenchmarkFloorAtomicLoad(b *testing.B) {
	var p atomic.Pointer[fleet.StaleError]
	b.ReportAllocs()
	for b.Loop() {
		if e := p.Load(); e != nil {
			sink = e
		}
	}
}

// BenchmarkCurrent is the revocation-feed check of the hit path.
func BenchmarkCurrent(b *testing.B) {
	url, _ := redistest.Start(b)
	r := newFleet(b, url)
	waitCurrent(b, r)
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Current(); err != nil {
			sink = err
		}
	}
}

// BenchmarkFloorRoundTrip is one PING over the unix socket.
func BenchmarkFloorRoundTrip(b *testing.B) {
	url, _ := redistest.Start(b)
	c := newClient(b, url, true)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Ping(b.Context()).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDelivery measures, per revocation, the time from A's Announce
// call to B's watcher receiving it, one at a time; it reports the p50 and
// p99 latency.
func BenchmarkDelivery(b *testing.B) {
	url, _ := redistest.Start(b)
	a, r := newFleet(b, url), newFleet(b, url)
	got := make(chan string, 1)
	defer r.Watch(func(id string, _ time.Time) {
		select {
		case got <- id:
		default:
		}
	})()
	waitCurrent(b, r)
	until := time.Now().Add(time.Hour)
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := fmt.Sprintf("member-session-bench-%d", i)
		i++
		start := time.Now()
		if err := a.Announce(b.Context(), id, until); err != nil {
			b.Fatal(err)
		}
		for {
			select {
			case x := <-got:
				if x != id {
					continue
				}
			case <-time.After(wait):
				b.Fatalf("%s not delivered within %v", id, wait)
			}
			break
		}
		lat = append(lat, time.Since(start))
	}
	b.ReportMetric(float64(testkit.SortedPercentile(lat, 0.50).Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(testkit.Percentile(lat, 0.99).Nanoseconds()), "p99-ns")
}

// BenchmarkLoadHit is a shared-cache hit: derive, GET, open, decode.
func BenchmarkLoadHit(b *testing.B) {
	url, _ := redistest.Start(b)
	r := newFleet(b, url)
	if err := r.StoreAuthenticate(b.Context(), sessionToken, "", answer(b, sessionID), time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if resp, err := r.LoadAuthenticate(b.Context(), sessionToken, ""); resp == nil || err != nil {
			b.Fatal(resp, err)
		}
	}
}

// BenchmarkStore is one shared-cache store: derive, seal, one pipeline.
func BenchmarkStore(b *testing.B) {
	url, _ := redistest.Start(b)
	r := newFleet(b, url)
	resp := answer(b, sessionID)
	b.ReportAllocs()
	for b.Loop() {
		if err := r.StoreAuthenticate(b.Context(), sessionToken, "", resp, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCatchUpAfterSIGCONT freezes Redis (SIGSTOP) until B reports the
// cut-off, announces on A (queued), thaws it (SIGCONT) and reports the time
// from SIGCONT until B's watcher has the revocation (p50 and max) and
// until B is current again (catchup-current-ns, the p50).
func BenchmarkCatchUpAfterSIGCONT(b *testing.B) {
	srv, a, r, rec := pausablePair(b)
	var got, current []time.Duration
	i := 0
	for b.Loop() {
		srv.Pause()
		eventually(b, "B not cut off", func() bool { return errors.Is(r.Current(), fleet.ErrCutOff) })
		id := fmt.Sprintf("paused-%d", i)
		i++
		if err := a.Announce(b.Context(), id, time.Now().Add(time.Hour)); !errors.Is(err, fleet.ErrQueued) {
			b.Fatalf("Announce = %v, want ErrQueued", err)
		}
		srv.Resume()
		start := time.Now()
		rec.waitFor(b, id)
		got = append(got, time.Since(start))
		waitCurrent(b, r)
		current = append(current, time.Since(start))
	}
	b.ReportMetric(float64(testkit.SortedPercentile(got, 0.5).Nanoseconds()), "catchup-p50-ns")
	b.ReportMetric(float64(testkit.Percentile(got, 1).Nanoseconds()), "catchup-max-ns")
	b.ReportMetric(float64(testkit.SortedPercentile(current, 0.5).Nanoseconds()), "catchup-current-ns")
}
