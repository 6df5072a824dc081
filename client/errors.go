package client

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Category sentinels. Every error the client returns matches at most one of
// them with errors.Is.
var (
	// ErrSessionInvalid means Stytch gave a definite answer that the session
	// credential is not valid: 404 session_not_found (or
	// intermediate_session_not_found), 401 other than the project-credential
	// errors, and 400 answers about the session token or JWT. Other 404s
	// (a wrong base URL behind a JSON-speaking gateway, member_not_found...)
	// are ErrBadRequest: they say nothing about the session.
	ErrSessionInvalid = errors.New("client: session invalid")
	// ErrForbidden means Stytch refused an authorization check: 403 with
	// error_type session_authorization_error or
	// session_authorization_tenancy_error. Other 403s are ErrBadRequest.
	ErrForbidden = errors.New("client: forbidden")
	// ErrTenancy means an authorization check named another organization
	// than the subject's: 403 session_authorization_tenancy_error. It is a
	// kind of ErrForbidden: errors.Is(ErrTenancy, ErrForbidden) holds.
	ErrTenancy = fmt.Errorf("client: organization mismatch: %w", ErrForbidden)
	// ErrUnavailable means Stytch could not give an answer: 5xx, 429, a
	// timeout, a transport failure or a body that is not JSON. Retrying
	// later can succeed.
	ErrUnavailable = errors.New("client: stytch unavailable")
	// ErrUnauthorizedCredentials means Stytch rejected the project id or
	// secret this client sends (401 unauthorized_credentials and kin).
	ErrUnauthorizedCredentials = errors.New("client: project credentials rejected")
	// ErrInvalidParams means a request failed client-side validation; no
	// request was sent.
	ErrInvalidParams = errors.New("client: invalid parameters")
	// ErrInvalidClient means the M2M token endpoint refused the M2M
	// client itself: any 401 of that endpoint (invalid_client: unknown
	// client, wrong client secret, deactivated or deleted client) and
	// unauthorized_client. Asking again with the same credentials fails
	// again. It says nothing about any session and nothing about the
	// project secret, so it is neither ErrSessionInvalid nor
	// ErrUnauthorizedCredentials.
	ErrInvalidClient = errors.New("client: m2m client rejected")
	// ErrBadRequest means Stytch rejected the request as malformed (a 4xx not
	// covered by the categories above). For the M2M token endpoint that is
	// invalid_request, unsupported_grant_type, invalid_grant and
	// invalid_scope (a scope the client does not hold).
	ErrBadRequest = errors.New("client: bad request")
)

// Error is a failure answered by the Stytch API (any status other than 200 or
// 201). StatusCode is the HTTP status, which overrides the body's
// status_code. Error bodies that are not JSON still give an *Error, with an
// empty ErrorType and a message saying so.
//
// The M2M token endpoint answers in the OAuth 2.0 shape (RFC 6749 §5.2)
// instead: its "error" becomes ErrorType, "error_description" ErrorMessage
// and "error_uri" ErrorURL, so the server's error code and description are
// kept as they were sent.
type Error struct {
	StatusCode   int            `json:"status_code"`
	RequestID    string         `json:"request_id"`
	ErrorType    string         `json:"error_type"`
	ErrorMessage string         `json:"error_message"`
	ErrorURL     string         `json:"error_url"`
	ErrorDetails map[string]any `json:"error_details,omitempty"`
	// RetryAfter is the delay the Retry-After header asked for (429 and
	// 503), zero when absent.
	RetryAfter time.Duration `json:"-"`

	// noAnswer marks a response whose body could not be read as a Stytch
	// answer (not JSON, or over the size cap).
	noAnswer bool
	// oauth2 marks an answer of the M2M token endpoint, which speaks OAuth
	// 2.0 rather than the session API.
	oauth2 bool
}

// Error implements error. It holds no credential: Stytch error bodies do not
// echo tokens, and the client never adds any.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "client: stytch error: status %d", e.StatusCode)
	if e.ErrorType != "" {
		fmt.Fprintf(&b, ", type %s", e.ErrorType)
	}
	if e.ErrorMessage != "" {
		fmt.Fprintf(&b, ": %s", e.ErrorMessage)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request %s)", e.RequestID)
	}
	return b.String()
}

// Error types of an authorization refusal, as the Stytch API answers them
// with HTTP 403.
const (
	// ErrorTypeTenancy: the check's organization is not the subject's.
	ErrorTypeTenancy = "session_authorization_tenancy_error"
	// ErrorTypePermission: no role of the subject grants the action.
	ErrorTypePermission = "session_authorization_error"
)

// credentialErrorTypes are error types that blame the project credentials,
// not the session.
var credentialErrorTypes = map[string]bool{
	"unauthorized_credentials":      true,
	"invalid_secret_authentication": true,
	"unauthorized_project_id_test":  true,
	"unauthorized_project_id_live":  true,
	"invalid_authorization_header":  true,
	"invalid_project_id":            true,
}

// OAuth 2.0 error codes of the M2M token endpoint (RFC 6749 §5.2).
const (
	// ErrorTypeInvalidRequest: a required parameter is missing or repeated,
	// or the request is malformed (HTTP 400).
	ErrorTypeInvalidRequest = "invalid_request"
	// ErrorTypeInvalidClient: the client is unknown, its secret is wrong,
	// it is not active, or no client authentication was sent (HTTP 401).
	ErrorTypeInvalidClient = "invalid_client"
	// ErrorTypeInvalidGrant: the grant is invalid (HTTP 400).
	ErrorTypeInvalidGrant = "invalid_grant"
	// ErrorTypeUnauthorizedClient: the client may not use this grant type
	// (HTTP 400).
	ErrorTypeUnauthorizedClient = "unauthorized_client"
	// ErrorTypeUnsupportedGrantType: grant_type is not client_credentials
	// (HTTP 400).
	ErrorTypeUnsupportedGrantType = "unsupported_grant_type"
	// ErrorTypeInvalidScope: a requested scope is not one of the client's
	// (HTTP 400).
	ErrorTypeInvalidScope = "invalid_scope"
)

// oauth2ErrorTypes are the OAuth 2.0 error codes: answers of the token
// endpoint, never about a session.
var oauth2ErrorTypes = map[string]bool{
	ErrorTypeInvalidRequest:       true,
	ErrorTypeInvalidClient:        true,
	ErrorTypeInvalidGrant:         true,
	ErrorTypeUnauthorizedClient:   true,
	ErrorTypeUnsupportedGrantType: true,
	ErrorTypeInvalidScope:         true,
}

// sessionNotFoundTypes are the 404 answers that mean the session is gone.
var sessionNotFoundTypes = map[string]bool{
	"session_not_found":              true,
	"intermediate_session_not_found": true,
}

// sessionErrorTypes are 400 answers that mean the session credential is bad.
var sessionErrorTypes = map[string]bool{
	"invalid_session_token":       true,
	"invalid_session_id":          true,
	"unable_to_parse_session_jwt": true,
	"jwt_invalid_audience":        true,
	"jwt_invalid_issuer":          true,
	"jwt_invalid_claims":          true,
	"invalid_session_jwt":         true,
}

// Is reports whether e belongs to the category target.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnavailable:
		return e.noAnswer || e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests
	case ErrUnauthorizedCredentials:
		return !e.noAnswer && !e.isOAuth2() && credentialErrorTypes[e.ErrorType]
	case ErrInvalidClient:
		return !e.noAnswer && e.isOAuth2() && !e.Is(ErrUnavailable) &&
			(e.StatusCode == http.StatusUnauthorized || e.ErrorType == ErrorTypeInvalidClient || e.ErrorType == ErrorTypeUnauthorizedClient)
	case ErrForbidden:
		return !e.noAnswer && !e.isOAuth2() && e.StatusCode == http.StatusForbidden && strings.HasPrefix(e.ErrorType, "session_authorization")
	case ErrTenancy:
		return !e.noAnswer && !e.isOAuth2() && e.StatusCode == http.StatusForbidden && e.ErrorType == ErrorTypeTenancy
	case ErrSessionInvalid:
		if e.noAnswer || e.isOAuth2() || credentialErrorTypes[e.ErrorType] {
			return false
		}
		switch {
		case e.StatusCode == http.StatusNotFound:
			return sessionNotFoundTypes[e.ErrorType]
		case e.StatusCode == http.StatusUnauthorized:
			return true
		case e.StatusCode == http.StatusBadRequest:
			return sessionErrorTypes[e.ErrorType]
		}
	case ErrBadRequest:
		return e.StatusCode >= 400 && e.StatusCode < 500 && !e.Is(ErrUnavailable) && !e.Is(ErrUnauthorizedCredentials) &&
			!e.Is(ErrForbidden) && !e.Is(ErrSessionInvalid) && !e.Is(ErrInvalidClient)
	}
	return false
}

// isOAuth2 reports whether e is an answer of the M2M token endpoint: decoded
// from it, or carrying an OAuth 2.0 error code.
func (e *Error) isOAuth2() bool { return e.oauth2 || oauth2ErrorTypes[e.ErrorType] }

// TransportError is a request that got no HTTP answer (connection refused,
// reset, timeout, cancelled context). It matches ErrUnavailable, and the
// context errors when the context ended.
type TransportError struct {
	Method, Path string
	Err          error
}

// Error implements error.
func (e *TransportError) Error() string {
	return fmt.Sprintf("client: %s %s: %v", e.Method, e.Path, e.Err)
}

// Unwrap returns the underlying cause.
func (e *TransportError) Unwrap() error { return e.Err }

// Is reports that a TransportError belongs to ErrUnavailable.
func (e *TransportError) Is(target error) bool { return target == ErrUnavailable }

// Timeout reports whether the request timed out.
func (e *TransportError) Timeout() bool {
	if errors.Is(e.Err, context.DeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(e.Err, &t) && t.Timeout()
}

// RetryAfter returns the delay Stytch asked for with Retry-After, when err
// carries one.
func RetryAfter(err error) (time.Duration, bool) {
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter, true
	}
	return 0, false
}

// decodeError turns a non-200/201 response into an *Error. The HTTP status
// overrides the body's status_code.
func decodeError(resp *http.Response, data []byte) error {
	var e Error
	if err := json.Unmarshal(data, &e); err != nil || (e.ErrorType == "" && e.ErrorMessage == "") {
		return noAnswerError(resp, "error body is not a Stytch JSON error")
	}
	e.StatusCode = resp.StatusCode
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return &e
}

// oauth2ErrorBody is the error body of the M2M token endpoint.
type oauth2ErrorBody struct {
	StatusCode       int    `json:"status_code"`
	RequestID        string `json:"request_id"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorURI         string `json:"error_uri"`
	// The session API's names, for an answer that comes from the API's
	// front (rate limiting, outages) rather than from the OAuth server.
	ErrorType    string `json:"error_type"`
	ErrorMessage string `json:"error_message"`
	ErrorURL     string `json:"error_url"`
}

// decodeOAuth2Error turns a non-200/201 answer of the M2M token endpoint
// into an *Error: the OAuth 2.0 names first, the session API's names when
// those are absent.
func decodeOAuth2Error(resp *http.Response, data []byte) error {
	var b oauth2ErrorBody
	if err := json.Unmarshal(data, &b); err != nil {
		return noAnswerError(resp, "error body is not a Stytch JSON error")
	}
	e := &Error{
		StatusCode:   resp.StatusCode,
		RequestID:    b.RequestID,
		ErrorType:    cmp.Or(b.Error, b.ErrorType),
		ErrorMessage: cmp.Or(b.ErrorDescription, b.ErrorMessage),
		ErrorURL:     cmp.Or(b.ErrorURI, b.ErrorURL),
		RetryAfter:   parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		oauth2:       true,
	}
	if e.ErrorType == "" && e.ErrorMessage == "" {
		return noAnswerError(resp, "error body is not a Stytch JSON error")
	}
	return e
}

// noAnswerError is an *Error for a response that carries no usable Stytch
// answer; it matches ErrUnavailable.
func noAnswerError(resp *http.Response, msg string) *Error {
	return &Error{
		StatusCode:   resp.StatusCode,
		ErrorMessage: msg,
		RetryAfter:   parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		noAnswer:     true,
	}
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
