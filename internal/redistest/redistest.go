// Package redistest runs a real redis-server for tests: one process per
// call to [Start], listening on a unix socket in a private temporary
// directory (no TCP port), without persistence, stopped when the test ends.
// A test can kill and restart it on the same socket, or freeze it with
// SIGSTOP to play a server that hangs; a [Proxy] in front of it plays a
// partition between one client and the server.
//
// When redis-server is not on PATH the test is skipped with a one-line
// message, except when the environment variable CI is non-empty: there a
// missing server fails the test, so CI never passes by skipping.
//
// It is internal: only the module's tests import it.
package redistest

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// readyTimeout bounds how long Start waits for a fresh server to answer
// PING; generous, so that a loaded machine does not fail a test.
const readyTimeout = 20 * time.Second

// Server is one redis-server process started by [Start]. Its methods are
// called from the test's goroutine; they fail the test (t.Fatal) when the
// process cannot be controlled.
type Server struct {
	t      testing.TB
	bin    string
	dir    string
	socket string

	mu     sync.Mutex
	cmd    *exec.Cmd
	waited chan struct{}
}

// Start starts a redis-server on a unix socket in a new temporary directory,
// waits until it answers PING and registers its stop with t.Cleanup. It
// returns the go-redis URL of the server ("unix:///…/redis.sock") and the
// [Server] to control it.
//
// Without redis-server on PATH, Start calls t.Skip, or t.Fatal when the
// environment variable CI is non-empty.
func Start(t testing.TB) (string, *Server) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redistest: redis-server is not on PATH; CI must install it (apt-get install redis-server)")
		}
		t.Skip("redistest: redis-server not on PATH; skipping the tests that need a real Redis")
	}
	// A unix socket path is limited to about 100 bytes, and t.TempDir
	// embeds the test's name: use a short directory of our own.
	dir, err := os.MkdirTemp("", "redistest")
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	s := &Server{t: t, bin: bin, dir: dir, socket: filepath.Join(dir, "redis.sock")}
	t.Cleanup(func() {
		s.kill()
		os.RemoveAll(dir)
	})
	s.Start()
	return s.URL(), s
}

// URL returns the go-redis URL of the server's socket.
func (s *Server) URL() string { return "unix://" + s.socket }

// Socket returns the path of the server's unix socket.
func (s *Server) Socket() string { return s.socket }

// Start starts the server again on the same socket after [Server.Stop],
// waiting until it answers PING. The data is gone: the server keeps none.
// Start on a running server fails the test.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		s.t.Fatal("redistest: Start on a running server")
	}
	os.Remove(s.socket)
	cmd := exec.Command(s.bin,
		"--port", "0",
		"--unixsocket", s.socket,
		"--unixsocketperm", "700",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--loglevel", "warning",
		"--logfile", filepath.Join(s.dir, "redis.log"),
	)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		s.t.Fatalf("redistest: starting redis-server: %v", err)
	}
	waited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(waited)
	}()
	s.cmd, s.waited = cmd, waited
	s.mu.Unlock()

	deadline := time.Now().Add(readyTimeout)
	for {
		if err := ping(s.socket, time.Second); err == nil {
			return
		} else if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.t.Fatalf("redistest: redis-server did not answer PING within %v: %v\n%s", readyTimeout, err, log)
		}
		select {
		case <-waited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.t.Fatalf("redistest: redis-server exited at start\n%s", log)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Stop kills the server (SIGKILL, as a crash would) and waits until it has
// exited. Clients see their connections reset and new ones refused.
func (s *Server) Stop() {
	s.t.Helper()
	if !s.kill() {
		s.t.Fatal("redistest: Stop on a stopped server")
	}
}

// Pause freezes the server with SIGSTOP: connections stay open and new ones
// are accepted by the kernel, but nothing is answered until [Server.Resume].
func (s *Server) Pause() {
	s.t.Helper()
	s.signal(syscall.SIGSTOP)
}

// Resume thaws a server frozen by [Server.Pause] with SIGCONT.
func (s *Server) Resume() {
	s.t.Helper()
	s.signal(syscall.SIGCONT)
}

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.t.Fatalf("redistest: %v to a stopped server", sig)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redistest: %v: %v", sig, err)
	}
}

// kill stops the process if it runs and reports whether it did.
func (s *Server) kill() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	s.cmd.Process.Kill() // SIGKILL also ends a stopped process
	<-s.waited
	s.cmd, s.waited = nil, nil
	return true
}

// Do sends one command to the server over a fresh connection and returns
// the raw RESP reply, or an error after timeout. It lets tests inspect the
// server without the client under test.
func (s *Server) Do(timeout time.Duration, args ...string) (string, error) {
	return do(s.socket, timeout, args...)
}

func ping(socket string, timeout time.Duration) error {
	reply, err := do(socket, timeout, "PING")
	if err != nil {
		return err
	}
	if reply != "+PONG\r\n" {
		return &net.OpError{Op: "ping", Net: "unix", Err: os.ErrInvalid}
	}
	return nil
}

// do writes one command in RESP and reads everything the server answers
// until the reply is complete, which for the commands tests use (simple
// strings, integers, bulk strings and flat arrays of them) is found by
// counting.
func do(socket string, timeout time.Duration, args ...string) (string, error) {
	c, err := net.DialTimeout("unix", socket, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	var out strings.Builder
	if err := readReply(r, &out); err != nil {
		return "", err
	}
	return out.String(), nil
}

func readReply(r *bufio.Reader, out *strings.Builder) error {
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	out.WriteString(line)
	if len(line) < 3 {
		return nil
	}
	n, err := strconv.Atoi(strings.TrimSuffix(line[1:], "\r\n"))
	if err != nil {
		return nil // a simple string, an error or a malformed header: one line
	}
	switch line[0] {
	case '$':
		if n < 0 {
			return nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		out.Write(buf)
	case '*':
		for i := 0; i < n; i++ {
			if err := readReply(r, out); err != nil {
				return err
			}
		}
	}
	return nil
}
