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

// want fails the test unless replica i answers cred with code and, when
// src is not empty, from source src.
func (c *cluster) want(what string, i int, cred string, code int, src string) {
	c.t.Helper()
	if got, gotSrc := c.get(i, cred); got != code || src != "" && gotSrc != src {
		c.t.Fatalf("%s: replica %d answers %d %s, want %d %s", what, i, got, gotSrc, code, src)
	}
}

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
		c.want("a live opaque token", i, tok, 200, "")
		// The answer is now in replica i's remote cache.
		c.want("the same token again, from its remote cache", i, tok, 200, "cache")
	}
	if err := c.guards[0].Revoke(context.Background(), principalOn(t, c, 0, tok)); err != nil {
		t.Fatal(err)
	}
	c.want("the revoked token on the revoking replica", 0, tok, 401, "")
	for i := 1; i < 3; i++ {
		// The attack: replay the opaque token on a replica whose remote
		// cache still holds Stytch's earlier "valid".
		c.await(i, tok, 401)
		c.want("the revoked session's JWT", i, jwt, 401, "")
		c.want("another session", i, other, 200, "")
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
		c.want("before the outage", i, revoked, 200, "local")
	}
	c.pause()
	c.clock.Advance(middleware.DefaultFleetOutageMaxTokenAge + time.Second)
	c.srv.ResetCalls()

	_, fresh := c.session("member-test-outage-fresh")
	for i := range c.guards {
		c.want("a fresh JWT during the outage", i, fresh, 200, "local")
	}
	if n := c.srv.Calls(stytchtest.EndpointAuthenticate); n != 0 {
		t.Fatalf("%d Stytch calls for a fresh JWT, want 0", n)
	}
	for i := range c.guards {
		c.want("a JWT older than the bound during the outage", i, old, 200, "remote")
		if n := c.srv.Calls(stytchtest.EndpointAuthenticate); n != int64(i+1) {
			t.Fatalf("after replica %d: %d Stytch calls, want %d", i, n, i+1)
		}
	}
	// The attack: a session revoked at Stytch (not through this fleet)
	// while the replicas cannot hear of revocations; its JWT, still
	// within its exp, is older than the bound.
	c.srv.RevokeSession(tokRevoked)
	for i := range c.guards {
		c.want("a session revoked during the outage", i, revoked, 401, "")
	}

	c.resume()
	c.waitFleets(func(err error) bool { return err == nil }, "current")
	for i := range c.guards {
		c.want("the old JWT after the outage", i, old, 200, "local")
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
		c.want("the revoked session on the revoking replica", 0, cred, 401, "")
	}
	// The others cannot hear of it yet, and the JWT is younger than
	// FleetOutageMaxTokenAge: they accept it locally (the outage bound).
	for i := 1; i < 3; i++ {
		c.want("a session revoked elsewhere, not heard of yet", i, jwt, 200, "local")
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
		c.want("one expired JWT in turn", i, jwt, 200, want)
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
		c.want("first ask", 0, cred, 200, "remote")
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
	c.want("the other session, shared through Redis", 2, tokOther, 200, "cache")
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
	c.want("first ask", 1, tok, 200, "remote")
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
		c.want(d.String()+" after the revocation", 1, tok, 401, "")
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
		c.want("decision", 1, cred, 200, wantSrc)
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
		c.want("first ask", 1, cred, 200, "remote")
	}
	p := principalOn(t, c, 0, tok)
	c.pause()
	c.want("within the bound", 1, tok, 200, "cache")
	if err := c.guards[0].Revoke(context.Background(), p); !errors.Is(err, fleet.ErrQueued) {
		t.Fatalf("Revoke during the outage: %v", err)
	}
	c.clock.Advance(middleware.DefaultFleetOutageMaxTokenAge + time.Second)
	c.srv.ResetCalls()
	// The attack: replay the token revoked during the outage on a
	// replica that cannot hear of it and caches answers for 10 minutes.
	c.want("the revoked token past the bound", 1, tok, 401, "")
	// A valid session is asked again, and served.
	c.want("a valid token past the bound", 1, tokKept, 200, "remote")
	if n := c.srv.Calls(stytchtest.EndpointAuthenticate); n != 2 {
		t.Fatalf("%d Stytch calls, want 2", n)
	}
}
