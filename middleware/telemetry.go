package middleware

import (
	"context"
	"net/http"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/stytchguard/stytchguard/client"
)

// instrumentation names the tracer and meter after this package.
const instrumentation = "github.com/stytchguard/stytchguard/middleware"

// Span names.
const (
	spanDecide = "stytchguard.decide"
	spanRemote = "stytchguard.remote.authenticate"
)

// Attribute keys of spans and metrics. None of them ever holds a
// credential.
const (
	attrOutcome  = attribute.Key("stytchguard.outcome")  // allow, refuse, anonymous
	attrSource   = attribute.Key("stytchguard.source")   // local, cache, remote
	attrSubject  = attribute.Key("stytchguard.subject")  // member, client
	attrCode     = attribute.Key("stytchguard.code")     // the refusal's error code
	attrResource = attribute.Key("stytchguard.resource") // the route's RBAC resource
	attrAction   = attribute.Key("stytchguard.action")   // the route's RBAC action
	attrCache    = attribute.Key("stytchguard.cache")    // verified_token, remote
	attrResult   = attribute.Key("stytchguard.result")   // hit, miss
	attrCheck    = attribute.Key("stytchguard.authorization_check")
)

// Cache names of the lookup metric.
const (
	cacheVerified = "verified_token"
	cacheRemote   = "remote"
	cacheFleet    = "fleet"
)

// telemetry is the Guard's tracing and metrics, through the OpenTelemetry
// API only. With no provider configured the globals are used; then a
// decision gets a span only under a recording request span (an SDK is
// installed and the request is sampled), and metrics go to the global
// meter, whose instruments cost nothing until an SDK is installed.
type telemetry struct {
	tracer   trace.Tracer
	explicit bool // Config.TracerProvider set: a decision span even without a parent

	decisions    metric.Int64Counter
	remoteTime   metric.Float64Histogram
	cacheLookups metric.Int64Counter
	gauges       metric.Registration

	lookupOpts   [3][2][]metric.AddOption    // [cache][hit]
	decisionOpts [3][4][3][]metric.AddOption // [outcome][source][subject]
}

func newTelemetry(cfg *Config, g *Guard) (*telemetry, error) {
	tp, mp := cfg.TracerProvider, cfg.MeterProvider
	t := &telemetry{explicit: tp != nil}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	t.tracer = tp.Tracer(instrumentation)
	m := mp.Meter(instrumentation)
	var err error
	if t.decisions, err = m.Int64Counter("stytchguard.decisions",
		metric.WithDescription("Decisions of the guard, by outcome, source and subject kind."),
		metric.WithUnit("{decision}")); err != nil {
		return nil, err
	}
	if t.remoteTime, err = m.Float64Histogram("stytchguard.remote.duration",
		metric.WithDescription("Duration of the calls to Stytch's Authenticate, retries included, by outcome."),
		metric.WithUnit("s")); err != nil {
		return nil, err
	}
	if t.cacheLookups, err = m.Int64Counter("stytchguard.cache.lookups",
		metric.WithDescription("Lookups of the verified-token cache and the remote-answer cache, by result."),
		metric.WithUnit("{lookup}")); err != nil {
		return nil, err
	}
	for i, c := range [3]string{cacheVerified, cacheRemote, cacheFleet} {
		for j, r := range [2]string{"miss", "hit"} {
			t.lookupOpts[i][j] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attrCache.String(c), attrResult.String(r)))}
		}
	}
	for o, on := range outcomeNames {
		for src, sn := range sourceNames {
			for sub, subn := range subjectNames {
				t.decisionOpts[o][src][sub] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(
					attrOutcome.String(on), attrSource.String(sn), attrSubject.String(subn)))}
			}
		}
	}
	jwksAge, err := m.Float64ObservableGauge("stytchguard.jwks.age",
		metric.WithDescription("Age of the signing keys held, since their last successful fetch."), metric.WithUnit("s"))
	if err != nil {
		return nil, err
	}
	breaker, err := m.Int64ObservableGauge("stytchguard.remote.breaker.state",
		metric.WithDescription("State of the circuit breaker of the remote Authenticate: 0 closed, 1 half-open, 2 open."))
	if err != nil {
		return nil, err
	}
	t.gauges, err = m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		if st := g.verifier.Status(); !st.LastSuccess.IsZero() {
			o.ObserveFloat64(jwksAge, g.cfg.Now().Sub(st.LastSuccess).Seconds())
		}
		if g.remote != nil {
			o.ObserveInt64(breaker, breakerState(g.remote.breaker.State()))
		}
		return nil
	}, jwksAge, breaker)
	return t, err
}

func breakerState(s gobreaker.State) int64 {
	switch s {
	case gobreaker.StateHalfOpen:
		return 1
	case gobreaker.StateOpen:
		return 2
	}
	return 0
}

func (t *telemetry) close() error {
	if t == nil || t.gauges == nil {
		return nil
	}
	return t.gauges.Unregister()
}

// startDecision starts the decision span of r when it is traced, and
// returns r carrying it. On an untraced request it returns r itself and a
// nil span, at the cost of one context lookup.
func (t *telemetry) startDecision(r *http.Request) (*http.Request, trace.Span) {
	if !t.explicit && !trace.SpanFromContext(r.Context()).IsRecording() {
		return r, nil
	}
	ctx, span := t.tracer.Start(r.Context(), spanDecide, trace.WithSpanKind(trace.SpanKindInternal))
	return r.WithContext(ctx), span
}

// Indexes of the precomputed attribute sets of the decisions counter.
const (
	outcomeAllow, outcomeRefuse, outcomeAnonymous      = 0, 1, 2
	sourceLocal, sourceCache, sourceRemote, sourceNone = 0, 1, 2, 3
	subjectMember, subjectClient, subjectNone          = 0, 1, 2
)

var (
	outcomeNames = [3]string{"allow", "refuse", "anonymous"}
	sourceNames  = [4]string{"local", "cache", "remote", "none"}
	subjectNames = [3]string{"member", "client", "none"}
)

func sourceIndex(s Source) int {
	switch s {
	case SourceLocal:
		return sourceLocal
	case SourceCache:
		return sourceCache
	case SourceRemote:
		return sourceRemote
	}
	return sourceNone
}

// count adds a decision to the decisions counter, with attribute sets made
// once, so that counting allocates nothing.
func (t *telemetry) count(ctx context.Context, outcome, source, subject int) {
	t.decisions.Add(ctx, 1, t.decisionOpts[outcome][source][subject]...)
}

// annotate records a decision in its span and ends it.
func (t *telemetry) annotate(span trace.Span, d *Decision, outcome, source, subject int) {
	span.SetAttributes(attrOutcome.String(outcomeNames[outcome]), attrSource.String(sourceNames[source]), attrSubject.String(subjectNames[subject]))
	if d.Resource != "" {
		span.SetAttributes(attrResource.String(d.Resource), attrAction.String(d.Action))
	}
	if d.Code != "" {
		span.SetAttributes(attrCode.String(d.Code))
	}
	if d.Status == http.StatusServiceUnavailable {
		span.SetStatus(codes.Error, "authentication unavailable")
	}
	span.End()
}

// cacheLookup counts a lookup of one of the guard's caches.
func (t *telemetry) cacheLookup(ctx context.Context, cache string, hit bool) {
	i, j := 0, 0
	switch cache {
	case cacheRemote:
		i = 1
	case cacheFleet:
		i = 2
	}
	if hit {
		j = 1
	}
	t.cacheLookups.Add(ctx, 1, t.lookupOpts[i][j]...)
}

// startRemote starts the span of a remote Authenticate call under ctx's
// span, when ctx is traced.
func (t *telemetry) startRemote(ctx context.Context, p *client.AuthenticateParams) (context.Context, trace.Span) {
	if !t.explicit && !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, trace.SpanFromContext(context.Background())
	}
	return t.tracer.Start(ctx, spanRemote, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attrCheck.Bool(p.AuthorizationCheck != nil)))
}

// endRemote ends the remote call's span and records its duration.
func (t *telemetry) endRemote(ctx context.Context, span trace.Span, start time.Time, err error) {
	outcome := remoteOutcome(err)
	t.remoteTime.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attrOutcome.String(outcome)))
	span.SetAttributes(attrOutcome.String(outcome))
	if outcome == "unavailable" || outcome == "unbound" {
		span.SetStatus(codes.Error, outcome)
	}
	span.End()
}

// linkRemote links the request's span to a remote call it waited on.
// It does nothing for the request that made the call (its span is the
// call's parent already).
func (t *telemetry) linkRemote(ctx context.Context, f flight) {
	if !f.span.IsValid() {
		return
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() && span.SpanContext().SpanID() != f.parent {
		span.AddLink(trace.Link{SpanContext: f.span, Attributes: []attribute.KeyValue{attribute.String("stytchguard.link", "coalesced remote call")}})
	}
}
