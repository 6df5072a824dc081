package client

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// M2MTokenLifetime is the lifetime Stytch gives every M2M access token, in
// seconds (expires_in of the token response, exp - iat of the token).
const M2MTokenLifetime = 3600

// M2M calls the M2M (machine-to-machine) endpoints: the OAuth 2.0
// client-credentials token endpoint, and through Clients the M2M clients
// API. Obtain it from Client.M2M; it is safe for concurrent use.
type M2M struct {
	// Clients holds the M2M clients API (create, get, update, delete,
	// search), authenticated with the project secret.
	Clients *M2MClients

	c *Client
}

// M2MTokenParams are the client credentials of an M2M token request. They
// are sent in the form body of POST /v1/public/{project_id}/oauth2/token,
// never in a log or an error.
type M2MTokenParams struct {
	// ClientID is the M2M client's id ("m2m-client-test-…"). Required.
	ClientID string
	// ClientSecret is the M2M client's secret. Required.
	ClientSecret string
	// Scopes are the scopes asked for; nil or empty asks for every scope of
	// the client. Each must be a non-empty string without spaces: the scopes
	// travel as one space-separated string.
	Scopes []string
}

// M2MTokenResponse is the 200 answer of the M2M token endpoint.
type M2MTokenResponse struct {
	// RequestID identifies the request at Stytch.
	RequestID string `json:"request_id,omitempty"`
	// StatusCode is the HTTP status, 200.
	StatusCode int32 `json:"status_code,omitempty"`
	// AccessToken is the access token, a JWT signed with the project's
	// keys (the same JWKS as session JWTs).
	AccessToken string `json:"access_token"`
	// TokenType is always "bearer".
	TokenType string `json:"token_type"`
	// ExpiresIn is the token's lifetime in seconds from the answer,
	// M2MTokenLifetime.
	ExpiresIn int `json:"expires_in"`
}

// M2MTokenPath returns the path of the M2M token endpoint of projectID,
// /v1/public/{project_id}/oauth2/token.
func M2MTokenPath(projectID string) string {
	return PathPublicPrefix + url.PathEscape(projectID) + PathOAuth2TokenSuffix
}

// Token calls POST /v1/public/{project_id}/oauth2/token (RFC 6749 §4.4,
// the client-credentials grant) for the client's project and returns an
// access token. Like the reference SDK it sends the form body
// grant_type=client_credentials&client_id=…&client_secret=…[&scope=…] and
// no project credentials: the M2M client authenticates itself.
//
// Errors: an error wrapping ErrInvalidParams before any request (missing
// ClientID or ClientSecret, an empty scope or one with whitespace);
// *Error carrying the OAuth 2.0 error code in ErrorType and its
// description in ErrorMessage, matching ErrInvalidClient (401
// invalid_client: unknown client, wrong secret, inactive client;
// unauthorized_client), ErrBadRequest (invalid_request,
// unsupported_grant_type, invalid_scope) or ErrUnavailable (5xx, 429,
// bodies that are not JSON, a 200 without an access token);
// *TransportError.
func (m *M2M) Token(ctx context.Context, p *M2MTokenParams) (*M2MTokenResponse, error) {
	if p == nil || p.ClientID == "" || p.ClientSecret == "" {
		return nil, invalid("m2m token: client_id and client_secret are required")
	}
	for _, s := range p.Scopes {
		if s == "" || strings.ContainsFunc(s, isSpace) {
			return nil, invalid("m2m token: a scope is empty or contains whitespace")
		}
	}
	form := url.Values{}
	form.Set("grant_type", "client_credentials")
	form.Set("client_id", p.ClientID)
	form.Set("client_secret", p.ClientSecret)
	if len(p.Scopes) > 0 {
		form.Set("scope", strings.Join(p.Scopes, " "))
	}
	path := M2MTokenPath(m.c.projectID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.c.baseURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, invalid("m2m token: building request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var out M2MTokenResponse
	if err := m.c.roundTrip(req, path, decodeOAuth2Error, &out); err != nil {
		return nil, err
	}
	if out.AccessToken == "" {
		return nil, &Error{StatusCode: http.StatusOK, RequestID: out.RequestID, ErrorMessage: "token response has no access token", noAnswer: true}
	}
	return &out, nil
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
}
