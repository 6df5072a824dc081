package stytchtest_test

// The M2M token endpoint and the M2M clients API (§8), over loopback,
// compared with the hand-written fixtures of ../client/testdata/fixtures.

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

const (
	// orgOfM2M is the organization_id custom claim of the test client.
	orgOfM2M = "organization-test-bec4250b-bca8-4f9a-a5ba-eaaccf3b9458"
	formType = "application/x-www-form-urlencoded"
	jsonType = "application/json"
)

func tokenPath(projectID string) string { return client.M2MTokenPath(projectID) }

// tokenCall posts body to the token endpoint without project credentials.
func tokenCall(t *testing.T, e *fidEnv, projectID, contentType, body string, opts ...reqOption) fidResponse {
	t.Helper()
	all := []reqOption{noAuth(), func(r *http.Request) {
		if contentType == "" {
			r.Header.Del("Content-Type")
		} else {
			r.Header.Set("Content-Type", contentType)
		}
	}}
	return e.do(http.MethodPost, tokenPath(projectID), body, append(all, opts...)...)
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

// m2mEnv is an emulator with two M2M clients.
type m2mEnv struct {
	*fidEnv
	id, secret   string // scopes read:documents write:documents, custom claim organization_id
	id2, secret2 string // scope read:reports
}

func newM2MEnv(t *testing.T) *m2mEnv {
	t.Helper()
	e := &m2mEnv{fidEnv: fidNewEnv(t)}
	var err error
	e.id, e.secret, err = e.srv.NewM2MClient(stytchtest.M2MClientSpec{
		Scopes:       []string{"read:documents", "write:documents"},
		CustomClaims: map[string]any{"organization_id": orgOfM2M, "tier": 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.id2, e.secret2, err = e.srv.NewM2MClient(stytchtest.M2MClientSpec{Scopes: []string{"read:reports"}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// payload decodes a JWT's payload with numbers as float64.
func payload(t *testing.T, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func TestM2MTokenRequestForms(t *testing.T) {
	e := newM2MEnv(t)
	pid := e.srv.ProjectID
	basic := func(user, pass string) reqOption { return basicAuth(user, pass) }
	for _, tc := range []struct {
		name, contentType, body string
		opts                    []reqOption
	}{
		// What the Go SDK sends (§8.2), byte for byte but for the credentials.
		{"sdk_form", formType, form("client_id", e.id, "client_secret", e.secret, "grant_type", "client_credentials", "scope", "read:documents write:documents"), nil},
		// The docs' curl sample.
		{"json", jsonType, mustJSON(t, map[string]any{"client_id": e.id, "client_secret": e.secret, "grant_type": "client_credentials", "scope": "read:documents write:documents"}), nil},
		{"json_with_charset", "application/json; charset=utf-8", mustJSON(t, map[string]any{"client_id": e.id, "client_secret": e.secret, "grant_type": "client_credentials"}), nil},
		// The B2B overview sample: HTTP Basic with a form body.
		{"basic_form", formType, form("grant_type", "client_credentials"), []reqOption{basic(e.id, e.secret)}},
		{"basic_form_repeating_client_id", formType, form("grant_type", "client_credentials", "client_id", e.id), []reqOption{basic(e.id, e.secret)}},
		// RFC 6749 §2.3.1 form-encodes the Basic credentials first.
		{"basic_form_encoded_credentials", formType, form("grant_type", "client_credentials"), []reqOption{basic(url.QueryEscape(e.id), url.QueryEscape(e.secret))}},
		{"form_without_content_type", "", form("client_id", e.id, "client_secret", e.secret, "grant_type", "client_credentials"), nil},
		{"json_without_content_type", "", mustJSON(t, map[string]any{"client_id": e.id, "client_secret": e.secret, "grant_type": "client_credentials"}), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tokenCall(t, e.fidEnv, pid, tc.contentType, tc.body, tc.opts...)
			fidMatch(t, r, "responses/m2m_token.json", nil)
			if r.body["token_type"] != "bearer" || r.body["expires_in"] != float64(3600) {
				t.Errorf("token_type, expires_in = %v, %v", r.body["token_type"], r.body["expires_in"])
			}
			if got := r.header.Get("WWW-Authenticate"); got != "" {
				t.Errorf("WWW-Authenticate = %q on a success", got)
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store (RFC 6749 §5.1)", cc)
			}
			tok, _ := r.body["access_token"].(string)
			if err := verify(t, e.srv, tok); err != nil {
				t.Errorf("access token does not verify with the JWKS: %v", err)
			}
		})
	}
}

// TestM2MTokenFixtureRequests sends the hand-written request fixtures of
// §8.2 byte for byte (the docs' JSON body and the SDK's form body) to a
// client holding the fixtures' credentials.
func TestM2MTokenFixtureRequests(t *testing.T) {
	e := newM2MEnv(t)
	var fixture struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Scope        string `json:"scope"`
	}
	raw, err := os.ReadFile(filepath.Join(fidFixtureDir, "requests/m2m_token.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &fixture); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.srv.NewM2MClient(stytchtest.M2MClientSpec{ClientID: fixture.ClientID, ClientSecret: fixture.ClientSecret,
		Scopes: strings.Fields(fixture.Scope)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, contentType string }{
		{"requests/m2m_token.json", jsonType},
		{"requests/m2m_token.form", formType},
	} {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(fidFixtureDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			r := tokenCall(t, e.fidEnv, e.srv.ProjectID, tc.contentType, string(body))
			fidMatch(t, r, "responses/m2m_token.json", nil)
			_, claims := payload(t, r.body["access_token"].(string))
			if claims["sub"] != fixture.ClientID || claims["scope"] != fixture.Scope {
				t.Fatalf("token for %v with scope %v", claims["sub"], claims["scope"])
			}
		})
	}
}

func TestM2MTokenClaims(t *testing.T) {
	e := newM2MEnv(t)
	e.clock.Advance(90 * time.Minute)
	r := tokenCall(t, e.fidEnv, e.srv.ProjectID, formType, form("client_id", e.id, "client_secret", e.secret, "grant_type", "client_credentials"))
	fidMatch(t, r, "responses/m2m_token.json", nil)
	header, claims := payload(t, r.body["access_token"].(string))

	// Same keys and formats as the fixtures of §8.3, plus the client's
	// second custom claim.
	c := &fidShape{status: http.StatusOK}
	c.compareKeys("header", fidObject(t, "jwt/m2m_header.json"), header)
	want := fidObject(t, "jwt/m2m_payload.json")
	want["tier"] = float64(0)
	c.compareKeys("payload", want, claims)
	for _, msg := range c.errs {
		t.Error(msg)
	}

	now := float64(fidStart.Add(90 * time.Minute).Unix())
	pid := e.srv.ProjectID
	for k, v := range map[string]any{
		"sub": e.id, "iss": "stytch.com/" + pid, "aud": []any{pid},
		// Omitted scope: every scope of the client, one space-separated string.
		"scope": "read:documents write:documents",
		"iat":   now, "nbf": now, "exp": now + 3600,
		"organization_id": orgOfM2M, "tier": float64(3),
	} {
		if !reflect.DeepEqual(claims[k], v) {
			t.Errorf("claim %s = %#v, want %#v", k, claims[k], v)
		}
	}
	if header["kid"] != e.srv.KeyID() || header["alg"] != "RS256" {
		t.Errorf("header = %v", header)
	}
}

func TestM2MTokenScopes(t *testing.T) {
	e := newM2MEnv(t)
	for _, tc := range []struct{ name, scope, want string }{
		{"subset", "write:documents", "write:documents"},
		{"request_order", "write:documents read:documents", "write:documents read:documents"},
		{"duplicates_dropped", "read:documents read:documents", "read:documents"},
		{"extra_spaces", "  read:documents   write:documents ", "read:documents write:documents"},
		{"empty_means_all", "", "read:documents write:documents"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tokenCall(t, e.fidEnv, e.srv.ProjectID, formType, form("client_id", e.id, "client_secret", e.secret, "grant_type", "client_credentials", "scope", tc.scope))
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			if _, claims := payload(t, r.body["access_token"].(string)); claims["scope"] != tc.want {
				t.Errorf("scope = %q, want %q", claims["scope"], tc.want)
			}
		})
	}
}

func TestM2MTokenErrors(t *testing.T) {
	e := newM2MEnv(t)
	pid := e.srv.ProjectID
	inactiveID, inactiveSecret, err := e.srv.NewM2MClient(stytchtest.M2MClientSpec{Scopes: []string{"read:documents"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do(http.MethodPut, client.PathM2MClients+"/"+inactiveID, map[string]any{"status": "inactive"}); r.status != http.StatusOK {
		t.Fatalf("deactivate: %d %s", r.status, r.raw)
	}
	deletedID, deletedSecret, err := e.srv.NewM2MClient(stytchtest.M2MClientSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do(http.MethodDelete, client.PathM2MClients+"/"+deletedID, nil); r.status != http.StatusOK {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	cc := "client_credentials"
	invalidClient := "m2m_token_401_invalid_client.json"
	for _, tc := range []struct {
		name, project, contentType, body string
		opts                             []reqOption
		fixture                          string
	}{
		// Guessing: a client id that does not exist.
		{"unknown_client", pid, formType, form("client_id", "m2m-client-test-00000000-0000-4000-8000-000000000000", "client_secret", e.secret, "grant_type", cc), nil, invalidClient},
		// Guessing the secret of a real client.
		{"wrong_secret", pid, formType, form("client_id", e.id, "client_secret", e.secret+"x", "grant_type", cc), nil, invalidClient},
		// A prefix of the secret must not pass.
		{"secret_prefix", pid, formType, form("client_id", e.id, "client_secret", e.secret[:8], "grant_type", cc), nil, invalidClient},
		// Another client's secret with this client's id (scope escalation).
		{"other_clients_secret", pid, formType, form("client_id", e.id, "client_secret", e.secret2, "grant_type", cc), nil, invalidClient},
		// A deactivated client gets no new tokens (§8.5).
		{"inactive_client", pid, formType, form("client_id", inactiveID, "client_secret", inactiveSecret, "grant_type", cc), nil, invalidClient},
		// A deleted client gets no new tokens.
		{"deleted_client", pid, formType, form("client_id", deletedID, "client_secret", deletedSecret, "grant_type", cc), nil, invalidClient},
		// Good credentials against another project's endpoint.
		{"other_project", "project-test-00000000-0000-4000-8000-000000000000", formType, form("client_id", e.id, "client_secret", e.secret, "grant_type", cc), nil, invalidClient},
		// No client authentication at all.
		{"no_secret", pid, formType, form("client_id", e.id, "grant_type", cc), nil, invalidClient},
		{"no_client_id", pid, formType, form("client_secret", e.secret, "grant_type", cc), nil, invalidClient},
		// The project credentials are not client credentials.
		{"project_credentials_as_basic", pid, formType, form("grant_type", cc), []reqOption{basicAuth(pid, e.srv.Secret)}, invalidClient},
		{"basic_wrong_secret", pid, formType, form("grant_type", cc), []reqOption{basicAuth(e.id, "wrong-secret")}, invalidClient},

		{"no_grant_type", pid, formType, form("client_id", e.id, "client_secret", e.secret), nil, "m2m_token_400_invalid_request.json"},
		// Only client credentials: no password or code grants.
		{"password_grant", pid, formType, form("client_id", e.id, "client_secret", e.secret, "grant_type", "password"), nil, "m2m_token_400_unsupported_grant_type.json"},
		{"authorization_code_grant", pid, jsonType, mustJSON(t, map[string]any{"client_id": e.id, "client_secret": e.secret, "grant_type": "authorization_code"}), nil, "m2m_token_400_unsupported_grant_type.json"},

		// Asking for a scope the client lacks (escalation).
		{"unknown_scope", pid, formType, form("client_id", e.id, "client_secret", e.secret, "grant_type", cc, "scope", "delete:documents"), nil, "m2m_token_400_invalid_scope.json"},
		{"one_unknown_scope_among_known", pid, formType, form("client_id", e.id, "client_secret", e.secret, "grant_type", cc, "scope", "read:documents admin:*"), nil, "m2m_token_400_invalid_scope.json"},
		// A wildcard is not a way around the client's scopes.
		{"wildcard_scope", pid, formType, form("client_id", e.id, "client_secret", e.secret, "grant_type", cc, "scope", "read:*"), nil, "m2m_token_400_invalid_scope.json"},
		// The other client's scope.
		{"other_clients_scope", pid, formType, form("client_id", e.id, "client_secret", e.secret, "grant_type", cc, "scope", "read:reports"), nil, "m2m_token_400_invalid_scope.json"},

		// Two authentication methods at once (RFC 6749 §2.3).
		{"basic_and_body_secret", pid, formType, form("grant_type", cc, "client_secret", e.secret), []reqOption{basicAuth(e.id, e.secret)}, "m2m_token_400_invalid_request.json"},
		// Basic says one client, the body another.
		{"basic_and_other_client_id", pid, formType, form("grant_type", cc, "client_id", e.id2), []reqOption{basicAuth(e.id, e.secret)}, "m2m_token_400_invalid_request.json"},
		// A repeated parameter is ambiguous (RFC 6749 §3.2).
		{"repeated_client_id", pid, formType, "client_id=" + e.id2 + "&client_id=" + e.id + "&client_secret=" + e.secret + "&grant_type=" + cc, nil, "m2m_token_400_invalid_request.json"},
		{"json_array_body", pid, jsonType, `["client_credentials"]`, nil, "m2m_token_400_invalid_request.json"},
		{"json_scope_array", pid, jsonType, mustJSON(t, map[string]any{"client_id": e.id, "client_secret": e.secret, "grant_type": cc, "scope": []string{"read:documents"}}), nil, "m2m_token_400_invalid_request.json"},
		{"json_broken", pid, jsonType, `{"client_id":`, nil, "m2m_token_400_invalid_request.json"},
		{"text_body", pid, "text/plain", "client_id=" + e.id, nil, "m2m_token_400_invalid_request.json"},
		{"bad_form_escape", pid, formType, "client_id=%zz&grant_type=" + cc, nil, "m2m_token_400_invalid_request.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tokenCall(t, e.fidEnv, tc.project, tc.contentType, tc.body, tc.opts...)
			fidMatchError(t, r, tc.fixture)
			if strings.Contains(string(r.raw), e.secret) {
				t.Error("the error body echoes the client secret")
			}
		})
	}

	t.Run("no_oracle", func(t *testing.T) {
		// Unknown client, wrong secret and inactive client look the same.
		var bodies []string
		for _, b := range []string{
			form("client_id", "m2m-client-test-00000000-0000-4000-8000-000000000000", "client_secret", e.secret, "grant_type", cc),
			form("client_id", e.id, "client_secret", "wrong-secret", "grant_type", cc),
			form("client_id", inactiveID, "client_secret", inactiveSecret, "grant_type", cc),
		} {
			r := tokenCall(t, e.fidEnv, pid, formType, b)
			delete(r.body, "request_id")
			bodies = append(bodies, mustJSON(t, r.body))
		}
		if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
			t.Errorf("invalid_client bodies differ: %v", bodies)
		}
	})
	t.Run("basic_401_challenges", func(t *testing.T) {
		r := tokenCall(t, e.fidEnv, pid, formType, form("grant_type", cc), basicAuth(e.id, "wrong-secret"))
		if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Basic") {
			t.Errorf("WWW-Authenticate = %q, want a Basic challenge (RFC 6749 §5.2)", got)
		}
	})
	t.Run("method_not_allowed", func(t *testing.T) {
		r := e.do(http.MethodGet, tokenPath(pid), nil, noAuth())
		if r.status != http.StatusMethodNotAllowed || r.body["error"] != "invalid_request" || r.body["error_type"] != nil {
			t.Errorf("GET: %d %s", r.status, r.raw)
		}
	})
}

func TestM2MTokenRotationClockFaultsCalls(t *testing.T) {
	e := newM2MEnv(t)
	pid := e.srv.ProjectID
	body := form("client_id", e.id, "client_secret", e.secret, "grant_type", "client_credentials")
	e.srv.ResetCalls()

	kid, err := e.srv.RotateKey()
	if err != nil {
		t.Fatal(err)
	}
	r := tokenCall(t, e.fidEnv, pid, formType, body)
	tok := r.body["access_token"].(string)
	if h, _ := payload(t, tok); h["kid"] != kid {
		t.Errorf("kid = %v, want the rotated key %s", h["kid"], kid)
	}
	if err := verify(t, e.srv, tok); err != nil {
		t.Errorf("token of the rotated key does not verify: %v", err)
	}

	e.clock.Advance(7 * time.Hour)
	r = tokenCall(t, e.fidEnv, pid, formType, body)
	if _, c := payload(t, r.body["access_token"].(string)); c["iat"] != float64(fidStart.Add(7*time.Hour).Unix()) {
		t.Errorf("iat = %v, want the fake clock's", c["iat"])
	}

	e.srv.SetFault(stytchtest.EndpointM2MToken, stytchtest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: 3 * time.Second, Times: 1})
	r = tokenCall(t, e.fidEnv, pid, formType, body)
	if r.status != http.StatusServiceUnavailable || r.body["error"] != "temporarily_unavailable" || r.header.Get("Retry-After") != "3" {
		t.Errorf("503 fault: %d %v %s", r.status, r.header, r.raw)
	}
	e.srv.SetFault(stytchtest.EndpointM2MToken, stytchtest.Fault{Status: http.StatusInternalServerError, Times: 1})
	r = tokenCall(t, e.fidEnv, pid, formType, body)
	if r.status != http.StatusInternalServerError || r.body["error"] != "server_error" || r.body["error_description"] == "" {
		t.Errorf("500 fault: %d %s", r.status, r.raw)
	}
	e.srv.SetFault(stytchtest.EndpointM2MToken, stytchtest.Fault{Status: http.StatusTooManyRequests, Times: 1})
	r = tokenCall(t, e.fidEnv, pid, formType, body)
	if r.status != http.StatusTooManyRequests || r.body["error"] != "too_many_requests" {
		t.Errorf("429 fault: %d %s", r.status, r.raw)
	}
	if r := tokenCall(t, e.fidEnv, pid, formType, body); r.status != http.StatusOK {
		t.Errorf("after the faults: %d", r.status)
	}
	if n := e.srv.Calls(stytchtest.EndpointM2MToken); n != 6 {
		t.Errorf("Calls(EndpointM2MToken) = %d, want 6", n)
	}
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 0 {
		t.Errorf("Calls(EndpointAuthenticate) = %d, want 0", n)
	}
}

func TestM2MClientsAPI(t *testing.T) {
	e := fidNewEnv(t)
	create := fidObject(t, "requests/m2m_clients_create.json")
	create["client_id"] = "m2m-client-test-f4013ebf-dafc-4749-ad31-ccb466001e1c"
	r := e.do(http.MethodPost, client.PathM2MClients, create)
	fidMatch(t, r, "responses/m2m_clients_create.json", nil)
	m := obj(t, r.body["m2m_client"], "m2m_client")
	id := m["client_id"].(string)
	secret := m["client_secret"].(string)
	if m["client_secret_last_four"] != secret[len(secret)-4:] || m["status"] != "active" || m["next_client_secret_last_four"] != nil {
		t.Errorf("created client = %v", m)
	}

	// A generated id and secret.
	r = e.do(http.MethodPost, client.PathM2MClients, map[string]any{"scopes": []string{"read:documents"}, "client_name": "Nightly report"})
	fidMatch(t, r, "responses/m2m_clients_create.json", nil)
	gen := obj(t, r.body["m2m_client"], "m2m_client")
	if !reToken.MatchString(gen["client_secret"].(string)) {
		t.Errorf("generated secret %q is not 44 base64url characters", gen["client_secret"])
	}
	id2 := gen["client_id"].(string)

	r = e.do(http.MethodGet, client.PathM2MClients+"/"+id, nil)
	fidMatch(t, r, "responses/m2m_clients_get.json", nil)
	if got := obj(t, r.body["m2m_client"], "m2m_client"); !reflect.DeepEqual(got["trusted_metadata"], map[string]any{"team": "search"}) {
		t.Errorf("trusted_metadata = %v", got["trusted_metadata"])
	}

	r = e.do(http.MethodPut, client.PathM2MClients+"/"+id, fidRequest(t, "requests/m2m_clients_update.json", map[string]any{"client_id": id}))
	fidMatch(t, r, "responses/m2m_clients_update.json", nil)
	if got := obj(t, r.body["m2m_client"], "m2m_client"); got["status"] != "inactive" || got["client_name"] != "Document indexer" {
		t.Errorf("updated client = %v", got)
	}
	// The token endpoint refuses it now, and accepts it again once active.
	body := form("client_id", id, "client_secret", secret, "grant_type", "client_credentials")
	if r := tokenCall(t, e, e.srv.ProjectID, formType, body); r.status != http.StatusUnauthorized {
		t.Errorf("inactive client got %d", r.status)
	}
	e.do(http.MethodPut, client.PathM2MClients+"/"+id, map[string]any{"status": "active"})
	if r := tokenCall(t, e, e.srv.ProjectID, formType, body); r.status != http.StatusOK {
		t.Errorf("reactivated client got %d: %s", r.status, r.raw)
	}

	// Search: three clients, two pages of two.
	if _, _, err := e.srv.NewM2MClient(stytchtest.M2MClientSpec{Scopes: []string{"read:documents"}}); err != nil {
		t.Fatal(err)
	}
	r = e.do(http.MethodPost, client.PathM2MClientsSearch, fidObject(t, "requests/m2m_clients_search.json"))
	fidMatch(t, r, "responses/m2m_clients_search.json", nil)
	meta := obj(t, r.body["results_metadata"], "results_metadata")
	if meta["total"] != float64(3) || len(r.body["m2m_clients"].([]any)) != 2 {
		t.Fatalf("first page: %s", r.raw)
	}
	next := fidRequest(t, "requests/m2m_clients_search.json", map[string]any{"cursor": meta["next_cursor"]})
	r = e.do(http.MethodPost, client.PathM2MClientsSearch, next)
	fidMatch(t, r, "responses/m2m_clients_search.json", func(w map[string]any) {
		obj(t, w["results_metadata"], "fixture")["next_cursor"] = nil // the last page
	})

	for _, tc := range []struct {
		name  string
		query any
		want  []string
	}{
		{"by_id", map[string]any{"operator": "OR", "operands": []any{map[string]any{"filter_name": "client_id", "filter_value": []string{id2}}}}, []string{id2}},
		{"by_name", map[string]any{"operator": "AND", "operands": []any{map[string]any{"filter_name": "client_name", "filter_value": []string{"Document indexer"}}}}, []string{id}},
		{"and", map[string]any{"operator": "AND", "operands": []any{
			map[string]any{"filter_name": "scopes", "filter_value": []string{"write:documents"}},
			map[string]any{"filter_name": "client_id", "filter_value": []string{id, id2}},
		}}, []string{id}},
		{"or", map[string]any{"operator": "OR", "operands": []any{
			map[string]any{"filter_name": "client_id", "filter_value": []string{id}},
			map[string]any{"filter_name": "client_name", "filter_value": []string{"Nightly report"}},
		}}, []string{id, id2}},
	} {
		t.Run("search_"+tc.name, func(t *testing.T) {
			r := e.do(http.MethodPost, client.PathM2MClientsSearch, map[string]any{"query": tc.query})
			wantOKBody(t, r)
			var got []string
			for _, c := range r.body["m2m_clients"].([]any) {
				got = append(got, c.(map[string]any)["client_id"].(string))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("clients = %v, want %v", got, tc.want)
			}
		})
	}

	r = e.do(http.MethodDelete, client.PathM2MClients+"/"+id, nil)
	fidMatch(t, r, "responses/m2m_clients_delete.json", nil)
	if r.body["client_id"] != id {
		t.Errorf("delete client_id = %v", r.body["client_id"])
	}
	fidMatchError(t, e.do(http.MethodGet, client.PathM2MClients+"/"+id, nil), "m2m_clients_404_m2m_client_not_found.json")
	fidMatchError(t, e.do(http.MethodPut, client.PathM2MClients+"/"+id, map[string]any{"status": "active"}), "m2m_clients_404_m2m_client_not_found.json")
	fidMatchError(t, e.do(http.MethodDelete, client.PathM2MClients+"/"+id, nil), "m2m_clients_404_m2m_client_not_found.json")
	// A deleted client gets no token.
	if r := tokenCall(t, e, e.srv.ProjectID, formType, body); r.status != http.StatusUnauthorized {
		t.Errorf("deleted client got %d", r.status)
	}
}

func wantOKBody(t *testing.T, r fidResponse) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
}

func TestM2MClientsAPIErrors(t *testing.T) {
	e := fidNewEnv(t)
	id, _, err := e.srv.NewM2MClient(stytchtest.M2MClientSpec{ClientID: "m2m-client-test-taken"})
	if err != nil {
		t.Fatal(err)
	}
	operand := func(k string, v any) map[string]any {
		return map[string]any{"query": map[string]any{"operator": "AND", "operands": []any{map[string]any{k: v}}}}
	}
	for _, tc := range []struct {
		name, method, path string
		body               any
		opts               []reqOption
		status             int
		errorType          string
	}{
		// The clients API needs the project secret, not a client's.
		{"no_auth", http.MethodPost, client.PathM2MClients, map[string]any{}, []reqOption{noAuth()}, 401, "unauthorized_credentials"},
		{"wrong_secret", http.MethodGet, client.PathM2MClients + "/" + id, nil, []reqOption{basicAuth(e.srv.ProjectID, "secret-test-wrong")}, 401, "unauthorized_credentials"},
		{"duplicate_id", http.MethodPost, client.PathM2MClients, map[string]any{"client_id": id}, nil, 400, "duplicate_m2m_client_id"},
		{"short_secret", http.MethodPost, client.PathM2MClients, map[string]any{"client_secret": "1234567"}, nil, 400, "insecure_m2m_client_secret"},
		{"id_with_slash", http.MethodPost, client.PathM2MClients, map[string]any{"client_id": "a/b"}, nil, 400, "m2m_client_invalid_client_id"},
		{"scope_with_space", http.MethodPost, client.PathM2MClients, map[string]any{"scopes": []string{"read documents"}}, nil, 400, "invalid_m2m_client_scope"},
		{"bad_status", http.MethodPut, client.PathM2MClients + "/" + id, map[string]any{"status": "disabled"}, nil, 400, "m2m_client_invalid_status"},
		{"malformed_json", http.MethodPost, client.PathM2MClients, `{"scopes":`, nil, 400, "bad_request"},
		{"search_bad_operator", http.MethodPost, client.PathM2MClientsSearch, map[string]any{"query": map[string]any{"operator": "XOR"}}, nil, 400, "invalid_request_value"},
		{"search_missing_filter_name", http.MethodPost, client.PathM2MClientsSearch, operand("filter_value", []string{"x"}), nil, 400, "m2m_search_missing_filter_name"},
		{"search_unknown_filter", http.MethodPost, client.PathM2MClientsSearch, map[string]any{"query": map[string]any{"operator": "AND", "operands": []any{map[string]any{"filter_name": "status", "filter_value": []string{"active"}}}}}, nil, 400, "m2m_search_filter_name_not_recognized"},
		{"search_value_not_array", http.MethodPost, client.PathM2MClientsSearch, map[string]any{"query": map[string]any{"operator": "AND", "operands": []any{map[string]any{"filter_name": "client_id", "filter_value": id}}}}, nil, 400, "m2m_search_expected_array_of_strings"},
		{"search_bad_cursor", http.MethodPost, client.PathM2MClientsSearch, map[string]any{"cursor": "abc"}, nil, 400, "invalid_request_value"},
		{"rotate_not_modelled", http.MethodPost, client.PathM2MClients + "/" + id + "/secrets/rotate", map[string]any{}, nil, 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.body, tc.opts...)
			if r.status != tc.status || r.body["error_type"] != tc.errorType {
				t.Errorf("%d %v, want %d %s: %s", r.status, r.body["error_type"], tc.status, tc.errorType, r.raw)
			}
			if r.body["error_message"] == "" || r.body["error"] != nil {
				t.Errorf("not the session API's error shape: %s", r.raw)
			}
		})
	}
	fidMatchError(t, e.do(http.MethodPost, client.PathM2MClients, map[string]any{}, noAuth()), "401_unauthorized_credentials.json")
}

func TestNewM2MClientSpec(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	id, secret, err := srv.NewM2MClient(stytchtest.M2MClientSpec{})
	if err != nil || !reID("m2m-client").MatchString(id) || !reToken.MatchString(secret) {
		t.Fatalf("generated client = %q, %q, %v", id, secret, err)
	}
	id, secret, err = srv.NewM2MClient(stytchtest.M2MClientSpec{ClientID: "m2m-client-test-fixed", ClientSecret: "correct-horse-battery"})
	if err != nil || id != "m2m-client-test-fixed" || secret != "correct-horse-battery" {
		t.Fatalf("chosen client = %q, %q, %v", id, secret, err)
	}
	for _, tc := range []struct {
		name string
		spec stytchtest.M2MClientSpec
	}{
		{"duplicate_id", stytchtest.M2MClientSpec{ClientID: "m2m-client-test-fixed"}},
		{"id_with_space", stytchtest.M2MClientSpec{ClientID: "a b"}},
		{"short_secret", stytchtest.M2MClientSpec{ClientSecret: "short"}},
		{"empty_scope", stytchtest.M2MClientSpec{Scopes: []string{""}}},
		{"scope_with_space", stytchtest.M2MClientSpec{Scopes: []string{"read:a write:b"}}},
		// A custom claim must not overwrite what the token is about.
		{"claim_sub", stytchtest.M2MClientSpec{CustomClaims: map[string]any{"sub": "member-test-x"}}},
		{"claim_scope", stytchtest.M2MClientSpec{CustomClaims: map[string]any{"scope": "admin:*"}}},
		{"claim_aud", stytchtest.M2MClientSpec{CustomClaims: map[string]any{"aud": "other"}}},
		// Nor pass for a session claim.
		{"claim_stytch_session", stytchtest.M2MClientSpec{CustomClaims: map[string]any{"https://stytch.com/session": map[string]any{}}}},
		{"claims_too_large", stytchtest.M2MClientSpec{CustomClaims: map[string]any{"blob": strings.Repeat("x", 5000)}}},
		{"claims_not_json", stytchtest.M2MClientSpec{CustomClaims: map[string]any{"ch": make(chan int)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := srv.NewM2MClient(tc.spec)
			if !errors.Is(err, stytchtest.ErrInvalidSpec) {
				t.Errorf("err = %v, want ErrInvalidSpec", err)
			}
		})
	}
}
