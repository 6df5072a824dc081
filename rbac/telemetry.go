package rbac

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationName names the tracer and the meter of a Cache.
const instrumentationName = "github.com/stytchguard/stytchguard/rbac"

// Names of the telemetry a Cache emits.
const (
	// FetchSpanName is the name of the span of a policy fetch. Its
	// attributes are stytch.organization_id (for an organization's policy)
	// and outcome ("success" or "failure"); a failure records its error.
	FetchSpanName = "stytchguard.rbac.fetch_policy"
	// MetricPolicyAge is the observable gauge of the seconds since the last
	// successful fetch of the project policy, observed while one is held.
	MetricPolicyAge = "stytchguard.rbac.policy.age"
	// MetricPolicyFetches is the counter of policy fetches, with the
	// attribute outcome ("success" or "failure").
	MetricPolicyFetches = "stytchguard.rbac.policy.fetches"
)

const (
	attrOrganizationID = attribute.Key("stytch.organization_id")
	attrOutcome        = attribute.Key("outcome")
	attrLink           = attribute.Key("stytchguard.link") // on a waiter's span: what it waited on
)

// telemetry holds a Cache's tracer and instruments.
type telemetry struct {
	tracer           trace.Tracer
	fetches          metric.Int64Counter
	success, failure metric.AddOption
	age              metric.Registration // unregistered by Close
}

// newTelemetry creates c's tracer and instruments from the providers of cfg
// (the otel globals when nil). An instrument the meter refuses is reported to
// the otel error handler and replaced by a no-op one.
func newTelemetry(cfg Config, c *Cache) *telemetry {
	tp, mp := cfg.TracerProvider, cfg.MeterProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(instrumentationName)
	t := &telemetry{
		tracer:  tp.Tracer(instrumentationName),
		success: metric.WithAttributeSet(attribute.NewSet(attrOutcome.String("success"))),
		failure: metric.WithAttributeSet(attribute.NewSet(attrOutcome.String("failure"))),
	}
	var err error
	if t.fetches, err = meter.Int64Counter(MetricPolicyFetches, metric.WithUnit("{fetch}"),
		metric.WithDescription("Policy fetches from the Stytch API, by outcome.")); err != nil {
		otel.Handle(err)
		t.fetches = noop.Int64Counter{}
	}
	age, err := meter.Float64ObservableGauge(MetricPolicyAge, metric.WithUnit("s"),
		metric.WithDescription("Seconds since the last successful fetch of the project policy."))
	if err == nil {
		t.age, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
			if st := c.project.state.Load(); st.policy != nil {
				o.ObserveFloat64(age, c.now().Sub(st.fetchedAt).Seconds())
			}
			return nil
		}, age)
	}
	if err != nil {
		otel.Handle(err)
		t.age = nil
	}
	return t
}

// startFetch starts the span of a fetch of the policy of organizationID (the
// project's when empty) as a child of the span in ctx, if any.
func (t *telemetry) startFetch(ctx context.Context, organizationID string) (context.Context, trace.Span) {
	if organizationID == "" {
		return t.tracer.Start(ctx, FetchSpanName, trace.WithSpanKind(trace.SpanKindInternal))
	}
	return t.tracer.Start(ctx, FetchSpanName, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attrOrganizationID.String(organizationID)))
}

// endFetch records the outcome of a fetch (err nil on success) on its span
// and, with count, in the fetch counter, then ends the span.
func (t *telemetry) endFetch(ctx context.Context, span trace.Span, err error, count bool) {
	defer span.End()
	if err == nil {
		span.SetAttributes(attrOutcome.String("success"))
		if count {
			t.fetches.Add(ctx, 1, t.success)
		}
		return
	}
	span.SetAttributes(attrOutcome.String("failure"))
	span.RecordError(err)
	span.SetStatus(codes.Error, "policy fetch failed")
	if count {
		t.fetches.Add(ctx, 1, t.failure)
	}
}

// close stops the observation of the policy age.
func (t *telemetry) close() {
	if t.age != nil {
		if err := t.age.Unregister(); err != nil {
			otel.Handle(err)
		}
	}
}

// Status is the state of the project policy, for a health check.
type Status struct {
	// Held reports that a usable project policy is held: fetched, and not
	// older than MaxStaleness. Checks can be decided locally only when it
	// holds.
	Held bool
	// ProjectPolicyAge is the time since the last successful fetch of the
	// project policy; zero when no fetch succeeded yet.
	ProjectPolicyAge time.Duration
	// LastError is the error of the last fetch of the project policy when
	// it failed, nil after a success or before the first fetch. It holds no
	// credential.
	LastError error
}

// Status returns the state of the project policy at the Cache's clock. It
// makes no fetch and is safe for concurrent use.
func (c *Cache) Status() Status {
	st := c.project.state.Load()
	if st.policy == nil {
		return Status{LastError: st.err}
	}
	age := c.now().Sub(st.fetchedAt)
	return Status{Held: age <= c.maxStaleness, ProjectPolicyAge: age, LastError: st.err}
}
