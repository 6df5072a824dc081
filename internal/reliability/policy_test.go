package reliability

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/rbac"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// Scenario 7: the policy endpoints fail. Pass: the last good policy keeps
// deciding locally (allow and deny) up to its maximum staleness; past it no
// request is allowed on a guess: Stytch's Authenticate decides with an
// authorization_check, and when Stytch is down too every guarded route
// answers 503, including while the policy endpoint hangs; once the endpoint
// heals, local decisions resume.
func TestPolicyOutage(t *testing.T) {
	var (
		maxStale      = rbac.DefaultMaxStaleness
		step          = pick(10*time.Minute, time.Minute) // fake time per step
		fetchTimeout  = pick(300*time.Millisecond, 2*time.Second)
		remoteTimeout = pick(300*time.Millisecond, middleware.DefaultRemoteTimeout)
		perStep       = pick(5, 20)
	)
	maxWait := fetchTimeout + 2*remoteTimeout + time.Second + 500*time.Millisecond
	s := newStack(t, stackOptions{
		policies: &rbac.Config{MaxStaleness: maxStale, FetchTimeout: fetchTimeout},
		guard:    func(c *middleware.Config) { c.Remote.Timeout = remoteTimeout },
	})
	token, jwt := s.session("viewer") // may read documents, may not write them
	s.waitReady(jwt)
	fetched := s.clock.Now()
	policyCalls := func() int64 {
		return s.srv.Calls(stytchtest.EndpointPolicy) + s.srv.Calls(stytchtest.EndpointOrgPolicy)
	}
	p0, auth0 := policyCalls(), s.srv.Calls(stytchtest.EndpointAuthenticate)
	s.srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Status: http.StatusServiceUnavailable})
	s.srv.SetFault(stytchtest.EndpointOrgPolicy, stytchtest.Fault{Status: http.StatusServiceUnavailable})

	// Up to the maximum staleness: local decisions on the stale policy.
	stale := newStats()
	var last time.Duration
	for age := step; age <= maxStale; age += step {
		s.clock.Set(fetched.Add(age))
		jwt = s.mint(token)
		for range perStep {
			read, write := s.get(pathRead, jwt), s.get(pathWrite, jwt)
			stale.add(read)
			if read.status != http.StatusOK || read.source != string(middleware.SourceLocal) {
				t.Fatalf("policy %v old (max %v): read answered %d %q, want 200 local", age, maxStale, read.status, read.source)
			}
			if write.status != http.StatusForbidden {
				t.Fatalf("policy %v old: write answered %d, want 403 from the stale policy", age, write.status)
			}
		}
		last = age
	}
	staleAuth := s.srv.Calls(stytchtest.EndpointAuthenticate) - auth0
	figures(t, "stale policy served up to %v old: reads %v; policy fetch attempts %d; remote calls %d", last, stale, policyCalls()-p0, staleAuth)
	if staleAuth != 0 {
		t.Errorf("%d remote calls while a usable stale policy was held", staleAuth)
	}

	// Past the maximum staleness, Stytch up: Stytch decides.
	s.clock.Set(fetched.Add(maxStale + time.Second))
	jwt = s.mint(token)
	a1 := s.srv.Calls(stytchtest.EndpointAuthenticate)
	read, write := s.get(pathRead, jwt), s.get(pathWrite, jwt)
	asked := s.srv.Calls(stytchtest.EndpointAuthenticate) - a1
	figures(t, "policy %v old, Stytch up: read %d, write %d, remote authorization calls %d", maxStale+time.Second, read.status, write.status, asked)
	if read.status != http.StatusOK || write.status != http.StatusForbidden || asked != 2 {
		t.Errorf("past the maximum staleness with Stytch up: read %d, write %d, %d remote calls; want 200, 403 and 2 calls", read.status, write.status, asked)
	}

	// Past the maximum staleness, Authenticate down too: 503, never allow.
	s.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Status: http.StatusServiceUnavailable})
	s.clock.Advance(6 * time.Second) // past the short remote cache
	jwt = s.mint(token)
	down := newStats()
	for range 4 * perStep {
		down.add(s.get(pathRead, jwt))
		down.add(s.get(pathWrite, jwt))
	}
	figures(t, "policy and Authenticate down: %v", down)
	if n := down.others(http.StatusServiceUnavailable); n != 0 {
		t.Errorf("%d guarded requests answered other than 503 with no usable policy and Stytch down: %v", n, down)
	}

	// Policy endpoint hanging, Authenticate down, past every retry delay:
	// each wait stays within the fetch and remote timeouts.
	s.srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Hang: true})
	s.srv.SetFault(stytchtest.EndpointOrgPolicy, stytchtest.Fault{Hang: true})
	s.clock.Advance(rbac.DefaultRefreshInterval + time.Minute)
	jwt = s.mint(token)
	hung := newStats()
	for range perStep {
		hung.add(s.get(pathRead, jwt))
	}
	figures(t, "policy hanging, Authenticate down: %v (allowed wait %v)", hung, maxWait)
	if n := hung.others(http.StatusServiceUnavailable); n != 0 {
		t.Errorf("%d requests answered other than 503 while the policy endpoint hangs: %v", n, hung)
	}
	if m := hung.max(); m > maxWait {
		t.Errorf("a request waited %v, more than the fetch and remote timeouts allow (%v)", m, maxWait)
	}

	// Healing: one refresh and decisions are local again.
	s.srv.ClearFaults()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The first Refresh may join a fetch started while the endpoint hung,
	// which ends with its fetch timeout; the next one reaches the healed
	// endpoint.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = s.pol.Refresh(ctx); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("Refresh after healing: %v", err)
	}
	a2 := s.srv.Calls(stytchtest.EndpointAuthenticate)
	read, write = s.get(pathRead, jwt), s.get(pathWrite, jwt)
	figures(t, "after healing: read %d %s, write %d; remote calls %d", read.status, read.source, write.status, s.srv.Calls(stytchtest.EndpointAuthenticate)-a2)
	if read.status != http.StatusOK || write.status != http.StatusForbidden || s.srv.Calls(stytchtest.EndpointAuthenticate) != a2 {
		t.Errorf("after healing: read %d, write %d, %d remote calls; want local 200 and 403",
			read.status, write.status, s.srv.Calls(stytchtest.EndpointAuthenticate)-a2)
	}
}
