package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/internal/testkit"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func noEnv(string) string { return "" }

// started is what run's ready callback reports.
type started struct {
	app     *app
	baseURL string
}

// TestRunServesAndShutsDownGracefully starts main's server on port 0, checks
// the start-up output, holds a request in flight (the emulator delays its
// answer) while shutdown begins, and checks that the request completes and
// that run returns cleanly with the port closed.
func TestRunServesAndShutsDownGracefully(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr testkit.SyncBuffer
	up := make(chan started, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, noEnv, &stdout, &stderr, func(a *app, u string) { up <- started{a, u} })
	}()
	var s started
	select {
	case s = <-up:
	case err := <-done:
		t.Fatalf("run returned before serving: %v\n%s", err, stderr.String())
	}

	out := stdout.String()
	for _, want := range []string{"embedded Stytch emulator", "serving on " + s.baseURL, "5 minutes", s.baseURL + "/demo/login?member=alice"} {
		if !strings.Contains(out, want) {
			t.Errorf("start-up output lacks %q:\n%s", want, out)
		}
	}
	for _, m := range s.app.Members {
		if !strings.Contains(out, "\n"+shellVar(&m, "JWT")+"='"+m.SessionJWT+"'\n") {
			t.Errorf("start-up output lacks the session JWT of %s", m.Name)
		}
		if !strings.Contains(out, "\n"+shellVar(&m, "TOKEN")+"='"+m.SessionToken+"'\n") {
			t.Errorf("start-up output lacks the session token of %s", m.Name)
		}
	}
	// Every curl line is run by TestBannerCurlLines and TestBannerInBash.

	resp, err := http.Get(s.baseURL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}

	// A request that needs the emulator (an opaque session token), held
	// there while the shutdown starts.
	emu := s.app.Emulator
	emu.ResetCalls()
	emu.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Latency: 300 * time.Millisecond, Times: 1})
	inflight := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", s.baseURL+"/me", nil)
		req.Header.Set("Authorization", "Bearer "+s.app.Members[0].SessionToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			inflight <- -1
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		inflight <- resp.StatusCode
	}()
	for deadline := time.Now().Add(5 * time.Second); emu.Calls(stytchtest.EndpointAuthenticate) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the request never reached the emulator")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()

	if status := <-inflight; status != http.StatusOK {
		t.Errorf("in-flight request during shutdown: status %d, want 200", status)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatal("run did not return after cancel")
	}
	if !strings.Contains(stdout.String(), "shutting down") {
		t.Error("no shutdown message")
	}
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(s.baseURL, "http://"), time.Second); err == nil {
		c.Close()
		t.Error("the port still accepts connections after run returned")
	}
	if resp, err := http.Get(emu.URL + "/v1/b2b/rbac/policy"); err == nil {
		resp.Body.Close()
		t.Error("the emulator still answers after run returned")
	}
}

func TestRunRejectsBadInvocations(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		env    map[string]string
		wantIs error
	}{
		{"help", []string{"-h"}, nil, flag.ErrHelp},
		{"unknown flag", []string{"-port", "1"}, nil, nil},
		{"stray argument", []string{"serve"}, nil, nil},
		{"secret without project", []string{"-addr", "127.0.0.1:0"}, map[string]string{"STYTCH_SECRET": "secret-test-abc"}, nil},
		{"bad address", []string{"-addr", "127.0.0.1:99999"}, nil, nil},
		// Stytch refuses sessions under 5 minutes; the demo does too.
		{"session ttl too short", []string{"-addr", "127.0.0.1:0", "-session-ttl", "1m"}, nil, nil},
		{"session ttl not whole minutes", []string{"-addr", "127.0.0.1:0", "-session-ttl", "10m30s"}, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr testkit.SyncBuffer
			getenv := func(k string) string { return tc.env[k] }
			err := run(context.Background(), tc.args, getenv, &stdout, &stderr, func(*app, string) {
				t.Error("the server started")
			})
			if err == nil {
				t.Fatal("run accepted the invocation")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Fatalf("error %v, want %v", err, tc.wantIs)
			}
			if strings.Contains(err.Error(), "secret-test-abc") || strings.Contains(stderr.String(), "secret-test-abc") {
				t.Error("the secret was printed")
			}
		})
	}
}

func TestDisplayAddr(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"127.0.0.1:8080", "127.0.0.1:8080"},
		{"0.0.0.0:8080", "localhost:8080"},
		{"[::]:8080", "localhost:8080"},
		{"[::1]:9000", "[::1]:9000"},
	} {
		addr, err := net.ResolveTCPAddr("tcp", tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := displayAddr(addr); got != tc.want {
			t.Errorf("displayAddr(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
