package client_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

var (
	emuKeyOnce sync.Once
	emuKey     *rsa.PrivateKey
)

// emulator starts a stytchtest server (one RSA key for the package) and a
// client for it.
func emulator(t *testing.T) (*stytchtest.Server, *client.Client) {
	t.Helper()
	emuKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		emuKey = k
	})
	srv := stytchtest.NewServer(stytchtest.Options{SigningKey: emuKey})
	t.Cleanup(srv.Close)
	c, err := client.New(client.Config{ProjectID: srv.ProjectID, Secret: srv.Secret, BaseURL: srv.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func TestEmulatorEveryCall(t *testing.T) {
	srv, c := emulator(t)
	ctx := context.Background()
	srv.SetPolicy(client.Policy{Roles: []client.Role{
		{RoleID: "editor", Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"read", "write"}}}},
	}})
	tok, jwt, err := srv.NewSession(stytchtest.SessionSpec{OrganizationID: "organization-test-acme", Email: "ann@acme.test", Roles: []string{"editor"}, CustomClaims: map[string]any{"tier": "gold"}})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("authenticate token", func(t *testing.T) {
		resp, err := c.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		if resp.MemberSession.OrganizationID != "organization-test-acme" || resp.SessionJWT == "" || resp.SessionToken != tok ||
			resp.Member.EmailAddress != "ann@acme.test" || resp.Organization.OrganizationID != "organization-test-acme" ||
			resp.StatusCode != 200 || !strings.HasPrefix(resp.RequestID, "request-id-test-") || resp.MemberSession.CustomClaims["tier"] != "gold" {
			t.Fatalf("response = %+v", resp)
		}
		if resp.Verdict != nil {
			t.Fatal("verdict without an authorization check")
		}
	})
	t.Run("authenticate jwt with authorization check", func(t *testing.T) {
		resp, err := c.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionJWT: jwt, AuthorizationCheck: &client.AuthorizationCheck{
			OrganizationID: "organization-test-acme", ResourceID: "documents", Action: "write"}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Verdict == nil || !resp.Verdict.Authorized || len(resp.Verdict.GrantingRoles) != 1 || resp.Verdict.GrantingRoles[0] != "editor" {
			t.Fatalf("verdict = %+v", resp.Verdict)
		}
	})
	t.Run("authenticate extends and merges claims", func(t *testing.T) {
		resp, err := c.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: tok, SessionDurationMinutes: 120,
			SessionCustomClaims: map[string]any{"tier": nil, "seats": 3}})
		if err != nil {
			t.Fatal(err)
		}
		cc := resp.MemberSession.CustomClaims
		if _, ok := cc["tier"]; ok || cc["seats"] != float64(3) {
			t.Fatalf("custom claims = %v", cc)
		}
		if d := time.Until(*resp.MemberSession.ExpiresAt); d < 119*time.Minute || d > 121*time.Minute {
			t.Fatalf("expiry not extended: %v", d)
		}
	})
	t.Run("authorization refused", func(t *testing.T) {
		_, err := c.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: tok, AuthorizationCheck: &client.AuthorizationCheck{
			OrganizationID: "organization-test-acme", ResourceID: "documents", Action: "delete"}})
		var ce *client.Error
		if !errors.Is(err, client.ErrForbidden) || !errors.As(err, &ce) || ce.ErrorType != "session_authorization_error" || ce.StatusCode != 403 {
			t.Fatalf("err = %v", err)
		}
		_, err = c.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: tok, AuthorizationCheck: &client.AuthorizationCheck{
			OrganizationID: "organization-test-other", ResourceID: "documents", Action: "read"}})
		if !errors.As(err, &ce) || ce.ErrorType != "session_authorization_tenancy_error" {
			t.Fatalf("tenancy err = %v", err)
		}
	})
	t.Run("get", func(t *testing.T) {
		auth, _ := c.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: tok})
		resp, err := c.Sessions.Get(ctx, &client.GetParams{OrganizationID: "organization-test-acme", MemberID: auth.Member.MemberID})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.MemberSessions) != 1 || resp.MemberSessions[0].MemberSessionID != auth.MemberSession.MemberSessionID {
			t.Fatalf("sessions = %+v", resp.MemberSessions)
		}
	})
	t.Run("jwks", func(t *testing.T) {
		resp, err := c.Sessions.GetJWKS(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Keys) != 1 || resp.Keys[0].KeyID != srv.KeyID() || resp.Keys[0].Alg != "RS256" || resp.Keys[0].Use != "sig" || resp.Keys[0].N == "" {
			t.Fatalf("keys = %+v", resp.Keys)
		}
		// another project's JWKS is a 404 that says nothing about a session
		if _, err := c.Sessions.GetJWKS(ctx, &client.GetJWKSParams{ProjectID: "project-test-other"}); !errors.Is(err, client.ErrBadRequest) || errors.Is(err, client.ErrSessionInvalid) {
			t.Fatalf("other project: %v", err)
		}
	})
	t.Run("policies", func(t *testing.T) {
		p, err := c.RBAC.Policy(ctx)
		if err != nil || len(p.Policy.Roles) != 1 || p.Policy.Roles[0].RoleID != "editor" {
			t.Fatalf("policy = %+v, %v", p, err)
		}
		srv.SetOrgPolicy("organization-test-acme", client.OrgPolicy{Roles: []client.Role{{RoleID: "acme-auditor"}}})
		op, err := c.RBAC.OrgPolicy(ctx, "organization-test-acme")
		if err != nil || len(op.OrgPolicy.Roles) != 1 || op.OrgPolicy.Roles[0].RoleID != "acme-auditor" {
			t.Fatalf("org policy = %+v, %v", op, err)
		}
		op, err = c.RBAC.OrgPolicy(ctx, "organization-test-none")
		if err != nil || op.OrgPolicy == nil || len(op.OrgPolicy.Roles) != 0 {
			t.Fatalf("empty org policy = %+v, %v", op, err)
		}
	})
	t.Run("exchange full session", func(t *testing.T) {
		if _, err := srv.AddMember(stytchtest.SessionSpec{OrganizationID: "organization-test-globex", Email: "ann@acme.test"}); err != nil {
			t.Fatal(err)
		}
		resp, err := c.Sessions.Exchange(ctx, &client.ExchangeParams{OrganizationID: "organization-test-globex", SessionToken: tok, Locale: client.ExchangeRequestLocaleDeDE})
		if err != nil {
			t.Fatal(err)
		}
		if !resp.MemberAuthenticated || resp.SessionToken == "" || resp.MemberSession == nil || resp.MemberSession.OrganizationID != "organization-test-globex" {
			t.Fatalf("exchange = %+v", resp)
		}
	})
	t.Run("exchange by organization slug", func(t *testing.T) {
		// organization_id inputs also accept the organization's slug
		if _, err := srv.AddMember(stytchtest.SessionSpec{OrganizationID: "organization-test-initech", OrganizationSlug: "initech", Email: "ann@acme.test"}); err != nil {
			t.Fatal(err)
		}
		resp, err := c.Sessions.Exchange(ctx, &client.ExchangeParams{OrganizationID: "initech", SessionToken: tok})
		if err != nil || resp.Organization.OrganizationID != "organization-test-initech" {
			t.Fatalf("exchange by slug = %+v, %v", resp, err)
		}
	})
	t.Run("exchange to the own organization", func(t *testing.T) {
		// Exchange switches organizations; the own one is a bad request
		_, err := c.Sessions.Exchange(ctx, &client.ExchangeParams{OrganizationID: "organization-test-acme", SessionToken: tok})
		var ce *client.Error
		if !errors.Is(err, client.ErrBadRequest) || !errors.As(err, &ce) || ce.ErrorType != "invalid_organization_id" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("exchange primary required", func(t *testing.T) {
		if _, err := srv.AddMember(stytchtest.SessionSpec{OrganizationID: "organization-test-sso", Email: "ann@acme.test"}); err != nil {
			t.Fatal(err)
		}
		srv.SetOrganizationAuthMethods("organization-test-sso", []string{"sso"})
		resp, err := c.Sessions.Exchange(ctx, &client.ExchangeParams{OrganizationID: "organization-test-sso", SessionJWT: jwt})
		if err != nil {
			t.Fatal(err)
		}
		if resp.MemberAuthenticated || resp.IntermediateSessionToken == "" || resp.PrimaryRequired == nil ||
			resp.SessionToken != "" || resp.MemberSession != nil || resp.IntermediateSessionTokenExpiresAt == nil {
			t.Fatalf("exchange = %+v", resp)
		}
	})
	t.Run("migrate", func(t *testing.T) {
		auth, _ := c.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: tok})
		srv.RegisterExternalToken("external-idp-token-1", "organization-test-acme", auth.Member.MemberID)
		resp, err := c.Sessions.Migrate(ctx, &client.MigrateParams{SessionToken: "external-idp-token-1", OrganizationID: "organization-test-acme"})
		if err != nil {
			t.Fatal(err)
		}
		if resp.MemberID != auth.Member.MemberID || resp.SessionToken == "" || resp.MemberSession == nil {
			t.Fatalf("migrate = %+v", resp)
		}
		if _, err := c.Sessions.Migrate(ctx, &client.MigrateParams{SessionToken: "unknown", OrganizationID: "organization-test-acme"}); err == nil {
			t.Fatal("unregistered external token accepted")
		}
	})
	t.Run("revoke", func(t *testing.T) {
		tok2, _, _ := srv.NewSession(stytchtest.SessionSpec{OrganizationID: "organization-test-acme", Roles: []string{"editor"}})
		if _, err := c.Sessions.Revoke(ctx, &client.RevokeParams{SessionToken: tok2}); err != nil {
			t.Fatal(err)
		}
		_, err := c.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: tok2})
		var ce *client.Error
		if !errors.Is(err, client.ErrSessionInvalid) || !errors.As(err, &ce) || ce.ErrorType != "session_not_found" || ce.StatusCode != 404 {
			t.Fatalf("revoked session: %v", err)
		}
		tok3, _, _ := srv.NewSession(stytchtest.SessionSpec{OrganizationID: "organization-test-acme"})
		auth, _ := c.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: tok3})
		if _, err := c.Sessions.Revoke(ctx, &client.RevokeParams{MemberID: auth.Member.MemberID},
			&client.RevokeRequestOptions{Authorization: client.Authorization{SessionToken: tok3}}); err != nil {
			t.Fatalf("revoke own sessions with member headers: %v", err)
		}
		if _, err := c.Sessions.Revoke(ctx, &client.RevokeParams{MemberSessionID: "session-test-00000000-0000-4000-8000-000000000000"}); !errors.Is(err, client.ErrSessionInvalid) {
			t.Fatalf("unknown session id: %v", err)
		}
	})
}

func TestEmulatorErrorClasses(t *testing.T) {
	srv, c := emulator(t)
	tok, _, err := srv.NewSession(stytchtest.SessionSpec{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	auth := func() error {
		_, err := c.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: tok})
		return err
	}
	cases := []struct {
		name  string
		fault stytchtest.Fault
		want  error
		check func(t *testing.T, err error)
	}{
		{"500", stytchtest.Fault{Status: 500}, client.ErrUnavailable, nil},
		{"502 html", stytchtest.Fault{Status: 502, Body: []byte("<html>bad gateway</html>")}, client.ErrUnavailable, nil},
		{"200 garbage", stytchtest.Fault{Body: []byte("{not json")}, client.ErrUnavailable, nil},
		{"huge body", stytchtest.Fault{Body: []byte(`{"x":"` + strings.Repeat("a", 2<<20) + `"}`)}, client.ErrUnavailable, nil},
		{"429 retry-after", stytchtest.Fault{Status: 429, RetryAfter: 9 * time.Second}, client.ErrUnavailable, func(t *testing.T, err error) {
			if d, ok := client.RetryAfter(err); !ok || d != 9*time.Second {
				t.Fatalf("RetryAfter = %v, %v", d, ok)
			}
		}},
		{"connection drop", stytchtest.Fault{Drop: true}, client.ErrUnavailable, nil},
		{"404 session_not_found", stytchtest.Fault{Status: 404, ErrorType: "session_not_found"}, client.ErrSessionInvalid, nil},
		{"401 unauthorized_credentials", stytchtest.Fault{Status: 401, ErrorType: "unauthorized_credentials"}, client.ErrUnauthorizedCredentials, func(t *testing.T, err error) {
			if errors.Is(err, client.ErrSessionInvalid) {
				t.Fatal("credential error classified as session invalid")
			}
		}},
		{"400 other", stytchtest.Fault{Status: 400, ErrorType: "invalid_locale"}, client.ErrBadRequest, nil},
		// a 400 about the token itself is a definite "no"
		{"400 unable_to_parse_session_jwt", stytchtest.Fault{Status: 400, ErrorType: "unable_to_parse_session_jwt"}, client.ErrSessionInvalid, nil},
		{"404 intermediate_session_not_found", stytchtest.Fault{Status: 404, ErrorType: "intermediate_session_not_found"}, client.ErrSessionInvalid, nil},
		// a wrong secret blames us, not the session
		{"401 invalid_secret_authentication", stytchtest.Fault{Status: 401, ErrorType: "invalid_secret_authentication"}, client.ErrUnauthorizedCredentials, func(t *testing.T, err error) {
			if errors.Is(err, client.ErrSessionInvalid) {
				t.Fatal("credential error classified as session invalid")
			}
		}},
		// any other 401 is about the session
		{"401 session", stytchtest.Fault{Status: 401, ErrorType: "user_unauthenticated"}, client.ErrSessionInvalid, nil},
		// a 404 of a gateway or wrong base path must not log users out
		{"404 not_found", stytchtest.Fault{Status: 404, ErrorType: "not_found"}, client.ErrBadRequest, func(t *testing.T, err error) {
			if errors.Is(err, client.ErrSessionInvalid) {
				t.Fatal("a 404 of another type classified as session invalid")
			}
		}},
		// a 403 that is not an authorization refusal
		{"403 other", stytchtest.Fault{Status: 403, ErrorType: "ip_address_blocked"}, client.ErrBadRequest, func(t *testing.T, err error) {
			if errors.Is(err, client.ErrForbidden) {
				t.Fatal("a 403 of another type classified as forbidden")
			}
		}},
		{"403 authorization", stytchtest.Fault{Status: 403, ErrorType: "session_authorization_error"}, client.ErrForbidden, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv.SetFault(stytchtest.EndpointAuthenticate, tc.fault)
			defer srv.ClearFaults()
			err := auth()
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), srv.Secret) || strings.Contains(err.Error(), tok) {
				t.Fatal("error text leaks a credential")
			}
			if tc.check != nil {
				tc.check(t, err)
			}
		})
	}
	t.Run("timeout", func(t *testing.T) {
		srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Hang: true})
		defer srv.ClearFaults()
		ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err := c.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: tok})
		var te *client.TransportError
		if !errors.Is(err, client.ErrUnavailable) || !errors.As(err, &te) || !te.Timeout() {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		bad, _ := client.New(client.Config{ProjectID: srv.ProjectID, Secret: "secret-test-wrong", BaseURL: srv.URL})
		_, err := bad.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: tok})
		if !errors.Is(err, client.ErrUnauthorizedCredentials) || strings.Contains(err.Error(), "secret-test-wrong") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("expired session", func(t *testing.T) {
		clock := stytchtest.NewClock(time.Now())
		srv2 := stytchtest.NewServer(stytchtest.Options{SigningKey: emuKey, Now: clock.Now})
		defer srv2.Close()
		c2, _ := client.New(client.Config{ProjectID: srv2.ProjectID, Secret: srv2.Secret, BaseURL: srv2.URL})
		tok, jwt, _ := srv2.NewSession(stytchtest.SessionSpec{Duration: 10 * time.Minute})
		clock.Advance(6 * time.Minute)
		resp, err := c2.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionJWT: jwt})
		if err != nil || resp.SessionJWT == jwt {
			t.Fatalf("expired JWT of a live session not refreshed: %v", err)
		}
		clock.Advance(5 * time.Minute)
		if _, err := c2.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: tok}); !errors.Is(err, client.ErrSessionInvalid) {
			t.Fatalf("expired session: %v", err)
		}
	})
}

func TestJWKThumbprintUnderBothNames(t *testing.T) {
	for _, doc := range []string{`{"kid":"k","x5tS256":"abc"}`, `{"kid":"k","x5t_s256":"abc"}`} {
		var k client.JWK
		if err := json.Unmarshal([]byte(doc), &k); err != nil || k.X5TS256 != "abc" || k.KeyID != "k" {
			t.Fatalf("%s: %+v %v", doc, k, err)
		}
	}
}

func TestEmulatorM2M(t *testing.T) {
	srv, c := emulator(t)
	ctx := context.Background()
	id, secret, err := srv.NewM2MClient(stytchtest.M2MClientSpec{Scopes: []string{"read:documents", "write:documents"},
		CustomClaims: map[string]any{"organization_id": "organization-test-acme"}})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("token", func(t *testing.T) {
		tok, err := c.M2M.Token(ctx, &client.M2MTokenParams{ClientID: id, ClientSecret: secret, Scopes: []string{"write:documents"}})
		if err != nil {
			t.Fatal(err)
		}
		if tok.TokenType != "bearer" || tok.ExpiresIn != client.M2MTokenLifetime || tok.StatusCode != 200 || !strings.HasPrefix(tok.RequestID, "request-id-test-") {
			t.Fatalf("response = %+v", tok)
		}
		jwks, err := c.Sessions.GetJWKS(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		claims := jwt.MapClaims{}
		_, err = jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(srv.ProjectID), jwt.WithIssuer(srv.Issuer()),
			jwt.WithExpirationRequired()).ParseWithClaims(tok.AccessToken, claims, func(tk *jwt.Token) (any, error) {
			for _, k := range jwks.Keys {
				if k.KeyID == tk.Header["kid"] {
					return jwksKey(t, k), nil
				}
			}
			return nil, errors.New("unknown kid")
		})
		if err != nil {
			t.Fatalf("access token does not verify: %v", err)
		}
		if claims["sub"] != id || claims["scope"] != "write:documents" || claims["organization_id"] != "organization-test-acme" {
			t.Errorf("claims = %v", claims)
		}
		if _, ok := claims["https://stytch.com/session"]; ok {
			t.Error("an M2M token carries a session claim")
		}
	})
	t.Run("error categories", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			params client.M2MTokenParams
			want   error
			typ    string
		}{
			{"wrong secret", client.M2MTokenParams{ClientID: id, ClientSecret: secret + "x"}, client.ErrInvalidClient, client.ErrorTypeInvalidClient},
			{"unknown client", client.M2MTokenParams{ClientID: "m2m-client-test-nobody", ClientSecret: secret}, client.ErrInvalidClient, client.ErrorTypeInvalidClient},
			{"scope not held", client.M2MTokenParams{ClientID: id, ClientSecret: secret, Scopes: []string{"admin:*"}}, client.ErrBadRequest, client.ErrorTypeInvalidScope},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := c.M2M.Token(ctx, &tc.params)
				var e *client.Error
				if !errors.As(err, &e) || e.ErrorType != tc.typ || e.ErrorMessage == "" || !strings.HasPrefix(e.ErrorURL, "https://stytch.com/docs/") {
					t.Fatalf("err = %#v", err)
				}
				if !errors.Is(err, tc.want) || errors.Is(err, client.ErrSessionInvalid) || errors.Is(err, client.ErrUnauthorizedCredentials) {
					t.Errorf("%v: wrong category", err)
				}
			})
		}
		srv.SetFault(stytchtest.EndpointM2MToken, stytchtest.Fault{Status: 503, RetryAfter: 2 * time.Second, Times: 1})
		_, err := c.M2M.Token(ctx, &client.M2MTokenParams{ClientID: id, ClientSecret: secret})
		if ra, ok := client.RetryAfter(err); !errors.Is(err, client.ErrUnavailable) || !ok || ra != 2*time.Second {
			t.Errorf("503 fault: %v (retry after %v)", err, ra)
		}
	})
	t.Run("clients api", func(t *testing.T) {
		created, err := c.M2M.Clients.Create(ctx, &client.M2MClientsCreateParams{Scopes: []string{"read:reports"}, ClientName: "reports"})
		if err != nil {
			t.Fatal(err)
		}
		cid, csecret := created.M2MClient.ClientID, created.M2MClient.ClientSecret
		if !strings.HasPrefix(cid, "m2m-client-test-") || len(csecret) != 44 || created.M2MClient.Status != client.M2MClientStatusActive {
			t.Fatalf("created = %+v", created.M2MClient)
		}
		if _, err := c.M2M.Token(ctx, &client.M2MTokenParams{ClientID: cid, ClientSecret: csecret}); err != nil {
			t.Fatalf("token of the created client: %v", err)
		}
		if _, err := c.M2M.Clients.Update(ctx, &client.M2MClientsUpdateParams{ClientID: cid, Status: client.M2MClientStatusInactive}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.M2M.Token(ctx, &client.M2MTokenParams{ClientID: cid, ClientSecret: csecret}); !errors.Is(err, client.ErrInvalidClient) {
			t.Errorf("token of a deactivated client: %v", err)
		}
		found, err := c.M2M.Clients.Search(ctx, &client.M2MClientsSearchParams{Query: &client.M2MSearchQuery{
			Operator: client.M2MSearchQueryOperatorAND,
			Operands: []map[string]any{{"filter_name": "scopes", "filter_value": []string{"read:reports"}}},
		}})
		if err != nil || len(found.M2MClients) != 1 || found.M2MClients[0].Status != client.M2MClientStatusInactive || found.ResultsMetadata.Total != 1 {
			t.Fatalf("search = %+v, %v", found, err)
		}
		if _, err := c.M2M.Clients.Delete(ctx, &client.M2MClientsDeleteParams{ClientID: cid}); err != nil {
			t.Fatal(err)
		}
		_, err = c.M2M.Clients.Get(ctx, &client.M2MClientsGetParams{ClientID: cid})
		var e *client.Error
		if !errors.As(err, &e) || e.StatusCode != 404 || e.ErrorType != "m2m_client_not_found" || !errors.Is(err, client.ErrBadRequest) {
			t.Errorf("get deleted: %v", err)
		}
	})
}
