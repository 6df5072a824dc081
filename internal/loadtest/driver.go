package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/internal/testkit"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
	"github.com/stytchguard/stytchguard/verifier"
)

// hitTarget is the share of the unguarded throughput the guarded hit path
// must reach.
const hitTarget = 0.90

// config is one run of the driver.
type config struct {
	// Duration is how long each scenario is measured in total, split
	// evenly over the rounds, when Requests is 0.
	Duration time.Duration
	// Requests is the number of requests per scenario in total, split over
	// the rounds; 0 means run for Duration.
	Requests int
	// Concurrency is the number of workers.
	Concurrency int
	// Pool is the number of distinct JWTs on the miss path.
	Pool int
	// Warmup runs each scenario unrecorded before each of its measured
	// slices.
	Warmup time.Duration
	// Rounds is the number of slices each scenario's measurement is cut
	// into; the scenarios take turns, slice by slice.
	Rounds int
}

func defaultConfig() config {
	return config{
		Duration:    5 * time.Second,
		Concurrency: 4 * runtime.GOMAXPROCS(0),
		Pool:        64,
		Warmup:      100 * time.Millisecond,
		Rounds:      10,
	}
}

func (c config) budget() string {
	if c.Requests > 0 {
		return strconv.Itoa(c.Requests) + " requests"
	}
	return c.Duration.String()
}

func (c config) validate() error {
	switch {
	case c.Requests < 0, c.Requests == 0 && c.Duration <= 0:
		return errors.New("need a positive -duration or -requests")
	case c.Concurrency < 1:
		return errors.New("-concurrency must be at least 1")
	case c.Pool < 1:
		return errors.New("-pool must be at least 1")
	case c.Rounds < 1:
		return errors.New("-rounds must be at least 1")
	case c.Requests > 0 && c.Requests < c.Rounds:
		return errors.New("-requests must be at least -rounds")
	case c.Warmup < 0:
		return errors.New("-warmup must not be negative")
	}
	return nil
}

// scenario is one measured route and the JWTs sent to it.
type scenario struct {
	name string
	url  string
	jwts []string
}

// result is the measurement of one scenario over every round.
type result struct {
	name     string
	requests int
	failures int // transport errors and non-200 answers
	elapsed  time.Duration
	lat      []time.Duration // sorted
}

func (r *result) rps() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.requests) / r.elapsed.Seconds()
}

func (r *result) pct(p float64) time.Duration { return testkit.Percentile(r.lat, p) }

// report is the outcome of a run: one result per scenario, unguarded first.
type report struct {
	cfg     config
	results []*result
	// perRound holds each round's throughput per scenario, for ratios
	// between measurements taken moments apart.
	perRound [][]float64
}

// ratio is scenario i's throughput over the unguarded one: the median over
// rounds of the ratio within a round, which cancels drift in the machine's
// load between rounds.
func (rep *report) ratio(i int) float64 {
	var rs []float64
	for _, r := range rep.perRound {
		if r[0] > 0 {
			rs = append(rs, r[i]/r[0])
		}
	}
	if len(rs) == 0 {
		return 0
	}
	slices.Sort(rs)
	if len(rs)%2 == 1 {
		return rs[len(rs)/2]
	}
	return (rs[len(rs)/2-1] + rs[len(rs)/2]) / 2
}

// hitRatio is the guarded hit path's throughput over the unguarded one.
func (rep *report) hitRatio() float64 { return rep.ratio(1) }

// write prints the table.
func (rep *report) write(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario    \trequests\tfailed\treq/s\tp50\tp90\tp99\tmax\tvs unguarded\t")
	for i, r := range rep.results {
		ratio := fmt.Sprintf("%.1f%%", 100*rep.ratio(i))
		fmt.Fprintf(tw, "%-12s\t%d\t%d\t%.0f\t%v\t%v\t%v\t%v\t%s\t\n", r.name, r.requests, r.failures, r.rps(),
			testkit.Round(r.pct(.5)), testkit.Round(r.pct(.9)), testkit.Round(r.pct(.99)), testkit.Round(r.pct(1)), ratio)
	}
	_ = tw.Flush()
	verdict := "met"
	if rep.hitRatio() < hitTarget {
		verdict = "MISSED"
	}
	fmt.Fprintf(w, "guarded hit path: %.1f%% of unguarded throughput (median of %d round(s); target >= %.0f%%: %s)\n",
		100*rep.hitRatio(), len(rep.perRound), 100*hitTarget, verdict)
}

// run starts the emulator and the application, measures every scenario and
// tears everything down.
func run(ctx context.Context, cfg config) (*report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	env, err := newEnv(ctx, cfg.Pool)
	if err != nil {
		return nil, err
	}
	defer env.close()

	scenarios := []scenario{
		{"unguarded", env.base + "/plain/orgs/" + orgID + "/documents", []string{env.hitJWT}},
		{"guarded hit", env.base + "/hit/orgs/" + orgID + "/documents", []string{env.hitJWT}},
		{"guarded miss", env.base + "/miss/orgs/" + orgID + "/documents", env.missJWTs},
	}
	rep := &report{cfg: cfg}
	for _, sc := range scenarios {
		rep.results = append(rep.results, &result{name: sc.name})
	}
	for round := range cfg.Rounds {
		rps := make([]float64, len(scenarios))
		rep.perRound = append(rep.perRound, rps)
		// Each round starts with the next scenario, so none is always the
		// one measured after the garbage of the miss path.
		for k := range scenarios {
			i := (round + k) % len(scenarios)
			sc := scenarios[i]
			runtime.GC()
			if cfg.Warmup > 0 {
				if _, err := env.drive(ctx, sc, cfg.Concurrency, 0, cfg.Warmup); err != nil {
					return nil, err
				}
			}
			n := cfg.Requests / cfg.Rounds
			if round == cfg.Rounds-1 {
				n += cfg.Requests % cfg.Rounds
			}
			r, err := env.drive(ctx, sc, cfg.Concurrency, n, cfg.Duration/time.Duration(cfg.Rounds))
			if err != nil {
				return nil, err
			}
			rps[i] = r.rps()
			agg := rep.results[i]
			agg.requests += r.requests
			agg.failures += r.failures
			agg.elapsed += r.elapsed
			agg.lat = append(agg.lat, r.lat...)
		}
	}
	for _, r := range rep.results {
		slices.Sort(r.lat)
		if r.failures > 0 {
			return rep, fmt.Errorf("%s: %d of %d requests failed", r.name, r.failures, r.requests)
		}
	}
	return rep, nil
}

const orgID = "organization-test-load"

// env is the system under load: the emulator, two Guards and the
// application server, all on loopback, plus the workers' HTTP client.
type env struct {
	srv      *stytchtest.Server
	hit      *middleware.Guard
	miss     *middleware.Guard
	missVer  *verifier.Verifier
	hs       *http.Server
	served   chan struct{}
	base     string
	tr       *http.Transport
	client   *http.Client
	hitJWT   string
	missJWTs []string
}

func newEnv(ctx context.Context, pool int) (_ *env, err error) {
	e := &env{}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	// A frozen clock: JWTs minted now never expire during the run, and the
	// key set and policy never go stale.
	clock := stytchtest.NewClock(time.Now())
	e.srv = stytchtest.NewServer(stytchtest.Options{SigningKey: key, Now: clock.Now})
	p := stytchtest.DefaultPolicy()
	p.Resources = append(p.Resources, client.Resource{ResourceID: "documents", Actions: []string{"read"}})
	p.Roles = append(p.Roles, client.Role{RoleID: "viewer", Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"read"}}}})
	e.srv.SetPolicy(p)

	jwts := make([]string, pool+1)
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range jwts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			_, jwt, err := e.srv.NewSession(stytchtest.SessionSpec{OrganizationID: orgID, Roles: []string{"viewer"}})
			if err != nil {
				errMu.Lock()
				firstErr = cmp.Or(firstErr, err)
				errMu.Unlock()
			}
			jwts[i] = jwt
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	e.hitJWT, e.missJWTs = jwts[0], jwts[1:]

	gcfg := middleware.Config{
		ProjectID:      e.srv.ProjectID,
		Secret:         e.srv.Secret,
		BaseURL:        e.srv.URL,
		Now:            clock.Now,
		OrganizationID: func(r *http.Request) string { return r.PathValue("orgID") },
	}
	if e.hit, err = middleware.New(gcfg); err != nil {
		return nil, err
	}
	e.missVer, err = verifier.New(ctx, verifier.Config{
		ProjectID: e.srv.ProjectID, BaseURL: e.srv.URL, Now: clock.Now,
		CacheSize: -1, RequireJWKS: true,
	})
	if err != nil {
		return nil, err
	}
	mcfg := gcfg
	mcfg.Verifier = e.missVer
	if e.miss, err = middleware.New(mcfg); err != nil {
		return nil, err
	}

	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux := http.NewServeMux()
	mux.Handle("GET /plain/orgs/{orgID}/documents", ok)
	mux.Handle("GET /hit/orgs/{orgID}/documents", e.hit.Require("documents", "read")(ok))
	mux.Handle("GET /miss/orgs/{orgID}/documents", e.miss.Require("documents", "read")(ok))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.hs = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	e.served = make(chan struct{})
	go func() {
		defer close(e.served)
		_ = e.hs.Serve(ln)
	}()
	e.base = "http://" + ln.Addr().String()
	e.tr = &http.Transport{MaxIdleConns: 0, MaxIdleConnsPerHost: 1 << 12, IdleConnTimeout: time.Minute, DisableCompression: true}
	e.client = &http.Client{Transport: e.tr, Timeout: 30 * time.Second}

	// Warm the JWKS and the policy of both Guards; fail early if the setup
	// is wrong.
	for _, path := range []string{"/hit", "/miss"} {
		if err := e.expectOK(ctx, e.base+path+"/orgs/"+orgID+"/documents", e.hitJWT); err != nil {
			return nil, fmt.Errorf("warming %s: %w", path, err)
		}
	}
	return e, nil
}

func (e *env) expectOK(ctx context.Context, url, jwt string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, err := e.do(ctx, url, jwt)
		if err == nil && status == http.StatusOK {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("status %d, error %v", status, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) do(ctx context.Context, url, jwt string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+jwt)
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// drive runs workers against sc until n requests were sent (n > 0) or d
// elapsed, and returns what they measured.
func (e *env) drive(ctx context.Context, sc scenario, workers, n int, d time.Duration) (*result, error) {
	var (
		sent     atomic.Int64
		failures atomic.Int64
		firstErr atomic.Pointer[error]
		wg       sync.WaitGroup
		lats     = make([][]time.Duration, workers)
	)
	start := time.Now()
	deadline := start.Add(d)
	for w := range workers {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 1<<14)
			for i := w; ; i += workers {
				if n > 0 {
					if sent.Add(1) > int64(n) {
						break
					}
				} else if time.Now().After(deadline) {
					break
				}
				if ctx.Err() != nil {
					break
				}
				t0 := time.Now()
				status, err := e.do(ctx, sc.url, sc.jwts[i%len(sc.jwts)])
				lat = append(lat, time.Since(t0))
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("%s answered %d", sc.name, status)
				}
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, &err)
				}
			}
			lats[w] = lat
		})
	}
	wg.Wait()
	r := &result{name: sc.name, elapsed: time.Since(start), failures: int(failures.Load())}
	for _, l := range lats {
		r.requests += len(l)
		r.lat = append(r.lat, l...)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p := firstErr.Load(); p != nil && r.failures == r.requests {
		return nil, fmt.Errorf("every request failed: %w", *p)
	}
	return r, nil
}

// close releases everything newEnv started, in reverse order.
func (e *env) close() {
	if e.tr != nil {
		e.tr.CloseIdleConnections()
	}
	if e.hs != nil {
		_ = e.hs.Close()
		<-e.served
	}
	if e.miss != nil {
		_ = e.miss.Close()
	}
	if e.missVer != nil {
		_ = e.missVer.Close()
	}
	if e.hit != nil {
		_ = e.hit.Close()
	}
	if e.srv != nil {
		e.srv.Close()
	}
}
