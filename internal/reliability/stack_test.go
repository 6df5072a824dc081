package reliability

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/internal/testkit"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/rbac"
	"github.com/stytchguard/stytchguard/stytchtest"
	"github.com/stytchguard/stytchguard/verifier"
)

const (
	orgAcme = "organization-test-acme"

	// Routes of the protected application.
	pathRead  = "/orgs/" + orgAcme + "/documents"       // Require("documents", "read")
	pathWrite = "/orgs/" + orgAcme + "/documents/write" // Require("documents", "write")
	pathMe    = "/me"                                   // Authenticate
)

// t0 is where every fake clock starts.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// testPolicy grants viewers documents:read and editors documents:*.
func testPolicy() client.Policy {
	p := stytchtest.DefaultPolicy()
	p.Resources = append(p.Resources, client.Resource{ResourceID: "documents", Actions: []string{"read", "write"}})
	p.Roles = append(p.Roles,
		client.Role{RoleID: "viewer", Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"read"}}}},
		client.Role{RoleID: "editor", Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"*"}}}},
	)
	return p
}

// stackOptions shape a stack. Zero values build the Guard with its own
// verifier and policy cache, as an application would.
type stackOptions struct {
	// verifier, when set, builds a shared verifier with this configuration
	// (ProjectID, BaseURL, Now and HTTPClient are filled in).
	verifier *verifier.Config
	// policies, when set, builds a shared policy cache (Client and Now are
	// filled in).
	policies *rbac.Config
	// guard adjusts the middleware configuration.
	guard func(*middleware.Config)
	// beforeGuard runs after the emulator starts and before anything
	// talks to it (to start in an outage).
	beforeGuard func(*stytchtest.Server)
	// stytchHTTP carries every call to Stytch (nil: the packages' own).
	stytchHTTP *http.Client
}

// stack is the whole system on loopback: the emulator, a Guard (with its
// client, verifier and policy cache) protecting an application behind a
// real http.Server, and an HTTP client to call it.
type stack struct {
	t      testing.TB
	srv    *stytchtest.Server
	clock  *stytchtest.Clock
	guard  *middleware.Guard
	ver    *verifier.Verifier // nil unless stackOptions.verifier
	pol    *rbac.Cache        // nil unless stackOptions.policies
	base   string             // URL of the application
	client *http.Client
	errLog *testkit.SyncBuffer // the application server's error log
	tally  tally
}

// tally counts the Guard's decisions through OnDecision.
type tally struct {
	local, cache, remote atomic.Int64
	breakerOpen          atomic.Int64 // refused by the open breaker
	breakerHalfOpen      atomic.Int64 // refused while the half-open probe ran
	firstOpen            atomic.Int64 // UnixNano of the first open-breaker refusal
}

func (ta *tally) record(d middleware.Decision) {
	switch d.Source {
	case middleware.SourceLocal:
		ta.local.Add(1)
	case middleware.SourceCache:
		ta.cache.Add(1)
	case middleware.SourceRemote:
		ta.remote.Add(1)
	}
	switch {
	case errors.Is(d.Err, gobreaker.ErrOpenState):
		ta.breakerOpen.Add(1)
		ta.firstOpen.CompareAndSwap(0, time.Now().UnixNano())
	case errors.Is(d.Err, gobreaker.ErrTooManyRequests):
		ta.breakerHalfOpen.Add(1)
	}
}

func (ta *tally) reset() {
	ta.local.Store(0)
	ta.cache.Store(0)
	ta.remote.Store(0)
	ta.breakerOpen.Store(0)
	ta.breakerHalfOpen.Store(0)
	ta.firstOpen.Store(0)
}

// newStack builds and starts a stack; t.Cleanup closes everything it
// opened, in reverse order.
func newStack(t testing.TB, o stackOptions) *stack {
	t.Helper()
	s := &stack{t: t, clock: stytchtest.NewClock(t0), errLog: &testkit.SyncBuffer{}}
	s.srv = stytchtest.NewServer(stytchtest.Options{Now: s.clock.Now, SigningKey: testkit.SigningKey()})
	t.Cleanup(s.srv.Close)
	s.srv.SetPolicy(testPolicy())
	if o.beforeGuard != nil {
		o.beforeGuard(s.srv)
	}

	cfg := middleware.Config{
		ProjectID:      s.srv.ProjectID,
		Secret:         s.srv.Secret,
		BaseURL:        s.srv.URL,
		HTTPClient:     o.stytchHTTP,
		Now:            s.clock.Now,
		OrganizationID: func(r *http.Request) string { return r.PathValue("orgID") },
		OnDecision:     s.tally.record,
	}
	if o.policies != nil || o.verifier != nil {
		c, err := client.New(client.Config{ProjectID: s.srv.ProjectID, Secret: s.srv.Secret, BaseURL: s.srv.URL, HTTPClient: o.stytchHTTP})
		if err != nil {
			t.Fatalf("client.New: %v", err)
		}
		cfg.Client = c
	}
	if o.policies != nil {
		pc := *o.policies
		pc.Client, pc.Now = cfg.Client, s.clock.Now
		p, err := rbac.New(pc)
		if err != nil {
			t.Fatalf("rbac.New: %v", err)
		}
		t.Cleanup(func() { _ = p.Close() })
		s.pol, cfg.Policies = p, p
	}
	if o.verifier != nil {
		vc := *o.verifier
		vc.ProjectID, vc.BaseURL, vc.Now, vc.HTTPClient = s.srv.ProjectID, s.srv.URL, s.clock.Now, o.stytchHTTP
		vc.Client = cfg.Client
		v, err := verifier.New(context.Background(), vc)
		if err != nil {
			t.Fatalf("verifier.New: %v", err)
		}
		t.Cleanup(func() { _ = v.Close() })
		s.ver, cfg.Verifier = v, v
	}
	if o.guard != nil {
		o.guard(&cfg)
	}
	g, err := middleware.New(cfg)
	if err != nil {
		t.Fatalf("middleware.New: %v", err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Errorf("Guard.Close: %v", err)
		}
	})
	s.guard = g

	s.base = serve(t, appHandler(g), s.errLog)
	tr := &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: 30 * time.Second, DisableCompression: true}
	s.client = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	return s
}

// appHandler is the protected application: each route answers 200 with the
// decision's source in X-Source.
func appHandler(g *middleware.Guard) http.Handler {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, found := middleware.FromContext(r.Context()); found {
			w.Header().Set("X-Source", string(p.Source))
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	mux := http.NewServeMux()
	mux.Handle("GET /orgs/{orgID}/documents", g.Require("documents", "read")(ok))
	mux.Handle("GET /orgs/{orgID}/documents/write", g.Require("documents", "write")(ok))
	mux.Handle("GET /me", g.Authenticate(ok))
	return mux
}

// serve runs h behind a real http.Server on a random loopback port until
// the test ends, and returns its base URL.
func serve(t testing.TB, h http.Handler, errLog io.Writer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(errLog, "", 0)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = hs.Close()
		<-done
	})
	return "http://" + ln.Addr().String()
}

// session creates a session of orgAcme with roles, living two days of fake
// time, and returns its token and JWT.
func (s *stack) session(roles ...string) (token, jwt string) {
	s.t.Helper()
	token, jwt, err := s.srv.NewSession(stytchtest.SessionSpec{OrganizationID: orgAcme, Roles: roles, Duration: 48 * time.Hour})
	if err != nil {
		s.t.Fatalf("NewSession: %v", err)
	}
	return token, jwt
}

// mint returns a fresh JWT for a live session token.
func (s *stack) mint(token string) string {
	s.t.Helper()
	jwt, err := s.srv.MintJWT(token)
	if err != nil {
		s.t.Fatalf("MintJWT: %v", err)
	}
	return jwt
}

// outcome is one request's result as its client saw it.
type outcome struct {
	status     int
	source     string // X-Source: local, cache or remote when allowed
	retryAfter string
	latency    time.Duration
	err        error
}

// get calls path on the application with the JWT as a bearer credential.
func (s *stack) get(path, jwt string) outcome {
	req, err := http.NewRequest(http.MethodGet, s.base+path, nil)
	if err != nil {
		return outcome{err: err}
	}
	if jwt != "" {
		req.Header.Set("Authorization", "Bearer "+jwt)
	}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return outcome{err: err, latency: time.Since(start)}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return outcome{
		status:     resp.StatusCode,
		source:     resp.Header.Get("X-Source"),
		retryAfter: resp.Header.Get("Retry-After"),
		latency:    time.Since(start),
	}
}

// waitReady polls until a request with jwt is answered 200 from a local
// decision (keys and policy warm), or fails the test.
func (s *stack) waitReady(jwt string) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		o := s.get(pathRead, jwt)
		if o.status == http.StatusOK && o.source == string(middleware.SourceLocal) {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("stack never ready: last answer %d %q %v", o.status, o.source, o.err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stats aggregates outcomes; safe for concurrent use.
type stats struct {
	mu       sync.Mutex
	n        int
	byStatus map[int]int
	bySource map[string]int
	errs     int
	firstErr error
	lat      []time.Duration
}

func newStats() *stats { return &stats{byStatus: map[int]int{}, bySource: map[string]int{}} }

func (st *stats) add(o outcome) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.n++
	st.lat = append(st.lat, o.latency)
	if o.err != nil {
		st.errs++
		if st.firstErr == nil {
			st.firstErr = o.err
		}
		return
	}
	st.byStatus[o.status]++
	if o.source != "" {
		st.bySource[o.source]++
	}
}

func (st *stats) count(status int) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.byStatus[status]
}

func (st *stats) total() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.n
}

// others counts outcomes whose status is not in want (transport errors
// included).
func (st *stats) others(want ...int) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := st.errs
	for code, c := range st.byStatus {
		if !slices.Contains(want, code) {
			n += c
		}
	}
	return n
}

func (st *stats) pct(p float64) time.Duration {
	st.mu.Lock()
	defer st.mu.Unlock()
	return testkit.SortedPercentile(st.lat, p)
}

func (st *stats) max() time.Duration { return st.pct(1) }

func (st *stats) String() string {
	st.mu.Lock()
	codes := make([]int, 0, len(st.byStatus))
	for c := range st.byStatus {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var b strings.Builder
	fmt.Fprintf(&b, "n=%d", st.n)
	for _, c := range codes {
		fmt.Fprintf(&b, " %d=%d", c, st.byStatus[c])
	}
	if st.errs > 0 {
		fmt.Fprintf(&b, " transport_errors=%d (first: %v)", st.errs, st.firstErr)
	}
	srcs := make([]string, 0, len(st.bySource))
	for s := range st.bySource {
		srcs = append(srcs, s)
	}
	sort.Strings(srcs)
	for _, s := range srcs {
		fmt.Fprintf(&b, " %s=%d", s, st.bySource[s])
	}
	lat := st.lat
	st.mu.Unlock()
	fmt.Fprintf(&b, " p50=%v p99=%v max=%v", testkit.Round(testkit.SortedPercentile(lat, .5)), testkit.Round(testkit.SortedPercentile(lat, .99)), testkit.Round(testkit.SortedPercentile(lat, 1)))
	return b.String()
}

// hammer runs workers goroutines, each calling fn(worker, i) for i = 0, 1,
// ... until stop is closed, and returns a function that waits for them.
func hammer(workers int, stop <-chan struct{}, fn func(w, i int)) (wait func()) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				fn(w, i)
			}
		})
	}
	return wg.Wait
}

// forEach runs fn(i) for i in [0, n) on workers goroutines and waits.
func forEach(n, workers int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// figures prints one scenario's measured figures in a greppable form.
func figures(t testing.TB, format string, args ...any) {
	t.Helper()
	t.Logf("FIGURES %s: "+format, append([]any{t.Name()}, args...)...)
}
