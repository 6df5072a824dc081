package verifier

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func TestNewValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		// A verifier must know whose tokens it accepts.
		{"empty_project", Config{}},
		// A project id that would change the JWKS path.
		{"project_with_slash", Config{ProjectID: "project-test-a/../b"}},
		{"project_with_query", Config{ProjectID: "project-test-a?x=1"}},
		// Base URLs that are not absolute http(s).
		{"base_url_relative", Config{ProjectID: "project-test-a", BaseURL: "/v1"}},
		{"base_url_scheme", Config{ProjectID: "project-test-a", BaseURL: "ftp://example.com"}},
		// Leeway must not open the door wide.
		{"leeway_too_large", Config{ProjectID: "project-test-a", Leeway: MaxLeeway + time.Second}},
		// Negative durations.
		{"refresh_negative", Config{ProjectID: "project-test-a", JWKSRefreshInterval: -1}},
		{"timeout_negative", Config{ProjectID: "project-test-a", JWKSFetchTimeout: -1}},
		{"staleness_negative", Config{ProjectID: "project-test-a", JWKSMaxStaleness: -1}},
		{"window_negative", Config{ProjectID: "project-test-a", UnknownKIDWindow: -1}},
		// A negative size cap means nothing sensible.
		{"max_token_bytes_negative", Config{ProjectID: "project-test-a", MaxTokenBytes: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(context.Background(), tc.cfg)
			if err == nil {
				_ = v.Close()
				t.Fatal("New accepted an invalid Config")
			}
		})
	}
}

// TestNewDefaults checks the derived base URL and the defaults without
// network access, and that New tolerates a JWKS endpoint that is down.
func TestNewDefaults(t *testing.T) {
	srv := stytchtest.NewServer(stytchtest.Options{})
	base := srv.URL
	srv.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		project, base, wantURL string
	}{
		{"project-live-1", "", "https://api.stytch.com/v1/b2b/sessions/jwks/project-live-1"},
		{"project-test-1", "", "https://test.stytch.com/v1/b2b/sessions/jwks/project-test-1"},
		{"anything", "", "https://test.stytch.com/v1/b2b/sessions/jwks/anything"},
		{"project-test-1", base + "//", base + "/v1/b2b/sessions/jwks/project-test-1"},
	} {
		cfg := Config{ProjectID: tc.project, BaseURL: tc.base}
		if tc.base == "" {
			// Never reach the real API from tests: the cancelled context
			// stops the first fetch before any dial, and the retry is
			// pushed beyond the test's life.
			cfg.JWKSRetryMin, cfg.JWKSRetryMax = time.Hour, time.Hour
		}
		v := newUnstarted(t, cfg)
		if v.jwksURL != tc.wantURL {
			t.Errorf("jwksURL = %q, want %q", v.jwksURL, tc.wantURL)
		}
		if v.leeway != DefaultLeeway || v.refreshInterval != DefaultJWKSRefreshInterval || v.maxStale != DefaultJWKSMaxStaleness ||
			v.fetchTimeout != DefaultJWKSFetchTimeout || v.cache == nil {
			t.Errorf("defaults not applied: %+v", v)
		}
		if tc.base != "" && (v.retryMin != DefaultJWKSRetryMin || v.retryMax != DefaultJWKSRetryMax) {
			t.Errorf("retry defaults not applied: %v %v", v.retryMin, v.retryMax)
		}
	}
	// A working New with a closed endpoint.
	v, err := New(ctx, Config{ProjectID: "project-test-1", BaseURL: base, JWKSFetchTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if st := v.Status(); st.Ready || st.LastError == nil || st.Fetches != 1 {
		t.Fatalf("Status = %+v", st)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
}

// newUnstarted runs New with a cancelled context, so its first fetch fails
// before sending anything.
func newUnstarted(t *testing.T, cfg Config) *Verifier {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	v, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v
}

// TestLogsNeverContainTokens drives failures through a logging Verifier.
func TestLogsNeverContainTokens(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, func(c *Config) { c.Logger = logger })
	ctx := context.Background()
	var toks []string
	for _, tc := range attackTable() {
		toks = append(toks, tc.token(t, e))
	}
	e.srv.SetFault(stytchtest.EndpointJWKS, stytchtest.Fault{Status: 500})
	e.clock.Advance(time.Hour) // a new unknown-kid window: refetch, which fails
	for _, tok := range toks {
		_, _, _ = e.v.Verify(ctx, tok)
	}
	out := buf.String()
	if !strings.Contains(out, "JWKS fetch failed") {
		t.Fatalf("expected a fetch failure in the log, got %q", out)
	}
	for _, tok := range toks {
		if len(tok) > 40 && strings.Contains(out, tok[len(tok)-40:]) {
			t.Fatal("log contains a token")
		}
	}
	if strings.Contains(out, e.srv.Secret) {
		t.Fatal("log contains the secret")
	}
}

// TestNoLeeway: a negative Leeway tolerates no skew at all, where the
// default tolerates five seconds.
func TestNoLeeway(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		leeway time.Duration
		want   error // for a token one second past exp, and for one whose nbf is one second ahead
	}{
		{"default", 0, nil},
		{"none", -1, ErrInvalidToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.Leeway = tc.leeway })
			expired := e.sign(t, e.claims(e.clock.Now().Add(-5*time.Minute-time.Second)), nil)
			early := e.claims(e.clock.Now())
			early["nbf"] = e.clock.Now().Add(time.Second).Unix()
			for name, tok := range map[string]string{"expired": expired, "early": e.sign(t, early, nil)} {
				_, _, err := e.v.Verify(ctx, tok)
				if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
					t.Errorf("%s token: Verify = %v, want %v", name, err, tc.want)
				}
			}
		})
	}
}

// TestMaxTokenBytes: the size cap is the configured one, on Verify and on
// AuthenticateJWT's always-remote path alike, and its error names no size.
func TestMaxTokenBytes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cap     int
		padding int // bytes of custom claim added to a valid token
		tooBig  bool
	}{
		// The default cap takes an ordinary token.
		{"default_ordinary", 0, 0, false},
		// The default cap refuses a 10 KiB token.
		{"default_10KiB", 0, 10 << 10, true},
		// A larger configured cap (a middleware's MaxCredentialBytes) takes it.
		{"larger_cap_10KiB", 16 << 10, 10 << 10, false},
		// A smaller configured cap refuses even an ordinary token.
		{"smaller_cap_ordinary", 256, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.MaxTokenBytes = tc.cap })
			c := e.claims(iat0)
			if tc.padding > 0 {
				c["pad"] = strings.Repeat("x", tc.padding)
			}
			tok := e.sign(t, c, nil)
			_, _, err := e.v.Verify(context.Background(), tok)
			if got := errors.Is(err, ErrTokenTooLarge); got != tc.tooBig || (!tc.tooBig && err != nil) {
				t.Fatalf("Verify = %v, want too large: %v", err, tc.tooBig)
			}
			_, err = e.v.AuthenticateJWT(context.Background(), &client.AuthenticateJWTParams{Body: &client.AuthenticateParams{SessionJWT: tok}})
			if got := errors.Is(err, ErrTokenTooLarge); got != tc.tooBig {
				t.Fatalf("AuthenticateJWT = %v, want too large: %v", err, tc.tooBig)
			}
			if err != nil && strings.Contains(err.Error(), "KiB") {
				t.Fatalf("error text names a size: %v", err)
			}
		})
	}
}
