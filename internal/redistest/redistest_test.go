package redistest

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestLifecycle drives a server through every state a fleet test uses and
// checks each from outside, over the socket.
func TestLifecycle(t *testing.T) {
	url, srv := Start(t)
	if !strings.HasPrefix(url, "unix:///") || !strings.HasSuffix(url, "/redis.sock") {
		t.Fatalf("url = %q, want unix:///…/redis.sock", url)
	}
	if r, err := srv.Do(5*time.Second, "SET", "k", "v"); err != nil || r != "+OK\r\n" {
		t.Fatalf("SET = %q, %v", r, err)
	}
	if r, err := srv.Do(5*time.Second, "GET", "k"); err != nil || r != "$1\r\nv\r\n" {
		t.Fatalf("GET = %q, %v", r, err)
	}

	srv.Pause()
	if r, err := srv.Do(200*time.Millisecond, "PING"); err == nil {
		t.Fatalf("PING to a paused server = %q, want a timeout", r)
	}
	srv.Resume()
	if r, err := srv.Do(5*time.Second, "PING"); err != nil || r != "+PONG\r\n" {
		t.Fatalf("PING after Resume = %q, %v", r, err)
	}

	srv.Stop()
	if _, err := srv.Do(time.Second, "PING"); err == nil {
		t.Fatal("PING to a stopped server succeeded")
	}
	srv.Start()
	// No persistence: a restarted server is empty.
	if r, err := srv.Do(5*time.Second, "GET", "k"); err != nil || r != "$-1\r\n" {
		t.Fatalf("GET after restart = %q, %v; want nil", r, err)
	}
	if r, err := srv.Do(5*time.Second, "KEYS", "*"); err != nil || r != "*0\r\n" {
		t.Fatalf("KEYS after restart = %q, %v", r, err)
	}
	// Stopping a paused server must not hang the cleanup.
	srv.Pause()
}

// TestServersAreIndependent checks that two calls give two servers.
func TestServersAreIndependent(t *testing.T) {
	_, a := Start(t)
	_, b := Start(t)
	if a.Socket() == b.Socket() {
		t.Fatalf("both servers on %s", a.Socket())
	}
	a.Do(5*time.Second, "SET", "only-a", "1")
	if r, err := b.Do(5*time.Second, "EXISTS", "only-a"); err != nil || r != ":0\r\n" {
		t.Fatalf("EXISTS on b = %q, %v; want :0", r, err)
	}
}

// TestProxyCut checks that a cut proxy refuses service while the server
// still answers directly, and that Restore brings the proxy back.
func TestProxyCut(t *testing.T) {
	_, srv := Start(t)
	p := NewProxy(t, srv)
	sock := strings.TrimPrefix(p.URL(), "unix://")
	if r, err := do(sock, 5*time.Second, "PING"); err != nil || r != "+PONG\r\n" {
		t.Fatalf("PING through the proxy = %q, %v", r, err)
	}
	p.Cut()
	if r, err := do(sock, time.Second, "PING"); err == nil {
		t.Fatalf("PING through a cut proxy = %q, want an error", r)
	}
	if r, err := srv.Do(5*time.Second, "PING"); err != nil || r != "+PONG\r\n" {
		t.Fatalf("PING to the server during the cut = %q, %v", r, err)
	}
	p.Restore()
	if r, err := do(sock, 5*time.Second, "PING"); err != nil || r != "+PONG\r\n" {
		t.Fatalf("PING after Restore = %q, %v", r, err)
	}
}
