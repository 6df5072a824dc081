package verifier

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/internal/attacks"
	"github.com/stytchguard/stytchguard/internal/testkit"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// jwkJSON renders pub as a JWK with the given kid, use and alg ("" omits).
func jwkJSON(pub *rsa.PublicKey, kid, use, alg string) string {
	m := fmt.Sprintf(`{"kty":"RSA","kid":%q,"n":%q,"e":%q`, kid,
		base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()))
	if use != "" {
		m += fmt.Sprintf(`,"use":%q`, use)
	}
	if alg != "" {
		m += fmt.Sprintf(`,"alg":%q`, alg)
	}
	return m + "}"
}

func jwksBody(keys ...string) []byte {
	return []byte(`{"keys":[` + strings.Join(keys, ",") + `],"request_id":"request-id-test-1","status_code":200}`)
}

// newColdEnv starts an emulator whose JWKS endpoint already misbehaves
// with f, then a Verifier.
func newColdEnv(t *testing.T, f stytchtest.Fault, mod func(*Config)) (*env, error) {
	t.Helper()
	key, _, _ := keys(t)
	clock := stytchtest.NewClock(t0)
	srv := stytchtest.NewServer(stytchtest.Options{SigningKey: key, KeyID: "jwk-test-primary", Now: clock.Now})
	t.Cleanup(srv.Close)
	srv.SetFault(stytchtest.EndpointJWKS, f)
	cfg := Config{ProjectID: srv.ProjectID, BaseURL: srv.URL, Secret: srv.Secret, Now: clock.Now, JWKSFetchTimeout: time.Second}
	if mod != nil {
		mod(&cfg)
	}
	v, err := New(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = v.Close() })
	return &env{srv: srv, clock: clock, v: v, kid: "jwk-test-primary"}, nil
}

// TestJWKSOutageWithWarmCache: refreshes failing for days cause zero Verify
// failures until the maximum staleness, then ErrKeysUnavailable.
func TestJWKSOutageWithWarmCache(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.CacheSize = -1 })
	ctx := context.Background()
	e.srv.SetFault(stytchtest.EndpointJWKS, stytchtest.Fault{Status: http.StatusServiceUnavailable})
	failures := 0
	for day := range 7 {
		e.clock.Set(t0.Add(time.Duration(day) * 24 * time.Hour))
		if err := e.v.sharedFetch(ctx, false); err == nil {
			t.Fatal("refresh succeeded during the outage")
		}
		now := e.clock.Now()
		if _, _, err := e.v.Verify(ctx, e.sign(t, e.claims(now.Add(-time.Minute)), nil)); err != nil {
			failures++
			t.Errorf("day %d: Verify = %v", day, err)
		}
	}
	if failures != 0 {
		t.Fatalf("%d failures during the outage, want 0", failures)
	}
	st := e.v.Status()
	if !st.Ready || st.LastError == nil || st.ConsecutiveFailures != 7 || st.Fetches != 8 || !st.LastSuccess.Equal(t0) {
		t.Fatalf("Status = %+v", st)
	}
	if !strings.Contains(st.LastError.Error(), "503") {
		t.Errorf("LastError = %v, want the HTTP status", st.LastError)
	}

	// Past the maximum staleness the keys are no longer trusted.
	e.clock.Set(t0.Add(DefaultJWKSMaxStaleness + time.Second))
	now := e.clock.Now()
	_, _, err := e.v.Verify(ctx, e.sign(t, e.claims(now.Add(-time.Minute)), nil))
	if !errors.Is(err, ErrKeysUnavailable) || !CanRefreshRemotely(err) || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify with stale keys = %v, want ErrKeysUnavailable only", err)
	}
	if e.v.Status().Ready {
		t.Fatal("Status.Ready with stale keys")
	}

	// The endpoint recovers: the next refresh restores service.
	e.srv.ClearFaults()
	if err := e.v.sharedFetch(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.v.Verify(ctx, e.sign(t, e.claims(now.Add(-time.Minute)), nil)); err != nil {
		t.Fatalf("Verify after recovery = %v", err)
	}
	if st := e.v.Status(); !st.Ready || st.LastError != nil || st.ConsecutiveFailures != 0 {
		t.Fatalf("Status after recovery = %+v", st)
	}
}

// TestJWKSColdStart: New succeeds with the endpoint down, Verify reports
// keys unavailable, and the background retry picks the keys up.
func TestJWKSColdStart(t *testing.T) {
	e, err := newColdEnv(t, stytchtest.Fault{Status: http.StatusInternalServerError}, func(c *Config) {
		c.JWKSRetryMin = 5 * time.Millisecond
		c.JWKSRetryMax = 20 * time.Millisecond
	})
	if err != nil {
		t.Fatalf("New with the JWKS down: %v", err)
	}
	ctx := context.Background()
	tok := e.sign(t, e.claims(iat0), nil)
	if _, _, err := e.v.Verify(ctx, tok); !errors.Is(err, ErrKeysUnavailable) || !CanRefreshRemotely(err) {
		t.Fatalf("Verify before the first good fetch = %v, want ErrKeysUnavailable", err)
	}
	if e.v.Status().Ready {
		t.Fatal("Ready before any good fetch")
	}
	// The background keeps retrying with backoff while the endpoint is down.
	waitFor(t, func() bool { return e.srv.Calls(stytchtest.EndpointJWKS) >= 4 })
	e.srv.ClearFaults()
	waitFor(t, func() bool { return e.v.Status().Ready })
	if _, _, err := e.v.Verify(ctx, tok); err != nil {
		t.Fatalf("Verify after the endpoint came up = %v", err)
	}
}

func TestJWKSRequireJWKS(t *testing.T) {
	_, err := newColdEnv(t, stytchtest.Fault{Status: http.StatusBadGateway}, func(c *Config) { c.RequireJWKS = true })
	if !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("New with RequireJWKS and the JWKS down = %v, want ErrKeysUnavailable", err)
	}
}

// waitFor polls cond on the real clock for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestJWKSKeyRotationUnderLoad: after a rotation, concurrent requests with
// the new kid all succeed through exactly one extra fetch.
func TestJWKSKeyRotationUnderLoad(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if _, _, err := e.v.Verify(ctx, e.sign(t, e.claims(iat0), nil)); err != nil {
		t.Fatal(err)
	}
	before := e.srv.Calls(stytchtest.EndpointJWKS)
	newKID, err := e.srv.RotateKey()
	if err != nil {
		t.Fatal(err)
	}
	toks := make([]string, 64)
	for i := range toks {
		c := e.claims(iat0)
		c["n"] = i
		toks[i] = e.sign(t, c, nil)
	}
	var failures atomic.Int64
	var wg sync.WaitGroup
	for _, tok := range toks {
		wg.Go(func() {
			if _, _, err := e.v.Verify(ctx, tok); err != nil {
				failures.Add(1)
			}
		})
	}
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d failures during rotation, want 0", n)
	}
	if extra := e.srv.Calls(stytchtest.EndpointJWKS) - before; extra != 1 {
		t.Fatalf("%d JWKS fetches for the rotation, want 1", extra)
	}
	if st := e.v.Status(); len(st.KeyIDs) != 2 || !slices.Contains(st.KeyIDs, newKID) {
		t.Fatalf("KeyIDs = %v", st.KeyIDs)
	}
}

// TestJWKSUnknownKIDFlood: a flood of forged kids costs one fetch per
// window, however many requests ask.
func TestJWKSUnknownKIDFlood(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	before := e.srv.Calls(stytchtest.EndpointJWKS)
	flood := func(n int) {
		var wg sync.WaitGroup
		var wrong atomic.Int64
		for i := range n {
			tok := e.sign(t, e.claims(iat0), map[string]any{"kid": fmt.Sprintf("jwk-test-forged-%d", i)})
			wg.Go(func() {
				if _, _, err := e.v.Verify(ctx, tok); !errors.Is(err, ErrUnknownKey) || CanRefreshRemotely(err) {
					wrong.Add(1)
				}
			})
		}
		wg.Wait()
		if wrong.Load() != 0 {
			t.Fatalf("%d forged kids not rejected with ErrUnknownKey", wrong.Load())
		}
	}
	flood(100)
	if got := e.srv.Calls(stytchtest.EndpointJWKS) - before; got != 1 {
		t.Fatalf("%d JWKS fetches for the first flood, want 1", got)
	}
	// Inside the window: no fetch at all.
	e.clock.Advance(DefaultUnknownKIDWindow - time.Second)
	flood(50)
	if got := e.srv.Calls(stytchtest.EndpointJWKS) - before; got != 1 {
		t.Fatalf("%d JWKS fetches inside the window, want 1", got)
	}
	// After the window: one more.
	e.clock.Advance(2 * time.Second)
	flood(50)
	if got := e.srv.Calls(stytchtest.EndpointJWKS) - before; got != 2 {
		t.Fatalf("%d JWKS fetches after the window, want 2", got)
	}
}

// slowFlood sends n concurrent Verify calls with distinct unknown kids and
// returns how many failed with an error other than want, and the slowest
// call's duration.
func slowFlood(t *testing.T, e *env, n int, want error) (wrong int64, slowest time.Duration) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	var bad, worst atomic.Int64
	for i := range n {
		tok := e.sign(t, e.claims(iat0), map[string]any{"kid": fmt.Sprintf("jwk-test-new-%d", i)})
		wg.Go(func() {
			start := time.Now()
			_, _, err := e.v.Verify(ctx, tok)
			if d := int64(time.Since(start)); d > worst.Load() {
				worst.Store(d)
			}
			if !errors.Is(err, want) {
				bad.Add(1)
			}
		})
	}
	wg.Wait()
	return bad.Load(), time.Duration(worst.Load())
}

// TestJWKSSlowEndpoint: waiters for a hanging refetch are released after
// the fetch timeout; with warm keys the unknown kids are rejected as
// forged, and Close does not hang.
func TestJWKSSlowEndpoint(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.JWKSFetchTimeout = 200 * time.Millisecond })
	e.srv.SetFault(stytchtest.EndpointJWKS, stytchtest.Fault{Hang: true})
	wrong, slowest := slowFlood(t, e, 20, ErrUnknownKey)
	if wrong != 0 {
		t.Fatalf("%d waiters did not get ErrUnknownKey", wrong)
	}
	// Generous bound: the point is that waits end near the 200 ms timeout, not never.
	if slowest > 3*time.Second {
		t.Fatalf("slowest waiter took %v with a 200 ms fetch timeout", slowest)
	}
	if got := e.srv.Calls(stytchtest.EndpointJWKS); got != 2 {
		t.Fatalf("%d JWKS requests, want 2 (New + one shared refetch)", got)
	}
	// A caller's own deadline also bounds the wait.
	e.clock.Advance(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	tok := e.sign(t, e.claims(e.clock.Now().Add(-time.Minute)), map[string]any{"kid": "jwk-test-newer"})
	if _, _, err := e.v.Verify(ctx, tok); !errors.Is(err, ErrUnknownKey) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify with a short deadline = %v", err)
	}
	_ = e.v.Close() // with a fetch possibly hanging: must return
}

// TestJWKSSlowEndpointCold: with no keys yet, waiters on a hanging refetch
// get ErrKeysUnavailable (the remote can decide) within the timeout.
func TestJWKSSlowEndpointCold(t *testing.T) {
	e, err := newColdEnv(t, stytchtest.Fault{Hang: true}, func(c *Config) { c.JWKSFetchTimeout = 200 * time.Millisecond })
	if err != nil {
		t.Fatal(err)
	}
	wrong, slowest := slowFlood(t, e, 20, ErrKeysUnavailable)
	if wrong != 0 {
		t.Fatalf("%d waiters did not get ErrKeysUnavailable", wrong)
	}
	if slowest > 3*time.Second {
		t.Fatalf("slowest waiter took %v with a 200 ms fetch timeout", slowest)
	}
}

// TestJWKSBadResponsesKeepLastGoodKeys: every kind of bad answer leaves
// the previous key set in service and is reported in Status.
func TestJWKSBadResponsesKeepLastGoodKeys(t *testing.T) {
	key, other, weak := keys(t)
	huge := append([]byte(`{"keys":[`+jwkJSON(&key.PublicKey, "jwk-test-primary", "sig", "RS256")+`],"pad":"`), bytes.Repeat([]byte("x"), MaxJWKSBodySize)...)
	huge = append(huge, `"}`...)
	cases := []struct {
		name  string
		fault stytchtest.Fault
		body  []byte // served with 200 via SetJWKSBody when fault is zero
	}{
		// Server error with a JSON body.
		{name: "status_500", fault: stytchtest.Fault{Status: 500}},
		// Rate limited.
		{name: "status_429", fault: stytchtest.Fault{Status: 429, RetryAfter: time.Second}},
		// A proxy's HTML error page with status 200.
		{name: "html_200", fault: stytchtest.Fault{Body: []byte("<html><body>Bad gateway</body></html>"), ContentType: "text/html"}},
		// Truncated JSON.
		{name: "truncated_json", body: []byte(`{"keys":[{"kty":"RSA",`)},
		// An empty set.
		{name: "empty_set", body: jwksBody()},
		// keys is null.
		{name: "keys_null", body: []byte(`{"keys":null}`)},
		// Not an object.
		{name: "array", body: []byte(`[1,2,3]`)},
		// Empty body.
		{name: "empty_body", body: []byte(" ")},
		// Only unusable keys: too small, for encryption, another alg, EC.
		{name: "all_keys_unusable", body: jwksBody(
			jwkJSON(&weak.PublicKey, "jwk-test-weak", "sig", "RS256"),
			jwkJSON(&other.PublicKey, "jwk-test-enc", "enc", ""),
			jwkJSON(&other.PublicKey, "jwk-test-rs512", "sig", "RS512"),
			`{"kty":"EC","kid":"jwk-test-ec","crv":"P-256","x":"AAAA","y":"AAAA"}`,
			`{"kty":"oct","kid":"jwk-test-hmac","k":"c2VjcmV0"}`,
		)},
		// Larger than the 1 MiB cap.
		{name: "over_1MiB", body: huge},
		// Connection dropped.
		{name: "dropped", fault: stytchtest.Fault{Drop: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.CacheSize = -1 })
			ctx := context.Background()
			if tc.body != nil {
				e.srv.SetJWKSBody(tc.body)
			} else {
				e.srv.SetFault(stytchtest.EndpointJWKS, tc.fault)
			}
			if err := e.v.sharedFetch(ctx, false); err == nil {
				t.Fatal("refresh accepted a bad response")
			}
			st := e.v.Status()
			if !st.Ready || st.LastError == nil || len(st.KeyIDs) != 1 || st.KeyIDs[0] != e.kid {
				t.Fatalf("Status = %+v", st)
			}
			if _, _, err := e.v.Verify(ctx, e.sign(t, e.claims(iat0), nil)); err != nil {
				t.Fatalf("Verify after a bad response = %v", err)
			}
		})
	}
}

// TestJWKSKeySelection: only RSA signature keys for RS256 of at least 2048
// bits with public exponent 65537 are used; others in the same set are
// skipped, and duplicated kids dropped. Every weak key signs a token that
// it would verify.
func TestJWKSKeySelection(t *testing.T) {
	key, other, weak := keys(t)
	w := attacks.Weak()
	primary := jwkJSON(&key.PublicKey, "jwk-test-primary", "sig", "RS256")
	cases := []struct {
		name   string
		set    []string
		kid    string
		signer *rsa.PrivateKey
		want   error
	}{
		// use and alg unset are accepted.
		{"use_alg_unset", []string{primary, jwkJSON(&other.PublicKey, "jwk-test-bare", "", "")}, "jwk-test-bare", other, nil},
		// An encryption key must not verify signatures.
		{"use_enc", []string{primary, jwkJSON(&other.PublicKey, "jwk-test-enc", "enc", "")}, "jwk-test-enc", other, ErrUnknownKey},
		// A key pinned to another algorithm.
		{"alg_rs512", []string{primary, jwkJSON(&other.PublicKey, "jwk-test-rs512", "sig", "RS512")}, "jwk-test-rs512", other, ErrUnknownKey},
		// A 1024-bit key: forgeable with public factoring effort.
		{"rsa_1024", []string{primary, jwkJSON(&weak.PublicKey, "jwk-test-weak", "sig", "RS256")}, "jwk-test-weak", weak, ErrUnknownKey},
		// One bit short of 2048.
		{"rsa_2047", []string{primary, jwkJSON(&w.Bits2047.PublicKey, "jwk-test-2047", "sig", "RS256")}, "jwk-test-2047", w.Bits2047, ErrUnknownKey},
		// Exponent 3: Bleichenbacher's signature forgery against lax padding checks.
		{"exponent_3", []string{primary, jwkJSON(&w.Exponent3.PublicKey, "jwk-test-e3", "sig", "RS256")}, "jwk-test-e3", w.Exponent3, ErrUnknownKey},
		// Exponent 65539: odd and large, but not the one Stytch uses.
		{"exponent_65539", []string{primary, jwkJSON(&w.Exponent65539.PublicKey, "jwk-test-e65539", "sig", "RS256")}, "jwk-test-e65539", w.Exponent65539, ErrUnknownKey},
		// 2048 bits and exponent 65537: the one accepted shape.
		{"rsa_2048_e65537_ok", []string{primary, jwkJSON(&other.PublicKey, "jwk-test-2048", "sig", "RS256")}, "jwk-test-2048", other, nil},
		// Two keys under one kid: ambiguous, both dropped.
		{"duplicate_kid", []string{primary, jwkJSON(&other.PublicKey, "jwk-test-dup", "sig", "RS256"), jwkJSON(&weak.PublicKey, "jwk-test-dup", "sig", "RS256")}, "jwk-test-dup", other, ErrUnknownKey},
		// A private key published by mistake is not used.
		{"private_key", []string{primary, privateJWK(other, "jwk-test-private")}, "jwk-test-private", other, ErrUnknownKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.srv.SetJWKSBody(jwksBody(tc.set...))
			if err := e.v.sharedFetch(context.Background(), false); err != nil {
				t.Fatal(err)
			}
			tok := signRaw(t, tc.signer, fmt.Sprintf(`{"alg":"RS256","kid":%q,"typ":"JWT"}`, tc.kid), rawPayload(t, e, nil, ""))
			_, _, err := e.v.Verify(context.Background(), tok)
			if tc.want == nil && err != nil || !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestJWKSWeakKeyWarnedOnce: each weak key id is logged once, at Warn,
// over the Verifier's life however often the set is fetched again, and the
// record holds no key material.
func TestJWKSWeakKeyWarnedOnce(t *testing.T) {
	var logs testkit.SyncBuffer
	e := newEnv(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	key, _, _ := keys(t)
	w := attacks.Weak()
	e.srv.SetJWKSBody(jwksBody(
		jwkJSON(&key.PublicKey, "jwk-test-primary", "sig", "RS256"),
		jwkJSON(&w.Exponent3.PublicKey, "jwk-test-e3", "sig", "RS256"),
		jwkJSON(&w.Bits2047.PublicKey, "jwk-test-2047", "", ""),
	))
	for range 3 {
		if err := e.v.sharedFetch(context.Background(), false); err != nil {
			t.Fatal(err)
		}
	}
	out := logs.String()
	for _, kid := range []string{"jwk-test-e3", "jwk-test-2047"} {
		if n := strings.Count(out, "kid="+kid+"\n"); n != 1 {
			t.Errorf("%d records for %s, want 1:\n%s", n, kid, out)
		}
	}
	if n := strings.Count(out, "level=WARN msg=\"verifier: JWKS key skipped"); n != 2 {
		t.Errorf("%d weak-key warnings, want 2:\n%s", n, out)
	}
	for _, material := range []*big.Int{w.Exponent3.N, w.Bits2047.N} {
		if strings.Contains(out, base64.RawURLEncoding.EncodeToString(material.Bytes())[:32]) || strings.Contains(out, material.String()[:32]) {
			t.Fatal("a log record holds key material")
		}
	}
	if st := e.v.Status(); st.SkippedKeys != 2 || len(st.KeyIDs) != 1 {
		t.Fatalf("Status = %+v, want the primary key only and 2 skipped", st)
	}
}

func privateJWK(k *rsa.PrivateKey, kid string) string {
	enc := func(b *big.Int) string { return base64.RawURLEncoding.EncodeToString(b.Bytes()) }
	return fmt.Sprintf(`{"kty":"RSA","kid":%q,"use":"sig","alg":"RS256","n":%q,"e":"AQAB","d":%q,"p":%q,"q":%q}`,
		kid, enc(k.N), enc(k.D), enc(k.Primes[0]), enc(k.Primes[1]))
}

// recorder is an http.RoundTripper that keeps the requests it forwards.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Clone(context.Background()))
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// TestJWKSRequest: the JWKS is fetched with GET from the documented path,
// without credentials, through the configured HTTP client.
func TestJWKSRequest(t *testing.T) {
	rec := &recorder{}
	hc := &http.Client{Transport: rec}
	e := newEnv(t, func(c *Config) {
		c.HTTPClient = hc
		c.BaseURL += "/" // trailing slash trimmed
	})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(rec.reqs))
	}
	r := rec.reqs[0]
	if r.Method != http.MethodGet || r.URL.Path != "/v1/b2b/sessions/jwks/"+e.srv.ProjectID {
		t.Fatalf("request %s %s", r.Method, r.URL.Path)
	}
	if r.Header.Get("Authorization") != "" {
		t.Fatal("JWKS request carries credentials")
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
}

// TestJWKSBackgroundRefresh: the loop refreshes on its interval and stops
// on Close.
func TestJWKSBackgroundRefresh(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.JWKSRefreshInterval = 10 * time.Millisecond })
	waitFor(t, func() bool { return e.srv.Calls(stytchtest.EndpointJWKS) >= 4 })
	_ = e.v.Close()
	n := e.srv.Calls(stytchtest.EndpointJWKS)
	time.Sleep(50 * time.Millisecond)
	if m := e.srv.Calls(stytchtest.EndpointJWKS); m != n {
		t.Fatalf("%d fetches after Close", m-n)
	}
	if err := e.v.sharedFetch(context.Background(), false); !errors.Is(err, errClosed) {
		t.Fatalf("fetch after Close = %v", err)
	}
}

func TestJitter(t *testing.T) {
	for range 1000 {
		if d := jitter(time.Hour); d < 54*time.Minute || d > 66*time.Minute {
			t.Fatalf("jitter(1h) = %v", d)
		}
	}
	if d := jitter(5); d != 5 {
		t.Fatalf("jitter(5ns) = %v", d)
	}
}

// TestJWKSPublishedKey: a key the emulator publishes without signing with
// it (empty x5c) verifies tokens signed with it.
func TestJWKSPublishedKey(t *testing.T) {
	e := newEnv(t, nil)
	_, other, _ := keys(t)
	e.srv.PublishKey(&other.PublicKey, "jwk-test-other")
	tok := signRaw(t, other, `{"alg":"RS256","kid":"jwk-test-other","typ":"JWT"}`, rawPayload(t, e, nil, ""))
	if _, _, err := e.v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("Verify with a newly published key = %v", err)
	}
}
