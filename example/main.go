package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// shutdownTimeout bounds the graceful shutdown: in-flight requests get this
// long to finish.
const shutdownTimeout = 10 * time.Second

func main() {
	err := runUntilSignal(os.Args[1:], os.Getenv, os.Stdout, os.Stderr, nil)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// runUntilSignal is run with a context that SIGINT or SIGTERM cancels.
func runUntilSignal(args []string, getenv func(string) string, stdout, stderr io.Writer, ready func(a *app, baseURL string)) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, getenv, stdout, stderr, ready)
}

// run parses the flags, builds the app, serves it until ctx is done, then
// shuts down gracefully: the server stops accepting and waits for in-flight
// requests, then the guards, the verifier and policy cache, and the emulator
// are closed. ready, when not nil, is called with the app and the server's
// base URL once the server accepts connections.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready func(a *app, baseURL string)) error {
	fs := flag.NewFlagSet("example", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (port 0 picks a free port)")
	verbose := fs.Bool("v", false, "log every guard decision (member, source local/remote, status)")
	sessionTTL := fs.Duration("session-ttl", defaultSessionTTL, "lifetime of the demo sessions, whole minutes from 5m to 8784h (emulator mode)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: go run ./example [-addr host:port] [-v] [-session-ttl 24h]

Without configuration it runs an embedded Stytch emulator with demo data.
With STYTCH_PROJECT_ID and STYTCH_SECRET set it uses that Stytch project
(STYTCH_BASE_URL optionally overrides the API base URL).

Seeing the refresh path at once: a session JWT lives 5 minutes; after that
the guard has Stytch check the session and re-issues fresh cookies. In
emulator mode the emulator and the guards share a demo clock, which reads
the wall clock until /demo's "+6 min" button (POST /demo/clock/advance?by=6m)
moves it forward: the next request with the browser's cookies is then
refreshed through the emulator, and the page shows the re-issued cookies.
With -session-ttl 10m, two presses make the session itself expire (401).`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("example: unexpected arguments %q", fs.Args())
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logHandler := slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})

	cfg := configFromEnv(getenv)
	cfg.Logger = slog.New(logHandler)
	cfg.SessionTTL = *sessionTTL
	a, err := newApp(cfg)
	if err != nil {
		return err
	}
	defer a.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("example: %w", err)
	}
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logHandler, slog.LevelWarn),
	}
	baseURL := "http://" + displayAddr(ln.Addr())
	printBanner(stdout, a, baseURL)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if ready != nil {
		ready(a, baseURL)
	}
	select {
	case err := <-served:
		return fmt.Errorf("example: serve: %w", err)
	case <-ctx.Done():
	}

	fmt.Fprintln(stdout, "shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return errors.Join(err, a.Close())
}

// displayAddr turns a listener address into one a client can use: an
// unspecified host (":8080", "0.0.0.0", "::") becomes localhost.
func displayAddr(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
