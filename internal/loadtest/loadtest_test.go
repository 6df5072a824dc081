package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestRun drives every scenario for a moment: the driver builds, every
// request of every scenario succeeds (a guarded route refusing the load's
// JWTs would fail the run), and the table lists the three scenarios. The
// throughput target is not asserted here: it is a measurement, read from a
// real run of the command.
func TestRun(t *testing.T) {
	cfg := config{Duration: 400 * time.Millisecond, Concurrency: 4, Pool: 4, Warmup: 20 * time.Millisecond, Rounds: 2}
	rep, err := run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	var out bytes.Buffer
	rep.write(&out)
	t.Logf("\n%s", out.String())
	if len(rep.results) != 3 {
		t.Fatalf("%d results, want 3", len(rep.results))
	}
	for _, r := range rep.results {
		if r.requests == 0 || r.failures != 0 || r.rps() <= 0 {
			t.Errorf("%s: %d requests, %d failed, %.0f req/s", r.name, r.requests, r.failures, r.rps())
		}
		if r.pct(.5) <= 0 || r.pct(.5) > r.pct(1) {
			t.Errorf("%s: p50 %v, max %v", r.name, r.pct(.5), r.pct(1))
		}
		if !strings.Contains(out.String(), r.name) {
			t.Errorf("table lacks %q", r.name)
		}
	}
}

// TestRunRequestCount: with a request count, each scenario sends exactly
// that many requests.
func TestRunRequestCount(t *testing.T) {
	cfg := config{Requests: 101, Concurrency: 3, Pool: 2, Rounds: 2}
	rep, err := run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, r := range rep.results {
		if r.requests != 101 {
			t.Errorf("%s: %d requests over two rounds, want 101", r.name, r.requests)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	for name, c := range map[string]config{
		"no budget":                  {Concurrency: 1, Pool: 1, Rounds: 1},
		"no workers":                 {Duration: time.Second, Pool: 1, Rounds: 1},
		"empty pool":                 {Duration: time.Second, Concurrency: 1, Rounds: 1},
		"no rounds":                  {Duration: time.Second, Concurrency: 1, Pool: 1},
		"negative count":             {Requests: -1, Duration: time.Second, Concurrency: 1, Pool: 1, Rounds: 1},
		"fewer requests than rounds": {Requests: 2, Concurrency: 1, Pool: 1, Rounds: 3},
	} {
		if _, err := run(context.Background(), c); err == nil {
			t.Errorf("%s: run accepted %+v", name, c)
		}
	}
}
