package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/internal/testkit"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestHealth: Ready and HealthHandler through JWKS and policy outages.
func TestHealth(t *testing.T) {
	clock := stytchtest.NewClock(t0)
	srv := stytchtest.NewServer(stytchtest.Options{Now: clock.Now, SigningKey: testkit.SigningKey()})
	t.Cleanup(srv.Close)
	srv.SetPolicy(testPolicy())
	// Stytch's keys and policy are unavailable from the start.
	srv.SetFault(stytchtest.EndpointJWKS, stytchtest.Fault{Status: 503})
	srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Status: 503})
	g, err := middleware.New(middleware.Config{ProjectID: srv.ProjectID, Secret: srv.Secret, BaseURL: srv.URL, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	health := func() (int, map[string]any) {
		rec := do(g.HealthHandler(), req("GET", "/healthz"))
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		noSecretIn(t, "health", rec.Body.String(), srv.Secret)
		return rec.Code, m
	}
	if err := g.Ready(context.Background()); !errors.Is(err, middleware.ErrNotReady) || !strings.Contains(err.Error(), "signing keys") {
		t.Fatalf("Ready with nothing held: %v", err)
	}
	code, h := health()
	if code != 503 || h["ready"] != false || h["jwks"].(map[string]any)["last_error"] == nil {
		t.Fatalf("health with nothing held: %d %v", code, h)
	}
	// Stytch comes back: keys and policy arrive, the guard is ready.
	srv.ClearFaults()
	tok, jwt, err := srv.NewSession(stytchtest.SessionSpec{OrganizationID: orgAcme, Roles: []string{"viewer"}, Duration: 300 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Traffic brings the policy back once the retry delay after the failed
	// fetch has passed (on the fake clock); probes alone fetch at most
	// every few seconds.
	deadline := time.Now().Add(20 * time.Second)
	for {
		do(g.Require("documents", "read")(okHandler()), req("GET", "/", bearer(jwt)))
		code, h = health()
		if code == 200 && h["policy"].(map[string]any)["held"] == true {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never healthy: %d %v", code, h)
		}
		clock.Advance(time.Second)
		time.Sleep(20 * time.Millisecond)
	}
	if code != 200 || h["jwks"].(map[string]any)["ready"] != true || h["policy"].(map[string]any)["held"] != true ||
		h["remote"].(map[string]any)["breaker"] != "closed" {
		t.Fatalf("healthy: %d %v", code, h)
	}
	if _, ok := h["fleet"]; ok {
		t.Fatal("a fleet reported without Config.Fleet")
	}
	// The key set grows stale (JWKS down for over a week of fake time) but
	// Stytch's Authenticate answers: still ready, the remote path decides.
	srv.SetFault(stytchtest.EndpointJWKS, stytchtest.Fault{Status: 503})
	clock.Advance(8 * 24 * time.Hour)
	srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Status: 503})
	if rec := do(g.Authenticate(okHandler()), req("GET", "/", bearer(tok))); rec.Code != 200 {
		t.Fatalf("remote path: %d", rec.Code)
	}
	code, h = health()
	if code != 200 || h["jwks"].(map[string]any)["ready"] != false || h["remote"].(map[string]any)["reachable"] != true {
		t.Fatalf("stale keys, Stytch reachable: %d %v", code, h)
	}
	// And Authenticate goes down too: not ready.
	srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Status: 503})
	do(g.Authenticate(okHandler()), req("GET", "/", bearer(tok+"x")))
	code, h = health()
	if code != 503 || g.Ready(context.Background()) == nil {
		t.Fatalf("everything down: %d %v", code, h)
	}
}
