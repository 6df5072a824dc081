package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/stytchguard/stytchguard/client"
)

// Health is the state the Guard depends on, as HealthHandler reports it.
// It holds no secret and no credential: error texts come from this
// library's fixed messages and Stytch's error types.
type Health struct {
	// Ready is what Ready reports, as a boolean.
	Ready bool `json:"ready"`
	// Reason says why the Guard is not ready; empty when it is.
	Reason string `json:"reason,omitempty"`
	// JWKS is the verifier's key set.
	JWKS struct {
		Ready bool `json:"ready"`
		// AgeSeconds is the time since the last successful fetch; -1
		// before the first one.
		AgeSeconds float64  `json:"age_seconds"`
		KeyIDs     []string `json:"key_ids"`
		LastError  string   `json:"last_error,omitempty"`
	} `json:"jwks"`
	// Policy is the project's RBAC policy.
	Policy struct {
		Held       bool    `json:"held"`
		AgeSeconds float64 `json:"age_seconds"`
		LastError  string  `json:"last_error,omitempty"`
	} `json:"policy"`
	// Remote is the path to Stytch's Authenticate.
	Remote struct {
		// Breaker is closed, half-open or open.
		Breaker   string `json:"breaker"`
		Reachable bool   `json:"reachable"`
		LastError string `json:"last_error,omitempty"`
	} `json:"remote"`
	// Fleet is the revocation feed, when Config.Fleet is set.
	Fleet *struct {
		Current bool   `json:"current"`
		Error   string `json:"error,omitempty"`
		// Revoked is the number of revoked sessions this replica holds.
		Revoked int `json:"revoked"`
	} `json:"fleet,omitempty"`
}

// ErrNotReady is the category of Ready's errors.
var ErrNotReady = errors.New("middleware: not ready")

// Ready returns nil once the Guard can decide requests: it holds usable
// signing keys and the project's RBAC policy, or, for whichever is
// missing, Stytch's Authenticate (which decides in their place) answered
// its last call and its circuit breaker is closed. Otherwise the error,
// matching ErrNotReady, says what is missing. The policy is fetched on
// first use; while it is not held, Ready fetches it (bounded by ctx), so a
// readiness probe makes a fresh replica ready before any traffic.
func (g *Guard) Ready(ctx context.Context) error {
	h := g.prefetched(ctx)
	if h.Ready {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrNotReady, h.Reason)
}

// HealthHandler answers GET (and HEAD) with the Health as JSON: 200 when
// ready, 503 otherwise. Like Ready, it fetches the policy when it is not
// held. Mount it unguarded, e.g. mux.Handle("GET
// /healthz", g.HealthHandler()).
func (g *Guard) HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := g.prefetched(r.Context())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !h.Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		if r.Method == http.MethodHead {
			return
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(h)
	})
}

// prefetched is health after fetching the policy when it is not held, at
// most once per prefetchEvery however often probes come, so that a public
// health endpoint cannot flood Stytch during an outage.
func (g *Guard) prefetched(ctx context.Context) Health {
	if !g.policies.Status().Held && g.prefetch.Allow() {
		_ = g.policies.Refresh(ctx) // the outcome shows in the status
	}
	return g.health()
}

// prefetchEvery spaces the policy fetches of Ready and HealthHandler.
const prefetchEvery = 5 * time.Second

func (g *Guard) health() Health {
	var h Health
	now := g.cfg.Now()
	js := g.verifier.Status()
	h.JWKS.Ready, h.JWKS.KeyIDs, h.JWKS.AgeSeconds = js.Ready, js.KeyIDs, -1
	if h.JWKS.KeyIDs == nil {
		h.JWKS.KeyIDs = []string{}
	}
	if !js.LastSuccess.IsZero() {
		h.JWKS.AgeSeconds = now.Sub(js.LastSuccess).Seconds()
	}
	if js.LastError != nil {
		h.JWKS.LastError = safeError(js.LastError)
	}
	ps := g.policies.Status()
	h.Policy.Held, h.Policy.AgeSeconds = ps.Held, ps.ProjectPolicyAge.Seconds()
	if !ps.Held {
		h.Policy.AgeSeconds = -1
	}
	if ps.LastError != nil {
		h.Policy.LastError = safeError(ps.LastError)
	}
	state := g.remote.breaker.State()
	h.Remote.Breaker = state.String()
	lastErr, answered := g.remote.lastOutcome()
	h.Remote.Reachable = answered && lastErr == nil && state == gobreaker.StateClosed
	if lastErr != nil {
		h.Remote.LastError = safeError(lastErr)
	}
	if f := g.cfg.Fleet; f != nil {
		h.Fleet = &struct {
			Current bool   `json:"current"`
			Error   string `json:"error,omitempty"`
			Revoked int    `json:"revoked"`
		}{Revoked: g.revoked.size()}
		if err := f.Current(); err != nil {
			h.Fleet.Error = safeError(err)
		} else {
			h.Fleet.Current = true
		}
	}
	switch {
	case !h.JWKS.Ready && !h.Remote.Reachable:
		h.Reason = "no usable signing keys, and Stytch's Authenticate is not known to be reachable"
	case !h.Policy.Held && !h.Remote.Reachable:
		h.Reason = "no project policy, and Stytch's Authenticate is not known to be reachable"
	default:
		h.Ready = true
	}
	return h
}

// safeError describes err for the health report: a Stytch error by its
// status and type only (its message could quote anything), anything else
// by its text, which this library's packages write without credentials.
func safeError(err error) string {
	var ce *client.Error
	if errors.As(err, &ce) {
		return fmt.Sprintf("stytch answered %d %s", ce.StatusCode, ce.ErrorType)
	}
	var te *client.TransportError
	if errors.As(err, &te) {
		return "stytch unreachable: " + te.Method + " " + te.Path
	}
	return quotable(err.Error())
}

// outcome is the last remote call's outcome, for health.
type outcome struct {
	at  time.Time
	err error // nil: Stytch answered (even "no")
}
