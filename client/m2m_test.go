package client_test

// The M2M token endpoint and the M2M clients API against the fixtures of
// §8 (testdata/fixtures, README there).

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stytchguard/stytchguard/client"
)

const fxM2MClient2 = "m2m-client-test-ed98af8f-9c7e-4d36-8572-4b8e0efa428d"

func TestFixtureM2MToken(t *testing.T) {
	srv := serveJSON(t, http.StatusOK, readFixture(t, "responses/m2m_token.json"), nil)
	c := newClient(t, srv.URL, srv.Client())
	res, err := c.M2M.Token(context.Background(), &client.M2MTokenParams{
		ClientID: fxM2MClient, ClientSecret: fxM2MSecret, Scopes: []string{"read:documents", "write:documents"},
	})
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	eq(t, "AccessToken", res.AccessToken, fixtureString(t, "responses/m2m_token.json", "access_token"))
	eq(t, "TokenType", res.TokenType, "bearer")
	eq(t, "ExpiresIn", res.ExpiresIn, client.M2MTokenLifetime)
	eq(t, "RequestID", res.RequestID, "request-id-test-d783ebc3-4d32-4cd5-9e21-0a512ad6f087")
	eq(t, "StatusCode", res.StatusCode, int32(200))

	// The wire is the reference SDK's: a form body with sorted keys, the
	// scopes as one space-separated string, no project credentials.
	r := srv.only(t)
	eq(t, "method", r.Method, http.MethodPost)
	eq(t, "path", r.EscapedPath, "/v1/public/"+fxProjectID+"/oauth2/token")
	eq(t, "path helper", client.M2MTokenPath(fxProjectID), r.EscapedPath)
	eq(t, "body", string(r.Body), string(readFixture(t, "requests/m2m_token.form")))
	eq(t, "Content-Type", r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
	if a := r.Header.Get("Authorization"); a != "" {
		t.Errorf("Authorization = %q: the token endpoint must not get the project credentials", a)
	}
	if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "stytchguard/") {
		t.Errorf("User-Agent = %q", ua)
	}

	// Without scopes the scope parameter is left out (all of the client's).
	srv2 := serveJSON(t, http.StatusOK, readFixture(t, "responses/m2m_token.json"), nil)
	c2 := newClient(t, srv2.URL, srv2.Client())
	if _, err := c2.M2M.Token(context.Background(), &client.M2MTokenParams{ClientID: fxM2MClient, ClientSecret: fxM2MSecret}); err != nil {
		t.Fatal(err)
	}
	eq(t, "body without scopes", string(srv2.only(t).Body),
		"client_id="+fxM2MClient+"&client_secret="+fxM2MSecret+"&grant_type=client_credentials")
}

func TestFixtureM2MTokenEmptyAnswer(t *testing.T) {
	// A 200 without an access token is no answer: try later.
	srv := serveJSON(t, http.StatusOK, []byte(`{"status_code":200,"request_id":"request-id-test-0f3e2d1c-4b5a-4c6d-8e7f-9a0b1c2d3e4f"}`), nil)
	c := newClient(t, srv.URL, srv.Client())
	_, err := c.M2M.Token(context.Background(), &client.M2MTokenParams{ClientID: fxM2MClient, ClientSecret: fxM2MSecret})
	checkCategory(t, err, client.ErrUnavailable)
}

func TestFixtureM2MTokenErrorsKeepNoSecret(t *testing.T) {
	for _, name := range []string{"m2m_token_401_invalid_client.json", "m2m_token_400_invalid_scope.json"} {
		srv := serveJSON(t, fixtureError(t, readFixture(t, "errors/"+name)).StatusCode, readFixture(t, "errors/"+name), nil)
		c := newClient(t, srv.URL, srv.Client())
		_, err := c.M2M.Token(context.Background(), &client.M2MTokenParams{ClientID: fxM2MClient, ClientSecret: fxM2MSecret})
		if err == nil || strings.Contains(err.Error(), fxM2MSecret) {
			t.Errorf("%s: error %v is nil or names the client secret", name, err)
		}
		// Never a session verdict: a middleware must not log anyone out.
		if errors.Is(err, client.ErrSessionInvalid) || errors.Is(err, client.ErrUnauthorizedCredentials) {
			t.Errorf("%s: %v is a session or project-credential error", name, err)
		}
	}
}

func TestM2MErrorCategoriesByType(t *testing.T) {
	// Hand-made values classify like decoded ones: the OAuth 2.0 codes say
	// which endpoint spoke.
	for _, tc := range []struct {
		e    *client.Error
		want error
	}{
		{&client.Error{StatusCode: 401, ErrorType: client.ErrorTypeInvalidClient}, client.ErrInvalidClient},
		{&client.Error{StatusCode: 400, ErrorType: client.ErrorTypeUnauthorizedClient}, client.ErrInvalidClient},
		{&client.Error{StatusCode: 400, ErrorType: client.ErrorTypeInvalidScope}, client.ErrBadRequest},
		{&client.Error{StatusCode: 400, ErrorType: client.ErrorTypeInvalidRequest}, client.ErrBadRequest},
		{&client.Error{StatusCode: 400, ErrorType: client.ErrorTypeUnsupportedGrantType}, client.ErrBadRequest},
		{&client.Error{StatusCode: 400, ErrorType: client.ErrorTypeInvalidGrant}, client.ErrBadRequest},
		// A session 401 is still a session verdict.
		{&client.Error{StatusCode: 401, ErrorType: "invalid_session_token"}, client.ErrSessionInvalid},
	} {
		t.Run(tc.e.ErrorType, func(t *testing.T) { checkCategory(t, tc.e, tc.want) })
	}
}

func TestFixtureM2MClients(t *testing.T) {
	bodies := map[string]string{
		http.MethodPost + " " + client.PathM2MClients:                       "responses/m2m_clients_create.json",
		http.MethodGet + " " + client.PathM2MClients + "/" + fxM2MClient:    "responses/m2m_clients_get.json",
		http.MethodPut + " " + client.PathM2MClients + "/" + fxM2MClient:    "responses/m2m_clients_update.json",
		http.MethodDelete + " " + client.PathM2MClients + "/" + fxM2MClient: "responses/m2m_clients_delete.json",
		http.MethodPost + " " + client.PathM2MClientsSearch:                 "responses/m2m_clients_search.json",
	}
	srv := newFixtureServer(t, func(w http.ResponseWriter, r *http.Request) {
		name, ok := bodies[r.Method+" "+r.URL.EscapedPath()]
		if !ok {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(readFixture(t, name))
	})
	c := newClient(t, srv.URL, srv.Client())
	ctx := context.Background()

	created, err := c.M2M.Clients.Create(ctx, &client.M2MClientsCreateParams{
		Scopes: []string{"read:documents", "write:documents"}, ClientID: fxM2MClient, ClientSecret: fxM2MSecret,
		ClientName: "Document indexer", ClientDescription: "Reads and tags the documents of every organization.",
		TrustedMetadata: map[string]any{"team": "search"},
	})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	eq(t, "created.ClientSecret", created.M2MClient.ClientSecret, fxM2MSecret)
	eq(t, "created.ClientID", created.M2MClient.ClientID, fxM2MClient)
	eq(t, "created.Status", created.M2MClient.Status, client.M2MClientStatusActive)
	eq(t, "created.ClientSecretLastFour", created.M2MClient.ClientSecretLastFour, "H0cw")
	eq(t, "created.NextClientSecretLastFour", created.M2MClient.NextClientSecretLastFour, "")
	eq(t, "created.Scopes", created.M2MClient.Scopes, []string{"read:documents", "write:documents"})
	eq(t, "created.TrustedMetadata", created.M2MClient.TrustedMetadata, map[string]any{"team": "search"})
	eq(t, "created.StatusCode", created.StatusCode, int32(200))

	got, err := c.M2M.Clients.Get(ctx, &client.M2MClientsGetParams{ClientID: fxM2MClient})
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	eq(t, "got.ClientName", got.M2MClient.ClientName, "Document indexer")
	eq(t, "got.RequestID", got.RequestID, "request-id-test-c0dbb0ed-17c9-4749-8e29-ae3f4f8f198a")

	updated, err := c.M2M.Clients.Update(ctx, &client.M2MClientsUpdateParams{ClientID: fxM2MClient, Status: client.M2MClientStatusInactive})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	eq(t, "updated.Status", updated.M2MClient.Status, client.M2MClientStatusInactive)

	deleted, err := c.M2M.Clients.Delete(ctx, &client.M2MClientsDeleteParams{ClientID: fxM2MClient})
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	eq(t, "deleted.ClientID", deleted.ClientID, fxM2MClient)

	found, err := c.M2M.Clients.Search(ctx, &client.M2MClientsSearchParams{Limit: 2, Query: &client.M2MSearchQuery{
		Operator: client.M2MSearchQueryOperatorOR,
		Operands: []map[string]any{{"filter_name": "scopes", "filter_value": []string{"read:documents"}}},
	}})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if len(found.M2MClients) != 2 || found.M2MClients[1].ClientID != fxM2MClient2 || found.M2MClients[1].Status != client.M2MClientStatusInactive {
		t.Errorf("M2MClients = %+v", found.M2MClients)
	}
	eq(t, "ResultsMetadata", found.ResultsMetadata, client.M2MResultsMetadata{Total: 3, NextCursor: "Y3Vyc29yLTI"})

	rs := srv.requests()
	if len(rs) != 5 {
		t.Fatalf("server received %d requests, want 5", len(rs))
	}
	checkWire(t, rs[0], http.MethodPost, client.PathM2MClients, "requests/m2m_clients_create.json")
	checkWire(t, rs[1], http.MethodGet, client.PathM2MClients+"/"+fxM2MClient, "")
	checkWire(t, rs[2], http.MethodPut, client.PathM2MClients+"/"+fxM2MClient, "requests/m2m_clients_update.json")
	checkWire(t, rs[3], http.MethodDelete, client.PathM2MClients+"/"+fxM2MClient, "")
	checkWire(t, rs[4], http.MethodPost, client.PathM2MClientsSearch, "requests/m2m_clients_search.json")
	for _, r := range rs {
		// The clients API is authenticated with the project secret.
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(fxProjectID+":"+fxSecret))
		eq(t, r.Method+" Authorization", r.Header.Get("Authorization"), want)
		eq(t, r.Method+" Content-Type", r.Header.Get("Content-Type"), "application/json")
	}
}

func TestM2MValidationSendsNothing(t *testing.T) {
	srv := serveJSON(t, http.StatusOK, readFixture(t, "responses/m2m_token.json"), nil)
	c := newClient(t, srv.URL, srv.Client())
	ctx := context.Background()
	tok := func(p *client.M2MTokenParams) func() error {
		return func() error { _, err := c.M2M.Token(ctx, p); return err }
	}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"token_nil", tok(nil)},
		{"token_no_client_id", tok(&client.M2MTokenParams{ClientSecret: fxM2MSecret})},
		{"token_no_secret", tok(&client.M2MTokenParams{ClientID: fxM2MClient})},
		{"token_empty_scope", tok(&client.M2MTokenParams{ClientID: fxM2MClient, ClientSecret: fxM2MSecret, Scopes: []string{""}})},
		// A space would split one scope into two on the wire.
		{"token_scope_with_space", tok(&client.M2MTokenParams{ClientID: fxM2MClient, ClientSecret: fxM2MSecret, Scopes: []string{"read:documents admin:*"}})},
		{"token_scope_with_tab", tok(&client.M2MTokenParams{ClientID: fxM2MClient, ClientSecret: fxM2MSecret, Scopes: []string{"read\tdocuments"}})},
		{"create_nil", func() error { _, err := c.M2M.Clients.Create(ctx, nil); return err }},
		{"get_nil", func() error { _, err := c.M2M.Clients.Get(ctx, nil); return err }},
		{"get_no_id", func() error { _, err := c.M2M.Clients.Get(ctx, &client.M2MClientsGetParams{}); return err }},
		{"update_no_id", func() error {
			_, err := c.M2M.Clients.Update(ctx, &client.M2MClientsUpdateParams{Status: client.M2MClientStatusInactive})
			return err
		}},
		{"update_bad_status", func() error {
			_, err := c.M2M.Clients.Update(ctx, &client.M2MClientsUpdateParams{ClientID: fxM2MClient, Status: "disabled"})
			return err
		}},
		{"delete_no_id", func() error { _, err := c.M2M.Clients.Delete(ctx, &client.M2MClientsDeleteParams{}); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			checkCategory(t, err, client.ErrInvalidParams)
			if err != nil && strings.Contains(err.Error(), fxM2MSecret) {
				t.Errorf("error %q names the client secret", err)
			}
		})
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("invalid calls sent %d requests, want 0", n)
	}
}

// TestFixtureM2MAccessToken checks the token fixtures against §8.3 and each
// other: the response's access token is exactly the header and payload
// fixtures.
func TestFixtureM2MAccessToken(t *testing.T) {
	raw := fixtureString(t, "responses/m2m_token.json", "access_token")
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("access_token has %d segments", len(parts))
	}
	for i, name := range []string{"jwt/m2m_header.json", "jwt/m2m_payload.json"} {
		seg, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		for _, d := range jsonDiff(seg, readFixture(t, name)) {
			t.Errorf("access_token segment %d vs %s: %s", i, name, d)
		}
	}
	p := fixtureJSON(t, "jwt/m2m_payload.json")
	eq(t, "sub", p["sub"], any(fxM2MClient))
	eq(t, "iss", p["iss"], any("stytch.com/"+fxProjectID))
	eq(t, "aud", p["aud"], any([]any{fxProjectID}))
	eq(t, "scope", p["scope"], any("read:documents write:documents"))
	iat, _ := p["iat"].(float64)
	eq(t, "nbf", p["nbf"], any(iat))
	eq(t, "exp", p["exp"], any(iat+client.M2MTokenLifetime))
	for k := range p {
		if strings.HasPrefix(k, "https://stytch.com/") {
			t.Errorf("M2M payload has the session-only claim %q", k)
		}
	}
}
