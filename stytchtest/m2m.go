package stytchtest

import (
	"bytes"
	"cmp"
	"crypto/rsa"
	"crypto/subtle"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/stytchguard/stytchguard/client"
)

// m2mTokenLifetime is the lifetime of every M2M access token (§8.3).
const m2mTokenLifetime = time.Duration(client.M2MTokenLifetime) * time.Second

// minM2MSecretLength is the shortest client secret a caller may choose.
const minM2MSecretLength = 8

// m2mReservedClaims are the claim names an M2M client's custom claims may
// not use: the registered ones and scope.
var m2mReservedClaims = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope"}

// M2MClientSpec describes an M2M client for NewM2MClient. Every field is
// optional.
type M2MClientSpec struct {
	// ClientID is the client's id; "" generates "m2m-client-test-<uuid>".
	// It may not contain whitespace, '/' or ':' (it travels in URL paths
	// and as an HTTP Basic user name).
	ClientID string
	// Scopes are the scopes the client holds, each "action:resource" (or
	// any string without whitespace); duplicates are dropped. A token
	// request without a scope parameter gets all of them.
	Scopes []string
	// CustomClaims are copied as top-level claims into every access token
	// of the client, as the custom-claim templates of a real project are.
	// They may not use the registered claim names, scope, or names under
	// https://stytch.com/, and must fit in 4 KB of JSON.
	CustomClaims map[string]any
	// ClientSecret is the client's secret; "" generates 44 random base64url
	// characters. A chosen secret has at least 8 characters.
	ClientSecret string
	// ClientName and ClientDescription are the client's human-readable
	// name and description, as the M2M clients API returns them.
	ClientName, ClientDescription string
}

// m2mClient is an M2M client held by the server.
type m2mClient struct {
	id, secret        string
	name, description string
	active            bool
	scopes            []string
	trusted           map[string]any
	claims            map[string]any
	seq               uint64 // creation order, for search
}

// NewM2MClient creates an active M2M client as spec describes and returns
// its id and secret, which the token endpoint
// (POST /v1/public/{project_id}/oauth2/token) accepts from then on. It
// returns an error wrapping ErrInvalidSpec when the id is taken or
// malformed, a scope is empty or contains whitespace, the secret is shorter
// than 8 characters, or the custom claims break the rules of
// M2MClientSpec.CustomClaims. It is safe for concurrent use.
func (s *Server) NewM2MClient(spec M2MClientSpec) (clientID, clientSecret string, err error) {
	claims, err := normalizeClaims(spec.CustomClaims)
	if err != nil {
		return "", "", fmt.Errorf("%w: custom claims: %v", ErrInvalidSpec, err)
	}
	if e := checkM2MClaims(claims); e != nil {
		return "", "", fmt.Errorf("%w: custom claims: %s", ErrInvalidSpec, e.message)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.addM2MClientLocked(spec.ClientID, spec.ClientSecret, spec.ClientName, spec.ClientDescription, spec.Scopes, nil, claims)
	if e != nil {
		return "", "", fmt.Errorf("%w: %s", ErrInvalidSpec, e.message)
	}
	return m.id, m.secret, nil
}

// checkM2MClaims rejects custom claims that an access token could not carry.
func checkM2MClaims(claims map[string]any) *apiError {
	for k := range claims {
		if slices.Contains(m2mReservedClaims[:], k) {
			return &apiError{http.StatusBadRequest, "reserved_claims_in_custom_claims", "Custom claims may not use the reserved claim " + k + "."}
		}
		if strings.HasPrefix(k, stytchClaimPrefix) {
			return &apiError{http.StatusBadRequest, "stytch_claims_in_custom_claims", "Custom claims may not use names under " + stytchClaimPrefix + "."}
		}
	}
	return finishClaims(claims)
}

// validM2MClientID reports whether id can be a client id: printable, no
// whitespace and no slash (it travels in URL paths and Basic auth).
func validM2MClientID(id string) bool {
	return id != "" && len(id) <= 200 && !strings.ContainsFunc(id, func(r rune) bool {
		return r == '/' || r == ':' || unicode.IsSpace(r) || !unicode.IsPrint(r)
	})
}

// m2mScopes checks and deduplicates a client's scopes.
func m2mScopes(scopes []string) ([]string, *apiError) {
	out := []string{}
	for _, sc := range scopes {
		if sc == "" || strings.ContainsFunc(sc, unicode.IsSpace) {
			return nil, &apiError{http.StatusBadRequest, "invalid_m2m_client_scope", "A scope is empty or contains whitespace."}
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// addM2MClientLocked creates a client; "" id and secret are generated.
// s.mu must be held.
func (s *Server) addM2MClientLocked(id, secret, name, description string, scopes []string, trusted, claims map[string]any) (*m2mClient, *apiError) {
	if id == "" {
		id = s.newID("m2m-client")
	}
	if !validM2MClientID(id) {
		return nil, &apiError{http.StatusBadRequest, "m2m_client_invalid_client_id", "The client_id may not contain whitespace, '/' or ':'."}
	}
	if _, taken := s.m2mClients[id]; taken {
		return nil, &apiError{http.StatusBadRequest, "duplicate_m2m_client_id", "An M2M client with this client_id already exists."}
	}
	if secret == "" {
		secret = newOpaqueToken()
	} else if len(secret) < minM2MSecretLength {
		return nil, &apiError{http.StatusBadRequest, "insecure_m2m_client_secret", "The client_secret must be at least 8 characters long."}
	}
	sc, e := m2mScopes(scopes)
	if e != nil {
		return nil, e
	}
	if trusted == nil {
		trusted = map[string]any{}
	}
	if claims == nil {
		claims = map[string]any{}
	}
	s.m2mSeq++
	m := &m2mClient{id: id, secret: secret, name: name, description: description, active: true,
		scopes: sc, trusted: trusted, claims: claims, seq: s.m2mSeq}
	s.m2mClients[id] = m
	return m, nil
}

func (m *m2mClient) wire() wireM2MClient {
	status := client.M2MClientStatusActive
	if !m.active {
		status = client.M2MClientStatusInactive
	}
	return wireM2MClient{
		ClientID:             m.id,
		ClientName:           m.name,
		ClientDescription:    m.description,
		Status:               status,
		Scopes:               slices.Clone(m.scopes),
		ClientSecretLastFour: m.secret[len(m.secret)-4:],
		TrustedMetadata:      deepCopyMap(m.trusted),
	}
}

// --- the token endpoint ------------------------------------------------------

// tokenRequest is a parsed request of the token endpoint.
type tokenRequest struct {
	grantType string
	scope     string
	// ids and secrets are the candidate credentials: one pair, or for
	// HTTP Basic the raw pair and its form-decoded variant (RFC 6749
	// §2.3.1 form-encodes them before Basic; not every client does).
	ids, secrets []string
	basic        bool
}

func oauthError(status int, code, description string) *apiError {
	return &apiError{status, code, description}
}

var errInvalidClient = oauthError(http.StatusUnauthorized, client.ErrorTypeInvalidClient,
	"Client authentication failed: the client is unknown, inactive, or its secret is wrong.")

// parseTokenRequest reads the body (a form, or a JSON object) and the
// Basic credentials of a token request.
func parseTokenRequest(c *call) (tokenRequest, *apiError) {
	var req tokenRequest
	params, e := tokenParams(c)
	if e != nil {
		return req, e
	}
	req.grantType = params["grant_type"]
	req.scope = params["scope"]
	bodyID, bodySecret := params["client_id"], params["client_secret"]
	if user, pass, ok := c.r.BasicAuth(); ok {
		req.basic = true
		if _, dup := params["client_secret"]; dup {
			return req, oauthError(http.StatusBadRequest, client.ErrorTypeInvalidRequest,
				"The client authenticated with both HTTP Basic and client_secret; use one method.")
		}
		req.ids, req.secrets = []string{user}, []string{pass}
		if u, err := url.QueryUnescape(user); err == nil && u != user {
			req.ids = append(req.ids, u)
		}
		if p, err := url.QueryUnescape(pass); err == nil && p != pass {
			req.secrets = append(req.secrets, p)
		}
		if bodyID != "" && !slices.Contains(req.ids, bodyID) {
			return req, oauthError(http.StatusBadRequest, client.ErrorTypeInvalidRequest,
				"The client_id of the body differs from the HTTP Basic user.")
		}
		return req, nil
	}
	if bodyID != "" {
		req.ids = []string{bodyID}
	}
	if bodySecret != "" {
		req.secrets = []string{bodySecret}
	}
	return req, nil
}

// tokenParams returns the parameters of a token request body, which may
// be application/x-www-form-urlencoded or application/json (a missing
// Content-Type is guessed from the first byte).
func tokenParams(c *call) (map[string]string, *apiError) {
	bad := func(msg string) *apiError {
		return oauthError(http.StatusBadRequest, client.ErrorTypeInvalidRequest, msg)
	}
	body := bytes.TrimSpace(c.body)
	media := ""
	if ct := c.r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, bad("The Content-Type header cannot be parsed.")
		}
		media = mt
	} else if len(body) > 0 && body[0] == '{' {
		media = "application/json"
	} else {
		media = "application/x-www-form-urlencoded"
	}
	out := map[string]string{}
	switch media {
	case "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, bad("The form body cannot be parsed.")
		}
		for k, vs := range vals {
			if len(vs) > 1 {
				return nil, bad("The parameter " + k + " is repeated.")
			}
			out[k] = vs[0]
		}
	case "application/json":
		var m map[string]any
		if err := decodeJSON(body, &m); err != nil || m == nil {
			return nil, bad("The JSON body is not an object.")
		}
		for k, v := range m {
			switch x := v.(type) {
			case string:
				out[k] = x
			case nil:
			default:
				if k == "grant_type" || k == "client_id" || k == "client_secret" || k == "scope" {
					return nil, bad("The parameter " + k + " must be a string.")
				}
			}
		}
	default:
		return nil, bad("The body must be application/x-www-form-urlencoded or application/json.")
	}
	return out, nil
}

// preparedToken is an access token made under s.mu and signed after.
type preparedToken struct {
	claims map[string]any
	key    *rsa.PrivateKey
	kid    string
}

func (s *Server) handleM2MToken(c *call) (any, *apiError) {
	req, e := parseTokenRequest(c)
	if e != nil {
		return nil, e
	}
	switch req.grantType {
	case "":
		return nil, oauthError(http.StatusBadRequest, client.ErrorTypeInvalidRequest, "The grant_type parameter is required.")
	case "client_credentials":
	default:
		return nil, oauthError(http.StatusBadRequest, client.ErrorTypeUnsupportedGrantType, "Only the client_credentials grant type is supported.")
	}
	tok, e := s.prepareM2MToken(c.param, req)
	if e != nil {
		if e.status == http.StatusUnauthorized && req.basic {
			// RFC 6749 §5.2: a failed Basic authentication is challenged.
			c.header().Set("WWW-Authenticate", `Basic realm="stytch"`)
		}
		return nil, e
	}
	signed, err := signJWT(jwtHeader(tok.kid), tok.claims, tok.key)
	if err != nil {
		return nil, oauthError(http.StatusInternalServerError, "server_error", "The access token could not be signed.")
	}
	c.header().Set("Cache-Control", "no-store")
	c.header().Set("Pragma", "no-cache")
	return m2mTokenResponse{meta: c.meta(), AccessToken: signed, TokenType: "bearer", ExpiresIn: client.M2MTokenLifetime}, nil
}

// prepareM2MToken authenticates the client of req for the project in the
// path and builds the claims of its token (§8.3) with the current key.
func (s *Server) prepareM2MToken(projectID string, req tokenRequest) (preparedToken, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if projectID != s.ProjectID || len(req.ids) == 0 || len(req.secrets) == 0 {
		return preparedToken{}, errInvalidClient // another project knows none of our clients
	}
	var m *m2mClient
	for _, id := range req.ids {
		if found, ok := s.m2mClients[id]; ok {
			m = found
			break
		}
	}
	if m == nil || !m.active || !secretMatches(m.secret, req.secrets) {
		return preparedToken{}, errInvalidClient
	}
	scopes := slices.Clone(m.scopes)
	if asked := strings.Fields(req.scope); len(asked) > 0 {
		scopes = scopes[:0:0]
		for _, sc := range asked {
			if !slices.Contains(m.scopes, sc) {
				return preparedToken{}, oauthError(http.StatusBadRequest, client.ErrorTypeInvalidScope,
					"The requested scope is not granted to the client.")
			}
			if !slices.Contains(scopes, sc) {
				scopes = append(scopes, sc)
			}
		}
	}
	now := s.nowSec()
	claims := deepCopyMap(m.claims)
	claims["sub"] = m.id
	claims["iss"] = s.issuer
	claims["aud"] = []string{s.ProjectID}
	claims["scope"] = strings.Join(scopes, " ")
	claims["iat"] = now.Unix()
	claims["nbf"] = now.Unix()
	claims["exp"] = now.Add(m2mTokenLifetime).Unix()
	return preparedToken{claims: claims, key: s.signKey, kid: s.signKID}, nil
}

// secretMatches compares in constant time per candidate.
func secretMatches(secret string, candidates []string) bool {
	ok := 0
	for _, c := range candidates {
		ok |= subtle.ConstantTimeCompare([]byte(secret), []byte(c))
	}
	return ok == 1
}

// --- the M2M clients API -------------------------------------------------------

var errM2MClientNotFound = &apiError{http.StatusNotFound, "m2m_client_not_found", "M2M client could not be found."}

func (s *Server) handleM2MCreate(c *call) (any, *apiError) {
	var req struct {
		ClientID          string         `json:"client_id"`
		ClientSecret      string         `json:"client_secret"`
		ClientName        string         `json:"client_name"`
		ClientDescription string         `json:"client_description"`
		Scopes            []string       `json:"scopes"`
		TrustedMetadata   map[string]any `json:"trusted_metadata"`
	}
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.addM2MClientLocked(req.ClientID, req.ClientSecret, req.ClientName, req.ClientDescription, req.Scopes, req.TrustedMetadata, nil)
	if e != nil {
		return nil, e
	}
	return m2mClientSecretResponse{meta: c.meta(), M2MClient: wireM2MClientWithSecret{wireM2MClient: m.wire(), ClientSecret: m.secret}}, nil
}

func (s *Server) handleM2MGet(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.m2mClients[c.param]
	if !ok {
		return nil, errM2MClientNotFound
	}
	return m2mClientResponse{meta: c.meta(), M2MClient: m.wire()}, nil
}

func (s *Server) handleM2MUpdate(c *call) (any, *apiError) {
	var req struct {
		ClientName        *string        `json:"client_name"`
		ClientDescription *string        `json:"client_description"`
		Status            *string        `json:"status"`
		Scopes            *[]string      `json:"scopes"`
		TrustedMetadata   map[string]any `json:"trusted_metadata"`
	}
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	var scopes []string
	if req.Scopes != nil {
		var e *apiError
		if scopes, e = m2mScopes(*req.Scopes); e != nil {
			return nil, e
		}
	}
	if req.Status != nil && *req.Status != client.M2MClientStatusActive && *req.Status != client.M2MClientStatusInactive {
		return nil, &apiError{http.StatusBadRequest, "m2m_client_invalid_status", `The status must be "active" or "inactive".`}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.m2mClients[c.param]
	if !ok {
		return nil, errM2MClientNotFound
	}
	if req.ClientName != nil {
		m.name = *req.ClientName
	}
	if req.ClientDescription != nil {
		m.description = *req.ClientDescription
	}
	if req.Status != nil {
		m.active = *req.Status == client.M2MClientStatusActive
	}
	if req.Scopes != nil {
		m.scopes = scopes
	}
	if req.TrustedMetadata != nil {
		m.trusted = req.TrustedMetadata
	}
	return m2mClientResponse{meta: c.meta(), M2MClient: m.wire()}, nil
}

func (s *Server) handleM2MDelete(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m2mClients[c.param]; !ok {
		return nil, errM2MClientNotFound
	}
	delete(s.m2mClients, c.param)
	return m2mDeleteResponse{meta: c.meta(), ClientID: c.param}, nil
}

// Search paging.
const (
	defaultM2MSearchLimit = 100
	maxM2MSearchLimit     = 1000
)

// m2mFilter is one operand of a search query.
type m2mFilter struct {
	name   string
	values []string
}

func (f m2mFilter) match(m *m2mClient) bool {
	switch f.name {
	case "client_id":
		return slices.Contains(f.values, m.id)
	case "client_name":
		return slices.Contains(f.values, m.name)
	default: // scopes
		return slices.ContainsFunc(m.scopes, func(sc string) bool { return slices.Contains(f.values, sc) })
	}
}

func parseM2MFilter(op map[string]any) (m2mFilter, *apiError) {
	bad := func(typ, msg string) (m2mFilter, *apiError) {
		return m2mFilter{}, &apiError{http.StatusBadRequest, typ, msg}
	}
	rawName, ok := op["filter_name"]
	if !ok {
		return bad("m2m_search_missing_filter_name", "Every operand needs a filter_name.")
	}
	name, ok := rawName.(string)
	if !ok {
		return bad("m2m_search_filter_name_must_be_string", "filter_name must be a string.")
	}
	if name != "client_id" && name != "client_name" && name != "scopes" {
		return bad("m2m_search_filter_name_not_recognized", "filter_name must be client_id, client_name or scopes.")
	}
	rawValue, ok := op["filter_value"]
	if !ok {
		return bad("m2m_search_missing_filter_value", "Every operand needs a filter_value.")
	}
	list, ok := rawValue.([]any)
	if !ok {
		return bad("m2m_search_expected_array_of_strings", "filter_value must be an array of strings.")
	}
	f := m2mFilter{name: name}
	for _, v := range list {
		str, ok := v.(string)
		if !ok {
			return bad("m2m_search_expected_array_of_strings", "filter_value must be an array of strings.")
		}
		f.values = append(f.values, str)
	}
	return f, nil
}

func (s *Server) handleM2MSearch(c *call) (any, *apiError) {
	var req struct {
		Cursor string `json:"cursor"`
		Limit  *int64 `json:"limit"`
		Query  *struct {
			Operator string           `json:"operator"`
			Operands []map[string]any `json:"operands"`
		} `json:"query"`
	}
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	limit := int64(defaultM2MSearchLimit)
	if req.Limit != nil && *req.Limit > 0 {
		limit = min(*req.Limit, maxM2MSearchLimit)
	}
	if req.Limit != nil && *req.Limit < 0 {
		return nil, &apiError{http.StatusBadRequest, "invalid_request_value", "limit may not be negative."}
	}
	offset := 0
	if req.Cursor != "" {
		var ok bool
		if offset, ok = decodeCursor(req.Cursor); !ok {
			return nil, &apiError{http.StatusBadRequest, "invalid_request_value", "The cursor is not one this API returned."}
		}
	}
	and := true
	var filters []m2mFilter
	if q := req.Query; q != nil {
		switch q.Operator {
		case string(client.M2MSearchQueryOperatorAND):
		case string(client.M2MSearchQueryOperatorOR):
			and = false
		default:
			return nil, &apiError{http.StatusBadRequest, "invalid_request_value", `The query operator must be "AND" or "OR".`}
		}
		for _, op := range q.Operands {
			f, e := parseM2MFilter(op)
			if e != nil {
				return nil, e
			}
			filters = append(filters, f)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var matched []*m2mClient
	for _, m := range s.m2mClients {
		ok := and || len(filters) == 0
		for _, f := range filters {
			if and {
				ok = ok && f.match(m)
			} else {
				ok = ok || f.match(m)
			}
		}
		if ok {
			matched = append(matched, m)
		}
	}
	slices.SortFunc(matched, func(a, b *m2mClient) int { return cmp.Compare(a.seq, b.seq) })
	page := []wireM2MClient{}
	for i := offset; i < len(matched) && int64(i-offset) < limit; i++ {
		page = append(page, matched[i].wire())
	}
	meta := wireResultsMetadata{Total: len(matched)}
	if next := offset + len(page); next < len(matched) {
		cur := encodeCursor(next)
		meta.NextCursor = &cur
	}
	return m2mSearchResponse{meta: c.meta(), M2MClients: page, ResultsMetadata: meta}, nil
}

// encodeCursor and decodeCursor turn a search offset into an opaque
// cursor and back.
func encodeCursor(offset int) string {
	return "cursor-" + fmt.Sprint(offset)
}

func decodeCursor(cur string) (int, bool) {
	var n int
	if _, err := fmt.Sscanf(cur, "cursor-%d", &n); err != nil || n < 0 || encodeCursor(n) != cur {
		return 0, false
	}
	return n, true
}
