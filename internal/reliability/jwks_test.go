package reliability

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
	"github.com/stytchguard/stytchguard/verifier"
)

// maxRefreshAttempts is the most JWKS fetches the verifier's background loop
// may start in d of real time once refreshes fail: one at once, then one
// after each backoff step (retryMin doubling up to retryMax), plus one for
// timer skew.
func maxRefreshAttempts(d, retryMin, retryMax time.Duration) int {
	n, elapsed, backoff := 1, time.Duration(0), time.Duration(0)
	for {
		backoff = min(max(2*backoff, retryMin), retryMax)
		if elapsed += backoff; elapsed > d {
			return n + 1
		}
		n++
	}
}

// Scenario 1: the JWKS endpoint fails in every way for a day of fake time
// while valid traffic continues on keys fetched before the outage. Pass: no
// valid request fails or needs Stytch, the background refresh stays within
// its retry policy, the heap does not grow, the refresh recovers.
func TestJWKSOutageWithWarmCache(t *testing.T) {
	var (
		phaseLen     = pick(600*time.Millisecond, 20*time.Second)
		retryMin     = pick(40*time.Millisecond, time.Second)
		retryMax     = pick(200*time.Millisecond, 5*time.Second)
		fetchTimeout = pick(150*time.Millisecond, 2*time.Second)
		step         = pick(30*time.Minute, 4*time.Minute) // fake time per step
		workers      = 4
	)
	const outage = 24 * time.Hour
	faults := []struct {
		name  string
		fault stytchtest.Fault
	}{
		{"503", stytchtest.Fault{Status: http.StatusServiceUnavailable}},
		{"hang", stytchtest.Fault{Hang: true}},
		{"HTML with 200", stytchtest.Fault{Body: []byte("<!DOCTYPE html><html><body><h1>Service Unavailable</h1></body></html>"), ContentType: "text/html"}},
		{"2 MiB body", stytchtest.Fault{Body: hugeJSON(2 << 20), ContentType: "application/json"}},
		{"empty key set", stytchtest.Fault{Body: []byte(`{"keys":[]}`), ContentType: "application/json"}},
	}
	s := newStack(t, stackOptions{verifier: &verifier.Config{
		JWKSRefreshInterval: 2 * retryMax,
		JWKSFetchTimeout:    fetchTimeout,
		JWKSRetryMin:        retryMin,
		JWKSRetryMax:        retryMax,
	}})
	token, jwt := s.session("viewer")
	s.waitReady(jwt)

	// Workers read the current JWT under the read lock; the stepper moves the
	// fake clock and mints the next JWT under the write lock, so no request
	// carries a JWT that the step expired.
	var (
		gate  sync.RWMutex
		cur   atomic.Pointer[string]
		st    = newStats()
		phase atomic.Pointer[stats] // the current fault's share of st
		stop  = make(chan struct{})
	)
	cur.Store(&jwt)
	perFault := make([]*stats, len(faults))
	for i := range perFault {
		perFault[i] = newStats()
	}
	phase.Store(perFault[0])
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	jwks0, auth0 := s.srv.Calls(stytchtest.EndpointJWKS), s.srv.Calls(stytchtest.EndpointAuthenticate)
	start := time.Now()

	wait := hammer(workers, stop, func(_, _ int) {
		gate.RLock()
		o := s.get(pathRead, *cur.Load())
		gate.RUnlock()
		st.add(o)
		phase.Load().add(o)
	})
	steps := int(outage/step) / len(faults)
	perPhase := make([]int64, len(faults))
	for i, f := range faults {
		c0 := s.srv.Calls(stytchtest.EndpointJWKS)
		s.srv.SetFault(stytchtest.EndpointJWKS, f.fault)
		phase.Store(perFault[i])
		for range steps {
			time.Sleep(phaseLen / time.Duration(steps))
			gate.Lock()
			s.clock.Advance(step)
			next := s.mint(token)
			cur.Store(&next)
			gate.Unlock()
		}
		perPhase[i] = s.srv.Calls(stytchtest.EndpointJWKS) - c0
		if err := s.ver.Status().LastError; err == nil {
			t.Errorf("phase %q: the last JWKS fetch succeeded; the fault was not exercised", f.name)
		}
	}
	close(stop)
	wait()
	elapsed := time.Since(start)
	attempts := s.srv.Calls(stytchtest.EndpointJWKS) - jwks0
	remote := s.srv.Calls(stytchtest.EndpointAuthenticate) - auth0
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	// The test's own latency records are not the stack's heap.
	own := int64(cap(st.lat)) * 8
	for _, p := range perFault {
		own += int64(cap(p.lat)) * 8
	}
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc) - own

	// Recovery: the next background refresh brings fresh keys.
	s.srv.ClearFaults()
	healed := time.Now()
	for s.ver.Status().ConsecutiveFailures != 0 {
		if time.Since(healed) > retryMax+fetchTimeout+5*time.Second {
			t.Fatalf("JWKS refresh did not recover after the outage: %+v", s.ver.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
	recovery := time.Since(healed)
	status := s.ver.Status()

	bound := maxRefreshAttempts(elapsed, retryMin, retryMax)
	figures(t, "fake time %v in %d steps over %v real; valid requests: %v", outage, steps*len(faults), elapsed.Round(time.Millisecond), st)
	figures(t, "JWKS attempts during outage %d (retry-policy bound %d; per phase %v; verifier fetches=%d failures=%d); remote authenticate calls %d",
		attempts, bound, phaseCounts(faults, perPhase), status.Fetches, status.Failures, remote)
	figures(t, "heap after GC: before %d KiB, after %d KiB (%d KiB of them the test's latency records), growth %d KiB; refresh recovered %v after healing",
		before.HeapAlloc>>10, after.HeapAlloc>>10, own>>10, growth>>10, recovery.Round(time.Millisecond))
	for i, f := range faults {
		figures(t, "valid requests during %q: %v", f.name, perFault[i])
	}

	if n := st.others(http.StatusOK); n != 0 {
		t.Errorf("%d valid requests failed during the JWKS outage: %v", n, st)
	}
	if remote != 0 {
		t.Errorf("%d remote authenticate calls: valid JWTs must be verified locally on the warm key set", remote)
	}
	if attempts > int64(bound) {
		t.Errorf("%d JWKS attempts in %v, more than the retry policy allows (%d)", attempts, elapsed, bound)
	}
	for i, n := range perPhase {
		if n == 0 {
			t.Errorf("phase %q saw no JWKS attempt: the backoff stalled", faults[i].name)
		}
	}
	if growth > 8<<20 {
		t.Errorf("heap grew by %d KiB over the outage", growth>>10)
	}
	if recovery > retryMax+fetchTimeout+time.Second {
		t.Errorf("refresh recovered %v after healing, more than one retry step (%v) plus a fetch", recovery, retryMax)
	}
}

func phaseCounts(faults []struct {
	name  string
	fault stytchtest.Fault
}, n []int64) string {
	parts := make([]string, len(faults))
	for i, f := range faults {
		parts[i] = fmt.Sprintf("%s=%d", f.name, n[i])
	}
	return strings.Join(parts, " ")
}

// hugeJSON is a syntactically valid key set of n bytes.
func hugeJSON(n int) []byte {
	const head, tail = `{"keys":[],"padding":"`, `"}`
	return append(append([]byte(head), bytes.Repeat([]byte{'x'}, n-len(head)-len(tail))...), tail...)
}

// Scenario 2: the guard starts while the JWKS endpoint is down. Pass:
// requests take the remote path meanwhile (503 when Stytch's Authenticate
// is down too, never 401), no request waits longer than the JWKS wait plus
// the remote timeouts, and local verification resumes within one retry step
// of the endpoint healing.
func TestColdStartWithJWKSDown(t *testing.T) {
	var (
		phase         = pick(700*time.Millisecond, 20*time.Second)
		retryMin      = pick(50*time.Millisecond, time.Second)
		retryMax      = pick(400*time.Millisecond, 10*time.Second)
		fetchTimeout  = pick(300*time.Millisecond, 2*time.Second)
		remoteTimeout = pick(400*time.Millisecond, middleware.DefaultRemoteTimeout)
		workers       = 4
		pool          = 8
	)
	// The longest a request may wait: a shared JWKS fetch, then two remote
	// attempts inside the remote call's own deadline, plus scheduling slack.
	maxWait := fetchTimeout + 2*remoteTimeout + time.Second + 500*time.Millisecond
	s := newStack(t, stackOptions{
		beforeGuard: func(srv *stytchtest.Server) {
			srv.SetFault(stytchtest.EndpointJWKS, stytchtest.Fault{Status: http.StatusServiceUnavailable})
		},
		verifier: &verifier.Config{JWKSFetchTimeout: fetchTimeout, JWKSRetryMin: retryMin, JWKSRetryMax: retryMax},
		guard:    func(c *middleware.Config) { c.Remote.Timeout = remoteTimeout },
	})
	jwts := make([]string, pool)
	for i := range jwts {
		_, jwts[i] = s.session("viewer")
	}
	run := func(d time.Duration, onResult func(o outcome, sent time.Time)) *stats {
		st := newStats()
		stop := make(chan struct{})
		wait := hammer(workers, stop, func(w, i int) {
			sent := time.Now()
			o := s.get(pathRead, jwts[(w+i*workers)%len(jwts)])
			st.add(o)
			if onResult != nil {
				onResult(o, sent)
			}
			time.Sleep(2 * time.Millisecond)
		})
		time.Sleep(d)
		close(stop)
		wait()
		return st
	}

	// Phase A: JWKS down, Authenticate up.
	a := run(phase, nil)
	authA := s.srv.Calls(stytchtest.EndpointAuthenticate)
	figures(t, "JWKS down, Authenticate up: %v; remote calls %d", a, authA)
	if n := a.others(http.StatusOK); n != 0 {
		t.Errorf("phase A: %d requests not answered 200 although Stytch could decide: %v", n, a)
	}
	if a.bySource[string(middleware.SourceLocal)] != 0 || authA == 0 {
		t.Errorf("phase A: expected remote decisions only, got %v with %d remote calls", a, authA)
	}

	// Phase B: JWKS and Authenticate both hang. The remote cache (5 s of
	// fake time) is let expire so every request needs Stytch.
	s.clock.Advance(6 * time.Second)
	s.srv.SetFault(stytchtest.EndpointJWKS, stytchtest.Fault{Hang: true})
	s.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Hang: true})
	b := run(phase, nil)
	figures(t, "JWKS and Authenticate hanging: %v (allowed wait %v); breaker fast-fails %d", b, maxWait, s.tally.breakerOpen.Load())
	if n := b.others(http.StatusServiceUnavailable); n != 0 {
		t.Errorf("phase B: %d requests not answered 503 while Stytch hangs: %v", n, b)
	}
	if m := b.max(); m > maxWait {
		t.Errorf("phase B: a request waited %v, more than its timeouts allow (%v)", m, maxWait)
	}

	// Phase C: both heal; local verification must resume within one retry
	// step (plus the hanging fetch running out its timeout).
	var healed time.Time
	var localAt atomic.Int64
	s.srv.ClearFaults()
	healed = time.Now()
	c := run(retryMax+fetchTimeout+phase, func(o outcome, sent time.Time) {
		if o.source == string(middleware.SourceLocal) {
			localAt.CompareAndSwap(0, sent.UnixNano())
		}
	})
	st := s.ver.Status()
	figures(t, "after healing: %v; JWKS attempts during the cold start %d (verifier fetches=%d failures=%d)",
		c, s.srv.Calls(stytchtest.EndpointJWKS), st.Fetches, st.Failures)
	if localAt.Load() == 0 {
		t.Fatalf("local verification never resumed after the JWKS healed: %v, %+v", c, st)
	}
	resumed := time.Unix(0, localAt.Load()).Sub(healed)
	figures(t, "local verification resumed %v after healing (one retry step %v + fetch timeout %v)", resumed.Round(time.Millisecond), retryMax, fetchTimeout)
	if resumed > retryMax+fetchTimeout+500*time.Millisecond {
		t.Errorf("local verification resumed %v after healing, later than one retry step", resumed)
	}
	if n := c.others(http.StatusOK, http.StatusServiceUnavailable); n != 0 {
		t.Errorf("phase C: %d requests answered other than 200 or 503: %v", n, c)
	}
	for _, p := range []*stats{a, b, c} {
		if m := p.max(); m > maxWait {
			t.Errorf("a request waited %v, more than its timeouts allow (%v)", m, maxWait)
		}
	}
}

// Scenario 3: Stytch rotates its signing key while traffic flows; JWTs
// signed with the new key arrive while JWTs of the old key are still in
// use. Pass: no request fails, at most one extra JWKS fetch, no remote call.
func TestKeyRotationUnderLoad(t *testing.T) {
	var (
		phase   = pick(time.Second, 20*time.Second)
		workers = 4
		pool    = 8
	)
	s := newStack(t, stackOptions{})
	tokens := make([]string, pool)
	oldJWTs := make([]string, pool)
	for i := range tokens {
		tokens[i], oldJWTs[i] = s.session("viewer")
	}
	s.waitReady(oldJWTs[0])
	jwks0, auth0 := s.srv.Calls(stytchtest.EndpointJWKS), s.srv.Calls(stytchtest.EndpointAuthenticate)

	var newJWTs atomic.Pointer[[]string]
	oldSt, newSt := newStats(), newStats()
	stop := make(chan struct{})
	wait := hammer(workers, stop, func(w, i int) {
		if nj := newJWTs.Load(); nj != nil && i%2 == 1 {
			newSt.add(s.get(pathRead, (*nj)[(w+i)%len(*nj)]))
			return
		}
		oldSt.add(s.get(pathRead, oldJWTs[(w+i)%len(oldJWTs)]))
	})
	time.Sleep(phase / 3)
	kid, err := s.srv.RotateKey()
	if err != nil {
		t.Fatal(err)
	}
	fresh := make([]string, pool)
	for i, tok := range tokens {
		fresh[i] = s.mint(tok)
	}
	newJWTs.Store(&fresh)
	time.Sleep(phase * 2 / 3)
	close(stop)
	wait()

	extra := s.srv.Calls(stytchtest.EndpointJWKS) - jwks0
	remote := s.srv.Calls(stytchtest.EndpointAuthenticate) - auth0
	figures(t, "old-key JWTs: %v; new-key JWTs (kid %s): %v; extra JWKS fetches %d; remote calls %d",
		oldSt, kid, newSt, extra, remote)
	if n := oldSt.others(http.StatusOK) + newSt.others(http.StatusOK); n != 0 {
		t.Errorf("%d requests failed across the rotation", n)
	}
	if newSt.total() == 0 {
		t.Fatal("no request carried a new-key JWT")
	}
	if extra > 1 {
		t.Errorf("%d extra JWKS fetches for one rotation, want at most 1", extra)
	}
	if remote != 0 {
		t.Errorf("%d remote authenticate calls during the rotation, want 0", remote)
	}
}

// Scenario 3b: a key rotation right after one forged kid used up the
// unknown-kid refetch budget. JWTs of the new key are refused (the kid is
// unknown and no refetch is allowed) until the window passes; this test
// measures how many are refused and checks they are accepted once the
// window has passed.
func TestKeyRotationAfterForgedKID(t *testing.T) {
	s := newStack(t, stackOptions{})
	token, jwt := s.session("viewer")
	s.waitReady(jwt)
	if o := s.get(pathRead, forgeKID(jwt, "forged-kid")); o.status != http.StatusUnauthorized {
		t.Fatalf("forged kid answered %d, want 401", o.status)
	}
	if _, err := s.srv.RotateKey(); err != nil {
		t.Fatal(err)
	}
	fresh := s.mint(token)
	inWindow := newStats()
	for range 20 {
		inWindow.add(s.get(pathRead, fresh))
	}
	s.clock.Advance(verifier.DefaultUnknownKIDWindow)
	after := s.get(pathRead, fresh)
	figures(t, "new-key JWT inside the unknown-kid window after a forged kid: %v; after the window: %d %s",
		inWindow, after.status, after.source)
	if after.status != http.StatusOK || after.source != string(middleware.SourceLocal) {
		t.Errorf("new-key JWT after the refetch window: %d %q, want 200 local", after.status, after.source)
	}
}

// forgeKID returns jwt with its header's kid replaced; the signature no
// longer matches, which only matters once a key is found.
func forgeKID(jwt, kid string) string {
	parts := strings.SplitN(jwt, ".", 3)
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": kid, "typ": "JWT"})
	return base64.RawURLEncoding.EncodeToString(h) + "." + parts[1] + "." + parts[2]
}

// Scenario 4: thousands of JWTs with random kids, mixed with valid traffic,
// over several refetch windows of fake time. Pass: at most one JWKS fetch
// per window, no remote Authenticate call, every forged JWT refused with
// 401, every valid request answered 200 locally.
func TestUnknownKIDFlood(t *testing.T) {
	var (
		forged  = pick(3000, 100000)
		windows = pick(3, 10)
		workers = 8
	)
	s := newStack(t, stackOptions{})
	token, jwt := s.session("viewer")
	s.waitReady(jwt)
	baseline := newStats()
	for range 200 {
		baseline.add(s.get(pathRead, jwt))
	}
	jwks0, auth0 := s.srv.Calls(stytchtest.EndpointJWKS), s.srv.Calls(stytchtest.EndpointAuthenticate)

	var cur atomic.Pointer[string]
	cur.Store(&jwt)
	valid, bad := newStats(), newStats()
	stop := make(chan struct{})
	wait := hammer(2, stop, func(_, _ int) { valid.add(s.get(pathRead, *cur.Load())) })
	start := time.Now()
	per := forged / windows
	for w := range windows {
		if w > 0 {
			// Next window: the refetch budget refills; a fresh JWT keeps
			// the valid traffic inside its five-minute lifetime.
			s.clock.Advance(verifier.DefaultUnknownKIDWindow + time.Second)
			next := s.mint(token)
			cur.Store(&next)
		}
		forEach(per, workers, func(i int) {
			bad.add(s.get(pathRead, forgeKID(jwt, fmt.Sprintf("jwk-forged-%d-%d", w, i))))
		})
	}
	elapsed := time.Since(start)
	close(stop)
	wait()

	fetches := s.srv.Calls(stytchtest.EndpointJWKS) - jwks0
	remote := s.srv.Calls(stytchtest.EndpointAuthenticate) - auth0
	figures(t, "%d forged JWTs over %d windows in %v (%.0f req/s): %v", per*windows, windows, elapsed.Round(time.Millisecond), float64(bad.total())/elapsed.Seconds(), bad)
	figures(t, "valid traffic during the flood: %v; before the flood: %v", valid, baseline)
	figures(t, "JWKS fetches %d (at most %d allowed), remote authenticate calls %d", fetches, windows, remote)
	if fetches > int64(windows) {
		t.Errorf("%d JWKS fetches over %d refetch windows, want at most one per window", fetches, windows)
	}
	if fetches == 0 {
		t.Errorf("no JWKS refetch at all: unknown kids were not looked up")
	}
	if remote != 0 {
		t.Errorf("%d remote authenticate calls for forged kids, want 0", remote)
	}
	if n := bad.others(http.StatusUnauthorized); n != 0 {
		t.Errorf("%d forged JWTs not refused with 401: %v", n, bad)
	}
	if n := valid.others(http.StatusOK); n != 0 || valid.bySource[string(middleware.SourceLocal)] != valid.total() {
		t.Errorf("valid traffic affected by the flood: %v", valid)
	}
}

// Scenario 4b: the same flood while the JWKS endpoint is down but the held
// keys are still fresh. Pass as in scenario 4: every forged JWT refused,
// valid traffic unaffected, at most one JWKS fetch per window, and no
// remote Authenticate call: the key set is usable, so a kid still unknown
// after the refetch attempt is forged (DESIGN.md: "still unknown -> 401 with
// no remote call"; the remote path is for keys that are unavailable, i.e.
// none fetched yet or stale beyond the maximum). Sending each forged JWT to
// Stytch would let anyone turn a JWKS outage into a flood of authenticated
// calls against the project's rate limit.
func TestUnknownKIDFloodDuringJWKSOutage(t *testing.T) {
	var (
		forged  = pick(600, 20000)
		workers = 8
	)
	s := newStack(t, stackOptions{})
	_, jwt := s.session("viewer")
	s.waitReady(jwt)
	s.srv.SetFault(stytchtest.EndpointJWKS, stytchtest.Fault{Status: http.StatusServiceUnavailable})
	jwks0, auth0 := s.srv.Calls(stytchtest.EndpointJWKS), s.srv.Calls(stytchtest.EndpointAuthenticate)

	valid, bad := newStats(), newStats()
	stop := make(chan struct{})
	wait := hammer(2, stop, func(_, _ int) { valid.add(s.get(pathRead, jwt)) })
	forEach(forged, workers, func(i int) {
		bad.add(s.get(pathRead, forgeKID(jwt, fmt.Sprintf("jwk-forged-%d", i))))
	})
	close(stop)
	wait()

	fetches := s.srv.Calls(stytchtest.EndpointJWKS) - jwks0
	remote := s.srv.Calls(stytchtest.EndpointAuthenticate) - auth0
	figures(t, "forged JWTs with the JWKS endpoint down: %v; JWKS fetches %d; remote authenticate calls %d (%.2f per forged JWT)",
		bad, fetches, remote, float64(remote)/float64(forged))
	figures(t, "valid traffic: %v", valid)
	if n := bad.others(http.StatusUnauthorized, http.StatusServiceUnavailable); n != 0 {
		t.Errorf("%d forged JWTs answered other than 401/503: %v", n, bad)
	}
	if n := valid.others(http.StatusOK); n != 0 {
		t.Errorf("valid traffic affected: %v", valid)
	}
	if fetches > 1 {
		t.Errorf("%d JWKS fetches inside one refetch window, want at most 1", fetches)
	}
	if remote != 0 {
		t.Errorf("%d of %d forged JWTs were sent to Stytch's Authenticate while fresh keys were held, want 0", remote, forged)
	}
}
