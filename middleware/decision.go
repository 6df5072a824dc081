package middleware

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"
)

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
	// Resource and Action are the guard's, empty for Authenticate/Optional.
	Resource, Action string
	// Latency is the time the Guard spent deciding.
	Latency time.Duration
	// Err is the refusal, nil when allowed.
	Err error
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

// decided reports a decision when observed. err is the refusal, or, with
// anonymous set, the reason an Optional request went on without a session.
func (g *Guard) decided(r *http.Request, start time.Time, p *Principal, resource, action string, err error, anonymous bool) {
	if start.IsZero() {
		return
	}
	d := Decision{
		Method: r.Method, Path: r.URL.Path,
		Allowed:  err == nil && p != nil,
		Resource: resource, Action: action,
		Latency: time.Since(start),
		Err:     err,
	}
	if p != nil {
		d.Source = p.Source
		if s := p.session(); s != nil {
			d.MemberID, d.OrganizationID, d.SessionID = s.MemberID, s.OrganizationID, s.MemberSessionID
		}
	}
	var e *Error
	if errors.As(err, &e) {
		d.Code = e.Code
		if !anonymous {
			d.Status = e.Status
		}
	}
	if g.cfg.OnDecision != nil {
		g.cfg.OnDecision(d)
	}
	if g.cfg.Logger.Enabled(r.Context(), slog.LevelDebug) {
		g.log(r.Context(), d)
	}
}

func (g *Guard) log(ctx context.Context, d Decision) {
	outcome := "allow"
	if !d.Allowed {
		outcome = "refuse"
		if d.Status == 0 {
			outcome = "anonymous"
		}
	}
	g.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "stytchguard decision",
		slog.String("outcome", outcome),
		slog.Int("status", d.Status),
		slog.String("code", d.Code),
		slog.String("source", string(d.Source)),
		slog.String("member_id", d.MemberID),
		slog.String("organization_id", d.OrganizationID),
		slog.String("resource", d.Resource),
		slog.String("action", d.Action),
		slog.String("method", d.Method),
		slog.String("path", d.Path),
		slog.Duration("latency", d.Latency),
	)
}
