package client

import (
	"context"
	"net/http"
	"net/url"
)

// M2M client statuses.
const (
	// M2MClientStatusActive: the client can obtain access tokens.
	M2MClientStatusActive = "active"
	// M2MClientStatusInactive: the token endpoint answers invalid_client.
	// Tokens issued before stay valid until they expire.
	M2MClientStatusInactive = "inactive"
)

// M2MClient is an M2M client as the M2M clients API returns it (without
// its secret).
type M2MClient struct {
	ClientID          string         `json:"client_id,omitempty"`
	ClientName        string         `json:"client_name,omitempty"`
	ClientDescription string         `json:"client_description,omitempty"`
	Status            string         `json:"status,omitempty"`
	Scopes            []string       `json:"scopes,omitempty"`
	TrustedMetadata   map[string]any `json:"trusted_metadata,omitempty"`
	// ClientSecretLastFour are the last four characters of the secret.
	ClientSecretLastFour string `json:"client_secret_last_four,omitempty"`
	// NextClientSecretLastFour are the last four characters of the secret
	// of a rotation in progress; empty (null on the wire) when there is none.
	NextClientSecretLastFour string `json:"next_client_secret_last_four,omitempty"`
}

// M2MClientWithClientSecret is an M2M client with its secret, which Stytch
// returns once, when the client is created.
type M2MClientWithClientSecret struct {
	M2MClient
	ClientSecret string `json:"client_secret,omitempty"`
}

// M2MClientsCreateParams is the request body of POST /v1/m2m/clients. Every
// field is optional; Stytch generates ClientID ("m2m-client-test-…") and
// ClientSecret when they are empty.
type M2MClientsCreateParams struct {
	Scopes            []string       `json:"scopes,omitempty"`
	ClientID          string         `json:"client_id,omitempty"`
	ClientSecret      string         `json:"client_secret,omitempty"`
	ClientName        string         `json:"client_name,omitempty"`
	ClientDescription string         `json:"client_description,omitempty"`
	TrustedMetadata   map[string]any `json:"trusted_metadata,omitempty"`
}

// M2MClientsCreateResponse is the response of M2MClients.Create.
type M2MClientsCreateResponse struct {
	RequestID  string                    `json:"request_id,omitempty"`
	M2MClient  M2MClientWithClientSecret `json:"m2m_client,omitempty"`
	StatusCode int32                     `json:"status_code,omitempty"`
}

// M2MClientsGetParams names the client of GET /v1/m2m/clients/{client_id}.
type M2MClientsGetParams struct {
	ClientID string `json:"client_id,omitempty"`
}

// M2MClientsGetResponse is the response of M2MClients.Get.
type M2MClientsGetResponse struct {
	RequestID  string    `json:"request_id,omitempty"`
	M2MClient  M2MClient `json:"m2m_client,omitempty"`
	StatusCode int32     `json:"status_code,omitempty"`
}

// M2MClientsUpdateParams is the request body of PUT
// /v1/m2m/clients/{client_id}. ClientID is required; the other fields,
// when set, replace the client's. Status M2MClientStatusInactive
// deactivates the client.
type M2MClientsUpdateParams struct {
	ClientID          string         `json:"client_id,omitempty"`
	ClientName        string         `json:"client_name,omitempty"`
	ClientDescription string         `json:"client_description,omitempty"`
	Status            string         `json:"status,omitempty"`
	Scopes            []string       `json:"scopes,omitempty"`
	TrustedMetadata   map[string]any `json:"trusted_metadata,omitempty"`
}

// M2MClientsUpdateResponse is the response of M2MClients.Update.
type M2MClientsUpdateResponse struct {
	RequestID  string    `json:"request_id,omitempty"`
	M2MClient  M2MClient `json:"m2m_client,omitempty"`
	StatusCode int32     `json:"status_code,omitempty"`
}

// M2MClientsDeleteParams names the client of DELETE
// /v1/m2m/clients/{client_id}.
type M2MClientsDeleteParams struct {
	ClientID string `json:"client_id,omitempty"`
}

// M2MClientsDeleteResponse is the response of M2MClients.Delete.
type M2MClientsDeleteResponse struct {
	RequestID  string `json:"request_id,omitempty"`
	ClientID   string `json:"client_id,omitempty"`
	StatusCode int32  `json:"status_code,omitempty"`
}

// M2MSearchQueryOperator combines the operands of an M2MSearchQuery.
type M2MSearchQueryOperator string

// The operators of an M2MSearchQuery.
const (
	// M2MSearchQueryOperatorOR matches a client that matches any operand.
	M2MSearchQueryOperatorOR M2MSearchQueryOperator = "OR"
	// M2MSearchQueryOperatorAND matches a client that matches every operand.
	M2MSearchQueryOperatorAND M2MSearchQueryOperator = "AND"
)

// M2MSearchQuery filters an M2M clients search. Each operand is an object
// {"filter_name": …, "filter_value": [...]} with filter_name "client_id",
// "client_name" (exact names) or "scopes" (clients holding any of the
// scopes).
type M2MSearchQuery struct {
	Operator M2MSearchQueryOperator `json:"operator,omitempty"`
	Operands []map[string]any       `json:"operands,omitempty"`
}

// M2MResultsMetadata describes a page of search results: Total is the
// number of matching clients over every page, NextCursor the cursor of the
// next page (empty, null on the wire, on the last one).
type M2MResultsMetadata struct {
	Total      int32  `json:"total,omitempty"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// M2MClientsSearchParams is the request body of POST /v1/m2m/clients/search.
// A nil Query returns every client. Limit 0 means 100; at most 1000.
type M2MClientsSearchParams struct {
	Cursor string          `json:"cursor,omitempty"`
	Limit  uint32          `json:"limit,omitempty"`
	Query  *M2MSearchQuery `json:"query,omitempty"`
}

// M2MClientsSearchResponse is the response of M2MClients.Search.
type M2MClientsSearchResponse struct {
	RequestID       string             `json:"request_id,omitempty"`
	M2MClients      []M2MClient        `json:"m2m_clients,omitempty"`
	ResultsMetadata M2MResultsMetadata `json:"results_metadata,omitempty"`
	StatusCode      int32              `json:"status_code,omitempty"`
}

// M2MClients calls the M2M clients API (/v1/m2m/clients), authenticated
// with the project secret like the session endpoints. Obtain it from
// Client.M2M.Clients; it is safe for concurrent use.
//
// Every method returns an error wrapping ErrInvalidParams before any
// request when a required field is missing, and otherwise the errors of the
// session endpoints: *Error (404 for an unknown client is ErrBadRequest,
// 401 ErrUnauthorizedCredentials, 5xx and 429 ErrUnavailable) or
// *TransportError.
type M2MClients struct {
	c *Client
}

// Create calls POST /v1/m2m/clients and returns the new client with its
// secret, which is never returned again.
func (m *M2MClients) Create(ctx context.Context, p *M2MClientsCreateParams) (*M2MClientsCreateResponse, error) {
	if p == nil {
		return nil, invalid("m2m clients create: nil params")
	}
	var out M2MClientsCreateResponse
	if err := m.c.do(ctx, http.MethodPost, PathM2MClients, nil, p, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Get calls GET /v1/m2m/clients/{client_id}. ClientID is required.
func (m *M2MClients) Get(ctx context.Context, p *M2MClientsGetParams) (*M2MClientsGetResponse, error) {
	if p == nil || p.ClientID == "" {
		return nil, invalid("m2m clients get: client_id is required")
	}
	var out M2MClientsGetResponse
	if err := m.c.do(ctx, http.MethodGet, m2mClientPath(p.ClientID), nil, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Update calls PUT /v1/m2m/clients/{client_id}. ClientID is required;
// Status, when set, must be M2MClientStatusActive or
// M2MClientStatusInactive.
func (m *M2MClients) Update(ctx context.Context, p *M2MClientsUpdateParams) (*M2MClientsUpdateResponse, error) {
	if p == nil || p.ClientID == "" {
		return nil, invalid("m2m clients update: client_id is required")
	}
	if p.Status != "" && p.Status != M2MClientStatusActive && p.Status != M2MClientStatusInactive {
		return nil, invalid("m2m clients update: status must be %q or %q", M2MClientStatusActive, M2MClientStatusInactive)
	}
	var out M2MClientsUpdateResponse
	if err := m.c.do(ctx, http.MethodPut, m2mClientPath(p.ClientID), nil, p, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Delete calls DELETE /v1/m2m/clients/{client_id}. ClientID is required.
// Tokens issued to the client stay valid until they expire.
func (m *M2MClients) Delete(ctx context.Context, p *M2MClientsDeleteParams) (*M2MClientsDeleteResponse, error) {
	if p == nil || p.ClientID == "" {
		return nil, invalid("m2m clients delete: client_id is required")
	}
	var out M2MClientsDeleteResponse
	if err := m.c.do(ctx, http.MethodDelete, m2mClientPath(p.ClientID), nil, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Search calls POST /v1/m2m/clients/search. A nil p searches every client
// with the default page size.
func (m *M2MClients) Search(ctx context.Context, p *M2MClientsSearchParams) (*M2MClientsSearchResponse, error) {
	if p == nil {
		p = &M2MClientsSearchParams{}
	}
	var out M2MClientsSearchResponse
	if err := m.c.do(ctx, http.MethodPost, PathM2MClientsSearch, nil, p, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func m2mClientPath(clientID string) string {
	return PathM2MClients + "/" + url.PathEscape(clientID)
}
