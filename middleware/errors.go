package middleware

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stytchguard/stytchguard/client"
)

// Category sentinels: every error the Guard hands to an ErrorHandler matches
// exactly one of them with errors.Is, and the category picks the status.
var (
	// ErrUnauthenticated is the 401 category: no credential, or one that is
	// malformed, forged, expired or revoked.
	// It wraps client.ErrSessionInvalid, where the category is defined.
	ErrUnauthenticated = fmt.Errorf("middleware: unauthenticated: %w", client.ErrSessionInvalid)
	// ErrForbidden is the 403 category: the session is valid but may not act
	// on the route's resource or organization.
	// It wraps client.ErrForbidden.
	ErrForbidden = fmt.Errorf("middleware: forbidden: %w", client.ErrForbidden)
	// ErrUnavailable is the 503 category: Stytch is needed to decide but is
	// unreachable, rate-limiting or behind an open circuit breaker. A user is
	// never logged out for it.
	// It wraps client.ErrUnavailable.
	ErrUnavailable = fmt.Errorf("middleware: authentication unavailable: %w", client.ErrUnavailable)
)

// Specific reasons, each under one category.
var (
	// ErrMissingCredentials: the request carries no session credential.
	ErrMissingCredentials = &reason{code: CodeMissingCredentials, category: ErrUnauthenticated, msg: "no session credential"}
	// ErrMalformedCredentials: a credential is present but has the shape of
	// neither a session JWT nor a session token, is too large, or is
	// ambiguous (several Authorization headers or duplicate cookies).
	ErrMalformedCredentials = &reason{code: CodeInvalidToken, category: ErrUnauthenticated, msg: "malformed session credential"}
	// ErrInvalidToken: the credential failed verification (signature,
	// algorithm, issuer, audience, claims, unknown key).
	ErrInvalidToken = &reason{code: CodeInvalidToken, category: ErrUnauthenticated, msg: "invalid session credential"}
	// ErrSessionExpired: Stytch answered that the session does not exist
	// (expired, revoked or unknown).
	ErrSessionExpired = &reason{code: CodeSessionExpired, category: ErrUnauthenticated, msg: "session expired or revoked"}
	// ErrTenancyMismatch: the route's organization is not the session's.
	// It also matches client.ErrTenancy.
	ErrTenancyMismatch = &reason{code: CodeTenancyMismatch, category: ErrForbidden, also: client.ErrTenancy, msg: "session belongs to another organization"}
	// ErrPermissionDenied: no role of the session grants the route's action.
	ErrPermissionDenied = &reason{code: CodeForbidden, category: ErrForbidden, msg: "session may not perform this action"}
	// ErrCrossOrigin: an unsafe method authenticated by cookies came from
	// another origin (http.CrossOriginProtection refused it).
	ErrCrossOrigin = &reason{code: CodeCrossOrigin, category: ErrForbidden, msg: "cross-origin request refused"}
	// ErrInsufficientAuth: the session's latest authentication is older
	// than the route allows (RequireRecentAuth); sign in again with a
	// factor.
	ErrInsufficientAuth = &reason{code: CodeInsufficientAuth, category: ErrUnauthenticated, msg: "more recent authentication required"}
	// ErrAuthUnavailable: Stytch could not be asked.
	ErrAuthUnavailable = &reason{code: CodeAuthUnavailable, category: ErrUnavailable, msg: "authentication service unavailable"}
)

// Stable error codes written in the "error" field of the JSON error body.
const (
	CodeMissingCredentials = "missing_credentials"
	CodeInvalidToken       = "invalid_token"
	CodeSessionExpired     = "session_expired"
	CodeForbidden          = "forbidden"
	CodeTenancyMismatch    = "tenancy_mismatch"
	CodeAuthUnavailable    = "auth_unavailable"
	CodeCrossOrigin        = "cross_origin"
	CodeInsufficientAuth   = "insufficient_user_authentication"
)

type reason struct {
	code     string
	category error
	also     error // a narrower category defined elsewhere, if any
	msg      string
}

func (r *reason) Error() string { return "middleware: " + r.msg }

// Unwrap returns r's category (and the narrower one it also belongs to), so
// errors.Is finds them and the client categories they wrap.
func (r *reason) Unwrap() []error {
	if r.also != nil {
		return []error{r.category, r.also}
	}
	return []error{r.category}
}

// Error is the error a Guard hands to its ErrorHandler. It carries the
// status, a stable code and a description that hold no credential.
type Error struct {
	// Status is 401, 403 or 503.
	Status int
	// Code is one of the Code constants.
	Code string
	// Description is a human-readable sentence for the error body. It
	// never contains a token, cookie or secret.
	Description string
	// RetryAfter is the delay suggested with a 503 (at least one second).
	RetryAfter time.Duration
	// MaxAge is the step-up bound of an ErrInsufficientAuth refusal, sent
	// as max_age in the challenge (RFC 9470).
	MaxAge time.Duration
	// Scope names what a 403 insufficient_scope refusal lacked: the
	// permission ("documents:write") or the M2M scopes, space-separated.
	Scope string
	// Reason is the specific sentinel (ErrInvalidToken, ...).
	Reason error
	// Cause is the underlying error from the verifier, rbac or client
	// packages, when there is one.
	Cause error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%v: %v", e.Reason, e.Cause)
	}
	return e.Reason.Error()
}

// Unwrap returns the reason and the cause, so errors.Is finds the category,
// the reason and whatever the cause matches.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Cause}
}

func newError(r *reason, desc string, cause error) *Error {
	status := http.StatusUnauthorized
	switch r.category {
	case ErrForbidden:
		status = http.StatusForbidden
	case ErrUnavailable:
		status = http.StatusServiceUnavailable
	}
	if desc == "" {
		desc = r.msg
	}
	return &Error{Status: status, Code: r.code, Description: desc, Reason: r, Cause: cause}
}

func stepUp(maxAge time.Duration, desc string) *Error {
	e := newError(ErrInsufficientAuth, desc, nil)
	e.MaxAge = maxAge
	return e
}

func unavailable(desc string, retryAfter time.Duration, cause error) *Error {
	e := newError(ErrAuthUnavailable, desc, cause)
	if retryAfter < time.Second {
		retryAfter = time.Second
	}
	e.RetryAfter = retryAfter
	return e
}

// ErrorHandler writes the response for a request the Guard refused. err is
// an *Error; match it with errors.Is against the category and reason
// sentinels.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

// DefaultRealm is the realm of the WWW-Authenticate header when Config.Realm
// is empty.
const DefaultRealm = "stytchguard"

// DefaultErrorHandler writes a JSON body {"error": code, "error_description":
// text} with the status of err's category: 401 with an RFC 6750
// WWW-Authenticate challenge carrying error="invalid_token", 403
// (insufficient_scope for a denied permission), or 503 with Retry-After.
// Any error that is not an *Error is answered 503 auth_unavailable, so a
// bug never logs a user out.
func DefaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, DefaultRealm, err)
}

func writeError(w http.ResponseWriter, realm string, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = unavailable("", 0, err)
	}
	desc := quotable(e.Description)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	switch e.Status {
	case http.StatusUnauthorized:
		// Every 401, a missing credential included, carries
		// error="invalid_token" (the project's decision flow, step 7; RFC
		// 6750 §3.1 only advises against it for a missing one), so a client
		// has one rule: on this challenge, sign in again. The body's code
		// still tells missing_credentials apart.
		if e.Code == CodeInsufficientAuth {
			// RFC 9470: keep the session, ask for a fresher authentication.
			h.Set("WWW-Authenticate", `Bearer realm="`+realm+`", error="insufficient_user_authentication", error_description="`+desc+
				`", max_age=`+strconv.FormatInt(int64(e.MaxAge/time.Second), 10))
			break
		}
		h.Set("WWW-Authenticate", `Bearer realm="`+realm+`", error="invalid_token", error_description="`+desc+`"`)
	case http.StatusForbidden:
		if e.Code == CodeForbidden {
			c := `Bearer realm="` + realm + `", error="insufficient_scope"`
			if sc := quotable(e.Scope); sc != "" {
				c += `, scope="` + sc + `"`
			}
			h.Set("WWW-Authenticate", c)
		}
	case http.StatusServiceUnavailable:
		secs := int(e.RetryAfter.Round(time.Second) / time.Second)
		if secs < 1 {
			secs = 1
		}
		h.Set("Retry-After", strconv.Itoa(secs))
	}
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{e.Code, desc})
}

// quotable keeps of s only what RFC 6750 section 3 allows in
// error_description (printable ASCII, %x20-21 / %x23-5B / %x5D-7E: no quote,
// no backslash, no control character, nothing beyond ASCII), so that a
// description, which a custom extractor or an upstream answer may have
// written, cannot break the challenge or smuggle bytes into it.
func quotable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}
