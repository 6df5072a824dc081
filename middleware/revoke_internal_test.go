package middleware

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

// revokedIDs returns n distinct session ids shaped like Stytch's.
func revokedIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "member-session-test-" + strconv.Itoa(i) + "-0123456789abcdef0123456789abcdef"
	}
	return ids
}

// BenchmarkRevocationsAdd adds 20,000 revocations to an empty set (as the
// fleet's replay at New, or a burst of logouts heard from the feed, does)
// and reports the cost as a ratio to the floor measured in the same
// iteration: the same 20,000 ids put into a plain map, the least any set
// of them costs. Run it with
//
//	go test -run '^$' -bench RevocationsAdd -benchmem ./middleware/
func BenchmarkRevocationsAdd(b *testing.B) {
	const n = 20000
	ids := revokedIDs(n)
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	until := now.Add(time.Hour)
	var floor, set time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		m := map[string]time.Time{}
		for _, id := range ids {
			if u, ok := m[id]; !ok || until.After(u) {
				m[id] = until
			}
		}
		t1 := time.Now()
		var rv revocations
		for _, id := range ids {
			rv.add(id, until, now)
		}
		t2 := time.Now()
		floor, set = floor+t1.Sub(t0), set+t2.Sub(t1)
		if len(m) != n || rv.size() != n {
			b.Fatalf("sizes %d and %d, want %d", len(m), rv.size(), n)
		}
	}
	b.ReportMetric(float64(set)/float64(floor), "add/floor")
	b.ReportMetric(float64(set)/float64(b.N)/n, "ns/add")
}

// TestRevocationsSet: a session is revoked until its end, the latest end
// recorded wins, in the recent map as in the base, and the count holds
// each session once.
func TestRevocationsSet(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	var rv revocations
	if rv.revoked("member-session-test-none", now) || rv.size() != 0 {
		t.Fatal("an empty set revokes")
	}
	// Enough ids to fill recent several times over, so that some live in
	// the base and some in recent.
	ids := revokedIDs(3*recentMax + 7)
	for i, id := range ids {
		rv.add(id, now.Add(time.Duration(i+1)*time.Second), now)
	}
	if rv.size() != len(ids) {
		t.Fatalf("size %d, want %d", rv.size(), len(ids))
	}
	first, last := ids[0], ids[len(ids)-1]
	if s := rv.set.Load(); len(s.base) == 0 || len(s.recent) == 0 {
		t.Fatalf("base %d, recent %d: the test does not cover both maps", len(s.base), len(s.recent))
	}
	for _, id := range []string{first, last} {
		if !rv.revoked(id, now) {
			t.Fatalf("%s not revoked", id)
		}
	}
	if rv.revoked(first, now.Add(time.Second)) {
		t.Fatal("a revocation outlives its end")
	}
	// A shorter end does not shorten a longer one (an announcement heard
	// twice, from an older replica); a longer one extends it, wherever
	// the first end is held.
	rv.add(last, now.Add(time.Second), now)
	if !rv.revoked(last, now.Add(time.Minute)) {
		t.Fatal("a shorter end cut a revocation short")
	}
	rv.add(first, now.Add(time.Hour), now)
	if !rv.revoked(first, now.Add(30*time.Minute)) {
		t.Fatal("a longer end was not kept")
	}
	if rv.size() != len(ids) {
		t.Fatalf("size %d after re-adding known sessions, want %d", rv.size(), len(ids))
	}
	if rv.revoked("member-session-test-other", now) {
		t.Fatal("an unknown session is revoked")
	}
}

// TestRevocationsShrinkAfterExpiry: once the revocations have ended, the
// next add drops them, whether they sit in the base or in recent.
func TestRevocationsShrinkAfterExpiry(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, n := range []int{20000, recentMax / 2} {
		var rv revocations
		for _, id := range revokedIDs(n) {
			rv.add(id, now.Add(5*time.Minute), now)
		}
		if rv.size() != n {
			t.Fatalf("size %d, want %d", rv.size(), n)
		}
		// Still in force: a new revocation keeps them all.
		rv.add("member-session-test-fresh", now.Add(10*time.Minute), now.Add(4*time.Minute))
		if rv.size() != n+1 {
			t.Fatalf("size %d before expiry, want %d", rv.size(), n+1)
		}
		later := now.Add(6 * time.Minute)
		rv.add("member-session-test-late", later.Add(5*time.Minute), later)
		if rv.size() != 2 {
			t.Fatalf("%d revocations: size %d after they ended, want 2", n, rv.size())
		}
		if !rv.revoked("member-session-test-fresh", later) || !rv.revoked("member-session-test-late", later) {
			t.Fatal("a revocation in force was dropped")
		}
	}
}

// TestRevokedAllocatesNothing: the hit path's check costs no allocation.
func TestRevokedAllocatesNothing(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	var rv revocations
	ids := revokedIDs(2 * recentMax)
	for _, id := range ids {
		rv.add(id, now.Add(time.Minute), now)
	}
	if n := testing.AllocsPerRun(1000, func() {
		_ = rv.revoked(ids[0], now)
		_ = rv.revoked(ids[len(ids)-1], now)
		_ = rv.revoked("member-session-test-none", now)
	}); n != 0 {
		t.Fatalf("revoked allocates %v times", n)
	}
}

// TestRevocationsConcurrent: readers see a consistent set while writers
// add (run with -race).
func TestRevocationsConcurrent(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	var rv revocations
	ids := revokedIDs(2000)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := w; i < len(ids); i += 2 {
				rv.add(ids[i], now.Add(time.Hour), now)
			}
		})
	}
	wg.Go(func() {
		for i := range ids {
			_ = rv.revoked(ids[i], now)
		}
	})
	wg.Wait()
	for _, id := range ids {
		if !rv.revoked(id, now) {
			t.Fatalf("%s lost", id)
		}
	}
	if rv.size() != len(ids) {
		t.Fatalf("size %d, want %d", rv.size(), len(ids))
	}
}
