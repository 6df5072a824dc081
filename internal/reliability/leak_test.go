package reliability

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/rbac"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// Scenario 9: Close while every kind of Stytch call hangs mid-request (a
// remote Authenticate, an unknown-kid JWKS refetch, a policy fetch). Pass:
// Guard.Close returns promptly, every request in flight is answered (503
// or 401, never left hanging), and once the stack is torn down the
// goroutines are back to the count before the stack started. TestMain's
// goleak.VerifyTestMain checks the same for the whole package.
func TestCloseUnderLoadLeavesNoGoroutines(t *testing.T) {
	baseline := goleak.IgnoreCurrent()
	t.Run("stack", func(t *testing.T) {
		s := newStack(t, stackOptions{guard: func(c *middleware.Config) { c.Remote.Timeout = 10 * time.Second }})
		token, jwt := s.session("viewer")
		s.waitReady(jwt)
		valid, _ := expiredPool(s, 4, 0) // the clock is now 6 minutes on
		// Age the policy past its staleness, so requests with a fresh JWT
		// need a policy fetch.
		s.clock.Advance(rbac.DefaultMaxStaleness)
		fresh := s.mint(token)
		s.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Hang: true})
		s.srv.SetFault(stytchtest.EndpointJWKS, stytchtest.Fault{Hang: true})
		s.srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Hang: true})
		s.srv.SetFault(stytchtest.EndpointOrgPolicy, stytchtest.Fault{Hang: true})

		before := map[stytchtest.Endpoint]int64{}
		eps := []stytchtest.Endpoint{stytchtest.EndpointAuthenticate, stytchtest.EndpointJWKS, stytchtest.EndpointPolicy}
		for _, ep := range eps {
			before[ep] = s.srv.Calls(ep)
		}
		st := newStats()
		var sent atomic.Int64
		stop := make(chan struct{})
		wait := hammer(6, stop, func(w, i int) {
			if i > 0 {
				<-stop // one request per worker: each hangs until Close
				return
			}
			sent.Add(1)
			switch w % 3 {
			case 0: // expired JWT: remote Authenticate hangs
				st.add(s.get(pathRead, valid[w%len(valid)]))
			case 1: // unknown kid: the shared JWKS refetch hangs
				st.add(s.get(pathRead, forgeKID(fresh, "jwk-unknown")))
			case 2: // fresh JWT, policy past its staleness: the fetch hangs
				st.add(s.get(pathRead, fresh))
			}
		})
		time.Sleep(300 * time.Millisecond)
		if st.total() != 0 {
			t.Logf("%d requests ended before Close: %v", st.total(), st)
		}
		for _, ep := range eps {
			if s.srv.Calls(ep) == before[ep] {
				t.Errorf("no %s call was hanging at Close", ep)
			}
		}
		closeStart := time.Now()
		if err := s.guard.Close(); err != nil {
			t.Errorf("Guard.Close: %v", err)
		}
		closing := time.Since(closeStart)
		close(stop)
		done := make(chan struct{})
		go func() { wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("requests still hanging 10 s after Guard.Close: %v", st)
		}
		drained := time.Since(closeStart)
		figures(t, "Guard.Close took %v with %d requests hanging on Stytch; all answered %v after Close began: %v",
			closing.Round(time.Microsecond), sent.Load(), drained.Round(time.Millisecond), st)
		if closing > 2*time.Second {
			t.Errorf("Guard.Close took %v", closing)
		}
		if n := st.others(http.StatusServiceUnavailable, http.StatusUnauthorized); n != 0 {
			t.Errorf("%d requests in flight at Close answered other than 503/401: %v", n, st)
		}
	})
	// The stack's cleanups have run: emulator, guard, verifier, policy
	// cache, application server and clients are all closed.
	goleak.VerifyNone(t, baseline)
}
