package middleware_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/internal/attacks"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// m2mToken creates an M2M client in the emulator and gets a token for it
// from the emulator's token endpoint, over loopback.
func m2mToken(t *testing.T, e *env, scopes []string, custom map[string]any) string {
	t.Helper()
	id, secret, err := e.srv.NewM2MClient(stytchtest.M2MClientSpec{Scopes: scopes, CustomClaims: custom})
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{ProjectID: e.srv.ProjectID, Secret: e.srv.Secret, BaseURL: e.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.M2M.Token(context.Background(), &client.M2MTokenParams{ClientID: id, ClientSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return resp.AccessToken
}

// TestM2MGuards: machine clients on scope routes, on member routes with and
// without AcceptM2M, and tenancy by custom claim; every refusal local.
func TestM2MGuards(t *testing.T) {
	hook := func(r *http.Request) string { return r.Header.Get("X-Org") }
	plain := newEnv(t, func(c *middleware.Config) { c.OrganizationID = hook })
	accept := newEnv(t, func(c *middleware.Config) {
		c.OrganizationID = hook
		c.AcceptM2M = true
		// Both guards share one emulator and clock.
		c.ProjectID, c.Secret, c.BaseURL, c.Now = plain.srv.ProjectID, plain.srv.Secret, plain.srv.URL, plain.clock.Now
	})
	_, memberJWT := plain.session(orgAcme, "member-test-m2m", "viewer")
	plain.warm(memberJWT)
	accept.warm(memberJWT)
	reader := m2mToken(t, plain, []string{"read:documents"}, map[string]any{"organization_id": orgAcme})
	wildcard := m2mToken(t, plain, []string{"read:*", "write:documents"}, map[string]any{"organization_id": orgAcme})
	unbound := m2mToken(t, plain, []string{"read:documents"}, nil)
	acme := header("X-Org", orgAcme)
	globex := header("X-Org", orgGlobex)

	var seen *middleware.Principal
	capture := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen, _ = middleware.FromContext(r.Context()) })
	cases := []struct {
		name   string
		h      http.Handler
		opts   []reqOpt
		status int
		code   string
		scope  string // expected scope="..." in the challenge
	}{
		{"scope route with the scope", plain.g.RequireScopes("read:documents")(capture), []reqOpt{bearer(reader)}, 200, "", ""},
		{"wildcard resource", plain.g.RequireScopes("read:invoices", "write:documents")(capture), []reqOpt{bearer(wildcard)}, 200, "", ""},
		// The token lacks write:documents: 403 naming it.
		{"missing scope", plain.g.RequireScopes("read:documents", "write:documents")(capture), []reqOpt{bearer(reader)}, 403, middleware.CodeForbidden, "write:documents"},
		// A member's session JWT on a machine route.
		{"session JWT on a scope route", plain.g.RequireScopes("read:documents")(capture), []reqOpt{bearer(memberJWT)}, 403, middleware.CodeForbidden, "read:documents"},
		// A machine token planted as a session cookie.
		{"M2M token as a cookie", plain.g.RequireScopes("read:documents")(capture), []reqOpt{cookies(reader, "")}, 401, middleware.CodeInvalidToken, ""},
		// Without AcceptM2M, member routes refuse machine tokens.
		{"member route without AcceptM2M", plain.g.Require("documents", "read")(capture), []reqOpt{bearer(reader), acme}, 401, middleware.CodeInvalidToken, ""},
		{"Authenticate without AcceptM2M", plain.g.Authenticate(capture), []reqOpt{bearer(reader)}, 401, middleware.CodeInvalidToken, ""},
		// With AcceptM2M, Require(resource, action) wants scope action:resource.
		{"Require with AcceptM2M", accept.g.Require("documents", "read")(capture), []reqOpt{bearer(reader), acme}, 200, "", ""},
		{"Require with AcceptM2M, missing scope", accept.g.Require("documents", "delete")(capture), []reqOpt{bearer(reader), acme}, 403, middleware.CodeForbidden, "delete:documents"},
		// The route names another organization than the client's claim.
		{"other organization", accept.g.Require("documents", "read")(capture), []reqOpt{bearer(reader), globex}, 403, middleware.CodeTenancyMismatch, ""},
		// A client bound to no organization on a route that names one.
		{"client without organization claim", accept.g.Require("documents", "read")(capture), []reqOpt{bearer(unbound), acme}, 403, middleware.CodeTenancyMismatch, ""},
		{"scope route names another organization", accept.g.RequireScopes("read:documents")(capture), []reqOpt{bearer(reader), globex}, 403, middleware.CodeTenancyMismatch, ""},
		{"Authenticate with AcceptM2M", accept.g.Authenticate(capture), []reqOpt{bearer(reader)}, 200, "", ""},
		// Step-up has no meaning for a machine.
		{"step-up route", accept.g.RequireRecentAuth(time.Hour)(capture), []reqOpt{bearer(reader)}, 401, middleware.CodeInsufficientAuth, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seen = nil
			plain.srv.ResetCalls()
			rec := do(tc.h, req("GET", "/", tc.opts...))
			wantStatus(t, rec, tc.status, tc.code)
			if n := plain.srv.Calls(stytchtest.EndpointAuthenticate); n != 0 {
				t.Fatalf("%d calls to Authenticate", n)
			}
			if tc.scope != "" && !strings.Contains(rec.Header().Get("WWW-Authenticate"), `scope="`+tc.scope+`"`) {
				t.Fatalf("challenge %q", rec.Header().Get("WWW-Authenticate"))
			}
			if tc.status == 200 && (seen == nil || seen.M2M == nil || seen.MemberSession != nil || seen.M2M.ClientID == "") {
				t.Fatalf("principal %+v", seen)
			}
		})
	}
	// OnDecision says the subject was a client.
	plain.mu.Lock()
	var clients int
	for _, d := range plain.decisions {
		if d.Subject() == "client" && d.ClientID != "" {
			clients++
		}
	}
	plain.mu.Unlock()
	if clients == 0 {
		t.Fatal("no decision reported a client subject")
	}
	// So does the decision log, with the client's id and no member.
	var logged bool
	for _, line := range strings.Split(plain.logs.String(), "\n") {
		if strings.Contains(line, `"msg":"stytchguard decision"`) && strings.Contains(line, `"outcome":"allow"`) &&
			strings.Contains(line, `"subject":"client"`) && strings.Contains(line, `"client_id":"m2m-client-`) && strings.Contains(line, `"member_id":""`) {
			logged = true
		}
	}
	if !logged {
		t.Fatal("no decision log record names a client subject")
	}
}

// TestM2MTokensRefusedLocally: expired, forged and malformed M2M tokens are
// 401 with no call to Stytch.
func TestM2MTokensRefusedLocally(t *testing.T) {
	e := newEnv(t, nil)
	_, sessionJWT := e.session(orgAcme, "member-test-m2m-refusals", "viewer")
	e.warm(sessionJWT)
	ae := &attacks.Env{Server: e.srv, T0: e.clock.Now()}
	_, attacker, _ := attacks.Keys()
	valid := ae.M2MClaims(e.clock.Now())
	with := func(k string, v any) map[string]any { return attacks.With(valid, map[string]any{k: v}) }
	cases := []struct {
		name string
		tok  string
	}{
		// Signed by a key the project never published.
		{"forged by an attacker key", attacks.SignWith(t, jwt.SigningMethodRS256, attacker, map[string]any{"alg": "RS256", "kid": attacks.KID, "typ": "JWT"}, valid)},
		// Issued by another project.
		{"wrong issuer", ae.Sign(t, with("iss", "stytch.com/project-test-other"), nil)},
		// For another project's API.
		{"wrong audience", ae.Sign(t, with("aud", []string{"project-test-other"}), nil)},
		// scope must be one string.
		{"scope as an array", ae.Sign(t, with("scope", []string{"read:documents"}), nil)},
		{"scope as a number", ae.Sign(t, with("scope", 7), nil)},
		// An hour and more past its exp: there is no remote path for M2M tokens.
		{"expired", ae.Sign(t, with("exp", e.clock.Now().Add(-time.Minute).Unix()), nil)},
	}
	h := e.g.RequireScopes("read:documents")(okHandler())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.srv.ResetCalls()
			wantStatus(t, do(h, req("GET", "/", bearer(tc.tok))), 401, middleware.CodeInvalidToken)
			if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 0 {
				t.Fatalf("%d calls to Authenticate", n)
			}
		})
	}
	// The valid one passes, and a real token expires after an hour.
	wantStatus(t, do(h, req("GET", "/", bearer(ae.Sign(t, valid, nil)))), 200, "")
	real := m2mToken(t, e, []string{"read:documents"}, nil)
	wantStatus(t, do(h, req("GET", "/", bearer(real))), 200, "")
	e.clock.Advance(time.Hour + time.Minute)
	e.srv.ResetCalls()
	wantStatus(t, do(h, req("GET", "/", bearer(real))), 401, middleware.CodeInvalidToken)
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 0 {
		t.Fatalf("an expired M2M token made %d calls", n)
	}
}
