// Command loadtest measures what stytchguard costs an HTTP service: the
// throughput and latency percentiles of a route guarded with
// Guard.Require against the same route unguarded, served by one
// http.Server on loopback and driven by keep-alive net/http workers.
//
// It runs three scenarios, each for the same duration (or request count)
// with the same number of concurrent workers, cut into rounds in which the
// scenarios take turns, so a change in the machine's load affects them
// alike; the ratio to the unguarded route is the median of the ratios
// within each round:
//
//   - unguarded: the bare route, the floor every ratio is read against;
//   - guarded hit: one valid session JWT repeated, so the Guard answers from
//     its verified-token cache (the common case: a client sends the same JWT
//     for up to five minutes);
//   - guarded miss: a pool of distinct valid JWTs behind a Guard whose
//     verifier has no token cache, so every request pays a full local
//     verification (parse, RSA-2048 signature, claim rules).
//
// The Stytch API is the stytchtest emulator on loopback, with its clock and
// the Guard's frozen, so JWTs never expire however long the run. The
// target is a guarded hit path at 90% or more of the unguarded throughput.
//
// Usage:
//
//	go run ./internal/loadtest -duration 5s -concurrency 16
//
// Both the workers and the server share the machine: read the ratio column,
// not the absolute numbers.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
)

func main() {
	cfg := defaultConfig()
	flag.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measured time per scenario, split over the rounds (ignored with -requests)")
	flag.IntVar(&cfg.Requests, "requests", cfg.Requests, "requests per scenario, split over the rounds; 0 means run for -duration")
	flag.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "concurrent workers, each with its own keep-alive connection")
	flag.IntVar(&cfg.Pool, "pool", cfg.Pool, "distinct JWTs on the miss path")
	flag.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "unrecorded warm-up before each measured slice")
	flag.IntVar(&cfg.Rounds, "rounds", cfg.Rounds, "slices each scenario is cut into; scenarios take turns, and ratios are the median over rounds")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Printf("stytchguard load test: %s, GOMAXPROCS=%d, %d workers, %s per scenario in %d round(s), warm-up %v per slice\n",
		runtime.Version(), runtime.GOMAXPROCS(0), cfg.Concurrency, cfg.budget(), cfg.Rounds, cfg.Warmup)
	rep, err := run(ctx, cfg)
	if rep != nil {
		rep.write(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}
