package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "stytchtest:", err)
		os.Exit(1)
	}
}

// errUsage reports bad flags; the flag package has printed why.
var errUsage = errors.New("usage")

// config is the parsed command line.
type config struct {
	addr, projectID, secret, seedFile, certFile string
	tls, json, log                              bool
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("stytchtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:0", "`address` to listen on; port 0 picks a free port")
	fs.StringVar(&c.projectID, "project-id", "", "project `id` (default: the seed's, else generated project-test-<uuid>)")
	fs.StringVar(&c.secret, "secret", "", "project `secret` (default: the seed's, else generated)")
	fs.StringVar(&c.seedFile, "seed", "", "JSON seed `file`: policy, organizations, members, M2M clients")
	fs.BoolVar(&c.tls, "tls", false, "serve HTTPS with a certificate for 127.0.0.1, ::1 and localhost, signed by a CA generated for this run")
	fs.StringVar(&c.certFile, "ca-file", "", "with -tls, where to write the CA certificate (PEM); default: a temporary file removed on exit")
	fs.BoolVar(&c.json, "json", false, "print the start-up information as one JSON object on one line")
	fs.BoolVar(&c.log, "log", false, "log every request (method, path, status) to stderr")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: stytchtest [flags]\n\nA Stytch B2B API emulator (sessions, RBAC, M2M) for local development and tests.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "stytchtest: unexpected arguments %q\n", fs.Args())
		return c, errUsage
	}
	if c.certFile != "" && !c.tls {
		fmt.Fprintln(stderr, "stytchtest: -ca-file needs -tls")
		return c, errUsage
	}
	return c, nil
}

// startup is what the emulator prints once it listens.
type startup struct {
	BaseURL    string                       `json:"base_url"`
	ProjectID  string                       `json:"project_id"`
	Secret     string                       `json:"secret"`
	JWKSURL    string                       `json:"jwks_url"`
	HealthURL  string                       `json:"health_url"`
	CAFile     string                       `json:"ca_file,omitempty"`
	Sessions   []stytchtest.SeededSession   `json:"sessions"`
	M2MClients []stytchtest.SeededM2MClient `json:"m2m_clients"`
}

// run serves the emulator until ctx ends, then shuts it down and returns
// nil. It fails before serving when the flags, the seed or the address are
// wrong.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	seed := &stytchtest.Seed{}
	if cfg.seedFile != "" {
		f, err := os.Open(cfg.seedFile)
		if err != nil {
			return err
		}
		seed, err = stytchtest.LoadSeed(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", cfg.seedFile, err)
		}
	}
	opts := stytchtest.Options{
		ProjectID: cmp.Or(cfg.projectID, seed.ProjectID),
		Secret:    cmp.Or(cfg.secret, seed.Secret),
	}
	// Flags win over the seed's project and secret.
	seed.ProjectID, seed.Secret = "", ""
	if cfg.log {
		l := log.New(stderr, "", log.LstdFlags)
		opts.Logf = l.Printf
	}

	var info startup
	if cfg.tls {
		tlsCfg, caPEM, err := newTLSConfig()
		if err != nil {
			return err
		}
		path := cfg.certFile
		if path == "" {
			dir, err := os.MkdirTemp("", "stytchtest-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			path = filepath.Join(dir, "ca.pem")
		}
		if err := os.WriteFile(path, caPEM, 0o644); err != nil {
			return err
		}
		if info.CAFile, err = filepath.Abs(path); err != nil {
			return err
		}
		opts.TLS = tlsCfg
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	opts.Listener = ln
	srv := stytchtest.NewServer(opts)
	defer srv.Close()

	res, err := srv.ApplySeed(seed)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.seedFile, err)
	}
	info.BaseURL = baseURL(srv.URL)
	info.ProjectID, info.Secret = srv.ProjectID, srv.Secret
	info.JWKSURL = info.BaseURL + client.PathJWKSPrefix + url.PathEscape(srv.ProjectID)
	info.HealthURL = info.BaseURL + stytchtest.PathHealth
	info.Sessions, info.M2MClients = res.Sessions, res.M2MClients

	if cfg.json {
		b, err := json.Marshal(info)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		printText(stdout, &info)
	}
	<-ctx.Done()
	return nil
}

// baseURL names the server by "localhost" when it listens on every
// address, so that the printed URL can be used as is.
func baseURL(u string) string {
	for _, wildcard := range []string{"://0.0.0.0:", "://[::]:"} {
		if strings.Contains(u, wildcard) {
			return strings.Replace(u, wildcard, "://localhost:", 1)
		}
	}
	return u
}
