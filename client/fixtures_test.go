package client_test

// Wire-fidelity tests of the client against the hand-written fixtures in
// testdata/fixtures (see the README there). The fixtures come from the wire
// specification, not from our types, so a disagreement here means a client type
// or a client behaviour differs from the real API.

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/client"
)

// Values of the fixtures, typed here by hand so that request fixtures are
// compared with params built independently of them.
const (
	fxProjectID = "project-test-25d4c87c-a0b4-4b63-b6fa-2d2abbc3cb7f"
	fxSecret    = "secret-test-Zm9vYmFyLWZpeHR1cmUtc2VjcmV0LXZhbHVlLTEyMw"
	fxOrgA      = "organization-test-bec4250b-bca8-4f9a-a5ba-eaaccf3b9458"
	fxOrgB      = "organization-test-57e7521f-c354-4b0d-85cc-af842a74239b"
	fxOrgC      = "organization-test-7a7ea23a-7ab3-4801-9dd5-f1fe176a82e3"
	fxMemberA   = "member-test-0091f0e9-8b00-4fa4-9646-42c786d2004e"
	fxMemberB   = "member-test-0964fb10-9506-4121-8d85-c722347dfa3d"
	fxMemberC   = "member-test-24c1ebfc-9cf9-404b-8e47-2bfdc264cb9f"
	fxSessionA  = "session-test-dd7662c8-8759-47c5-8327-4e41a4fe2015"
	fxSession2  = "session-test-49bb2604-0848-45aa-b24f-3ac869bc1016"
	fxEmailIDA  = "email-test-2e77682a-2266-45ac-afe4-8cd8a5aec862"
	fxTokenA    = "7m9oI7SrSlo_lnNxFO8_9G4tpKI4MgGBmAK-NlLSzsSA"
	fxKID1      = "jwk-test-0178c98e-14a0-4986-a0a7-d9e50694070d"
	fxKID2      = "jwk-test-19022cdb-5e71-4428-afc7-9fe193debfd9"
	fxEmail     = "ada@example.com"
	fxM2MClient = "m2m-client-test-f4013ebf-dafc-4749-ad31-ccb466001e1c"
	fxM2MSecret = "NuoDOp0XKFq3EltxPmC03y4uzvqbB61cfhiN9uZSH0cw"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fixtures", filepath.FromSlash(name)))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

// fixtureJSON decodes a fixture into generic JSON values.
func fixtureJSON(t testing.TB, name string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readFixture(t, name), &m); err != nil {
		t.Fatalf("fixture %s is not a JSON object: %v", name, err)
	}
	return m
}

// fixtureString returns the string at key of a fixture's top-level object.
func fixtureString(t testing.TB, name, key string) string {
	t.Helper()
	s, ok := fixtureJSON(t, name)[key].(string)
	if !ok {
		t.Fatalf("fixture %s has no string %q", name, key)
	}
	return s
}

func ts(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func eq[T any](t testing.TB, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func eqTime(t testing.TB, what string, got *time.Time, want string) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = nil, want %s", what, want)
		return
	}
	if w := ts(t, want); !got.Equal(w) {
		t.Errorf("%s = %s, want %s", what, got.Format(time.RFC3339), want)
	}
}

// jsonDiff reports the differences between two JSON documents, by path.
func jsonDiff(got, want []byte) []string {
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		return []string{"got is not JSON: " + err.Error()}
	}
	if err := json.Unmarshal(want, &w); err != nil {
		return []string{"want is not JSON: " + err.Error()}
	}
	var out []string
	diffValues(g, w, "$", &out)
	return out
}

func diffValues(g, w any, path string, out *[]string) {
	gm, gok := g.(map[string]any)
	wm, wok := w.(map[string]any)
	if gok && wok {
		for k := range wm {
			if _, ok := gm[k]; !ok {
				*out = append(*out, path+"."+k+": missing")
			}
		}
		for k, gv := range gm {
			wv, ok := wm[k]
			if !ok {
				*out = append(*out, path+"."+k+": unexpected key")
				continue
			}
			diffValues(gv, wv, path+"."+k, out)
		}
		return
	}
	if !reflect.DeepEqual(g, w) {
		*out = append(*out, fmt.Sprintf("%s: got %v, want %v", path, g, w))
	}
}

// recorded is one request received by a fixtureServer.
type recorded struct {
	Method, Path, EscapedPath, RawQuery string
	Header                              http.Header
	Body                                []byte
}

// fixtureServer is a loopback HTTP server that records every request and
// answers with a configurable handler.
type fixtureServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newFixtureServer(t *testing.T, h http.HandlerFunc) *fixtureServer {
	t.Helper()
	fs := &fixtureServer{}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fs.mu.Lock()
		fs.reqs = append(fs.reqs, recorded{r.Method, r.URL.Path, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), body})
		fs.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(fs.Close)
	return fs
}

// serveJSON answers every request with status and body.
func serveJSON(t *testing.T, status int, body []byte, header map[string]string) *fixtureServer {
	t.Helper()
	return newFixtureServer(t, func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
}

func (fs *fixtureServer) requests() []recorded {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return slices.Clone(fs.reqs)
}

// only returns the single request the server received.
func (fs *fixtureServer) only(t *testing.T) recorded {
	t.Helper()
	rs := fs.requests()
	if len(rs) != 1 {
		t.Fatalf("server received %d requests, want 1", len(rs))
	}
	return rs[0]
}

func newClient(t testing.TB, baseURL string, hc *http.Client) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{ProjectID: fxProjectID, Secret: fxSecret, BaseURL: baseURL, HTTPClient: hc})
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	return c
}

// checkWire asserts the method, path and body of the request a call sent.
// wantBody is a fixture name, or "" for a request without a body.
func checkWire(t *testing.T, r recorded, method, path, wantBody string) {
	t.Helper()
	eq(t, "method", r.Method, method)
	eq(t, "path", r.EscapedPath, path)
	if wantBody == "" {
		if len(r.Body) != 0 {
			t.Errorf("%s %s sent a body %q, want none", method, path, r.Body)
		}
		return
	}
	for _, d := range jsonDiff(r.Body, readFixture(t, wantBody)) {
		t.Errorf("request body vs %s: %s", wantBody, d)
	}
}

// --- responses decode into the right fields ------------------------------

func TestFixtureAuthenticate(t *testing.T) {
	srv := serveJSON(t, http.StatusOK, readFixture(t, "responses/authenticate.json"), nil)
	c := newClient(t, srv.URL, srv.Client())
	res, err := c.Sessions.Authenticate(context.Background(), &client.AuthenticateParams{
		SessionToken:           fxTokenA,
		SessionDurationMinutes: 60,
		SessionCustomClaims:    map[string]any{"tenant_tier": "gold"},
		AuthorizationCheck:     &client.AuthorizationCheck{OrganizationID: fxOrgA, ResourceID: "documents", Action: "read"},
	})
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	checkWire(t, srv.only(t), http.MethodPost, client.PathAuthenticate, "requests/authenticate.json")

	eq(t, "RequestID", res.RequestID, "request-id-test-c1096c4f-ea76-4a89-9b8f-97e760a27d2c")
	eq(t, "StatusCode", res.StatusCode, int32(200))
	eq(t, "SessionToken", res.SessionToken, fxTokenA)
	eq(t, "SessionJWT", res.SessionJWT, fixtureString(t, "responses/authenticate.json", "session_jwt"))

	ms := res.MemberSession
	eq(t, "MemberSession.MemberSessionID", ms.MemberSessionID, fxSessionA)
	eq(t, "MemberSession.MemberID", ms.MemberID, fxMemberA)
	eqTime(t, "MemberSession.StartedAt", ms.StartedAt, "2026-01-01T00:00:00Z")
	eqTime(t, "MemberSession.LastAccessedAt", ms.LastAccessedAt, "2026-01-01T00:30:00Z")
	eqTime(t, "MemberSession.ExpiresAt", ms.ExpiresAt, "2026-01-01T01:30:00Z")
	eq(t, "MemberSession.OrganizationID", ms.OrganizationID, fxOrgA)
	eq(t, "MemberSession.OrganizationSlug", ms.OrganizationSlug, "acme")
	eq(t, "MemberSession.Roles", ms.Roles, []string{"stytch_member", "editor", "viewer"})
	eq(t, "MemberSession.CustomClaims", ms.CustomClaims, map[string]any{"tenant_tier": "gold"})
	if len(ms.AuthenticationFactors) != 1 {
		t.Fatalf("AuthenticationFactors = %d, want 1", len(ms.AuthenticationFactors))
	}
	f := ms.AuthenticationFactors[0]
	eq(t, "factor.Type", f.Type, "magic_link")
	eq(t, "factor.DeliveryMethod", f.DeliveryMethod, "email")
	eqTime(t, "factor.LastAuthenticatedAt", f.LastAuthenticatedAt, "2026-01-01T00:00:00Z")
	eqTime(t, "factor.CreatedAt", f.CreatedAt, "2026-01-01T00:00:00Z")
	eqTime(t, "factor.UpdatedAt", f.UpdatedAt, "2026-01-01T00:00:00Z")
	eq(t, "factor.EmailFactor", f.EmailFactor, &client.EmailFactor{EmailID: fxEmailIDA, EmailAddress: fxEmail})

	m := res.Member
	eq(t, "Member.OrganizationID", m.OrganizationID, fxOrgA)
	eq(t, "Member.MemberID", m.MemberID, fxMemberA)
	eq(t, "Member.EmailAddress", m.EmailAddress, fxEmail)
	eq(t, "Member.Status", m.Status, "active")
	eq(t, "Member.Name", m.Name, "Ada Lovelace")
	eq(t, "Member.EmailAddressVerified", m.EmailAddressVerified, true)
	eq(t, "Member.IsAdmin", m.IsAdmin, false)
	eq(t, "Member.Roles", m.Roles, []client.MemberRole{
		{RoleID: "stytch_member", Sources: []client.MemberRoleSource{{Type: "direct_assignment", Details: map[string]any{}}}},
		{RoleID: "editor", Sources: []client.MemberRoleSource{{Type: "direct_assignment", Details: map[string]any{}}}},
		{RoleID: "viewer", Sources: []client.MemberRoleSource{{Type: "email_assignment", Details: map[string]any{"email_domain": "example.com"}}}},
	})
	eqTime(t, "Member.CreatedAt", m.CreatedAt, "2025-11-03T09:15:27Z")
	eqTime(t, "Member.UpdatedAt", m.UpdatedAt, "2025-12-14T16:02:41Z")
	if m.SCIMRegistration != nil {
		t.Errorf("Member.SCIMRegistration = %v, want nil for null", m.SCIMRegistration)
	}

	o := res.Organization
	eq(t, "Organization.OrganizationID", o.OrganizationID, fxOrgA)
	eq(t, "Organization.OrganizationName", o.OrganizationName, "Acme Corp")
	eq(t, "Organization.OrganizationSlug", o.OrganizationSlug, "acme")
	eq(t, "Organization.EmailAllowedDomains", o.EmailAllowedDomains, []string{"example.com"})
	eq(t, "Organization.EmailJITProvisioning", o.EmailJITProvisioning, "RESTRICTED")
	eq(t, "Organization.AuthMethods", o.AuthMethods, "ALL_ALLOWED")
	eq(t, "Organization.MfaPolicy", o.MfaPolicy, "OPTIONAL")
	eqTime(t, "Organization.CreatedAt", o.CreatedAt, "2025-11-03T09:14:58Z")

	if res.Verdict == nil {
		t.Fatal("Verdict = nil, want the fixture's verdict")
	}
	eq(t, "Verdict.Authorized", res.Verdict.Authorized, true)
	eq(t, "Verdict.GrantingRoles", res.Verdict.GrantingRoles, []string{"editor", "viewer"})
}

// TestFixture201IsSuccess checks that 201 counts as success like 200 (spec §0).
func TestFixture201IsSuccess(t *testing.T) {
	srv := serveJSON(t, http.StatusCreated, readFixture(t, "responses/revoke.json"), nil)
	res, err := newClient(t, srv.URL, srv.Client()).Sessions.Revoke(context.Background(), &client.RevokeParams{MemberID: fxMemberA})
	if err != nil {
		t.Fatalf("Revoke with 201: %v", err)
	}
	eq(t, "RequestID", res.RequestID, "request-id-test-fc893402-e870-4ea5-8629-14579675479b")
}

func TestFixtureAuthenticateWithJWT(t *testing.T) {
	srv := serveJSON(t, http.StatusOK, readFixture(t, "responses/authenticate.json"), nil)
	c := newClient(t, srv.URL, srv.Client())
	jwtA := fixtureString(t, "requests/authenticate_jwt.json", "session_jwt")
	if _, err := c.Sessions.Authenticate(context.Background(), &client.AuthenticateParams{SessionJWT: jwtA}); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	checkWire(t, srv.only(t), http.MethodPost, client.PathAuthenticate, "requests/authenticate_jwt.json")
}

func TestFixtureGet(t *testing.T) {
	srv := serveJSON(t, http.StatusOK, readFixture(t, "responses/get.json"), nil)
	c := newClient(t, srv.URL, srv.Client())
	res, err := c.Sessions.Get(context.Background(), &client.GetParams{OrganizationID: fxOrgA, MemberID: fxMemberA})
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	r := srv.only(t)
	checkWire(t, r, http.MethodGet, client.PathSessions, "")
	eq(t, "query", r.RawQuery, strings.TrimSpace(string(readFixture(t, "requests/get.query"))))

	eq(t, "RequestID", res.RequestID, "request-id-test-72ba60c7-674b-45d5-af75-33d54f7a6532")
	eq(t, "StatusCode", res.StatusCode, int32(200))
	if len(res.MemberSessions) != 2 {
		t.Fatalf("MemberSessions = %d, want 2", len(res.MemberSessions))
	}
	s0, s1 := res.MemberSessions[0], res.MemberSessions[1]
	eq(t, "[0].MemberSessionID", s0.MemberSessionID, fxSessionA)
	eqTime(t, "[0].ExpiresAt", s0.ExpiresAt, "2026-01-01T01:30:00Z")
	eq(t, "[1].MemberSessionID", s1.MemberSessionID, fxSession2)
	eqTime(t, "[1].StartedAt", s1.StartedAt, "2025-12-31T22:10:05Z")
	eqTime(t, "[1].LastAccessedAt", s1.LastAccessedAt, "2025-12-31T23:47:12Z")
	eqTime(t, "[1].ExpiresAt", s1.ExpiresAt, "2026-01-01T22:10:05Z")
	if len(s1.CustomClaims) != 0 {
		t.Errorf("[1].CustomClaims = %v, want empty", s1.CustomClaims)
	}
	if len(s1.AuthenticationFactors) != 1 {
		t.Fatalf("[1].AuthenticationFactors = %d, want 1", len(s1.AuthenticationFactors))
	}
	f := s1.AuthenticationFactors[0]
	eq(t, "[1] factor.Type", f.Type, "oauth")
	eq(t, "[1] factor.DeliveryMethod", f.DeliveryMethod, "oauth_google")
	eq(t, "[1] factor.GoogleOAuthFactor", f.GoogleOAuthFactor, &client.OAuthFactor{
		ID: "oauth-user-test-1644a8be-0dc5-4925-a5d5-cb8e9ebe7e53", ProviderSubject: "108526381027345918334", EmailID: fxEmailIDA,
	})
	if f.EmailFactor != nil {
		t.Errorf("[1] factor.EmailFactor = %v, want nil", f.EmailFactor)
	}
}

func exchangeParams() *client.ExchangeParams {
	return &client.ExchangeParams{
		OrganizationID:         fxOrgB,
		SessionToken:           fxTokenA,
		SessionDurationMinutes: 60,
		SessionCustomClaims:    map[string]any{"workspace": "globex-eu"},
		Locale:                 client.ExchangeRequestLocalePtbr,
		TelemetryID:            "025d4c1f-3a8e-4b62-9f0d-7e1c2b3a4d5e",
	}
}

func TestFixtureExchangeFullSession(t *testing.T) {
	srv := serveJSON(t, http.StatusOK, readFixture(t, "responses/exchange.json"), nil)
	c := newClient(t, srv.URL, srv.Client())
	res, err := c.Sessions.Exchange(context.Background(), exchangeParams())
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	checkWire(t, srv.only(t), http.MethodPost, client.PathExchange, "requests/exchange.json")

	eq(t, "RequestID", res.RequestID, "request-id-test-46d451a9-bcda-4a50-8c08-e2396e48a457")
	eq(t, "MemberID", res.MemberID, fxMemberB)
	eq(t, "MemberAuthenticated", res.MemberAuthenticated, true)
	eq(t, "SessionToken", res.SessionToken, "Y7_majWSsL5eZf-_4XnxN46TJgsh-XMlHR0zkCIWU49j")
	eq(t, "IntermediateSessionToken", res.IntermediateSessionToken, "")
	if res.IntermediateSessionTokenExpiresAt != nil {
		t.Errorf("IntermediateSessionTokenExpiresAt = %v, want nil for null", res.IntermediateSessionTokenExpiresAt)
	}
	if res.MFARequired != nil || res.PrimaryRequired != nil || res.MemberDevice != nil {
		t.Errorf("MFARequired, PrimaryRequired, MemberDevice = %v, %v, %v; want nil for null", res.MFARequired, res.PrimaryRequired, res.MemberDevice)
	}
	if res.MemberSession == nil {
		t.Fatal("MemberSession = nil, want the new session")
	}
	eq(t, "MemberSession.MemberSessionID", res.MemberSession.MemberSessionID, "session-test-3f158397-a801-44e9-bfd8-e50e34b1902d")
	eq(t, "MemberSession.OrganizationID", res.MemberSession.OrganizationID, fxOrgB)
	eq(t, "MemberSession.Roles", res.MemberSession.Roles, []string{"stytch_member", "stytch_admin"})
	eqTime(t, "MemberSession.ExpiresAt", res.MemberSession.ExpiresAt, "2026-01-01T01:40:00Z")
	eq(t, "MemberSession.CustomClaims", res.MemberSession.CustomClaims, map[string]any{"workspace": "globex-eu"})

	m := res.Member
	eq(t, "Member.IsAdmin", m.IsAdmin, true)
	eq(t, "Member.MfaEnrolled", m.MfaEnrolled, true)
	eq(t, "Member.MfaPhoneNumber", m.MfaPhoneNumber, "+15555550123")
	eq(t, "Member.MfaPhoneNumberVerified", m.MfaPhoneNumberVerified, true)
	eq(t, "Member.DefaultMfaMethod", m.DefaultMfaMethod, "sms_otp")
	eq(t, "Member.ExternalID", m.ExternalID, "globex-u-1042")
	eq(t, "Member.TrustedMetadata", m.TrustedMetadata, map[string]any{"employee_number": float64(1042)})
	eq(t, "Member.UntrustedMetadata", m.UntrustedMetadata, map[string]any{"theme": "dark"})

	o := res.Organization
	eq(t, "Organization.OrganizationLogoURL", o.OrganizationLogoURL, "https://globex.example/logo.png")
	eq(t, "Organization.OrganizationExternalID", o.OrganizationExternalID, "globex-hq")
	eq(t, "Organization.TrustedMetadata", o.TrustedMetadata, map[string]any{"billing_plan": "enterprise"})
	eq(t, "Organization.CustomRoles", o.CustomRoles, []client.Role{{
		RoleID: "globex-auditor", Description: "Read-only access for external auditors",
		Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"read"}}},
	}})
}

func TestFixtureExchangePrimaryRequired(t *testing.T) {
	srv := serveJSON(t, http.StatusOK, readFixture(t, "responses/exchange_primary_required.json"), nil)
	c := newClient(t, srv.URL, srv.Client())
	p := exchangeParams()
	p.OrganizationID = fxOrgC
	res, err := c.Sessions.Exchange(context.Background(), p)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	eq(t, "MemberID", res.MemberID, fxMemberC)
	eq(t, "MemberAuthenticated", res.MemberAuthenticated, false)
	eq(t, "SessionToken", res.SessionToken, "")
	eq(t, "SessionJWT", res.SessionJWT, "")
	if res.MemberSession != nil {
		t.Errorf("MemberSession = %+v, want nil for null", res.MemberSession)
	}
	eq(t, "IntermediateSessionToken", res.IntermediateSessionToken, "UMUWtBeUJRtLZlZZ2I3-mO00SYXNN5PQdZznm9XZ_Zw4")
	eqTime(t, "IntermediateSessionTokenExpiresAt", res.IntermediateSessionTokenExpiresAt, "2026-01-01T00:55:00Z")
	eq(t, "PrimaryRequired", res.PrimaryRequired, &client.PrimaryRequired{AllowedAuthMethods: []string{"sso"}})
	if res.MFARequired != nil {
		t.Errorf("MFARequired = %+v, want nil", res.MFARequired)
	}
	eq(t, "Organization.AuthMethods", res.Organization.AuthMethods, "RESTRICTED")
	eq(t, "Organization.AllowedAuthMethods", res.Organization.AllowedAuthMethods, []string{"sso"})
	eq(t, "Member.OrganizationID", res.Member.OrganizationID, fxOrgC)
}

func TestFixtureExchangeMFARequired(t *testing.T) {
	srv := serveJSON(t, http.StatusOK, readFixture(t, "responses/exchange_mfa_required.json"), nil)
	c := newClient(t, srv.URL, srv.Client())
	res, err := c.Sessions.Exchange(context.Background(), exchangeParams())
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	eq(t, "MemberAuthenticated", res.MemberAuthenticated, false)
	eq(t, "IntermediateSessionToken", res.IntermediateSessionToken, "q7i4o0hCAysuYaZ-1LIqnrJSVD9nPBwoRaNC4nwZpXUo")
	eqTime(t, "IntermediateSessionTokenExpiresAt", res.IntermediateSessionTokenExpiresAt, "2026-01-01T00:50:00Z")
	if res.PrimaryRequired != nil {
		t.Errorf("PrimaryRequired = %+v, want nil", res.PrimaryRequired)
	}
	eq(t, "MFARequired", res.MFARequired, &client.MfaRequired{
		MemberOptions:          &client.MemberOptions{MfaPhoneNumber: "+15555550123"},
		SecondaryAuthInitiated: "sms_otp",
	})
	eq(t, "Organization.MfaPolicy", res.Organization.MfaPolicy, "REQUIRED_FOR_ALL")
}

func TestFixtureMigrate(t *testing.T) {
	srv := serveJSON(t, http.StatusOK, readFixture(t, "responses/migrate.json"), nil)
	c := newClient(t, srv.URL, srv.Client())
	res, err := c.Sessions.Migrate(context.Background(), &client.MigrateParams{
		SessionToken:           "legacy-idp-access-token-X9MXm1wKmOcRmzJXIaXwqfv9DTl8XbcPRHFYhPd-IfGg",
		OrganizationID:         fxOrgA,
		SessionDurationMinutes: 120,
		SessionCustomClaims:    map[string]any{"migrated_from": "legacy-idp"},
	})
	if err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	checkWire(t, srv.only(t), http.MethodPost, client.PathMigrate, "requests/migrate.json")
	eq(t, "RequestID", res.RequestID, "request-id-test-77b62966-32a1-48ed-bb38-9abec3afd5bb")
	eq(t, "MemberID", res.MemberID, fxMemberA)
	eq(t, "SessionToken", res.SessionToken, "9sX7EfwkacH-Lax-KmKMABuuKKpBMAAi6A_tBTx_HkMu")
	eq(t, "StatusCode", res.StatusCode, int32(200))
	if res.MemberSession == nil {
		t.Fatal("MemberSession = nil")
	}
	eq(t, "MemberSession.MemberSessionID", res.MemberSession.MemberSessionID, "session-test-98976afc-f2f5-4fde-a47e-fde6952c8e73")
	eqTime(t, "MemberSession.ExpiresAt", res.MemberSession.ExpiresAt, "2026-01-01T02:50:00Z")
	eq(t, "MemberSession.CustomClaims", res.MemberSession.CustomClaims, map[string]any{"migrated_from": "legacy-idp"})
	eq(t, "factor.Type", res.MemberSession.AuthenticationFactors[0].Type, "imported")
	eq(t, "Member.MemberID", res.Member.MemberID, fxMemberA)
	eq(t, "Organization.OrganizationSlug", res.Organization.OrganizationSlug, "acme")
}

func TestFixtureRevoke(t *testing.T) {
	jwtA := fixtureString(t, "responses/authenticate.json", "session_jwt")
	for _, tc := range []struct {
		fixture string
		params  client.RevokeParams
	}{
		{"requests/revoke_member_session_id.json", client.RevokeParams{MemberSessionID: fxSession2}},
		{"requests/revoke_session_token.json", client.RevokeParams{SessionToken: fxTokenA}},
		{"requests/revoke_session_jwt.json", client.RevokeParams{SessionJWT: jwtA}},
		{"requests/revoke_member_id.json", client.RevokeParams{MemberID: fxMemberA}},
	} {
		t.Run(filepath.Base(tc.fixture), func(t *testing.T) {
			srv := serveJSON(t, http.StatusOK, readFixture(t, "responses/revoke.json"), nil)
			c := newClient(t, srv.URL, srv.Client())
			res, err := c.Sessions.Revoke(context.Background(), &tc.params)
			if err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			checkWire(t, srv.only(t), http.MethodPost, client.PathRevoke, tc.fixture)
			eq(t, "RequestID", res.RequestID, "request-id-test-fc893402-e870-4ea5-8629-14579675479b")
			eq(t, "StatusCode", res.StatusCode, int32(200))
		})
	}
}

// jwksKey turns a fixture JWK into an RSA public key.
func jwksKey(t *testing.T, k client.JWK) *rsa.PublicKey {
	t.Helper()
	n, err := base64.RawURLEncoding.DecodeString(k.N)
	if err != nil {
		t.Fatalf("kid %s: n is not base64url: %v", k.KeyID, err)
	}
	e, err := base64.RawURLEncoding.DecodeString(k.E)
	if err != nil {
		t.Fatalf("kid %s: e is not base64url: %v", k.KeyID, err)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
}

func fixtureJWKS(t *testing.T) *client.GetJWKSResponse {
	t.Helper()
	var res client.GetJWKSResponse
	if err := json.Unmarshal(readFixture(t, "responses/jwks.json"), &res); err != nil {
		t.Fatal(err)
	}
	return &res
}

func TestFixtureJWKS(t *testing.T) {
	srv := serveJSON(t, http.StatusOK, readFixture(t, "responses/jwks.json"), nil)
	c := newClient(t, srv.URL, srv.Client())
	res, err := c.Sessions.GetJWKS(context.Background(), nil)
	if err != nil {
		t.Fatalf("GetJWKS: %v", err)
	}
	checkWire(t, srv.only(t), http.MethodGet, client.PathJWKSPrefix+fxProjectID, "")
	eq(t, "RequestID", res.RequestID, "request-id-test-5dcec4a6-754f-42cf-9e4d-e20f692b4a6a")
	eq(t, "StatusCode", res.StatusCode, int32(200))
	if len(res.Keys) != 2 {
		t.Fatalf("Keys = %d, want 2", len(res.Keys))
	}
	for i, kid := range []string{fxKID1, fxKID2} {
		k := res.Keys[i]
		eq(t, "KeyID", k.KeyID, kid)
		eq(t, "KeyType", k.KeyType, "RSA")
		eq(t, "Use", k.Use, "sig")
		eq(t, "Alg", k.Alg, "RS256")
		eq(t, "KeyOps", k.KeyOps, []string{"verify"})
		eq(t, "E", k.E, "AQAB")
		if len(k.X5C) != 1 {
			t.Fatalf("kid %s: X5C = %d certificates, want 1", kid, len(k.X5C))
		}
		// The certificate, its thumbprint and n/e describe the same key.
		der, err := base64.StdEncoding.DecodeString(k.X5C[0])
		if err != nil {
			t.Fatalf("kid %s: x5c is not base64: %v", kid, err)
		}
		sum := sha256.Sum256(der)
		eq(t, "X5TS256", k.X5TS256, base64.RawURLEncoding.EncodeToString(sum[:]))
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("kid %s: %v", kid, err)
		}
		pub := jwksKey(t, k)
		if !pub.Equal(cert.PublicKey) {
			t.Errorf("kid %s: n/e differ from the x5c certificate's key", kid)
		}
		if pub.N.BitLen() != 2048 {
			t.Errorf("kid %s: modulus has %d bits, want 2048", kid, pub.N.BitLen())
		}
	}

	// A project id that needs escaping goes into the path escaped.
	if _, err := c.Sessions.GetJWKS(context.Background(), &client.GetJWKSParams{ProjectID: "project-test-a/b c"}); err != nil {
		t.Fatalf("GetJWKS: %v", err)
	}
	rs := srv.requests()
	eq(t, "escaped path", rs[len(rs)-1].EscapedPath, client.PathJWKSPrefix+"project-test-a%2Fb%20c")
}

func TestFixtureRBACPolicy(t *testing.T) {
	srv := serveJSON(t, http.StatusOK, readFixture(t, "responses/rbac_policy.json"), nil)
	c := newClient(t, srv.URL, srv.Client())
	res, err := c.RBAC.Policy(context.Background())
	if err != nil {
		t.Fatalf("Policy: %v", err)
	}
	checkWire(t, srv.only(t), http.MethodGet, client.PathPolicy, "")
	eq(t, "RequestID", res.RequestID, "request-id-test-7fc91f60-dffb-44bd-8669-136e3ac96aaf")
	p := res.Policy
	var ids []string
	for _, r := range p.Roles {
		ids = append(ids, r.RoleID)
	}
	eq(t, "role ids", ids, []string{"stytch_admin", "stytch_member", "editor", "viewer"})
	eq(t, "stytch_admin permissions", p.Roles[0].Permissions[1], client.Permission{ResourceID: "stytch.member", Actions: []string{"*"}})
	eq(t, "stytch_member actions", len(p.Roles[1].Permissions[0].Actions), 7)
	eq(t, "editor", p.Roles[2], client.Role{RoleID: "editor", Description: "Reads and writes documents.",
		Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"read", "write"}}}})
	eq(t, "resources", p.Resources, []client.Resource{{ResourceID: "documents", Description: "Customer documents.", Actions: []string{"read", "write", "delete"}}})
	eq(t, "scopes", p.Scopes, []client.Scope{{Scope: "read:docs", Description: "Read documents.",
		Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"read"}}}}})
}

func TestFixtureRBACOrgPolicy(t *testing.T) {
	srv := serveJSON(t, http.StatusOK, readFixture(t, "responses/rbac_org_policy.json"), nil)
	c := newClient(t, srv.URL, srv.Client())
	res, err := c.RBAC.OrgPolicy(context.Background(), fxOrgA)
	if err != nil {
		t.Fatalf("OrgPolicy: %v", err)
	}
	checkWire(t, srv.only(t), http.MethodGet, client.PathOrgPolicyPrefix+fxOrgA, "")
	eq(t, "RequestID", res.RequestID, "request-id-test-5dbe7263-3c49-4ad4-99c6-1cf6bf956cb5")
	eq(t, "OrgPolicy", res.OrgPolicy, &client.OrgPolicy{Roles: []client.Role{{
		RoleID: "acme-auditor", Description: "Reads documents of Acme for audits.",
		Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"read"}}},
	}}})

	// An organization id that needs escaping goes into the path escaped.
	if _, err := c.RBAC.OrgPolicy(context.Background(), "acme/../x"); err != nil {
		t.Fatalf("OrgPolicy: %v", err)
	}
	rs := srv.requests()
	eq(t, "escaped path", rs[len(rs)-1].EscapedPath, client.PathOrgPolicyPrefix+"acme%2F..%2Fx")

	empty := serveJSON(t, http.StatusOK, readFixture(t, "responses/rbac_org_policy_empty.json"), nil)
	res, err = newClient(t, empty.URL, empty.Client()).RBAC.OrgPolicy(context.Background(), fxOrgA)
	if err != nil {
		t.Fatalf("OrgPolicy (empty): %v", err)
	}
	if res.OrgPolicy == nil || len(res.OrgPolicy.Roles) != 0 {
		t.Errorf("OrgPolicy (empty) = %+v, want no roles", res.OrgPolicy)
	}
}

// --- requests marshal to exactly the fixture's keys ------------------------

func TestFixtureRequestsMarshal(t *testing.T) {
	jwtA := fixtureString(t, "responses/authenticate.json", "session_jwt")
	for _, tc := range []struct {
		fixture string
		params  any
		fresh   func() any
	}{
		{"requests/authenticate.json", &client.AuthenticateParams{
			SessionToken: fxTokenA, SessionDurationMinutes: 60, SessionCustomClaims: map[string]any{"tenant_tier": "gold"},
			AuthorizationCheck: &client.AuthorizationCheck{OrganizationID: fxOrgA, ResourceID: "documents", Action: "read"},
		}, func() any { return new(client.AuthenticateParams) }},
		{"requests/authenticate_jwt.json", &client.AuthenticateParams{SessionJWT: jwtA}, func() any { return new(client.AuthenticateParams) }},
		{"requests/exchange.json", exchangeParams(), func() any { return new(client.ExchangeParams) }},
		{"requests/migrate.json", &client.MigrateParams{
			SessionToken: "legacy-idp-access-token-X9MXm1wKmOcRmzJXIaXwqfv9DTl8XbcPRHFYhPd-IfGg", OrganizationID: fxOrgA,
			SessionDurationMinutes: 120, SessionCustomClaims: map[string]any{"migrated_from": "legacy-idp"},
		}, func() any { return new(client.MigrateParams) }},
		{"requests/revoke_member_session_id.json", &client.RevokeParams{MemberSessionID: fxSession2}, func() any { return new(client.RevokeParams) }},
		{"requests/revoke_session_token.json", &client.RevokeParams{SessionToken: fxTokenA}, func() any { return new(client.RevokeParams) }},
		{"requests/revoke_session_jwt.json", &client.RevokeParams{SessionJWT: jwtA}, func() any { return new(client.RevokeParams) }},
		{"requests/revoke_member_id.json", &client.RevokeParams{MemberID: fxMemberA}, func() any { return new(client.RevokeParams) }},
	} {
		t.Run(filepath.Base(tc.fixture), func(t *testing.T) {
			want := readFixture(t, tc.fixture)
			got, err := json.Marshal(tc.params)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range jsonDiff(got, want) {
				t.Errorf("marshalled params vs fixture: %s", d)
			}
			// The fixture decodes into the params type and back unchanged.
			v := tc.fresh()
			if err := json.Unmarshal(want, v); err != nil {
				t.Fatalf("decode fixture: %v", err)
			}
			back, _ := json.Marshal(v)
			for _, d := range jsonDiff(back, want) {
				t.Errorf("fixture round trip: %s", d)
			}
		})
	}
}

// --- no field lost -------------------------------------------------------

// unmodelledAllowed lists fixture keys (file:path, "[]" for array elements)
// that the client types deliberately do not model, with the reason.
var unmodelledAllowed = map[string]string{
	// Custom claims are top-level JWT claims with arbitrary names (spec §3.3);
	// Claims only models the registered and Stytch claims, and the verifier
	// collects custom claims from the raw payload (spec §3.4 step 5).
	"jwt/payload.json:tenant_tier": "custom claim",
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// jsonFields maps the JSON names of a struct's fields to their types,
// following embedded structs the way encoding/json does.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	for _, et := range embedded {
		for k, v := range jsonFields(et) {
			if _, shadowed := m[k]; !shadowed {
				m[k] = v
			}
		}
	}
	return m
}

// unmodelledKeys appends the paths of keys in v that typ has no field for.
func unmodelledKeys(typ reflect.Type, v any, path string, out *[]string) {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ.Implements(unmarshalerType) || reflect.PointerTo(typ).Implements(unmarshalerType) {
		return // time.Time, jwt.NumericDate, jwt.ClaimStrings: leaves
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch val := v.(type) {
	case map[string]any:
		switch typ.Kind() {
		case reflect.Interface:
		case reflect.Map:
			for k, e := range val {
				unmodelledKeys(typ.Elem(), e, join(k), out)
			}
		case reflect.Struct:
			fields := jsonFields(typ)
			for k, e := range val {
				ft, ok := fields[k]
				if !ok {
					*out = append(*out, join(k))
					continue
				}
				unmodelledKeys(ft, e, join(k), out)
			}
		default:
			*out = append(*out, path+" (object decoded into "+typ.String()+")")
		}
	case []any:
		if typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array {
			for _, e := range val {
				unmodelledKeys(typ.Elem(), e, path+"[]", out)
			}
		}
	}
}

func isZeroJSON(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case float64:
		return x == 0
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// lostValues appends the paths of fixture values that did not survive a
// decode and re-marshal (omitempty may drop zero values; that is no loss).
func lostValues(want, got any, path string, skip map[string]bool, out *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: object became %v", path, got))
			return
		}
		for k, wv := range w {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if skip[p] {
				continue
			}
			gv, ok := g[k]
			if !ok {
				if !isZeroJSON(wv) {
					*out = append(*out, p+": missing after re-marshal")
				}
				continue
			}
			lostValues(wv, gv, p, skip, out)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			*out = append(*out, fmt.Sprintf("%s: array of %d became %v", path, len(w), got))
			return
		}
		for i := range w {
			lostValues(w[i], g[i], path+"[]", skip, out)
		}
	default:
		if !reflect.DeepEqual(want, got) {
			*out = append(*out, fmt.Sprintf("%s: %v became %v", path, want, got))
		}
	}
}

func TestFixturesNoFieldLost(t *testing.T) {
	cases := []struct {
		fixture string
		fresh   func() any
	}{
		{"responses/authenticate.json", func() any { return new(client.AuthenticateResponse) }},
		{"responses/get.json", func() any { return new(client.GetResponse) }},
		{"responses/exchange.json", func() any { return new(client.ExchangeResponse) }},
		{"responses/exchange_primary_required.json", func() any { return new(client.ExchangeResponse) }},
		{"responses/exchange_mfa_required.json", func() any { return new(client.ExchangeResponse) }},
		{"responses/migrate.json", func() any { return new(client.MigrateResponse) }},
		{"responses/revoke.json", func() any { return new(client.RevokeResponse) }},
		{"responses/jwks.json", func() any { return new(client.GetJWKSResponse) }},
		{"responses/rbac_policy.json", func() any { return new(client.PolicyResponse) }},
		{"responses/rbac_org_policy.json", func() any { return new(client.OrgPolicyResponse) }},
		{"responses/rbac_org_policy_empty.json", func() any { return new(client.OrgPolicyResponse) }},
		{"requests/authenticate.json", func() any { return new(client.AuthenticateParams) }},
		{"requests/authenticate_jwt.json", func() any { return new(client.AuthenticateParams) }},
		{"requests/exchange.json", func() any { return new(client.ExchangeParams) }},
		{"requests/migrate.json", func() any { return new(client.MigrateParams) }},
		{"requests/revoke_member_session_id.json", func() any { return new(client.RevokeParams) }},
		{"requests/revoke_session_token.json", func() any { return new(client.RevokeParams) }},
		{"requests/revoke_session_jwt.json", func() any { return new(client.RevokeParams) }},
		{"requests/revoke_member_id.json", func() any { return new(client.RevokeParams) }},
		{"jwt/payload.json", func() any { return new(client.Claims) }},
		{"responses/m2m_token.json", func() any { return new(client.M2MTokenResponse) }},
		{"responses/m2m_clients_create.json", func() any { return new(client.M2MClientsCreateResponse) }},
		{"responses/m2m_clients_get.json", func() any { return new(client.M2MClientsGetResponse) }},
		{"responses/m2m_clients_update.json", func() any { return new(client.M2MClientsUpdateResponse) }},
		{"responses/m2m_clients_delete.json", func() any { return new(client.M2MClientsDeleteResponse) }},
		{"responses/m2m_clients_search.json", func() any { return new(client.M2MClientsSearchResponse) }},
		{"requests/m2m_clients_create.json", func() any { return new(client.M2MClientsCreateParams) }},
		{"requests/m2m_clients_update.json", func() any { return new(client.M2MClientsUpdateParams) }},
		{"requests/m2m_clients_search.json", func() any { return new(client.M2MClientsSearchParams) }},
	}
	errFiles, _ := filepath.Glob(filepath.Join("testdata", "fixtures", "errors", "*.json"))
	if len(errFiles) == 0 {
		t.Fatal("no error fixtures")
	}
	for _, f := range errFiles {
		if strings.HasPrefix(filepath.Base(f), "m2m_token_") {
			continue // OAuth 2.0 names, mapped by the token call: TestFixtureErrors
		}
		cases = append(cases, struct {
			fixture string
			fresh   func() any
		}{"errors/" + filepath.Base(f), func() any { return new(client.Error) }})
	}

	seenAllowed := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			raw := readFixture(t, tc.fixture)
			var generic any
			if err := json.Unmarshal(raw, &generic); err != nil {
				t.Fatal(err)
			}
			v := tc.fresh()
			if err := json.Unmarshal(raw, v); err != nil {
				t.Fatalf("fixture does not decode into %T: %v", v, err)
			}
			var unmodelled []string
			unmodelledKeys(reflect.TypeOf(v), generic, "", &unmodelled)
			sort.Strings(unmodelled)
			skip := map[string]bool{}
			for _, p := range unmodelled {
				key := tc.fixture + ":" + p
				if _, ok := unmodelledAllowed[key]; !ok {
					t.Errorf("%T does not model key %q of the fixture", v, p)
				}
				seenAllowed[key] = true
				skip[p] = true
			}
			back, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			var got any
			if err := json.Unmarshal(back, &got); err != nil {
				t.Fatal(err)
			}
			var lost []string
			lostValues(generic, got, "", skip, &lost)
			for _, l := range lost {
				t.Errorf("%T loses %s", v, l)
			}
		})
	}
	for key := range unmodelledAllowed {
		if !seenAllowed[key] {
			t.Errorf("allow-list entry %q matches no fixture key any more; remove it", key)
		}
	}
}

// --- JWT fixtures ----------------------------------------------------------

func TestFixtureJWTPayloadDecodesIntoClaims(t *testing.T) {
	var c client.Claims
	if err := json.Unmarshal(readFixture(t, "jwt/payload.json"), &c); err != nil {
		t.Fatalf("payload does not decode into client.Claims: %v", err)
	}
	eq(t, "Issuer", c.Issuer, "stytch.com/"+fxProjectID)
	eq(t, "Audience", c.Audience, jwt.ClaimStrings{fxProjectID})
	eq(t, "Subject", c.Subject, fxMemberA)
	if c.IssuedAt == nil || c.NotBefore == nil || c.ExpiresAt == nil {
		t.Fatalf("iat, nbf, exp = %v, %v, %v; want all set", c.IssuedAt, c.NotBefore, c.ExpiresAt)
	}
	eq(t, "IssuedAt", c.IssuedAt.Unix(), int64(1767227400))
	eq(t, "NotBefore", c.NotBefore.Unix(), c.IssuedAt.Unix())
	eq(t, "ExpiresAt-IssuedAt", c.ExpiresAt.Sub(c.IssuedAt.Time), 5*time.Minute)
	eq(t, "ID (jti)", c.ID, "")

	s := c.Session
	eq(t, "Session.ID", s.ID, fxSessionA)
	eq(t, "Session.StartedAt", s.StartedAt, "2026-01-01T00:00:00Z")
	eq(t, "Session.LastAccessedAt", s.LastAccessedAt, "2026-01-01T00:30:00Z")
	eq(t, "Session.ExpiresAt", s.ExpiresAt, "2026-01-01T01:30:00Z")
	eq(t, "Session.Attributes", s.Attributes, client.Attributes{IPAddress: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"})
	eq(t, "Session.Roles", s.Roles, []string{"stytch_member", "editor", "viewer"})
	if len(s.AuthenticationFactors) != 1 {
		t.Fatalf("Session.AuthenticationFactors = %d, want 1", len(s.AuthenticationFactors))
	}
	eq(t, "factor.EmailFactor", s.AuthenticationFactors[0].EmailFactor, &client.EmailFactor{EmailID: fxEmailIDA, EmailAddress: fxEmail})
	eqTime(t, "factor.LastAuthenticatedAt", s.AuthenticationFactors[0].LastAuthenticatedAt, "2026-01-01T00:00:00Z")
	eq(t, "Organization", c.Organization, client.OrgClaim{ID: fxOrgA, Slug: "acme"})

	var hdr map[string]any
	if err := json.Unmarshal(readFixture(t, "jwt/header.json"), &hdr); err != nil {
		t.Fatal(err)
	}
	eq(t, "header", hdr, map[string]any{"alg": "RS256", "kid": fxKID1, "typ": "JWT"})
}

// TestFixtureSessionJWTsAreConsistent checks the fixtures against each other:
// every session_jwt verifies with the JWKS fixture, parses into client.Claims
// and describes the session of its own document.
func TestFixtureSessionJWTsAreConsistent(t *testing.T) {
	keys := map[string]*rsa.PublicKey{}
	for _, k := range fixtureJWKS(t).Keys {
		keys[k.KeyID] = jwksKey(t, k)
	}
	for _, name := range []string{"responses/authenticate.json", "responses/exchange.json", "responses/migrate.json"} {
		t.Run(name, func(t *testing.T) {
			doc := fixtureJSON(t, name)
			raw, _ := doc["session_jwt"].(string)
			var claims client.Claims
			var iat time.Time
			parser := jwt.NewParser(
				jwt.WithValidMethods([]string{"RS256"}),
				jwt.WithAudience(fxProjectID),
				jwt.WithIssuer("stytch.com/"+fxProjectID),
				jwt.WithExpirationRequired(),
				jwt.WithTimeFunc(func() time.Time { return iat }),
			)
			// Verify at the token's own iat.
			var peek client.Claims
			if _, _, err := jwt.NewParser().ParseUnverified(raw, &peek); err != nil || peek.IssuedAt == nil {
				t.Fatalf("session_jwt does not parse: %v", err)
			}
			iat = peek.IssuedAt.Time
			tok, err := parser.ParseWithClaims(raw, &claims, func(tok *jwt.Token) (any, error) {
				kid, _ := tok.Header["kid"].(string)
				if k, ok := keys[kid]; ok {
					return k, nil
				}
				return nil, fmt.Errorf("unknown kid %q", kid)
			})
			if err != nil {
				t.Fatalf("session_jwt does not verify with the JWKS fixture: %v", err)
			}
			eq(t, "typ", tok.Header["typ"], any("JWT"))
			ms, _ := doc["member_session"].(map[string]any)
			if id, ok := doc["member_id"].(string); ok {
				eq(t, "sub = member_id", claims.Subject, id)
			}
			eq(t, "sub = member_session.member_id", claims.Subject, ms["member_id"].(string))
			eq(t, "session id", claims.Session.ID, ms["member_session_id"].(string))
			eq(t, "session expires_at", claims.Session.ExpiresAt, ms["expires_at"].(string))
			eq(t, "session started_at", claims.Session.StartedAt, ms["started_at"].(string))
			eq(t, "organization id", claims.Organization.ID, ms["organization_id"].(string))
			eq(t, "organization slug", claims.Organization.Slug, ms["organization_slug"].(string))
			var roles []any
			for _, r := range claims.Session.Roles {
				roles = append(roles, r)
			}
			eq(t, "roles", roles, ms["roles"].([]any))
		})
	}

	// The authenticate response's JWT is exactly the header and payload fixtures.
	raw := fixtureString(t, "responses/authenticate.json", "session_jwt")
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("session_jwt has %d segments", len(parts))
	}
	for i, name := range []string{"jwt/header.json", "jwt/payload.json"} {
		seg, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		for _, d := range jsonDiff(seg, readFixture(t, name)) {
			t.Errorf("session_jwt segment %d vs %s: %s", i, name, d)
		}
	}
}

// --- errors --------------------------------------------------------------

// categories are the sentinels an error can belong to; each error the client
// returns must belong to exactly one.
var categories = map[string]error{
	"ErrSessionInvalid":          client.ErrSessionInvalid,
	"ErrForbidden":               client.ErrForbidden,
	"ErrUnavailable":             client.ErrUnavailable,
	"ErrUnauthorizedCredentials": client.ErrUnauthorizedCredentials,
	"ErrInvalidParams":           client.ErrInvalidParams,
	"ErrBadRequest":              client.ErrBadRequest,
	"ErrInvalidClient":           client.ErrInvalidClient,
}

func checkCategory(t *testing.T, err error, want error) {
	t.Helper()
	var in []string
	for name, c := range categories {
		if errors.Is(err, c) {
			in = append(in, name)
		}
	}
	sort.Strings(in)
	if !errors.Is(err, want) || len(in) != 1 {
		t.Errorf("error %q is in categories %v, want exactly %v", err, in, want)
	}
}

func checkNoSecret(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if strings.Contains(msg, fxSecret) || strings.Contains(msg, base64.StdEncoding.EncodeToString([]byte(fxProjectID+":"+fxSecret))) {
		t.Errorf("error string contains the secret: %q", msg)
	}
}

// fxOtherProjectID is a project other than the client's, whose JWKS the
// jwks_404_project_not_found fixture answers for.
const fxOtherProjectID = "project-test-5b0e6c1a-3d2f-4e8b-9a7c-6f1d2e3b4a5c"

// errorEndpoint is one client call an error fixture can be served to, with
// the request it must send.
type errorEndpoint struct {
	method, path string
	call         func(context.Context, *client.Client) error
}

// errorEndpoints are the client calls by endpoint name, the prefix of the
// endpoint-specific error fixtures (README: errors/<endpoint>_<status>_<error_type>.json).
// Every call passes client-side validation, so the fixture decides the
// outcome.
var errorEndpoints = map[string]errorEndpoint{
	"authenticate": {http.MethodPost, client.PathAuthenticate, func(ctx context.Context, c *client.Client) error {
		_, err := c.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: fxTokenA})
		return err
	}},
	"get": {http.MethodGet, client.PathSessions, func(ctx context.Context, c *client.Client) error {
		_, err := c.Sessions.Get(ctx, &client.GetParams{OrganizationID: fxOrgA, MemberID: fxMemberA})
		return err
	}},
	"exchange": {http.MethodPost, client.PathExchange, func(ctx context.Context, c *client.Client) error {
		_, err := c.Sessions.Exchange(ctx, exchangeParams())
		return err
	}},
	"migrate": {http.MethodPost, client.PathMigrate, func(ctx context.Context, c *client.Client) error {
		_, err := c.Sessions.Migrate(ctx, &client.MigrateParams{SessionToken: "external", OrganizationID: fxOrgA})
		return err
	}},
	"revoke": {http.MethodPost, client.PathRevoke, func(ctx context.Context, c *client.Client) error {
		_, err := c.Sessions.Revoke(ctx, &client.RevokeParams{MemberID: fxMemberA})
		return err
	}},
	"jwks": {http.MethodGet, client.PathJWKSPrefix + fxOtherProjectID, func(ctx context.Context, c *client.Client) error {
		_, err := c.Sessions.GetJWKS(ctx, &client.GetJWKSParams{ProjectID: fxOtherProjectID})
		return err
	}},
	"rbac_policy": {http.MethodGet, client.PathPolicy, func(ctx context.Context, c *client.Client) error {
		_, err := c.RBAC.Policy(ctx)
		return err
	}},
	"rbac_org_policy": {http.MethodGet, client.PathOrgPolicyPrefix + fxOrgA, func(ctx context.Context, c *client.Client) error {
		_, err := c.RBAC.OrgPolicy(ctx, fxOrgA)
		return err
	}},
	"m2m_token": {http.MethodPost, "/v1/public/" + fxProjectID + "/oauth2/token", func(ctx context.Context, c *client.Client) error {
		_, err := c.M2M.Token(ctx, &client.M2MTokenParams{ClientID: fxM2MClient, ClientSecret: fxM2MSecret})
		return err
	}},
	"m2m_clients": {http.MethodGet, client.PathM2MClients + "/" + fxM2MClient, func(ctx context.Context, c *client.Client) error {
		_, err := c.M2M.Clients.Get(ctx, &client.M2MClientsGetParams{ClientID: fxM2MClient})
		return err
	}},
}

// fixtureError decodes an error fixture the way the API's two error shapes
// read: the session API's (error_type, error_message, error_url) and, for
// the M2M token endpoint, OAuth 2.0's (error, error_description,
// error_uri).
func fixtureError(t *testing.T, body []byte) client.Error {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	status, _ := m["status_code"].(float64)
	e := client.Error{StatusCode: int(status), RequestID: str("request_id"),
		ErrorType: str("error_type"), ErrorMessage: str("error_message"), ErrorURL: str("error_url")}
	if _, ok := m["error"]; ok {
		e.ErrorType, e.ErrorMessage, e.ErrorURL = str("error"), str("error_description"), str("error_uri")
	}
	if e.ErrorType == "" || e.RequestID == "" || e.StatusCode == 0 {
		t.Fatalf("error fixture lacks its type, request id or status: %s", body)
	}
	return e
}

// fixtureEndpoint returns the endpoint an error fixture names in its prefix,
// or "" for a fixture any endpoint can answer with.
func fixtureEndpoint(fixture string) string {
	best := ""
	for ep := range errorEndpoints {
		if strings.HasPrefix(fixture, ep+"_") && len(ep) > len(best) {
			best = ep
		}
	}
	return best
}

// callFor returns the client call of endpoint ep.
func callFor(t *testing.T, ep string) errorEndpoint {
	t.Helper()
	e, ok := errorEndpoints[ep]
	if !ok {
		t.Fatalf("no client call for endpoint %q", ep)
	}
	return e
}

func TestFixtureErrors(t *testing.T) {
	retryDate := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	used := map[string]bool{}
	for _, tc := range []struct {
		fixture    string
		ep         string // the client call; "" = the fixture's endpoint prefix
		status     int    // HTTP status; 0 = the fixture's status_code
		header     map[string]string
		want       error
		retryAfter time.Duration // exact; -1 = about an hour (HTTP date)
	}{
		// Authenticate (§1.1).
		{fixture: "404_session_not_found.json", ep: "authenticate", want: client.ErrSessionInvalid},
		{fixture: "400_no_session_arguments.json", ep: "authenticate", want: client.ErrBadRequest},
		{fixture: "400_too_many_session_arguments.json", ep: "authenticate", want: client.ErrBadRequest},
		{fixture: "400_invalid_session_duration_minutes.json", ep: "authenticate", want: client.ErrBadRequest},
		// Our own credentials are wrong: not the user's session, never a logout.
		{fixture: "401_unauthorized_credentials.json", ep: "authenticate", want: client.ErrUnauthorizedCredentials},
		{fixture: "403_session_authorization_error.json", ep: "authenticate", want: client.ErrForbidden},
		{fixture: "403_session_authorization_tenancy_error.json", ep: "authenticate", want: client.ErrForbidden},
		{fixture: "429_too_many_requests.json", ep: "authenticate", header: map[string]string{"Retry-After": "7"}, want: client.ErrUnavailable, retryAfter: 7 * time.Second},
		{fixture: "429_too_many_requests.json", ep: "authenticate", header: map[string]string{"Retry-After": retryDate}, want: client.ErrUnavailable, retryAfter: -1},
		{fixture: "500_internal_server_error.json", ep: "authenticate", want: client.ErrUnavailable},
		// The HTTP status wins over the body's status_code (spec §0).
		{fixture: "500_internal_server_error.json", ep: "authenticate", status: http.StatusServiceUnavailable, want: client.ErrUnavailable},

		// Get (§1.2): an unknown member or organization says nothing about
		// any session, so it is no session verdict.
		{fixture: "get_404_member_not_found.json", want: client.ErrBadRequest},
		{fixture: "get_404_organization_not_found.json", want: client.ErrBadRequest},
		{fixture: "401_unauthorized_credentials.json", ep: "get", want: client.ErrUnauthorizedCredentials},

		// Exchange (§1.4).
		{fixture: "exchange_404_organization_not_found.json", want: client.ErrBadRequest},
		// A member_not_found 404 must not be read as "the session is gone".
		{fixture: "exchange_404_member_not_found.json", want: client.ErrBadRequest},
		{fixture: "exchange_400_invalid_locale.json", want: client.ErrBadRequest},
		{fixture: "exchange_400_invalid_organization_id.json", want: client.ErrBadRequest},
		// The session being exchanged is dead: that one is a session verdict.
		{fixture: "404_session_not_found.json", ep: "exchange", want: client.ErrSessionInvalid},
		{fixture: "400_too_many_session_arguments.json", ep: "exchange", want: client.ErrBadRequest},
		{fixture: "401_unauthorized_credentials.json", ep: "exchange", want: client.ErrUnauthorizedCredentials},

		// Migrate (§1.7).
		{fixture: "migrate_400_migrate_from_external_unexpected_response.json", want: client.ErrBadRequest},
		{fixture: "migrate_404_migrate_from_external_email_does_not_exist.json", want: client.ErrBadRequest},
		{fixture: "migrate_404_organization_not_found.json", want: client.ErrBadRequest},
		{fixture: "401_unauthorized_credentials.json", ep: "migrate", want: client.ErrUnauthorizedCredentials},

		// Revoke (§1.3).
		{fixture: "400_no_session_revoke_arguments.json", ep: "revoke", want: client.ErrBadRequest},
		{fixture: "400_too_many_session_revoke_arguments.json", ep: "revoke", want: client.ErrBadRequest},
		{fixture: "revoke_404_member_not_found.json", want: client.ErrBadRequest},
		{fixture: "404_session_not_found.json", ep: "revoke", want: client.ErrSessionInvalid},
		// The acting member (X-Stytch-Member-Session) may not revoke others.
		{fixture: "403_session_authorization_error.json", ep: "revoke", want: client.ErrForbidden},
		{fixture: "401_unauthorized_credentials.json", ep: "revoke", want: client.ErrUnauthorizedCredentials},

		// JWKS (§1.8, §2.1).
		{fixture: "jwks_404_project_not_found.json", want: client.ErrBadRequest},
		{fixture: "500_internal_server_error.json", ep: "jwks", want: client.ErrUnavailable},

		// RBAC policies (§4.1).
		{fixture: "rbac_policy_401_unauthorized_credentials.json", want: client.ErrUnauthorizedCredentials},
		{fixture: "rbac_org_policy_401_unauthorized_credentials.json", want: client.ErrUnauthorizedCredentials},
		{fixture: "429_too_many_requests.json", ep: "rbac_policy", header: map[string]string{"Retry-After": "3"}, want: client.ErrUnavailable, retryAfter: 3 * time.Second},
		{fixture: "500_internal_server_error.json", ep: "rbac_org_policy", want: client.ErrUnavailable},

		// M2M token endpoint (§8.2): OAuth 2.0 error bodies. A rejected
		// client is neither a dead session nor a wrong project secret.
		{fixture: "m2m_token_401_invalid_client.json", want: client.ErrInvalidClient},
		{fixture: "m2m_token_400_invalid_scope.json", want: client.ErrBadRequest},
		{fixture: "m2m_token_400_unsupported_grant_type.json", want: client.ErrBadRequest},
		{fixture: "m2m_token_400_invalid_request.json", want: client.ErrBadRequest},
		// The API's front answers rate limits and outages in its own shape.
		{fixture: "429_too_many_requests.json", ep: "m2m_token", header: map[string]string{"Retry-After": "2"}, want: client.ErrUnavailable, retryAfter: 2 * time.Second},
		{fixture: "500_internal_server_error.json", ep: "m2m_token", want: client.ErrUnavailable},

		// M2M clients API (§8.5): the session API's error shape.
		{fixture: "m2m_clients_404_m2m_client_not_found.json", want: client.ErrBadRequest},
		{fixture: "401_unauthorized_credentials.json", ep: "m2m_clients", want: client.ErrUnauthorizedCredentials},
	} {
		ep := tc.ep
		if named := fixtureEndpoint(tc.fixture); named != "" {
			if ep != "" && ep != named {
				t.Fatalf("fixture %s belongs to %s, the case serves it to %s", tc.fixture, named, ep)
			}
			ep = named
		}
		if ep == "" {
			t.Fatalf("fixture %s: no endpoint", tc.fixture)
		}
		used[tc.fixture] = true
		name := ep + "/" + strings.TrimSuffix(strings.TrimPrefix(tc.fixture, ep+"_"), ".json")
		if tc.status != 0 {
			name += fmt.Sprintf("_as_%d", tc.status)
		}
		if tc.retryAfter < 0 {
			name += "_http_date"
		}
		t.Run(name, func(t *testing.T) {
			body := readFixture(t, "errors/"+tc.fixture)
			want := fixtureError(t, body)
			status := tc.status
			if status == 0 {
				status = want.StatusCode
			}
			srv := serveJSON(t, status, body, tc.header)
			c := newClient(t, srv.URL, srv.Client())
			call := callFor(t, ep)
			err := call.call(context.Background(), c)
			if err == nil {
				t.Fatal("call succeeded, want an error")
			}
			// The fixture was served to its own endpoint's request.
			r := srv.only(t)
			eq(t, "method", r.Method, call.method)
			eq(t, "path", r.EscapedPath, call.path)
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not a *client.Error", err, err)
			}
			eq(t, "StatusCode", e.StatusCode, status)
			eq(t, "RequestID", e.RequestID, want.RequestID)
			eq(t, "ErrorType", e.ErrorType, want.ErrorType)
			eq(t, "ErrorMessage", e.ErrorMessage, want.ErrorMessage)
			eq(t, "ErrorURL", e.ErrorURL, want.ErrorURL)
			if len(e.ErrorDetails) != 0 {
				t.Errorf("ErrorDetails = %v, want none (the fixture has none)", e.ErrorDetails)
			}
			checkCategory(t, err, tc.want)
			checkNoSecret(t, err)
			ra, ok := client.RetryAfter(err)
			switch {
			case tc.retryAfter > 0:
				eq(t, "RetryAfter", ra, tc.retryAfter)
				eq(t, "RetryAfter ok", ok, true)
				eq(t, "Error.RetryAfter", e.RetryAfter, tc.retryAfter)
			case tc.retryAfter < 0:
				if !ok || ra <= 58*time.Minute || ra > time.Hour {
					t.Errorf("RetryAfter = %v, %v; want about an hour", ra, ok)
				}
			default:
				if ok {
					t.Errorf("RetryAfter = %v, want none", ra)
				}
			}
			if !strings.Contains(err.Error(), want.ErrorType) || !strings.Contains(err.Error(), want.RequestID) {
				t.Errorf("error string %q lacks the error type or request id", err.Error())
			}
		})
	}

	// Every error fixture is served to a client call at least once.
	files, _ := filepath.Glob(filepath.Join("testdata", "fixtures", "errors", "*.json"))
	if len(files) == 0 {
		t.Fatal("no error fixtures")
	}
	for _, f := range files {
		if !used[filepath.Base(f)] {
			t.Errorf("error fixture %s is served to no client call", filepath.Base(f))
		}
	}
}

// TestClientErrorClasses covers failures that have no fixture: bodies that
// are not a Stytch answer and transport failures.
func TestClientErrorClasses(t *testing.T) {
	huge := []byte(`{"request_id":"request-id-test-00000000-0000-4000-8000-000000000000","pad":"` + strings.Repeat("a", client.MaxResponseBytes) + `"}`)
	html := []byte("<html><body><h1>502 Bad Gateway</h1></body></html>")
	authenticateBody := readFixture(t, "responses/authenticate.json")
	for _, tc := range []struct {
		name        string
		handler     http.HandlerFunc
		hc          func(*httptest.Server) *http.Client
		ctxTimeout  bool
		want        error
		wantStatus  int // of the *client.Error; 0 = not a *client.Error
		wantTimeout bool
	}{
		{
			// A 401 about the session (not our credentials) means the session is bad.
			name: "401_session",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"status_code":401,"request_id":"request-id-test-11111111-1111-4111-8111-111111111111","error_type":"user_unauthenticated","error_message":"Unauthenticated.","error_url":"https://stytch.com/docs/api/errors/401"}`)
			},
			want: client.ErrSessionInvalid, wantStatus: 401,
		},
		{
			// A proxy's HTML error page is no answer from Stytch.
			name: "502_html",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				_, _ = w.Write(html)
			},
			want: client.ErrUnavailable, wantStatus: 502,
		},
		{
			// A non-JSON 404 (a proxy or a wrong base URL) must not log users out.
			name: "404_html",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, "<html>not found</html>")
			},
			want: client.ErrUnavailable, wantStatus: 404,
		},
		{
			name: "200_garbage",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(w, `{"request_id": "request-id-test-`)
			},
			want: client.ErrUnavailable, wantStatus: 200,
		},
		{
			// An endless body is cut at the cap instead of exhausting memory.
			name: "200_over_1MiB",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(huge)
			},
			want: client.ErrUnavailable, wantStatus: 200,
		},
		{
			// An oversized error body is not read as a session verdict.
			name: "404_over_1MiB",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write(huge)
			},
			want: client.ErrUnavailable, wantStatus: 404,
		},
		{
			// Only 200 and 201 are success (spec §0): a 202 with a success body is not.
			name: "202_success_body",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusAccepted)
				_, _ = w.Write(authenticateBody)
			},
			want: client.ErrUnavailable, wantStatus: 202,
		},
		{
			// A 3xx is not success either (spec §0); 304 carries no body.
			name: "304_not_modified",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusNotModified)
			},
			want: client.ErrUnavailable, wantStatus: 304,
		},
		{
			name: "connection_reset",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					return
				}
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // send RST instead of FIN
				}
				_ = conn.Close()
			},
			want: client.ErrUnavailable,
		},
		{
			name:    "client_timeout",
			handler: func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			hc: func(s *httptest.Server) *http.Client {
				hc := s.Client()
				hc.Timeout = 50 * time.Millisecond
				return hc
			},
			want: client.ErrUnavailable, wantTimeout: true,
		},
		{
			name:       "context_deadline",
			handler:    func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			ctxTimeout: true,
			want:       client.ErrUnavailable, wantTimeout: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFixtureServer(t, tc.handler)
			hc := srv.Client()
			if tc.hc != nil {
				hc = tc.hc(srv.Server)
			}
			c := newClient(t, srv.URL, hc)
			ctx := context.Background()
			if tc.ctxTimeout {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
				defer cancel()
			}
			_, err := c.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: fxTokenA})
			if err == nil {
				t.Fatal("call succeeded, want an error")
			}
			checkCategory(t, err, tc.want)
			checkNoSecret(t, err)
			var e *client.Error
			if tc.wantStatus != 0 {
				if !errors.As(err, &e) {
					t.Fatalf("error %T %v is not a *client.Error", err, err)
				}
				eq(t, "StatusCode", e.StatusCode, tc.wantStatus)
			} else {
				var te *client.TransportError
				if !errors.As(err, &te) {
					t.Fatalf("error %T %v is not a *client.TransportError", err, err)
				}
				eq(t, "Timeout()", te.Timeout(), tc.wantTimeout)
			}
			if tc.ctxTimeout && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v does not match context.DeadlineExceeded", err)
			}
		})
	}
}

// TestClientValidationSendsNothing checks that invalid parameters fail with
// ErrInvalidParams before any request reaches the server, and that the
// boundary values are sent.
func TestClientValidationSendsNothing(t *testing.T) {
	srv := serveJSON(t, http.StatusOK, []byte(`{"request_id":"request-id-test-00000000-0000-4000-8000-000000000000","status_code":200,"policy":{"roles":[],"resources":[],"scopes":[]},"org_policy":{"roles":[]}}`), nil)
	c := newClient(t, srv.URL, srv.Client())
	ctx := context.Background()
	auth := func(p *client.AuthenticateParams) func() error {
		return func() error { _, err := c.Sessions.Authenticate(ctx, p); return err }
	}
	exch := func(p *client.ExchangeParams) func() error {
		return func() error { _, err := c.Sessions.Exchange(ctx, p); return err }
	}
	migr := func(p *client.MigrateParams) func() error {
		return func() error { _, err := c.Sessions.Migrate(ctx, p); return err }
	}
	revk := func(p *client.RevokeParams) func() error {
		return func() error { _, err := c.Sessions.Revoke(ctx, p); return err }
	}
	get := func(p *client.GetParams) func() error {
		return func() error { _, err := c.Sessions.Get(ctx, p); return err }
	}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"authenticate_nil", auth(nil)},
		{"authenticate_neither", auth(&client.AuthenticateParams{})},
		{"authenticate_both", auth(&client.AuthenticateParams{SessionToken: fxTokenA, SessionJWT: "a.b.c"})},
		{"authenticate_duration_4", auth(&client.AuthenticateParams{SessionToken: fxTokenA, SessionDurationMinutes: 4})},
		{"authenticate_duration_527041", auth(&client.AuthenticateParams{SessionToken: fxTokenA, SessionDurationMinutes: 527041})},
		{"authenticate_duration_negative", auth(&client.AuthenticateParams{SessionToken: fxTokenA, SessionDurationMinutes: -60})},
		{"authenticate_check_without_action", auth(&client.AuthenticateParams{SessionToken: fxTokenA,
			AuthorizationCheck: &client.AuthorizationCheck{OrganizationID: fxOrgA, ResourceID: "documents"}})},
		{"exchange_nil", exch(nil)},
		{"exchange_no_organization", exch(&client.ExchangeParams{SessionToken: fxTokenA})},
		{"exchange_neither", exch(&client.ExchangeParams{OrganizationID: fxOrgB})},
		{"exchange_both", exch(&client.ExchangeParams{OrganizationID: fxOrgB, SessionToken: fxTokenA, SessionJWT: "a.b.c"})},
		{"exchange_duration_1", exch(&client.ExchangeParams{OrganizationID: fxOrgB, SessionToken: fxTokenA, SessionDurationMinutes: 1})},
		{"exchange_bad_locale", exch(&client.ExchangeParams{OrganizationID: fxOrgB, SessionToken: fxTokenA, Locale: "xx"})},
		{"migrate_nil", migr(nil)},
		{"migrate_no_token", migr(&client.MigrateParams{OrganizationID: fxOrgA})},
		{"migrate_no_organization", migr(&client.MigrateParams{SessionToken: "external"})},
		{"migrate_duration_527041", migr(&client.MigrateParams{SessionToken: "external", OrganizationID: fxOrgA, SessionDurationMinutes: 527041})},
		{"revoke_nil", revk(nil)},
		{"revoke_none", revk(&client.RevokeParams{})},
		{"revoke_two", revk(&client.RevokeParams{SessionToken: fxTokenA, MemberID: fxMemberA})},
		{"revoke_all_four", revk(&client.RevokeParams{MemberSessionID: fxSessionA, SessionToken: fxTokenA, SessionJWT: "a.b.c", MemberID: fxMemberA})},
		{"get_nil", get(nil)},
		{"get_no_member", get(&client.GetParams{OrganizationID: fxOrgA})},
		{"get_no_organization", get(&client.GetParams{MemberID: fxMemberA})},
		{"org_policy_empty_id", func() error { _, err := c.RBAC.OrgPolicy(ctx, ""); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatal("call succeeded, want ErrInvalidParams")
			}
			checkCategory(t, err, client.ErrInvalidParams)
			checkNoSecret(t, err)
			var e *client.Error
			if errors.As(err, &e) {
				t.Errorf("validation error is a *client.Error %v; want a plain error", e)
			}
		})
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("invalid calls sent %d requests, want 0", n)
	}

	// The bounds themselves are valid and are sent.
	for _, d := range []int32{client.MinSessionDurationMinutes, client.MaxSessionDurationMinutes} {
		if err := auth(&client.AuthenticateParams{SessionToken: fxTokenA, SessionDurationMinutes: d})(); err != nil {
			t.Errorf("duration %d: %v", d, err)
		}
	}
	if n := len(srv.requests()); n != 2 {
		t.Errorf("boundary calls sent %d requests, want 2", n)
	}

	for _, tc := range []struct {
		name string
		cfg  client.Config
	}{
		{"empty_project_id", client.Config{Secret: fxSecret}},
		{"blank_project_id", client.Config{ProjectID: "  ", Secret: fxSecret}},
		{"empty_secret", client.Config{ProjectID: fxProjectID}},
		{"base_url_ftp", client.Config{ProjectID: fxProjectID, Secret: fxSecret, BaseURL: "ftp://example.com"}},
		{"base_url_relative", client.Config{ProjectID: fxProjectID, Secret: fxSecret, BaseURL: "/v1"}},
		{"base_url_no_host", client.Config{ProjectID: fxProjectID, Secret: fxSecret, BaseURL: "http://"}},
	} {
		t.Run("New_"+tc.name, func(t *testing.T) {
			c, err := client.New(tc.cfg)
			if err == nil {
				t.Fatalf("New = %v, want ErrInvalidParams", c)
			}
			checkCategory(t, err, client.ErrInvalidParams)
			checkNoSecret(t, err)
		})
	}
}

// --- request headers and base URL ---------------------------------------------

func TestClientRequestHeaders(t *testing.T) {
	bodies := map[string][]byte{
		client.PathAuthenticate: readFixture(t, "responses/authenticate.json"),
		client.PathSessions:     readFixture(t, "responses/get.json"),
		client.PathExchange:     readFixture(t, "responses/exchange.json"),
		client.PathMigrate:      readFixture(t, "responses/migrate.json"),
		client.PathRevoke:       readFixture(t, "responses/revoke.json"),
		client.PathPolicy:       readFixture(t, "responses/rbac_policy.json"),
	}
	srv := newFixtureServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, ok := bodies[r.URL.Path]
		switch {
		case ok:
		case strings.HasPrefix(r.URL.Path, client.PathJWKSPrefix):
			body = readFixture(t, "responses/jwks.json")
		case strings.HasPrefix(r.URL.Path, client.PathOrgPolicyPrefix):
			body = readFixture(t, "responses/rbac_org_policy.json")
		default:
			w.WriteHeader(http.StatusTeapot)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	c := newClient(t, srv.URL, srv.Client())
	ctx := context.Background()
	jwtA := fixtureString(t, "responses/authenticate.json", "session_jwt")
	calls := []struct {
		name string
		call func() error
	}{
		{"authenticate", func() error {
			_, err := c.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: fxTokenA})
			return err
		}},
		{"get", func() error {
			_, err := c.Sessions.Get(ctx, &client.GetParams{OrganizationID: fxOrgA, MemberID: fxMemberA})
			return err
		}},
		{"exchange", func() error { _, err := c.Sessions.Exchange(ctx, exchangeParams()); return err }},
		{"migrate", func() error {
			_, err := c.Sessions.Migrate(ctx, &client.MigrateParams{SessionToken: "external", OrganizationID: fxOrgA})
			return err
		}},
		{"revoke", func() error {
			_, err := c.Sessions.Revoke(ctx, &client.RevokeParams{MemberID: fxMemberA},
				&client.RevokeRequestOptions{Authorization: client.Authorization{SessionToken: fxTokenA, SessionJWT: jwtA}})
			return err
		}},
		{"jwks", func() error { _, err := c.Sessions.GetJWKS(ctx, nil); return err }},
		{"policy", func() error { _, err := c.RBAC.Policy(ctx); return err }},
		{"org_policy", func() error { _, err := c.RBAC.OrgPolicy(ctx, fxOrgA); return err }},
	}
	for _, cl := range calls {
		if err := cl.call(); err != nil {
			t.Fatalf("%s: %v", cl.name, err)
		}
	}
	rs := srv.requests()
	if len(rs) != len(calls) {
		t.Fatalf("server received %d requests, want %d", len(rs), len(calls))
	}
	for i, r := range rs {
		t.Run(calls[i].name, func(t *testing.T) {
			req := &http.Request{Header: r.Header}
			user, pass, ok := req.BasicAuth()
			if !ok || user != fxProjectID || pass != fxSecret {
				t.Errorf("Basic auth = %q, %q, %v; want the project id and secret", user, pass, ok)
			}
			eq(t, "Content-Type", r.Header.Get("Content-Type"), "application/json")
			if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "stytchguard/") {
				t.Errorf("User-Agent = %q, want prefix stytchguard/", ua)
			}
			wantMS, wantJWT := "", ""
			if calls[i].name == "revoke" {
				wantMS, wantJWT = fxTokenA, jwtA
			}
			// Header names are matched case-insensitively (spec §0).
			eq(t, "X-Stytch-Member-Session", r.Header.Get("X-Stytch-Member-Session"), wantMS)
			eq(t, "X-Stytch-Member-SessionJWT", r.Header.Get("X-Stytch-Member-SessionJWT"), wantJWT)
		})
	}

	// Only the non-empty credential of RevokeRequestOptions becomes a header.
	before := len(srv.requests())
	if _, err := c.Sessions.Revoke(ctx, &client.RevokeParams{MemberID: fxMemberA},
		&client.RevokeRequestOptions{Authorization: client.Authorization{SessionJWT: jwtA}}); err != nil {
		t.Fatal(err)
	}
	r := srv.requests()[before]
	if v, ok := r.Header[http.CanonicalHeaderKey("X-Stytch-Member-Session")]; ok {
		t.Errorf("X-Stytch-Member-Session = %q, want absent", v)
	}
	eq(t, "X-Stytch-Member-SessionJWT", r.Header.Get("X-Stytch-Member-SessionJWT"), jwtA)
}

func TestClientBaseURLSelection(t *testing.T) {
	for _, tc := range []struct {
		name, projectID, baseURL, want string
	}{
		{"live_project", "project-live-3f0e1b5c-6c8e-4d5b-9a43-2f1e0d9c8b7a", "", client.LiveBaseURL},
		{"test_project", fxProjectID, "", client.TestBaseURL},
		// Anything that is not literally "project-live-" selects test (spec §0).
		{"unknown_prefix", "my-project", "", client.TestBaseURL},
		{"live_without_dash", "project-live", "", client.TestBaseURL},
		{"live_upper_case", "PROJECT-LIVE-3f0e1b5c", "", client.TestBaseURL},
		{"live_not_prefix", "x-project-live-3f0e1b5c", "", client.TestBaseURL},
		{"explicit_base_url", "project-live-3f0e1b5c", "http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"trailing_slash_trimmed", fxProjectID, "https://auth.example.com/", "https://auth.example.com"},
		{"path_kept", fxProjectID, "https://example.com/stytch/", "https://example.com/stytch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := client.New(client.Config{ProjectID: tc.projectID, Secret: fxSecret, BaseURL: tc.baseURL})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			eq(t, "BaseURL", c.BaseURL(), tc.want)
			eq(t, "ProjectID", c.ProjectID(), tc.projectID)
			if c.HTTPClient() == nil || c.HTTPClient().Timeout <= 0 {
				t.Errorf("default HTTP client %+v has no timeout", c.HTTPClient())
			}
		})
	}

	// The trailing slash is trimmed on the wire too: no "//v1".
	srv := serveJSON(t, http.StatusOK, readFixture(t, "responses/rbac_policy.json"), nil)
	hc := srv.Client()
	c := newClient(t, srv.URL+"/", hc)
	if _, err := c.RBAC.Policy(context.Background()); err != nil {
		t.Fatal(err)
	}
	eq(t, "path", srv.only(t).EscapedPath, client.PathPolicy)
	if c.HTTPClient() != hc {
		t.Error("an injected HTTP client is not used as is")
	}
}
