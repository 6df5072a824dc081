//go:build unix

package main

import (
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/internal/testkit"
)

// TestSIGTERMShutsDown sends SIGTERM to the test process while main's
// server runs: the signal must end the server gracefully instead of killing
// the process.
func TestSIGTERMShutsDown(t *testing.T) {
	var stdout, stderr testkit.SyncBuffer
	up := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runUntilSignal([]string{"-addr", "127.0.0.1:0"}, noEnv, &stdout, &stderr, func(_ *app, u string) { up <- u })
	}()
	var baseURL string
	select {
	case baseURL = <-up:
	case err := <-done:
		t.Fatalf("runUntilSignal returned before serving: %v", err)
	}
	resp, err := http.Get(baseURL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runUntilSignal: %v", err)
		}
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatal("SIGTERM did not stop the server")
	}
}
