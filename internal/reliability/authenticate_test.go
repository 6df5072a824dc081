package reliability

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// expiredPool creates valid sessions and revoked ones, warms the stack with
// one of them, then moves the fake clock past every JWT's exp: each request
// with these JWTs needs Stytch's Authenticate.
func expiredPool(s *stack, valid, revoked int) (validJWTs, revokedJWTs []string) {
	s.t.Helper()
	validJWTs = make([]string, valid)
	for i := range validJWTs {
		_, validJWTs[i] = s.session("viewer")
	}
	revokedJWTs = make([]string, revoked)
	for i := range revokedJWTs {
		var tok string
		tok, revokedJWTs[i] = s.session("viewer")
		s.srv.RevokeSession(tok)
	}
	s.waitReady(validJWTs[0])
	s.clock.Advance(6 * time.Minute)
	return validJWTs, revokedJWTs
}

// callLog samples an endpoint's call count so a test can tell how many
// calls Stytch received between two instants.
type callLog struct {
	mu      sync.Mutex
	times   []time.Time
	counts  []int64
	stopped chan struct{}
	done    chan struct{}
}

func sampleCalls(srv *stytchtest.Server, ep stytchtest.Endpoint, every time.Duration) *callLog {
	l := &callLog{stopped: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			l.mu.Lock()
			l.times = append(l.times, time.Now())
			l.counts = append(l.counts, srv.Calls(ep))
			l.mu.Unlock()
			select {
			case <-l.stopped:
				return
			case <-t.C:
			}
		}
	}()
	return l
}

func (l *callLog) stop() {
	close(l.stopped)
	<-l.done
}

// at returns the call count sampled last at or before t.
func (l *callLog) at(t time.Time) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := sort.Search(len(l.times), func(i int) bool { return l.times[i].After(t) })
	if i == 0 {
		return 0
	}
	return l.counts[i-1]
}

// Scenario 5: Stytch's Authenticate fails in four ways while every request
// carries an expired JWT (so each needs Stytch). Pass: valid sessions get
// 200 or 503 and revoked ones 401 or 503 (never a 200 for an invalid
// session, never a 401 for a valid one), no request outlives the remote
// timeouts, the breaker opens within 10 s, lets probes through while open,
// and traffic recovers within 10 s of healing.
func TestAuthenticateFaults(t *testing.T) {
	openFor := pick(time.Second, middleware.DefaultBreakerOpenFor)
	faultPhase := pick(openFor+1500*time.Millisecond, 30*time.Second)
	cases := []struct {
		name          string
		fault         stytchtest.Fault
		remoteTimeout time.Duration
		wantOpen      bool
		// retryAfter: Stytch said when to come back, so the Guard fails
		// fast on its own until then and the breaker need not open (the
		// Retry-After assertion below checks the fast failing).
		retryAfter bool
	}{
		{"500", stytchtest.Fault{Status: http.StatusInternalServerError}, 0, true, false},
		{"429 with Retry-After", stytchtest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 3 * openFor}, 0, false, true},
		{"2.5s latency", stytchtest.Fault{Latency: 2500 * time.Millisecond}, 0, false, false},
		{"2.5s latency past a 1s timeout", stytchtest.Fault{Latency: 2500 * time.Millisecond}, time.Second, true, false},
		{"connection reset", stytchtest.Fault{Drop: true}, 0, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			timeout := c.remoteTimeout
			if timeout == 0 {
				timeout = middleware.DefaultRemoteTimeout
			}
			// The remote call's own deadline covers two attempts and the
			// queue for a slot; a second of slack for a loaded machine.
			maxWait := 2*timeout + 2*time.Second
			s := newStack(t, stackOptions{guard: func(cfg *middleware.Config) {
				cfg.Remote.BreakerOpenFor = openFor
				cfg.Remote.Timeout = c.remoteTimeout
				cfg.Remote.CacheTTL = -1 // every request asks Stytch
			}})
			valid, revoked := expiredPool(s, 12, 4)
			s.tally.reset()
			calls := sampleCalls(s.srv, stytchtest.EndpointAuthenticate, 10*time.Millisecond)
			defer calls.stop()

			var (
				validSt, revokedSt = newStats(), newStats()
				healedAt           atomic.Int64 // UnixNano
				first429At         atomic.Int64 // UnixNano of the first 503 carrying Stytch's Retry-After
				stytchRA           = strconv.Itoa(int(c.fault.RetryAfter / time.Second))
				recoveredAt        atomic.Int64 // UnixNano of the first 200 sent after healing
				raMu               sync.Mutex
				retryAfter         = map[string]int{}
			)
			stop := make(chan struct{})
			start := time.Now()
			s.srv.SetFault(stytchtest.EndpointAuthenticate, c.fault)
			wait := hammer(6, stop, func(w, i int) {
				k := w*7 + i
				sent := time.Now()
				if k%5 == 4 {
					revokedSt.add(s.get(pathRead, revoked[k%len(revoked)]))
				} else {
					o := s.get(pathRead, valid[k%len(valid)])
					validSt.add(o)
					if o.status == http.StatusOK {
						if h := healedAt.Load(); h != 0 && sent.UnixNano() >= h {
							recoveredAt.CompareAndSwap(0, time.Now().UnixNano())
						}
					}
					if o.status == http.StatusServiceUnavailable {
						if c.fault.RetryAfter > 0 && o.retryAfter == stytchRA {
							first429At.CompareAndSwap(0, time.Now().UnixNano())
						}
						raMu.Lock()
						retryAfter[o.retryAfter]++
						raMu.Unlock()
					}
				}
				time.Sleep(10 * time.Millisecond)
			})
			time.Sleep(faultPhase)
			faultEnd := time.Now()
			s.srv.ClearFault(stytchtest.EndpointAuthenticate)
			healedAt.Store(time.Now().UnixNano())
			for recoveredAt.Load() == 0 && time.Since(faultEnd) < 15*time.Second {
				time.Sleep(10 * time.Millisecond)
			}
			close(stop)
			wait()

			opened := s.tally.firstOpen.Load()
			fig := []string{"valid: " + validSt.String(), "revoked: " + revokedSt.String()}
			if opened != 0 && !c.retryAfter {
				openAt := time.Unix(0, opened)
				// Calls in flight when the breaker opened land within
				// moments; later calls are the probes.
				settle := openAt.Add(200 * time.Millisecond)
				probes := calls.at(faultEnd) - calls.at(settle)
				maxProbes := 2 * (int64(faultEnd.Sub(settle)/openFor) + 1) // each probe may retry once
				figures(t, "breaker opened %v after the fault began; %d Authenticate calls before, %d while open (probes, at most %d allowed); fast-fails %d open + %d half-open",
					openAt.Sub(start).Round(time.Millisecond), calls.at(settle), probes, maxProbes,
					s.tally.breakerOpen.Load(), s.tally.breakerHalfOpen.Load())
				if d := openAt.Sub(start); d > 10*time.Second {
					t.Errorf("breaker opened %v after the fault began, want within 10 s", d)
				}
				if faultEnd.Sub(settle) > openFor+500*time.Millisecond && probes < 1 {
					t.Errorf("no probe reached Stytch while the breaker was open for %v (open period %v)", faultEnd.Sub(settle), openFor)
				}
				if probes > maxProbes {
					t.Errorf("%d Authenticate calls while the breaker was open, want at most %d", probes, maxProbes)
				}
			} else if c.wantOpen {
				t.Errorf("the breaker never opened during %v of failures (%d Authenticate calls)", faultPhase, calls.at(faultEnd))
			}
			if !c.wantOpen && !c.retryAfter && opened != 0 {
				t.Errorf("the breaker opened although Stytch answered within the timeout")
			}
			raMu.Lock()
			ras := make([]string, 0, len(retryAfter))
			for v, n := range retryAfter {
				ras = append(ras, v+"s x"+strconv.Itoa(n))
			}
			raMu.Unlock()
			slices.Sort(ras)
			fig = append(fig, "Retry-After of 503s: "+strings.Join(ras, ", "))
			if rec := recoveredAt.Load(); rec != 0 {
				fig = append(fig, "recovered "+time.Unix(0, rec).Sub(faultEnd).Round(time.Millisecond).String()+" after healing")
			}
			figures(t, "%s", strings.Join(fig, "; "))

			if n := validSt.others(http.StatusOK, http.StatusServiceUnavailable); n != 0 {
				t.Errorf("%d requests of valid sessions answered other than 200/503: %v", n, validSt)
			}
			if n := revokedSt.others(http.StatusUnauthorized, http.StatusServiceUnavailable); n != 0 {
				t.Errorf("%d requests of revoked sessions answered other than 401/503: %v", n, revokedSt)
			}
			for _, st := range []*stats{validSt, revokedSt} {
				if m := st.max(); m > maxWait {
					t.Errorf("a request waited %v, more than the remote timeouts allow (%v)", m, maxWait)
				}
			}
			rec := recoveredAt.Load()
			if rec == 0 {
				t.Errorf("no valid request succeeded within 15 s of healing")
			} else if d := time.Unix(0, rec).Sub(faultEnd); d > 10*time.Second {
				t.Errorf("recovered %v after healing, want within 10 s", d)
			}
			if c.fault.RetryAfter > 0 {
				// Honouring Retry-After: once Stytch has said when to come
				// back, no call reaches it before then (calls already in
				// flight land within the first moments).
				if first429At.Load() == 0 {
					t.Errorf("no 503 carried Stytch's Retry-After of %s s: %v", stytchRA, retryAfter)
				} else {
					first := time.Unix(0, first429At.Load())
					from, to := first.Add(200*time.Millisecond), first.Add(c.fault.RetryAfter-100*time.Millisecond)
					if faultEnd.Before(to) {
						to = faultEnd
					}
					early := calls.at(to) - calls.at(from)
					figures(t, "Authenticate calls between %v and %v after Stytch's first 429 (Retry-After %v): %d",
						from.Sub(first), to.Sub(first).Round(time.Millisecond), c.fault.RetryAfter, early)
					if early != 0 {
						t.Errorf("%d Authenticate calls reached Stytch before the Retry-After of its 429 elapsed, want 0", early)
					}
				}
			}
			if !c.wantOpen && validSt.count(http.StatusOK) == 0 {
				t.Errorf("no valid request succeeded through the slow Authenticate: %v", validSt)
			}
		})
	}
}

// inFlight wraps the Guard's transport to Stytch and records the peak
// number of Authenticate requests in flight.
type inFlight struct {
	base      http.RoundTripper
	cur, peak atomic.Int64
}

func (f *inFlight) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/sessions/authenticate") {
		return f.base.RoundTrip(r)
	}
	n := f.cur.Add(1)
	for p := f.peak.Load(); n > p && !f.peak.CompareAndSwap(p, n); p = f.peak.Load() {
	}
	defer f.cur.Add(-1)
	return f.base.RoundTrip(r)
}

// fire sends n requests at once (each on its own connection), released
// together, and returns their outcomes and the wall time.
func fire(s *stack, n int, jwt func(i int) string) (*stats, time.Duration) {
	st := newStats()
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Go(func() {
			ready.Done()
			<-start
			st.add(s.get(pathRead, jwt(i)))
		})
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	return st, time.Since(t0)
}

// Scenario 6: herds. 1,000 concurrent requests with one expired JWT make
// exactly one remote call; many concurrent requests with distinct expired
// JWTs keep the remote calls in flight within RemoteMaxConcurrent.
func TestHerds(t *testing.T) {
	t.Run("same expired JWT", func(t *testing.T) {
		const n = 1000
		// The guard's clock is the fake one, so the short cache never
		// expires during the herd; a generous remote timeout keeps a
		// loaded machine (1,000 goroutines under -race beside another
		// test run) from timing the single call out and retrying it.
		s := newStack(t, stackOptions{guard: func(c *middleware.Config) { c.Remote.Timeout = 30 * time.Second }})
		valid, _ := expiredPool(s, 1, 0)
		s.tally.reset()
		auth0 := s.srv.Calls(stytchtest.EndpointAuthenticate)
		// A slow Stytch keeps the single call in flight while the herd
		// arrives.
		s.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Latency: 300 * time.Millisecond})
		st, wall := fire(s, n, func(int) string { return valid[0] })
		calls := s.srv.Calls(stytchtest.EndpointAuthenticate) - auth0
		figures(t, "%d concurrent requests, one expired JWT: %v in %v; remote calls %d; coalesced waiters %d, served from the short cache %d",
			n, st, wall.Round(time.Millisecond), calls, s.tally.remote.Load(), s.tally.cache.Load())
		if calls != 1 {
			t.Errorf("%d remote Authenticate calls for one expired JWT, want exactly 1", calls)
		}
		if k := st.others(http.StatusOK); k != 0 {
			t.Errorf("%d requests of the herd failed: %v", k, st)
		}
	})
	t.Run("distinct expired JWTs", func(t *testing.T) {
		n := pick(200, 1000)
		const limit = 16
		tr := http.DefaultTransport.(*http.Transport).Clone()
		t.Cleanup(tr.CloseIdleConnections)
		probe := &inFlight{base: tr}
		s := newStack(t, stackOptions{
			stytchHTTP: &http.Client{Transport: probe},
			// A generous timeout: on a loaded machine a call timed out and
			// retried would count twice.
			guard: func(c *middleware.Config) { c.Remote.MaxConcurrent, c.Remote.Timeout = limit, 30*time.Second },
		})
		jwts := make([]string, n)
		forEach(n, 2, func(i int) { _, jwts[i] = s.session("viewer") })
		s.waitReady(jwts[0])
		s.clock.Advance(6 * time.Minute)
		auth0 := s.srv.Calls(stytchtest.EndpointAuthenticate)
		probe.peak.Store(0)
		s.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Latency: 20 * time.Millisecond})
		st, wall := fire(s, n, func(i int) string { return jwts[i] })
		calls := s.srv.Calls(stytchtest.EndpointAuthenticate) - auth0
		figures(t, "%d concurrent requests, distinct expired JWTs: %v in %v; remote calls %d; peak in flight %d (limit %d)",
			n, st, wall.Round(time.Millisecond), calls, probe.peak.Load(), limit)
		if p := probe.peak.Load(); p > limit {
			t.Errorf("%d Authenticate calls in flight at once, more than RemoteMaxConcurrent %d", p, limit)
		}
		if k := st.others(http.StatusOK, http.StatusServiceUnavailable); k != 0 {
			t.Errorf("%d requests of the herd answered other than 200/503: %v", k, st)
		}
		if calls > int64(n) || calls < int64(st.count(http.StatusOK)) {
			t.Errorf("%d remote calls for %d distinct expired JWTs (%d answered 200), want one per JWT at most", calls, n, st.count(http.StatusOK))
		}
		// The bounded herd fits in the remote call's deadline at this
		// limit, so every request must succeed. The full herd of 1,000 may
		// wait longer for a slot than that deadline (the emulator signs a
		// fresh JWT per call, a few milliseconds each), and those requests
		// get 503: a bounded wait, reported above.
		if !long() && st.count(http.StatusOK) != n {
			t.Errorf("%d requests of the herd failed: %v", n-st.count(http.StatusOK), st)
		}
	})
}
