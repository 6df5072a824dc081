package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/rbac"
	"github.com/stytchguard/stytchguard/stytchtest"
	"github.com/stytchguard/stytchguard/verifier"
)

// Modes of the app.
const (
	modeEmulator = "emulator" // embedded stytchtest emulator, seeded demo data
	modeStytch   = "stytch"   // the real Stytch API
)

// appConfig configures newApp. The zero value runs the embedded emulator.
type appConfig struct {
	// ProjectID and Secret select the real Stytch API when both are set.
	// Both empty means the embedded emulator; one without the other is an
	// error.
	ProjectID, Secret string
	// BaseURL is the Stytch API base URL in real mode. Empty means the one
	// chosen from ProjectID (live or test). Ignored in emulator mode.
	BaseURL string
	// Clock is the clock of the emulator, the verifier, the policy cache
	// and the guards. Nil means a demoClock: the wall clock until POST
	// /demo/clock/advance moves it forward (emulator mode only; in real
	// mode nothing advances it).
	Clock clock
	// SessionTTL is the lifetime of the demo sessions (start-up and
	// /demo/login), in whole minutes between Stytch's bounds (5 minutes and
	// 366 days). Zero means defaultSessionTTL. Ignored in real mode.
	SessionTTL time.Duration
	// Logger receives the guards' records (one Debug record per decision).
	// Nil means no logging.
	Logger *slog.Logger
}

// configFromEnv reads STYTCH_PROJECT_ID, STYTCH_SECRET and STYTCH_BASE_URL.
func configFromEnv(getenv func(string) string) appConfig {
	return appConfig{
		ProjectID: getenv("STYTCH_PROJECT_ID"),
		Secret:    getenv("STYTCH_SECRET"),
		BaseURL:   getenv("STYTCH_BASE_URL"),
	}
}

// app is the whole demo, built in-process: the HTTP handler, the Stytch it
// talks to and, in emulator mode, the seeded members.
type app struct {
	// Handler serves every route.
	Handler http.Handler
	// Mode is modeEmulator or modeStytch.
	Mode string
	// Emulator is the embedded emulator; nil in real mode.
	Emulator *stytchtest.Server
	// Members are the seeded members with a start-up session each; nil in
	// real mode.
	Members []demoMember
	// M2M is the seeded M2M client; nil in real mode.
	M2M *demoM2M
	// SessionTTL is the lifetime of the demo sessions (emulator mode).
	SessionTTL time.Duration
	// ProjectID and BaseURL say which Stytch project and API the app uses.
	ProjectID, BaseURL string

	clock    clock
	meters   *sdkmetric.MeterProvider
	metrics  http.Handler
	store    *store
	client   *client.Client
	verifier *verifier.Verifier
	policies *rbac.Cache
	guards   []*middleware.Guard

	closeOnce sync.Once
	closeErr  error
}

// newApp builds the demo. In emulator mode it starts and seeds an emulator;
// in real mode it only builds the guards. Either way the verifier fetches the
// JWKS once (bounded to 10 s); an unreachable Stytch does not fail newApp,
// the fetch is retried in the background. Call Close when done.
func newApp(cfg appConfig) (a *app, err error) {
	if (cfg.ProjectID == "") != (cfg.Secret == "") {
		return nil, errors.New("example: set both STYTCH_PROJECT_ID and STYTCH_SECRET to use Stytch, or neither to use the embedded emulator")
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = defaultSessionTTL
	}
	if err := checkSessionTTL(cfg.SessionTTL); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = &demoClock{}
	}
	now := cfg.Clock.Now
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a = &app{Mode: modeStytch, clock: cfg.Clock, store: newStore(now)}
	defer func() {
		if err != nil {
			_ = a.Close()
			a = nil
		}
	}()

	if cfg.ProjectID == "" {
		a.Mode = modeEmulator
		a.SessionTTL = cfg.SessionTTL
		a.Emulator = stytchtest.NewServer(stytchtest.Options{Now: now})
		cfg.ProjectID, cfg.Secret, cfg.BaseURL = a.Emulator.ProjectID, a.Emulator.Secret, a.Emulator.URL
		if a.Members, err = seed(a.Emulator, a.store, a.SessionTTL); err != nil {
			return a, err
		}
		if a.M2M, err = seedM2M(a.Emulator); err != nil {
			return a, err
		}
	}

	if a.meters, a.metrics, err = newMetrics(); err != nil {
		return a, err
	}

	// One client, one verifier (one JWKS cache) and one policy cache, shared
	// by the two guards below.
	c, err := client.New(client.Config{ProjectID: cfg.ProjectID, Secret: cfg.Secret, BaseURL: cfg.BaseURL})
	if err != nil {
		return a, err
	}
	a.client = c
	a.ProjectID, a.BaseURL = c.ProjectID(), c.BaseURL()
	if a.policies, err = rbac.New(rbac.Config{Client: c, Now: now, Logger: cfg.Logger, MeterProvider: a.meters}); err != nil {
		return a, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a.verifier, err = verifier.New(ctx, verifier.Config{
		ProjectID:  cfg.ProjectID,
		BaseURL:    c.BaseURL(),
		Now:        now,
		Client:     c,
		Authorizer: a.policies,
		Logger:     cfg.Logger,
	})
	if err != nil {
		return a, err
	}

	// Two guards, one per router, because a Guard has one OrganizationID
	// hook and each router has its own way to read a path parameter:
	// chi.URLParam for chi, r.PathValue for http.ServeMux. (Recent chi
	// versions also copy their parameters into r.PathValue, so one
	// r.PathValue hook would serve both here; the demo shows each router's
	// own way.) A hook must read the parameter its router matched: a hook
	// that finds nothing returns "", which the guard refuses with 403
	// tenancy_mismatch (it fails closed rather than guess). Sharing
	// the client, verifier and policy cache keeps one JWKS cache and one
	// policy cache for both guards.
	base := middleware.Config{
		// One in-process fleet for both guards: a logout through one
		// reaches the other at once, as it reaches every replica of a
		// service through fleet.Redis.
		Fleet:         newProcessFleet(),
		MeterProvider: a.meters,
		ProjectID:     cfg.ProjectID,
		Now:           now,
		Logger:        cfg.Logger,
		Client:        c,
		Verifier:      a.verifier,
		Policies:      a.policies,
	}
	if a.Mode == modeEmulator {
		// The demo is served over plain HTTP, so re-issued cookies must not
		// be Secure or the browser would drop them. Keep the strict default
		// for real deployments (served over HTTPS).
		base.Cookies = middleware.CookieAttributes{AllowInsecure: true}
	}
	chiCfg, stdCfg := base, base
	chiCfg.OrganizationID = func(r *http.Request) string { return chi.URLParam(r, "orgID") }
	stdCfg.OrganizationID = func(r *http.Request) string { return r.PathValue("orgID") }
	chiGuard, err := middleware.New(chiCfg)
	if err != nil {
		return a, err
	}
	a.guards = append(a.guards, chiGuard)
	stdGuard, err := middleware.New(stdCfg)
	if err != nil {
		return a, err
	}
	a.guards = append(a.guards, stdGuard)

	a.Handler = a.routes(chiGuard, stdGuard)
	return a, nil
}

// Close stops the guards, then the verifier and policy cache they share,
// then the emulator. It is safe to call on a partly built app, and more than
// once (later calls return the first call's result).
func (a *app) Close() error {
	a.closeOnce.Do(func() { a.closeErr = a.close() })
	return a.closeErr
}

func (a *app) close() error {
	var errs []error
	for _, g := range a.guards {
		errs = append(errs, g.Close())
	}
	if a.verifier != nil {
		errs = append(errs, a.verifier.Close())
	}
	if a.policies != nil {
		errs = append(errs, a.policies.Close())
	}
	if a.meters != nil {
		errs = append(errs, a.meters.Shutdown(context.Background()))
	}
	if a.client != nil {
		a.client.HTTPClient().CloseIdleConnections()
	}
	if a.Emulator != nil {
		a.Emulator.Close()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("example: close: %w", err)
	}
	return nil
}
