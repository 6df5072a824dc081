package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Version is the version of this library, sent in the User-Agent header.
const Version = "0.1.0"

// UserAgent is the User-Agent header value of every request.
const UserAgent = "stytchguard/" + Version + " (Go)"

// Base URLs of the Stytch API environments.
const (
	LiveBaseURL = "https://api.stytch.com"
	TestBaseURL = "https://test.stytch.com"
)

// Paths of the endpoints this client calls.
const (
	PathAuthenticate    = "/v1/b2b/sessions/authenticate"
	PathSessions        = "/v1/b2b/sessions"
	PathExchange        = "/v1/b2b/sessions/exchange"
	PathMigrate         = "/v1/b2b/sessions/migrate"
	PathRevoke          = "/v1/b2b/sessions/revoke"
	PathJWKSPrefix      = "/v1/b2b/sessions/jwks/"
	PathPolicy          = "/v1/b2b/rbac/policy"
	PathOrgPolicyPrefix = "/v1/b2b/rbac/organizations/"

	// PathPublicPrefix and PathOAuth2TokenSuffix frame the M2M token
	// endpoint, POST /v1/public/{project_id}/oauth2/token.
	PathPublicPrefix      = "/v1/public/"
	PathOAuth2TokenSuffix = "/oauth2/token"
	// PathM2MClients is the M2M clients collection; a client is
	// PathM2MClients + "/" + client_id.
	PathM2MClients = "/v1/m2m/clients"
	// PathM2MClientsSearch searches the M2M clients.
	PathM2MClientsSearch = "/v1/m2m/clients/search"
)

// MaxResponseBytes caps how much of a response body the client reads.
const MaxResponseBytes = 1 << 20

// DefaultTimeout is the timeout of the private HTTP client used when
// Config.HTTPClient is nil.
const DefaultTimeout = 10 * time.Second

// Config configures a Client.
type Config struct {
	// ProjectID is the Stytch project id. Required. It selects the live
	// environment when it starts with "project-live-", else the test one.
	ProjectID string
	// Secret is the project secret. Required. It is sent only in the
	// Authorization header and never appears in an error or log.
	Secret string
	// BaseURL overrides the API base URL (a custom domain or an emulator).
	// Empty means the URL chosen from ProjectID. One trailing slash is trimmed.
	BaseURL string
	// HTTPClient sends the requests. Nil means a private client with
	// DefaultTimeout; a non-nil client is used as is.
	HTTPClient *http.Client
}

// Client calls the Stytch B2B sessions, RBAC and M2M APIs. It is safe for
// concurrent use.
type Client struct {
	// Sessions holds the session endpoints.
	Sessions *Sessions
	// RBAC holds the RBAC policy endpoints.
	RBAC *RBAC
	// M2M holds the M2M token endpoint and the M2M clients API.
	M2M *M2M

	projectID string
	baseURL   string
	authz     string
	http      *http.Client
}

// New validates cfg and returns a Client. It fails with an error wrapping
// ErrInvalidParams when ProjectID or Secret is empty or BaseURL is not an
// absolute http(s) URL.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.ProjectID) == "" {
		return nil, fmt.Errorf("client: %w: empty project id", ErrInvalidParams)
	}
	if cfg.Secret == "" {
		return nil, fmt.Errorf("client: %w: empty secret", ErrInvalidParams)
	}
	base, err := ResolveBaseURL(cfg.ProjectID, cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	c := &Client{
		projectID: cfg.ProjectID,
		baseURL:   base,
		authz:     basicAuth(cfg.ProjectID, cfg.Secret),
		http:      hc,
	}
	c.Sessions = &Sessions{c: c}
	c.RBAC = &RBAC{c: c}
	c.M2M = &M2M{c: c, Clients: &M2MClients{c: c}}
	return c, nil
}

// ResolveBaseURL returns the API base URL for projectID, or baseURL with its
// trailing slashes trimmed when it is not empty. It fails with an error
// wrapping ErrInvalidParams when baseURL is not an absolute http(s) URL.
func ResolveBaseURL(projectID, baseURL string) (string, error) {
	if baseURL == "" {
		if strings.HasPrefix(projectID, "project-live-") {
			return LiveBaseURL, nil
		}
		return TestBaseURL, nil
	}
	baseURL = strings.TrimRight(baseURL, "/")
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("client: %w: base URL must be an absolute http(s) URL", ErrInvalidParams)
	}
	return baseURL, nil
}

// ProjectID returns the project id the client was configured with.
func (c *Client) ProjectID() string { return c.projectID }

// BaseURL returns the normalised API base URL, without a trailing slash.
func (c *Client) BaseURL() string { return c.baseURL }

// HTTPClient returns the HTTP client the Client sends requests with.
func (c *Client) HTTPClient() *http.Client { return c.http }

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// do sends one request authenticated with the project credentials and
// decodes a 200/201 JSON body into out.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body any, header http.Header, out any) error {
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("client: %w: encoding request: %w", ErrInvalidParams, err)
		}
		rd = bytes.NewReader(b)
	}
	u := c.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("client: %w: building request: %w", ErrInvalidParams, err)
	}
	req.Header.Set("Authorization", c.authz)
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return c.roundTrip(req, path, decodeError, out)
}

// roundTrip sends req (adding the headers every request carries), reads the
// body through the size cap, and decodes a 200/201 JSON body into out; any
// other status goes through decodeErr. path names the endpoint in a
// TransportError.
func (c *Client) roundTrip(req *http.Request, path string, decodeErr func(*http.Response, []byte) error, out any) error {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	method := req.Method
	resp, err := c.http.Do(req)
	if err != nil {
		return &TransportError{Method: method, Path: path, Err: scrubURLError(err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return &TransportError{Method: method, Path: path, Err: err}
	}
	if len(data) > MaxResponseBytes {
		return noAnswerError(resp, "response body exceeds the size cap")
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return decodeErr(resp, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return noAnswerError(resp, "response body is not valid JSON")
	}
	return nil
}

// scrubURLError drops the URL from a *url.Error: it can carry a query
// string, and callers already know the endpoint from TransportError.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
