package replicas

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/stytchguard/stytchguard/fleet"
	"github.com/stytchguard/stytchguard/internal/redistest"
	"github.com/stytchguard/stytchguard/internal/testkit"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const org = "organization-test-acme"

// cluster is three replicas of one service.
type cluster struct {
	t       *testing.T
	srv     *stytchtest.Server
	clock   *stytchtest.Clock
	redis   *redistest.Server
	url     string // of redis
	start   time.Time
	resume  func() // set by pause
	fleets  [3]*fleet.Redis
	guards  [3]*middleware.Guard
	servers [3]*httptest.Server
	http    *http.Client

	mu      sync.Mutex
	grabbed map[string]*middleware.Principal // by JWT, from replica 0
}

func newCluster(t *testing.T, mutate func(i int, c *middleware.Config)) *cluster {
	t.Helper()
	url, rs := redistest.Start(t)
	start := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	c := &cluster{t: t, redis: rs, url: url, start: start, clock: stytchtest.NewClock(start), grabbed: map[string]*middleware.Principal{}}
	c.srv = stytchtest.NewServer(stytchtest.Options{Now: c.clock.Now, SigningKey: testkit.SigningKey()})
	t.Cleanup(c.srv.Close)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	c.http = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	for i := range c.guards {
		f, err := fleet.NewRedis(fleet.RedisConfig{URL: url, ProjectID: c.srv.ProjectID, Now: c.clock.Now, Block: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		c.fleets[i] = f
		cfg := middleware.Config{
			ProjectID: c.srv.ProjectID, Secret: c.srv.Secret, BaseURL: c.srv.URL,
			Now: c.clock.Now, Fleet: f,
			Cookies: middleware.CookieAttributes{AllowInsecure: true},
		}
		if mutate != nil {
			mutate(i, &cfg)
		}
		g, err := middleware.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.guards[i] = g
		mux := http.NewServeMux()
		mux.Handle("/whoami", g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := middleware.FromContext(r.Context())
			if i == 0 {
				c.mu.Lock()
				c.grabbed[r.Header.Get("Authorization")] = p
				c.mu.Unlock()
			}
			_, _ = fmt.Fprint(w, p.Source)
		})))
		c.servers[i] = httptest.NewServer(mux)
	}
	t.Cleanup(func() {
		for i := range c.guards {
			c.servers[i].Close()
			if err := c.guards[i].Close(); err != nil {
				t.Error(err)
			}
			if err := c.fleets[i].Close(); err != nil {
				t.Error(err)
			}
		}
	})
	return c
}

// get asks replica i who the credential is; it returns the status and
// the decision's source.
func (c *cluster) get(i int, cred string) (int, string) {
	req, _ := http.NewRequest("GET", c.servers[i].URL+"/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+cred)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b [16]byte
	n, _ := resp.Body.Read(b[:])
	return resp.StatusCode, string(b[:n])
}

func (c *cluster) session(member string) (token, jwt string) {
	c.t.Helper()
	token, jwt, err := c.srv.NewSession(stytchtest.SessionSpec{OrganizationID: org, MemberID: member, Roles: []string{"viewer"}})
	if err != nil {
		c.t.Fatal(err)
	}
	return token, jwt
}

// ready waits until every replica accepts jwt locally.
func (c *cluster) ready(jwt string) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for i := range c.guards {
		for {
			code, src := c.get(i, jwt)
			if code == 200 && src == "local" {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("replica %d never accepted the session: %d %s", i, code, src)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// principal returns what replica 0 decided for jwt.
func (c *cluster) principal(jwt string) *middleware.Principal {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.grabbed["Bearer "+jwt]
}

// TestRevocationReachesEveryReplica: a session revoked on one replica is
// refused there at once and on the two others as soon as they hear of it.
// Figures: time from Revoke's return until both others refuse, over many
// revocations.
func TestRevocationReachesEveryReplica(t *testing.T) {
	c := newCluster(t, nil)
	n := 1000
	if testing.Short() {
		n = 100
	}
	jwts := make([]string, n)
	for i := range jwts {
		_, jwts[i] = c.session(fmt.Sprintf("member-test-r%d", i))
	}
	c.ready(jwts[0])
	for _, jwt := range jwts {
		for i := range c.guards {
			if code, _ := c.get(i, jwt); code != 200 {
				t.Fatalf("replica %d refused a live session: %d", i, code)
			}
		}
	}
	lat := make([]time.Duration, 0, n)
	for _, jwt := range jwts {
		if err := c.guards[0].Revoke(context.Background(), c.principal(jwt)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if code, _ := c.get(0, jwt); code != 401 {
			t.Fatalf("the revoking replica still accepts the session: %d", code)
		}
		var done [3]bool
		done[0] = true
		for !done[1] || !done[2] {
			for i := 1; i < 3; i++ {
				if !done[i] {
					if code, _ := c.get(i, jwt); code == 401 {
						done[i] = true
					}
				}
			}
			if time.Since(start) > 10*time.Second {
				t.Fatal("a replica never refused the revoked session")
			}
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	p50, p99 := testkit.Percentile(lat, 0.50), testkit.Percentile(lat, 0.99)
	t.Logf("FIGURES: %d revocations: both other replicas refuse after p50 %v, p99 %v, max %v", n, p50, p99, lat[len(lat)-1])
	if p99 > 2*time.Second {
		t.Errorf("p99 %v: revocations are not reaching the fleet promptly", p99)
	}
	if st := c.srv.Calls(stytchtest.EndpointRevoke); st != int64(n) {
		t.Errorf("%d revocations at Stytch, want %d", st, n)
	}
}

// TestSharedRemoteCache: one opaque token asked of three replicas in turn
// costs one Stytch call; a herd spread over the three costs at most one
// per replica.
func TestSharedRemoteCache(t *testing.T) {
	c := newCluster(t, nil)
	tok, jwt := c.session("member-test-shared")
	c.ready(jwt)
	c.srv.ResetCalls()
	for i := range c.guards {
		code, src := c.get(i, tok)
		want := "cache"
		if i == 0 {
			want = "remote"
		}
		if code != 200 || src != want {
			t.Fatalf("replica %d: %d %s, want 200 %s", i, code, src, want)
		}
	}
	if calls := c.srv.Calls(stytchtest.EndpointAuthenticate); calls != 1 {
		t.Fatalf("%d Stytch calls for one token on three replicas, want 1", calls)
	}

	tok2, _ := c.session("member-test-herd")
	c.srv.ResetCalls()
	// A slow Stytch keeps the first calls in flight while the herd comes.
	c.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Latency: 100 * time.Millisecond})
	const herd = 300
	var failed atomic.Int64
	var wg sync.WaitGroup
	for k := range herd {
		wg.Go(func() {
			if code, _ := c.get(k%3, tok2); code != 200 {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	calls := c.srv.Calls(stytchtest.EndpointAuthenticate)
	t.Logf("FIGURES: %d concurrent requests with one opaque token over 3 replicas: %d Stytch calls, %d failed", herd, calls, failed.Load())
	if calls > 3 || failed.Load() != 0 {
		t.Fatalf("%d Stytch calls (want <= 3), %d failed", calls, failed.Load())
	}
}

// TestRedisPausedAndRestarted: with Redis stopped (SIGSTOP) for a while
// under traffic, no valid request fails, a session revoked meanwhile is
// refused everywhere within a second of SIGCONT; after Redis is killed
// and restarted, the replicas reconnect by themselves.
func TestRedisPausedAndRestarted(t *testing.T) {
	c := newCluster(t, nil)
	var jwts []string
	for i := range 6 {
		_, jwt := c.session(fmt.Sprintf("member-test-p%d", i))
		jwts = append(jwts, jwt)
	}
	tok, _ := c.session("member-test-opaque")
	victim := jwts[0]
	c.ready(victim)
	for _, jwt := range jwts {
		for i := range c.guards {
			c.get(i, jwt)
		}
	}
	var failed, served atomic.Int64
	stop := make(chan struct{})
	var traffic sync.WaitGroup
	for w := range 3 {
		traffic.Go(func() {
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				cred := jwts[1+k%(len(jwts)-1)]
				if k%5 == 0 {
					cred = tok
				}
				code, _ := c.get(w, cred)
				served.Add(1)
				if code != 200 {
					failed.Add(1)
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	pause := 10 * time.Second
	if testing.Short() {
		pause = 3 * time.Second
	}
	c.redis.Pause()
	time.Sleep(pause / 2)
	// Revoke during the outage: Stytch and this replica at once; the
	// announcement waits in the queue.
	err := c.guards[0].Revoke(context.Background(), c.principal(victim))
	if err == nil {
		t.Log("Revoke reported the announcement delivered during the pause")
	} else {
		t.Logf("Revoke during the pause: %v", err)
	}
	if code, _ := c.get(0, victim); code != 401 {
		t.Fatalf("the revoking replica accepts the revoked session: %d", code)
	}
	time.Sleep(pause / 2)
	c.redis.Resume()
	resumed := time.Now()
	for i := 1; i < 3; i++ {
		for {
			if code, _ := c.get(i, victim); code == 401 {
				break
			}
			if time.Since(resumed) > 10*time.Second {
				t.Fatalf("replica %d still accepts the revoked session 10 s after SIGCONT", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	refusedAfter := time.Since(resumed)
	close(stop)
	traffic.Wait()
	t.Logf("FIGURES: Redis paused %v under traffic: %d requests, %d failed; the session revoked during the pause is refused everywhere %v after SIGCONT",
		pause, served.Load(), failed.Load(), refusedAfter.Round(time.Millisecond))
	if failed.Load() != 0 {
		t.Errorf("%d valid requests failed while Redis was paused", failed.Load())
	}
	if refusedAfter > 3*time.Second {
		t.Errorf("revocation reached the fleet %v after SIGCONT", refusedAfter)
	}

	// Kill and restart: the replicas reconnect by themselves and the feed
	// works again.
	c.redis.Stop()
	c.redis.Start()
	restarted := time.Now()
	second := jwts[1]
	for time.Since(restarted) < 20*time.Second {
		if c.fleets[0].Current() == nil && c.fleets[1].Current() == nil && c.fleets[2].Current() == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := range c.fleets {
		if err := c.fleets[i].Current(); err != nil {
			t.Fatalf("replica %d not current 20 s after the restart: %v", i, err)
		}
	}
	t.Logf("FIGURES: after a Redis kill and restart all replicas were current again in %v", time.Since(restarted).Round(time.Millisecond))
	if err := c.guards[2].Revoke(context.Background(), principalOn(t, c, 2, second)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _ := c.get(0, second); code == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a revocation after the restart never reached replica 0")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// principalOn returns the principal replica i decides for jwt.
func principalOn(t *testing.T, c *cluster, i int, jwt string) *middleware.Principal {
	t.Helper()
	var p *middleware.Principal
	h := c.guards[i].Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p, _ = middleware.FromContext(r.Context()) }))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+jwt)
	h.ServeHTTP(httptest.NewRecorder(), r)
	if p == nil {
		t.Fatal("no principal")
	}
	return p
}
