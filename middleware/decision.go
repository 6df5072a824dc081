package middleware

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Subject is the kind of subject decided: "member", "client" (an M2M
// client) or "" when none was.
func (d Decision) Subject() string {
	switch {
	case d.ClientID != "":
		return "client"
	case d.MemberID != "":
		return "member"
	}
	return ""
}

// Decision describes one decision of a Guard, for logs and metrics. It never
// holds a credential.
type Decision struct {
	// Method and Path of the request.
	Method, Path string
	// Allowed is true when the request reached the handler with a session.
	Allowed bool
	// Status is the refusal status (401, 403, 503), or 0 when the request
	// reached the handler (with a session, or without one through
	// Optional).
	Status int
	// Code is the error code of the refused credential, empty when allowed.
	// For Optional it is set with Status 0 when the request went on
	// anonymously.
	Code string
	// Source tells how the session was decided, when one was.
	Source Source
	// MemberID, OrganizationID and SessionID identify the session, when
	// known.
	MemberID, OrganizationID, SessionID string
	// ClientID identifies the M2M client when the subject was a machine
	// client; empty for a member session. The subject kind is "client"
	// when it is set, "member" when MemberID is.
	ClientID string
	// Resource and Action are the guard's, empty for Authenticate/Optional.
	Resource, Action string
	// Latency is the time the Guard spent deciding.
	Latency time.Duration
	// Err is the refusal, nil when allowed.
	Err error
	// FleetErr reports trouble with Config.Fleet on this decision: nil
	// without a Fleet, or when this replica is current with the fleet's
	// revocation feed and the fleet's shared cache, when used, worked.
	// Otherwise it is Fleet.Current's error (for fleet.Redis a
	// *fleet.StaleError: Redis down, slow or still being replayed; JWTs
	// older than FleetOutageMaxTokenAge then go to Stytch), or the error of
	// a load from or a store to the shared cache made for this decision
	// (for fleet.Redis a *fleet.RedisError), or both joined. Whatever it
	// holds, the decision was made (asking Stytch where the fleet could not
	// help); its text never contains a credential.
	FleetErr error
}

// start returns the time a decision starts, or the zero time when nobody
// observes decisions (OnDecision unset, logger not enabled at Debug): then
// nothing is measured or reported. Latency is wall-clock time, whatever
// Config.Now says.
func (g *Guard) start(r *http.Request) time.Time {
	if g.cfg.OnDecision != nil || g.cfg.Logger.Enabled(r.Context(), slog.LevelDebug) {
		return time.Now()
	}
	return time.Time{}
}

// decided counts a decision, and reports it when observed (OnDecision, the
// Debug log, a decision span). err is the refusal, or, with anonymous set,
// the reason an Optional request went on without a session.
//
// fleetErr is the shared cache's failure on this decision, if any; the
// feed's state is read here, only when the decision is observed.
func (g *Guard) decided(r *http.Request, start time.Time, span trace.Span, p *Principal, rt *route, err error, anonymous bool, fleetErr error) {
	outcome := outcomeAllow
	switch {
	case anonymous:
		outcome = outcomeAnonymous
	case err != nil:
		outcome = outcomeRefuse
	}
	source, subject := sourceNone, subjectNone
	if p != nil && !anonymous {
		source = sourceIndex(p.Source)
		subject = subjectMember
		if p.shared.m2m != nil || p.guard == nil && p.M2M != nil {
			subject = subjectClient
		}
	}
	g.tel.count(r.Context(), outcome, source, subject)
	if start.IsZero() && span == nil {
		return
	}
	d := Decision{
		Method: r.Method, Path: r.URL.Path,
		Allowed:  err == nil && p != nil,
		Resource: rt.resource, Action: rt.action,
		Err: err,
	}
	if !start.IsZero() {
		d.Latency = time.Since(start)
	}
	if f := g.cfg.Fleet; f != nil {
		d.FleetErr = joinErrors(f.Current(), fleetErr)
	}
	if p != nil && !anonymous {
		d.Source = p.Source
		if s := p.session(); s != nil {
			d.MemberID, d.OrganizationID, d.SessionID = s.MemberID, s.OrganizationID, s.MemberSessionID
		}
		if m := p.m2mClaims(); m != nil {
			d.ClientID = m.ClientID
		}
	}
	var e *Error
	if errors.As(err, &e) {
		d.Code = e.Code
		if !anonymous {
			d.Status = e.Status
		}
	}
	if span != nil {
		g.tel.annotate(span, &d, outcome, source, subject)
	}
	if start.IsZero() {
		return
	}
	if g.cfg.OnDecision != nil {
		g.cfg.OnDecision(d)
	}
	if g.cfg.Logger.Enabled(r.Context(), slog.LevelDebug) {
		g.log(r.Context(), d)
	}
}

// joinErrors is errors.Join that keeps a lone error as it is.
func joinErrors(a, b error) error {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return errors.Join(a, b)
}

func (g *Guard) log(ctx context.Context, d Decision) {
	outcome := "allow"
	if !d.Allowed {
		outcome = "refuse"
		if d.Status == 0 {
			outcome = "anonymous"
		}
	}
	attrs := []slog.Attr{
		slog.String("outcome", outcome),
		slog.Int("status", d.Status),
		slog.String("code", d.Code),
		slog.String("source", string(d.Source)),
		slog.String("subject", d.Subject()),
		slog.String("member_id", d.MemberID),
		slog.String("client_id", d.ClientID),
		slog.String("organization_id", d.OrganizationID),
		slog.String("resource", d.Resource),
		slog.String("action", d.Action),
		slog.String("method", d.Method),
		slog.String("path", d.Path),
		slog.Duration("latency", d.Latency),
	}
	if d.FleetErr != nil {
		attrs = append(attrs, slog.String("fleet_error", safeError(d.FleetErr)))
	}
	g.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "stytchguard decision", attrs...)
}
