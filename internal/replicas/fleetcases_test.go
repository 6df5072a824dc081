package replicas

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stytchguard/stytchguard/fleet"
	"github.com/stytchguard/stytchguard/internal/testkit"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// await polls replica i with cred until it answers code, and fails the
// test after a bound far beyond what the fleet needs (milliseconds).
func (c *cluster) await(i int, cred string, code int) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, src := c.get(i, cred)
		if got == code {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("replica %d still answers %d %s, want %d", i, got, src, code)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pause freezes Redis (SIGSTOP) until resume, or the test's end, and waits
// until every replica knows it is cut off from the revocation feed.
func (c *cluster) pause() {
	c.t.Helper()
	c.redis.Pause()
	paused := true
	c.t.Cleanup(func() {
		if paused {
			c.redis.Resume()
		}
	})
	c.resume = func() { c.redis.Resume(); paused = false }
	c.waitFleets(func(err error) bool { return errors.Is(err, fleet.ErrCutOff) }, "cut off")
}

// waitFleets waits until every replica's fleet state satisfies ok.
func (c *cluster) waitFleets(ok func(error) bool, what string) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for i, f := range c.fleets {
		for !ok(f.Current()) {
			if time.Now().After(deadline) {
				c.t.Fatalf("replica %d not %s: %v", i, what, f.Current())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestOpaqueTokenRefusedEverywhereAfterRevoke: after Revoke on one
// replica, the session's opaque token is refused by the two others too,
// although each holds Stytch's answer for it in its remote cache.
func TestOpaqueTokenRefusedEverywhereAfterRevoke(t *testing.T) {
	c := newCluster(t, nil)
	tok, jwt := c.session("member-test-opaque-revoked")
	_, other := c.session("member-test-opaque-other")
	c.ready(jwt)
	for i := range c.guards {
		if code, _ := c.get(i, tok); code != 200 {
			t.Fatalf("replica %d refused a live opaque token: %d", i, code)
		}
		// The answer is now in replica i's remote cache.
		if code, src := c.get(i, tok); code != 200 || src != "cache" {
			t.Fatalf("replica %d: %d %s, want a cached answer", i, code, src)
		}
	}
	if err := c.guards[0].Revoke(context.Background(), principalOn(t, c, 0, tok)); err != nil {
		t.Fatal(err)
	}
	if code, _ := c.get(0, tok); code != 401 {
		t.Fatalf("the revoking replica accepts the revoked token: %d", code)
	}
	for i := 1; i < 3; i++ {
		// The attack: replay the opaque token on a replica whose remote
		// cache still holds Stytch's earlier "valid".
		c.await(i, tok, 401)
		if code, _ := c.get(i, jwt); code != 401 {
			t.Fatalf("replica %d refuses the token but accepts the session's JWT: %d", i, code)
		}
		if code, _ := c.get(i, other); code != 200 {
			t.Fatalf("replica %d refuses another session: %d", i, code)
		}
	}
}

// TestFleetOutageMaxTokenAge: while Redis is paused, a JWT older than
// FleetOutageMaxTokenAge (30 s) is checked with Stytch, a younger one is
// accepted locally, and a session revoked at Stytch during the outage is
// refused for its old JWT; once current again, the old JWT is local again.
func TestFleetOutageMaxTokenAge(t *testing.T) {
	c := newCluster(t, nil)
	_, old := c.session("member-test-outage-old")
	tokRevoked, revoked := c.session("member-test-outage-revoked")
	c.ready(old)
	for i := range c.guards {
		if code, src := c.get(i, revoked); code != 200 || src != "local" {
			t.Fatalf("replica %d: %d %s before the outage", i, code, src)
		}
	}
	c.pause()
	c.clock.Advance(middleware.DefaultFleetOutageMaxTokenAge + time.Second)
	c.srv.ResetCalls()

	_, fresh := c.session("member-test-outage-fresh")
	for i := range c.guards {
		if code, src := c.get(i, fresh); code != 200 || src != "local" {
			t.Fatalf("replica %d: a fresh JWT during the outage: %d %s, want 200 local", i, code, src)
		}
	}
	if n := c.srv.Calls(stytchtest.EndpointAuthenticate); n != 0 {
		t.Fatalf("%d Stytch calls for a fresh JWT, want 0", n)
	}
	for i := range c.guards {
		if code, src := c.get(i, old); code != 200 || src != "remote" {
			t.Fatalf("replica %d: a JWT older than the bound during the outage: %d %s, want 200 remote", i, code, src)
		}
		if n := c.srv.Calls(stytchtest.EndpointAuthenticate); n != int64(i+1) {
			t.Fatalf("after replica %d: %d Stytch calls, want %d", i, n, i+1)
		}
	}
	// The attack: a session revoked at Stytch (not through this fleet)
	// while the replicas cannot hear of revocations; its JWT, still
	// within its exp, is older than the bound.
	c.srv.RevokeSession(tokRevoked)
	for i := range c.guards {
		if code, src := c.get(i, revoked); code != 401 {
			t.Fatalf("replica %d accepts a session revoked during the outage: %d %s", i, code, src)
		}
	}

	c.resume()
	c.waitFleets(func(err error) bool { return err == nil }, "current")
	for i := range c.guards {
		if code, src := c.get(i, old); code != 200 || src != "local" {
			t.Fatalf("replica %d after the outage: %d %s, want 200 local", i, code, src)
		}
	}
}

// TestRevokeDuringOutage: Revoke while Redis is paused revokes at Stytch
// and on this replica, says the announcement is queued, and the queued
// announcement reaches the other replicas after SIGCONT.
func TestRevokeDuringOutage(t *testing.T) {
	c := newCluster(t, nil)
	tok, jwt := c.session("member-test-revoke-outage")
	c.ready(jwt)
	p := c.principal(jwt)
	c.pause()
	err := c.guards[0].Revoke(context.Background(), p)
	if !errors.Is(err, middleware.ErrNotAnnounced) || !errors.Is(err, fleet.ErrQueued) {
		t.Fatalf("Revoke during the outage: %v, want ErrNotAnnounced and fleet.ErrQueued", err)
	}
	if n := c.srv.Calls(stytchtest.EndpointRevoke); n != 1 {
		t.Fatalf("%d revocations at Stytch, want 1", n)
	}
	for _, cred := range []string{jwt, tok} {
		if code, _ := c.get(0, cred); code != 401 {
			t.Fatalf("the revoking replica accepts the revoked session: %d", code)
		}
	}
	// The others cannot hear of it yet, and the JWT is younger than
	// FleetOutageMaxTokenAge: they accept it locally (the outage bound).
	for i := 1; i < 3; i++ {
		if code, src := c.get(i, jwt); code != 200 || src != "local" {
			t.Fatalf("replica %d during the outage: %d %s", i, code, src)
		}
	}
	c.resume()
	for i := 1; i < 3; i++ {
		c.await(i, jwt, 401)
	}
	if n := c.srv.Calls(stytchtest.EndpointRevoke); n != 1 {
		t.Fatalf("%d revocations at Stytch, want 1", n)
	}
}

// TestSharedRemoteCacheExpiredJWT: one expired JWT (its session still
// valid) asked of three replicas in turn costs one Stytch call.
func TestSharedRemoteCacheExpiredJWT(t *testing.T) {
	c := newCluster(t, nil)
	_, jwt := c.session("member-test-expired-jwt")
	c.ready(jwt)
	c.clock.Advance(6 * time.Minute) // past exp and the leeway
	c.srv.ResetCalls()
	for i := range c.guards {
		want := "cache"
		if i == 0 {
			want = "remote"
		}
		if code, src := c.get(i, jwt); code != 200 || src != want {
			t.Fatalf("replica %d: %d %s, want 200 %s", i, code, src, want)
		}
	}
	if n := c.srv.Calls(stytchtest.EndpointAuthenticate); n != 1 {
		t.Fatalf("%d Stytch calls for one expired JWT on three replicas, want 1", n)
	}
}

// TestRevokeForgetsSharedAnswers: Revoke deletes the session's entries of
// the shared cache (and their index) from Redis, and only those.
func TestRevokeForgetsSharedAnswers(t *testing.T) {
	c := newCluster(t, nil)
	tok, jwt := c.session("member-test-forget")
	tokOther, _ := c.session("member-test-forget-other")
	c.ready(jwt)
	for _, cred := range []string{tok, tokOther} {
		if code, src := c.get(0, cred); code != 200 || src != "remote" {
			t.Fatalf("%d %s, want 200 remote", code, src)
		}
	}
	opt, err := redis.ParseURL(c.url)
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opt)
	defer rc.Close()
	keys := func(kind string) []string {
		t.Helper()
		ks, err := rc.Keys(context.Background(), "stytchguard:"+c.srv.ProjectID+":"+kind+":*").Result()
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ks)
		return ks
	}
	before, indexes := keys("auth"), keys("sess")
	if len(before) != 2 || len(indexes) != 2 {
		t.Fatalf("shared cache holds %d answers and %d session indexes, want 2 and 2", len(before), len(indexes))
	}
	if err := c.guards[1].Revoke(context.Background(), principalOn(t, c, 1, tok)); err != nil {
		t.Fatal(err)
	}
	after := keys("auth")
	if len(after) != 1 || !slices.Contains(before, after[0]) || len(keys("sess")) != 1 {
		t.Fatalf("after Revoke: answers %v (before %v), %d indexes; want the other session's alone", after, before, len(keys("sess")))
	}
	// The other session is still shared: replica 2 gets it from Redis.
	if code, src := c.get(2, tokOther); code != 200 || src != "cache" {
		t.Fatalf("the other session: %d %s, want 200 cache", code, src)
	}
}

// TestRevocationOutlivesLongCacheElsewhere: a replica whose remote cache
// keeps answers longer than a JWT lives keeps a revocation it heard of
// at least that long, so its cache never serves the revoked token again.
func TestRevocationOutlivesLongCacheElsewhere(t *testing.T) {
	const ttl = 20 * time.Minute
	c := newCluster(t, func(i int, cfg *middleware.Config) {
		if i == 1 {
			cfg.Remote.CacheTTL = ttl
		}
	})
	tok, jwt := c.session("member-test-long-cache")
	c.ready(jwt)
	if code, src := c.get(1, tok); code != 200 || src != "remote" {
		t.Fatalf("%d %s, want 200 remote", code, src)
	}
	// Revoked on a replica with the default cache: it announces an end
	// five minutes and the leeway ahead.
	if err := c.guards[0].Revoke(context.Background(), principalOn(t, c, 0, tok)); err != nil {
		t.Fatal(err)
	}
	c.await(1, tok, 401)
	// The attack: replay the token on replica 1 after the announced end,
	// while its own cache still holds Stytch's earlier "valid".
	for _, d := range []time.Duration{6 * time.Minute, ttl - time.Minute} {
		c.clock.Set(c.start.Add(d))
		if code, src := c.get(1, tok); code != 401 {
			t.Fatalf("%v after the revocation replica 1 answers %d %s, want 401", d, code, src)
		}
	}
}

// TestDecisionReportsFleetTrouble: OnDecision's FleetErr is nil while the
// fleet works, and says so while Redis is paused: the feed's state, and
// the failures of the shared cache on that decision; the Debug record of
// the decision carries it too.
func TestDecisionReportsFleetTrouble(t *testing.T) {
	var mu sync.Mutex
	var last middleware.Decision
	logs := &testkit.SyncBuffer{}
	c := newCluster(t, func(i int, cfg *middleware.Config) {
		if i == 1 {
			cfg.OnDecision = func(d middleware.Decision) { mu.Lock(); last = d; mu.Unlock() }
			cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	})
	decision := func(cred string, wantSrc string) middleware.Decision {
		t.Helper()
		if code, src := c.get(1, cred); code != 200 || src != wantSrc {
			t.Fatalf("%d %s, want 200 %s", code, src, wantSrc)
		}
		mu.Lock()
		defer mu.Unlock()
		return last
	}
	_, jwt := c.session("member-test-fleet-err")
	tok, _ := c.session("member-test-fleet-err-opaque")
	c.ready(jwt)
	if d := decision(jwt, "local"); d.FleetErr != nil {
		t.Fatalf("FleetErr %v while the fleet works", d.FleetErr)
	}
	if strings.Contains(logs.String(), "fleet_error") {
		t.Fatal("a fleet error logged while the fleet works")
	}
	c.pause()
	d := decision(jwt, "local")
	if !errors.Is(d.FleetErr, fleet.ErrNotCurrent) || !errors.Is(d.FleetErr, fleet.ErrCutOff) {
		t.Fatalf("FleetErr %v with Redis paused, want fleet.ErrCutOff", d.FleetErr)
	}
	// An opaque token: the shared cache's load (and store) fail too.
	d = decision(tok, "remote")
	var re *fleet.RedisError
	if !errors.Is(d.FleetErr, fleet.ErrCutOff) || !errors.As(d.FleetErr, &re) || !errors.Is(d.FleetErr, fleet.ErrUnavailable) {
		t.Fatalf("FleetErr %v, want the cut-off and a fleet.RedisError", d.FleetErr)
	}
	if !strings.Contains(logs.String(), `"fleet_error":"fleet: cut off from the revocation feed`) {
		t.Fatalf("no fleet_error in the decision records:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), tok) || strings.Contains(logs.String(), jwt) {
		t.Fatal("a credential in the log")
	}
	c.resume()
	c.waitFleets(func(err error) bool { return err == nil }, "current")
	if d := decision(jwt, "local"); d.FleetErr != nil {
		t.Fatalf("FleetErr %v after the outage", d.FleetErr)
	}
}

// TestOutageBoundsLongCache: while cut off from the feed, a replica with
// a remote cache longer than FleetOutageMaxTokenAge serves a cached
// answer no older than that bound, so an opaque token revoked elsewhere
// during the outage is refused within it too.
func TestOutageBoundsLongCache(t *testing.T) {
	c := newCluster(t, func(i int, cfg *middleware.Config) {
		if i == 1 {
			cfg.Remote.CacheTTL = 10 * time.Minute
		}
	})
	tok, jwt := c.session("member-test-outage-cache")
	tokKept, _ := c.session("member-test-outage-cache-kept")
	c.ready(jwt)
	for _, cred := range []string{tok, tokKept} {
		if code, src := c.get(1, cred); code != 200 || src != "remote" {
			t.Fatalf("%d %s, want 200 remote", code, src)
		}
	}
	p := principalOn(t, c, 0, tok)
	c.pause()
	if code, src := c.get(1, tok); code != 200 || src != "cache" {
		t.Fatalf("within the bound: %d %s, want 200 cache", code, src)
	}
	if err := c.guards[0].Revoke(context.Background(), p); !errors.Is(err, fleet.ErrQueued) {
		t.Fatalf("Revoke during the outage: %v", err)
	}
	c.clock.Advance(middleware.DefaultFleetOutageMaxTokenAge + time.Second)
	c.srv.ResetCalls()
	// The attack: replay the token revoked during the outage on a
	// replica that cannot hear of it and caches answers for 10 minutes.
	if code, src := c.get(1, tok); code != 401 {
		t.Fatalf("past the bound: %d %s, want 401 from Stytch", code, src)
	}
	// A valid session is asked again, and served.
	if code, src := c.get(1, tokKept); code != 200 || src != "remote" {
		t.Fatalf("past the bound: %d %s, want 200 remote", code, src)
	}
	if n := c.srv.Calls(stytchtest.EndpointAuthenticate); n != 2 {
		t.Fatalf("%d Stytch calls, want 2", n)
	}
}
