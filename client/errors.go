package client

import (
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
	// ErrBadRequest means Stytch rejected the request as malformed (a 4xx not
	// covered by the categories above).
	ErrBadRequest = errors.New("client: bad request")
)

// Error is a failure answered by the Stytch API (any status other than 200 or
// 201). StatusCode is the HTTP status, which overrides the body's
// status_code. Error bodies that are not JSON still give an *Error, with an
// empty ErrorType and a message saying so.
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
		return !e.noAnswer && credentialErrorTypes[e.ErrorType]
	case ErrForbidden:
		return !e.noAnswer && e.StatusCode == http.StatusForbidden && strings.HasPrefix(e.ErrorType, "session_authorization")
	case ErrTenancy:
		return !e.noAnswer && e.StatusCode == http.StatusForbidden && e.ErrorType == ErrorTypeTenancy
	case ErrSessionInvalid:
		if e.noAnswer || credentialErrorTypes[e.ErrorType] {
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
			!e.Is(ErrForbidden) && !e.Is(ErrSessionInvalid)
	}
	return false
}

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
