package stytchtest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/internal/testkit"
	"github.com/stytchguard/stytchguard/stytchtest"
)

const testSeed = `{
  "session_duration_minutes": 1440,
  "policy": {
    "resources": [{"resource_id": "documents", "description": "Documents.", "actions": ["read", "write", "delete"]}],
    "roles": [
      {"role_id": "editor", "description": "Edits.", "permissions": [{"resource_id": "documents", "actions": ["read", "write"]}]},
      {"role_id": "viewer", "description": "Reads.", "permissions": [{"resource_id": "documents", "actions": ["read"]}]}
    ]
  },
  "organizations": [
    {
      "organization_id": "organization-test-acme", "organization_slug": "acme", "organization_name": "Acme Corp",
      "members": [
        {"member_id": "member-test-ada", "email_address": "ada@acme.test", "name": "Ada", "roles": ["editor"],
         "session_custom_claims": {"tier": "gold", "seats": 3}},
        {"member_id": "member-test-vic", "email_address": "vic@acme.test", "roles": ["viewer"], "session_duration_minutes": 30},
        {"member_id": "member-test-nos", "email_address": "nos@acme.test", "roles": ["viewer"], "session": false}
      ]
    },
    {
      "organization_slug": "globex",
      "custom_roles": [{"role_id": "auditor", "description": "Audits.", "permissions": [{"resource_id": "documents", "actions": ["read"]}]}],
      "members": [{"email_address": "ada@acme.test", "roles": ["auditor"]}]
    }
  ],
  "m2m_clients": [
    {"client_id": "m2m-client-test-indexer", "client_secret": "indexer-secret-123", "client_name": "Indexer",
     "scopes": ["read:documents"], "custom_claims": {"organization_id": "organization-test-acme"}},
    {"scopes": ["write:documents"]}
  ]
}`

func TestSeed(t *testing.T) {
	srv, clock := newServer(t, stytchtest.Options{})
	seed, err := stytchtest.LoadSeed(strings.NewReader(testSeed))
	if err != nil {
		t.Fatal(err)
	}
	res, err := srv.ApplySeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Sessions) != 3 || len(res.M2MClients) != 2 {
		t.Fatalf("result = %+v", res)
	}
	ada, vic, globex := res.Sessions[0], res.Sessions[1], res.Sessions[2]
	if ada.MemberID != "member-test-ada" || ada.OrganizationSlug != "acme" || ada.EmailAddress != "ada@acme.test" ||
		!ada.ExpiresAt.Equal(t0.Add(24*time.Hour)) || strings.Join(ada.Roles, ",") != "stytch_member,editor" {
		t.Errorf("ada = %+v", ada)
	}
	if !vic.ExpiresAt.Equal(t0.Add(30 * time.Minute)) {
		t.Errorf("vic expires %v, want the member's 30 minutes", vic.ExpiresAt)
	}
	if !reID("organization").MatchString(globex.OrganizationID) || globex.OrganizationSlug != "globex" || !reID("member").MatchString(globex.MemberID) {
		t.Errorf("globex session = %+v", globex)
	}

	check := func(token, org, resource, action string) response {
		return authenticate(t, srv, map[string]any{"session_token": token,
			"authorization_check": map[string]any{"organization_id": org, "resource_id": resource, "action": action}})
	}
	r := check(ada.SessionToken, "organization-test-acme", "documents", "write")
	wantOK(t, r)
	if m := obj(t, r.body["member"], "member"); m["name"] != "Ada" {
		t.Errorf("member name = %v", m["name"])
	}
	if o := obj(t, r.body["organization"], "organization"); o["organization_name"] != "Acme Corp" {
		t.Errorf("organization name = %v", o["organization_name"])
	}
	if cc := obj(t, obj(t, r.body["member_session"], "member_session")["custom_claims"], "custom_claims"); cc["tier"] != "gold" || cc["seats"] != json.Number("3") {
		t.Errorf("custom claims = %v", cc)
	}
	wantError(t, check(vic.SessionToken, "organization-test-acme", "documents", "write"), 403, "session_authorization_error")
	wantOK(t, check(vic.SessionToken, "organization-test-acme", "documents", "read"))
	// The organization's own role grants in that organization.
	wantOK(t, check(globex.SessionToken, globex.OrganizationID, "documents", "read"))
	// The seed's roles add to the default ones.
	wantOK(t, check(ada.SessionToken, "organization-test-acme", "stytch.self", "update"))
	if err := verify(t, srv, ada.SessionJWT); err != nil {
		t.Errorf("seeded JWT: %v", err)
	}
	for _, s := range res.Sessions {
		if s.MemberID == "member-test-nos" {
			t.Error("a member with session false got a session")
		}
	}

	e := &fidEnv{t: t, srv: srv, clock: clock}
	idx := res.M2MClients[0]
	if idx.ClientID != "m2m-client-test-indexer" || idx.ClientSecret != "indexer-secret-123" || strings.Join(idx.Scopes, ",") != "read:documents" {
		t.Errorf("m2m client = %+v", idx)
	}
	if gen := res.M2MClients[1]; !reID("m2m-client").MatchString(gen.ClientID) || !reToken.MatchString(gen.ClientSecret) {
		t.Errorf("generated m2m client = %+v", gen)
	}
	tr := tokenCall(t, e, srv.ProjectID, formType, form("client_id", idx.ClientID, "client_secret", idx.ClientSecret, "grant_type", "client_credentials"))
	if tr.status != http.StatusOK {
		t.Fatalf("token: %d %s", tr.status, tr.raw)
	}
	if _, c := payload(t, tr.body["access_token"].(string)); c["organization_id"] != "organization-test-acme" || c["scope"] != "read:documents" {
		t.Errorf("claims = %v", c)
	}
}

func TestSeedErrors(t *testing.T) {
	for _, tc := range []struct{ name, seed string }{
		// A typo must not silently drop a member's roles.
		{"unknown_key", `{"organizations": [{"members": [{"role": ["admin"]}]}]}`},
		{"trailing_data", `{} {}`},
		{"not_json", `organizations:`},
		{"other_project", `{"project_id": "project-test-other"}`},
		{"other_secret", `{"secret": "secret-test-other"}`},
		{"unknown_role", `{"organizations": [{"members": [{"roles": ["owner"]}]}]}`},
		// A custom role of one organization grants nothing in another.
		{"other_orgs_custom_role", `{"organizations": [{"custom_roles": [{"role_id": "auditor"}]}, {"members": [{"roles": ["auditor"]}]}]}`},
		{"duplicate_org", `{"organizations": [{"organization_id": "organization-test-a"}, {"organization_id": "organization-test-a"}]}`},
		{"duplicate_slug", `{"organizations": [{"organization_slug": "a"}, {"organization_slug": "a"}]}`},
		{"duplicate_member", `{"organizations": [{"members": [{"member_id": "member-test-a"}]}, {"members": [{"member_id": "member-test-a"}]}]}`},
		{"duplicate_email", `{"organizations": [{"members": [{"email_address": "a@x.test"}, {"email_address": "A@x.test"}]}]}`},
		{"duration_too_short", `{"session_duration_minutes": 4}`},
		{"member_duration_too_long", `{"organizations": [{"members": [{"session_duration_minutes": 527041}]}]}`},
		{"reserved_session_claim", `{"organizations": [{"members": [{"session_custom_claims": {"sub": "x"}}]}]}`},
		{"stytch_custom_role", `{"organizations": [{"custom_roles": [{"role_id": "stytch_admin"}]}]}`},
		{"unknown_auth_method", `{"organizations": [{"allowed_auth_methods": ["carrier_pigeon"]}]}`},
		{"policy_role_without_id", `{"policy": {"roles": [{"description": "x"}]}}`},
		{"m2m_short_secret", `{"m2m_clients": [{"client_secret": "short"}]}`},
		{"m2m_duplicate", `{"m2m_clients": [{"client_id": "m2m-client-test-a"}, {"client_id": "m2m-client-test-a"}]}`},
		{"m2m_bad_scope", `{"m2m_clients": [{"scopes": ["read documents"]}]}`},
		{"m2m_reserved_claim", `{"m2m_clients": [{"custom_claims": {"scope": "admin:*"}}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := newServer(t, stytchtest.Options{})
			seed, err := stytchtest.LoadSeed(strings.NewReader(tc.seed))
			if err == nil {
				_, err = srv.ApplySeed(seed)
			}
			if !errors.Is(err, stytchtest.ErrInvalidSeed) {
				t.Fatalf("err = %v, want ErrInvalidSeed", err)
			}
			// Nothing was created: the full seed applies afterwards.
			good, err := stytchtest.LoadSeed(strings.NewReader(testSeed))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := srv.ApplySeed(good); err != nil {
				t.Errorf("a valid seed after the failed one: %v", err)
			}
		})
	}
	t.Run("applied_twice", func(t *testing.T) {
		srv, _ := newServer(t, stytchtest.Options{})
		for i, want := range []bool{true, false} {
			seed, _ := stytchtest.LoadSeed(strings.NewReader(testSeed))
			if _, err := srv.ApplySeed(seed); (err == nil) != want {
				t.Errorf("apply %d: err = %v", i, err)
			}
		}
	})
	t.Run("oversized", func(t *testing.T) {
		_, err := stytchtest.LoadSeed(io.MultiReader(strings.NewReader(`{"m2m_clients":[`), strings.NewReader(strings.Repeat(" ", 9<<20))))
		if !errors.Is(err, stytchtest.ErrInvalidSeed) {
			t.Errorf("err = %v", err)
		}
	})
}

// selfSigned returns a TLS configuration with a certificate for
// 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "stytchtest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func TestListenerAndTLS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg, pool := selfSigned(t)
	srv := stytchtest.NewServer(stytchtest.Options{SigningKey: testkit.SigningKey(), Listener: ln, TLS: cfg})
	if srv.URL != "https://"+ln.Addr().String() {
		t.Fatalf("URL = %q, want https on the given listener %s", srv.URL, ln.Addr())
	}
	token, _, err := srv.NewSession(stytchtest.SessionSpec{})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	c, err := client.New(client.Config{ProjectID: srv.ProjectID, Secret: srv.Secret, BaseURL: srv.URL,
		HTTPClient: &http.Client{Transport: tr, Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sessions.Authenticate(t.Context(), &client.AuthenticateParams{SessionToken: token}); err != nil {
		t.Fatalf("authenticate over TLS: %v", err)
	}
	// A client that does not trust the certificate gets no answer.
	tr2 := &http.Transport{}
	defer tr2.CloseIdleConnections()
	if resp, err := (&http.Client{Transport: tr2, Timeout: 10 * time.Second}).Get(srv.URL + stytchtest.PathHealth); err == nil {
		resp.Body.Close()
		t.Error("an untrusted certificate was accepted")
	}
	srv.Close()
	// Close closes the listener it was given.
	if conn, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second); err == nil {
		conn.Close()
		t.Error("the listener still accepts connections after Close")
	}
}

func TestHealthz(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Status: 500})
	r := call(t, srv, http.MethodGet, stytchtest.PathHealth, "", noAuth())
	if r.status != http.StatusOK || strings.TrimSpace(string(r.raw)) != `{"status":"ok"}` || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("GET /healthz = %d %q", r.status, r.raw)
	}
	r = call(t, srv, http.MethodPost, stytchtest.PathHealth, "", noAuth())
	if r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d", r.status)
	}
	for _, ep := range []stytchtest.Endpoint{stytchtest.EndpointAuthenticate, stytchtest.EndpointJWKS, stytchtest.EndpointM2MToken} {
		if n := srv.Calls(ep); n != 0 {
			t.Errorf("Calls(%s) = %d after health checks", ep, n)
		}
	}
}
