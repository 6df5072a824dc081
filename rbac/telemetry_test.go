package rbac

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// newTracer returns a tracer provider recording every span in memory.
func newTracer(t *testing.T) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	t.Helper()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, sr
}

// fetchSpans returns the ended policy fetch spans.
func fetchSpans(sr *tracetest.SpanRecorder) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range sr.Ended() {
		if s.Name() == FetchSpanName {
			out = append(out, s)
		}
	}
	return out
}

func spanAttr(s sdktrace.ReadOnlySpan, key attribute.Key) (string, bool) {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value.String(), true
		}
	}
	return "", false
}

// spanText is every string a span carries: name, status, attributes and
// events with their attributes.
func spanText(s sdktrace.ReadOnlySpan) string {
	var b strings.Builder
	b.WriteString(s.Name() + " " + s.Status().Description)
	for _, kv := range s.Attributes() {
		b.WriteString(" " + string(kv.Key) + "=" + kv.Value.String())
	}
	for _, ev := range s.Events() {
		b.WriteString(" " + ev.Name)
		for _, kv := range ev.Attributes {
			b.WriteString(" " + string(kv.Key) + "=" + kv.Value.String())
		}
	}
	return b.String()
}

// recordingTransport records the span of each request's context and, with a
// gate, holds each request until the gate is closed, before sending it on to
// the emulator.
type recordingTransport struct {
	base  http.RoundTripper
	gate  chan struct{}
	mu    sync.Mutex
	spans []trace.SpanContext
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.spans = append(rt.spans, trace.SpanContextFromContext(r.Context()))
	rt.mu.Unlock()
	if rt.gate != nil {
		select {
		case <-rt.gate:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return rt.base.RoundTrip(r)
}

func (rt *recordingTransport) requests() int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return len(rt.spans)
}

// newRecordingCache is a Cache on e's clock whose client sends its requests
// through rt.
func newRecordingCache(t *testing.T, e *env, rt *recordingTransport, cfg Config) *Cache {
	t.Helper()
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	rt.base = base
	cl, err := client.New(client.Config{ProjectID: e.srv.ProjectID, Secret: e.srv.Secret, BaseURL: e.srv.URL, HTTPClient: &http.Client{Transport: rt}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Client, cfg.Now = cl, e.clock.Now
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestFetchSpansAreChildrenOfTheTriggeringRequest: the fetches a request
// starts are children of its span, though they outlive it; a request that
// waits for them starts none of its own.
func TestFetchSpansAreChildrenOfTheTriggeringRequest(t *testing.T) {
	e := newEnv(t)
	e.srv.SetPolicy(cachePolicy())
	tp, sr := newTracer(t)
	// The gate keeps the fetches in flight until the first request gave up
	// and the second one waits for them.
	rt := &recordingTransport{gate: make(chan struct{})}
	c := newRecordingCache(t, e, rt, Config{TracerProvider: tp})
	tracer := tp.Tracer("test")

	ctx1, cancel1 := context.WithCancel(context.Background())
	ctx1, req1 := tracer.Start(ctx1, "request-1")
	first := make(chan error, 1)
	go func() { _, err := c.Index(ctx1, orgA); first <- err }()
	waitFor(t, "both fetches to start", func() bool { return rt.requests() == 2 })
	cancel1() // the triggering request gives up; its fetches go on
	req1.End()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("first request = %v, want context.Canceled", err)
	}
	ctx2, req2 := tracer.Start(context.Background(), "request-2")
	second := make(chan error, 1)
	go func() { _, err := c.Index(ctx2, orgA); second <- err }()
	time.Sleep(10 * time.Millisecond) // most often the second request joins the fetches; if not, it finds the policies cached
	close(rt.gate)
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	req2.End()

	spans := fetchSpans(sr)
	if len(spans) != 2 || rt.requests() != 2 {
		t.Fatalf("%d fetch spans and %d requests, want 2 and 2 (project and organization)", len(spans), rt.requests())
	}
	orgs := 0
	for _, s := range spans {
		if s.Parent().SpanID() != req1.SpanContext().SpanID() || s.SpanContext().TraceID() != req1.SpanContext().TraceID() {
			t.Errorf("fetch span parent %v, want request-1 %v", s.Parent().SpanID(), req1.SpanContext().SpanID())
		}
		if got := s.InstrumentationScope().Name; got != "github.com/stytchguard/stytchguard/rbac" {
			t.Errorf("instrumentation scope %q", got)
		}
		if s.SpanKind() != trace.SpanKindInternal {
			t.Errorf("span kind %v", s.SpanKind())
		}
		if o, _ := spanAttr(s, "outcome"); o != "success" || s.Status().Code == codes.Error {
			t.Errorf("outcome %q, status %v; want success", o, s.Status())
		}
		if org, ok := spanAttr(s, "stytch.organization_id"); ok {
			orgs++
			if org != orgA {
				t.Errorf("stytch.organization_id = %q, want %q", org, orgA)
			}
		}
	}
	if orgs != 1 {
		t.Errorf("%d spans name an organization, want 1 (the organization policy's)", orgs)
	}
	// The HTTP requests ran in the fetch spans' contexts, so an
	// instrumented transport propagates the trace to Stytch.
	for _, sc := range rt.spans {
		if sc.SpanID() != spans[0].SpanContext().SpanID() && sc.SpanID() != spans[1].SpanContext().SpanID() {
			t.Errorf("HTTP request in span %v, not a fetch span", sc.SpanID())
		}
	}
}

// TestFetchSpanRecordsFailure: a failed fetch is a span with an error status
// and the error recorded, and no credential in any of it.
func TestFetchSpanRecordsFailure(t *testing.T) {
	e := newEnv(t)
	tp, sr := newTracer(t)
	c := e.newCache(t, Config{TracerProvider: tp})
	e.srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Status: http.StatusInternalServerError})
	ctx, req := tp.Tracer("test").Start(context.Background(), "request")
	if _, err := c.Index(ctx, orgA); !errors.Is(err, ErrPolicyUnavailable) {
		t.Fatalf("Index = %v, want ErrPolicyUnavailable", err)
	}
	req.End()
	var failed sdktrace.ReadOnlySpan
	for _, s := range fetchSpans(sr) {
		if _, isOrg := spanAttr(s, "stytch.organization_id"); !isOrg {
			failed = s
		}
	}
	if failed == nil {
		t.Fatal("no span for the project policy fetch")
	}
	if o, _ := spanAttr(failed, "outcome"); o != "failure" || failed.Status().Code != codes.Error {
		t.Fatalf("outcome %q, status %v; want failure and an error status", o, failed.Status())
	}
	text := spanText(failed)
	if !strings.Contains(text, "exception") || !strings.Contains(text, "500") {
		t.Fatalf("error not recorded: %s", text)
	}
	for _, s := range sr.Ended() {
		if strings.Contains(spanText(s), e.srv.Secret) {
			t.Fatalf("span %s carries the project secret", s.Name())
		}
	}
}

// TestRefreshSpans: a round of the background refresher starts root spans;
// a refresh that a request's use starts is a child of that request.
func TestRefreshSpans(t *testing.T) {
	e := newEnv(t)
	e.srv.SetPolicy(cachePolicy())
	tp, sr := newTracer(t)
	c := e.newCache(t, Config{TracerProvider: tp})
	if _, err := c.Index(context.Background(), orgA); err != nil {
		t.Fatal(err)
	}
	sr.Reset()
	e.clock.Advance(DefaultRefreshInterval)
	if err := c.refreshRound(c.ctx, true); err != nil { // what the refresher's loop runs
		t.Fatal(err)
	}
	spans := fetchSpans(sr)
	if len(spans) != 2 {
		t.Fatalf("%d spans for a round, want 2", len(spans))
	}
	for _, s := range spans {
		if s.Parent().IsValid() {
			t.Errorf("background refresh span has parent %v, want a root span", s.Parent().SpanID())
		}
	}

	sr.Reset()
	e.clock.Advance(DefaultRefreshInterval + time.Second) // due: the next use refreshes
	ctx, req := tp.Tracer("test").Start(context.Background(), "request")
	if _, err := c.Index(ctx, orgA); err != nil {
		t.Fatal(err)
	}
	req.End()
	waitFor(t, "the refreshes on use", func() bool { return len(fetchSpans(sr)) == 2 })
	for _, s := range fetchSpans(sr) {
		if s.Parent().SpanID() != req.SpanContext().SpanID() {
			t.Errorf("refresh on use has parent %v, want the request's span", s.Parent().SpanID())
		}
	}
}

// collect reads the metrics of reader: the fetch counts by outcome and the
// policy age, if observed.
func collect(t *testing.T, reader *sdkmetric.ManualReader) (fetches map[string]int64, age float64, aged bool) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	fetches = map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != "github.com/stytchguard/stytchguard/rbac" {
			t.Fatalf("meter named %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			switch m.Name {
			case MetricPolicyFetches:
				sum, ok := m.Data.(metricdata.Sum[int64])
				if !ok || !sum.IsMonotonic || m.Unit != "{fetch}" {
					t.Fatalf("%s is %T (unit %q), want a counter", m.Name, m.Data, m.Unit)
				}
				for _, dp := range sum.DataPoints {
					o, _ := dp.Attributes.Value("outcome")
					if dp.Attributes.Len() != 1 {
						t.Fatalf("fetch count attributes %v, want outcome only", dp.Attributes.ToSlice())
					}
					fetches[o.AsString()] = dp.Value
				}
			case MetricPolicyAge:
				g, ok := m.Data.(metricdata.Gauge[float64])
				if !ok || m.Unit != "s" {
					t.Fatalf("%s is %T (unit %q), want a gauge in seconds", m.Name, m.Data, m.Unit)
				}
				for _, dp := range g.DataPoints {
					age, aged = dp.Value, true
				}
			}
		}
	}
	return fetches, age, aged
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.srv.SetPolicy(cachePolicy())
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	c := e.newCache(t, Config{MeterProvider: mp})
	ctx := context.Background()

	if fetches, _, aged := collect(t, reader); len(fetches) != 0 || aged {
		t.Fatalf("before any fetch: fetches %v, age observed %v; want none", fetches, aged)
	}
	if _, err := c.Index(ctx, orgA); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(90 * time.Second)
	fetches, age, aged := collect(t, reader)
	if fetches["success"] != 2 || fetches["failure"] != 0 || !aged || age != 90 {
		t.Fatalf("after the first fetches: fetches %v, age %v (%v); want 2 successes and 90 s", fetches, age, aged)
	}

	e.srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Status: http.StatusServiceUnavailable})
	if err := c.Refresh(ctx); !errors.Is(err, ErrPolicyUnavailable) {
		t.Fatalf("Refresh = %v, want the project policy's failure", err)
	}
	e.clock.Advance(30 * time.Second)
	fetches, age, _ = collect(t, reader)
	// The organization's refresh succeeded, the project's failed: its age
	// runs on from the last success.
	if fetches["success"] != 3 || fetches["failure"] != 1 || age != 120 {
		t.Fatalf("after a failed refresh: fetches %v, age %v; want 3 successes, 1 failure, 120 s", fetches, age)
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, aged := collect(t, reader); aged {
		t.Fatal("policy age still observed after Close")
	}
}

func TestStatus(t *testing.T) {
	e := newEnv(t)
	e.srv.SetPolicy(cachePolicy())
	c := e.newCache(t, Config{MaxStaleness: time.Hour})
	ctx := context.Background()
	if s := c.Status(); s != (Status{}) {
		t.Fatalf("before any fetch: %+v, want the zero Status", s)
	}
	if _, err := c.Index(ctx, orgA); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10 * time.Minute)
	if s := c.Status(); !s.Held || s.ProjectPolicyAge != 10*time.Minute || s.LastError != nil {
		t.Fatalf("after a fetch: %+v", s)
	}

	e.srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Status: http.StatusServiceUnavailable})
	_ = c.Refresh(ctx)
	s := c.Status()
	if !s.Held || s.ProjectPolicyAge != 10*time.Minute || !errors.Is(s.LastError, client.ErrUnavailable) {
		t.Fatalf("after a failed refresh: %+v; want the stale policy held and the error", s)
	}
	if strings.Contains(s.LastError.Error(), e.srv.Secret) {
		t.Fatal("LastError carries the project secret")
	}
	e.clock.Advance(time.Hour)
	if s := c.Status(); s.Held || s.ProjectPolicyAge != 70*time.Minute || s.LastError == nil {
		t.Fatalf("past MaxStaleness: %+v; want not held", s)
	}

	e.srv.ClearFaults()
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if s := c.Status(); !s.Held || s.ProjectPolicyAge != 0 || s.LastError != nil {
		t.Fatalf("after recovery: %+v", s)
	}
}

// TestTelemetryIsOffTheHitPath: with recording providers configured, a hit
// records nothing and allocates nothing.
func TestTelemetryIsOffTheHitPath(t *testing.T) {
	e := newEnv(t)
	e.srv.SetPolicy(cachePolicy())
	tp, sr := newTracer(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	c := e.newCache(t, Config{TracerProvider: tp, MeterProvider: mp})
	ctx, req := tp.Tracer("test").Start(context.Background(), "request")
	defer req.End()
	if _, err := c.Index(ctx, orgA); err != nil {
		t.Fatal(err)
	}
	spans := len(sr.Ended())
	roles, check := []string{"editor"}, docs(orgA, "read")
	allocs := testing.AllocsPerRun(1000, func() {
		ix, err := c.IndexAt(ctx, orgA, time.Time{})
		if err == nil {
			err = ix.Authorize(orgA, roles, check)
		}
		if err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("hit allocates %v times with telemetry on, want 0", allocs)
	}
	if n := len(sr.Ended()); n != spans {
		t.Fatalf("hits ended %d spans", n-spans)
	}
	if fetches, _, _ := collect(t, reader); fetches["success"] != 2 {
		t.Fatalf("fetches %v, want 2 successes", fetches)
	}
}
