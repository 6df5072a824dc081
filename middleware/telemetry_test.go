package middleware_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// telemetryEnv is an env whose guard reports to in-memory recorders.
func telemetryEnv(t *testing.T) (*env, *tracetest.SpanRecorder, *sdktrace.TracerProvider, *sdkmetric.ManualReader) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	e := newEnv(t, func(c *middleware.Config) { c.TracerProvider, c.MeterProvider = tp, mp })
	return e, rec, tp, reader
}

// TestTracingSpans: one decision span per request under the request's
// span; one remote span for a coalesced call, child of the request that
// made it, linked from the others; no credential in any attribute.
func TestTracingSpans(t *testing.T) {
	e, rec, tp, _ := telemetryEnv(t)
	tok, jwt := e.session(orgAcme, "member-test-traced", "viewer")
	e.warm(jwt)
	rec.Reset()
	server := tp.Tracer("test-server")
	traced := func(h http.Handler, r *http.Request) {
		ctx, span := server.Start(r.Context(), "GET /documents")
		do(h, r.WithContext(ctx))
		span.End()
	}
	h := e.g.Require("documents", "read")(okHandler())

	// A local decision (the policy cache may fetch an organization's
	// policy under it: that span is the policy cache's).
	traced(h, req("GET", "/", bearer(jwt)))
	var spans, fetches []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		switch s.Name() {
		case "stytchguard.decide", "GET /documents":
			spans = append(spans, s)
		case "stytchguard.rbac.fetch_policy":
			fetches = append(fetches, s)
		}
	}
	if len(spans) != 2 || spans[0].Name() != "stytchguard.decide" || spans[0].Parent().SpanID() != spans[1].SpanContext().SpanID() {
		t.Fatalf("local: %d spans %v", len(spans), names(spans))
	}
	for _, f := range fetches {
		if f.Parent().SpanID() != spans[0].SpanContext().SpanID() {
			t.Errorf("a policy fetch span outside the decision that needed it")
		}
	}
	want := map[string]string{"stytchguard.outcome": "allow", "stytchguard.source": "local", "stytchguard.subject": "member",
		"stytchguard.resource": "documents", "stytchguard.action": "read"}
	if got := attrs(spans[0].Attributes()); !contains(got, want) {
		t.Fatalf("local attributes %v", got)
	}

	// A herd on one opaque token: one remote call, kept in flight by a
	// slow Stytch while the others arrive.
	rec.Reset()
	e.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Latency: 200 * time.Millisecond, Times: 1})
	const n = 8
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { traced(h, req("GET", "/", bearer(tok))) })
	}
	wg.Wait()
	var remote []sdktrace.ReadOnlySpan
	decisions := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		switch s.Name() {
		case "stytchguard.remote.authenticate":
			remote = append(remote, s)
		case "stytchguard.decide":
			decisions[s.SpanContext().SpanID().String()] = s
		}
	}
	if e.srv.Calls(stytchtest.EndpointAuthenticate) != 1 || len(remote) != 1 || len(decisions) != n {
		t.Fatalf("calls %d, remote spans %d, decision spans %d", e.srv.Calls(stytchtest.EndpointAuthenticate), len(remote), len(decisions))
	}
	parent, ok := decisions[remote[0].Parent().SpanID().String()]
	if !ok {
		t.Fatal("the remote span's parent is no decision span")
	}
	linked := 0
	for id, d := range decisions {
		if id == parent.SpanContext().SpanID().String() {
			continue
		}
		for _, l := range d.Links() {
			if l.SpanContext.SpanID() == remote[0].SpanContext().SpanID() {
				linked++
			}
		}
	}
	// Waiters that arrived after the call ended were served by the short
	// cache and have nothing to link; most arrive during the 200 ms.
	if linked == 0 {
		t.Fatal("no waiter links to the coalesced remote call")
	}
	// A key rotation: the first JWT under the new kid triggers one JWKS
	// refetch, whose span is the child of that request's decision.
	rec.Reset()
	if _, err := e.srv.RotateKey(); err != nil {
		t.Fatal(err)
	}
	_, rotated := e.session(orgAcme, "member-test-rotated", "viewer")
	traced(h, req("GET", "/", bearer(rotated)))
	var fetch, decide sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		switch s.Name() {
		case "stytchguard.verifier.fetch_jwks":
			fetch = s
		case "stytchguard.decide":
			decide = s
		}
	}
	if fetch == nil || decide == nil || fetch.Parent().SpanID() != decide.SpanContext().SpanID() {
		t.Fatalf("JWKS fetch span missing or not under the decision: %v", names(rec.Ended()))
	}
	for _, s := range rec.Ended() {
		for _, a := range s.Attributes() {
			noSecretIn(t, "span attribute "+string(a.Key), a.Value.String(), tok, jwt, e.srv.Secret)
		}
		noSecretIn(t, "span name", s.Name(), tok, jwt)
	}
}

// TestMetrics: decisions by outcome, source and subject; remote calls;
// cache lookups; JWKS age and breaker state.
func TestMetrics(t *testing.T) {
	e, _, _, reader := telemetryEnv(t)
	tok, jwt := e.session(orgAcme, "member-test-metrics", "viewer")
	e.warm(jwt)
	h := e.g.Require("documents", "read")(okHandler())
	do(h, req("GET", "/", bearer(jwt)))
	do(h, req("GET", "/", bearer(tok)))
	do(h, req("GET", "/", bearer(tok)))
	do(h, req("GET", "/"))
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	var remoteCalls uint64
	var gauges []string
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != "github.com/stytchguard/stytchguard/middleware" {
			continue
		}
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					got[m.Name+" "+setString(p.Attributes)] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					remoteCalls += p.Count
				}
			case metricdata.Gauge[float64], metricdata.Gauge[int64]:
				gauges = append(gauges, m.Name)
			}
		}
	}
	for k, v := range map[string]int64{
		"stytchguard.decisions outcome=allow source=local subject=member":  2, // warm's request and the JWT
		"stytchguard.decisions outcome=allow source=remote subject=member": 1,
		"stytchguard.decisions outcome=allow source=cache subject=member":  1,
		"stytchguard.decisions outcome=refuse source=none subject=none":    1,
		"stytchguard.cache.lookups cache=remote result=miss":               1,
		"stytchguard.cache.lookups cache=remote result=hit":                1,
	} {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	if got["stytchguard.cache.lookups cache=verified_token result=hit"] < 1 || got["stytchguard.cache.lookups cache=verified_token result=miss"] < 1 {
		t.Errorf("verified-token lookups not counted: %v", got)
	}
	if remoteCalls != 1 {
		t.Errorf("remote duration count %d", remoteCalls)
	}
	if strings.Join(gauges, ",") != "stytchguard.jwks.age,stytchguard.remote.breaker.state" &&
		strings.Join(gauges, ",") != "stytchguard.remote.breaker.state,stytchguard.jwks.age" {
		t.Errorf("gauges %v", gauges)
	}
}

func setString(s attribute.Set) string {
	var parts []string
	for _, kv := range s.ToSlice() {
		parts = append(parts, strings.TrimPrefix(string(kv.Key), "stytchguard.")+"="+kv.Value.String())
	}
	return strings.Join(parts, " ")
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

func attrs(kvs []attribute.KeyValue) map[string]string {
	out := map[string]string{}
	for _, kv := range kvs {
		out[string(kv.Key)] = kv.Value.String()
	}
	return out
}

func contains(got, want map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// TestCoalescedFetchesAreLinked: requests that wait on a JWKS fetch or a
// policy fetch another request started each link to that fetch's span,
// which is the child of the request that started it.
func TestCoalescedFetchesAreLinked(t *testing.T) {
	for _, tc := range []struct {
		name     string
		span     string
		endpoint stytchtest.Endpoint
		prepare  func(e *env) string // returns the JWT whose requests share one fetch
	}{
		{"JWKS refetch for a new kid", "stytchguard.verifier.fetch_jwks", stytchtest.EndpointJWKS, func(e *env) string {
			if _, err := e.srv.RotateKey(); err != nil {
				t.Fatal(err)
			}
			_, jwt := e.session(orgAcme, "member-test-rotated", "viewer")
			return jwt
		}},
		{"policy of an organization not seen yet", "stytchguard.rbac.fetch_policy", stytchtest.EndpointOrgPolicy, func(e *env) string {
			_, jwt := e.session(orgGlobex, "member-test-globex", "viewer")
			return jwt
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, rec, tp, _ := telemetryEnv(t)
			_, warm := e.session(orgAcme, "member-test-warm", "viewer")
			e.warm(warm)
			jwt := tc.prepare(e)
			rec.Reset()
			e.srv.ResetCalls()
			// A slow Stytch keeps the first fetch in flight while the others
			// arrive.
			e.srv.SetFault(tc.endpoint, stytchtest.Fault{Latency: 300 * time.Millisecond, Times: 1})
			server := tp.Tracer("test-server")
			h := e.g.Require("documents", "read")(okHandler())
			const n = 6
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					ctx, span := server.Start(context.Background(), "GET /documents")
					do(h, req("GET", "/", bearer(jwt)).WithContext(ctx))
					span.End()
				})
			}
			wg.Wait()
			var fetches []sdktrace.ReadOnlySpan
			decisions := map[string]sdktrace.ReadOnlySpan{}
			for _, s := range rec.Ended() {
				switch s.Name() {
				case tc.span:
					// The policy cache may refresh the project policy
					// meanwhile: only the organization's fetch is shared.
					if tc.endpoint != stytchtest.EndpointOrgPolicy || attrs(s.Attributes())["stytch.organization_id"] == orgGlobex {
						fetches = append(fetches, s)
					}
				case "stytchguard.decide":
					decisions[s.SpanContext().SpanID().String()] = s
				}
			}
			if len(fetches) != 1 || len(decisions) != n || e.srv.Calls(tc.endpoint) != 1 {
				t.Fatalf("%d fetch spans, %d decisions, %d calls", len(fetches), len(decisions), e.srv.Calls(tc.endpoint))
			}
			parent, ok := decisions[fetches[0].Parent().SpanID().String()]
			if !ok {
				t.Fatal("the fetch span's parent is no decision span")
			}
			linked := 0
			for id, d := range decisions {
				for _, l := range d.Links() {
					if l.SpanContext.SpanID() == fetches[0].SpanContext().SpanID() {
						if id == parent.SpanContext().SpanID().String() {
							t.Fatal("the request that started the fetch links to it too")
						}
						linked++
					}
				}
			}
			// Requests that arrived after the fetch ended found its result
			// and waited on nothing; most arrive during the 300 ms.
			if linked == 0 {
				t.Fatal("no waiter links to the shared fetch")
			}
			t.Logf("%d of %d waiters linked", linked, n-1)
		})
	}
}
