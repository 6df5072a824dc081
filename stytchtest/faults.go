package stytchtest

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Endpoint names one endpoint of the emulated API, for fault injection and
// call counting.
type Endpoint string

// The endpoints of the emulated API.
const (
	// EndpointAuthenticate is POST /v1/b2b/sessions/authenticate.
	EndpointAuthenticate Endpoint = "authenticate"
	// EndpointGet is GET /v1/b2b/sessions.
	EndpointGet Endpoint = "get"
	// EndpointExchange is POST /v1/b2b/sessions/exchange.
	EndpointExchange Endpoint = "exchange"
	// EndpointMigrate is POST /v1/b2b/sessions/migrate.
	EndpointMigrate Endpoint = "migrate"
	// EndpointRevoke is POST /v1/b2b/sessions/revoke.
	EndpointRevoke Endpoint = "revoke"
	// EndpointJWKS is GET /v1/b2b/sessions/jwks/{project_id}.
	EndpointJWKS Endpoint = "jwks"
	// EndpointPolicy is GET /v1/b2b/rbac/policy.
	EndpointPolicy Endpoint = "policy"
	// EndpointOrgPolicy is GET and PUT /v1/b2b/rbac/organizations/{organization_id}.
	EndpointOrgPolicy Endpoint = "org_policy"
	// EndpointM2MToken is POST /v1/public/{project_id}/oauth2/token. Its
	// errors, faults included, have the OAuth 2.0 body {status_code,
	// request_id, error, error_description, error_uri}.
	EndpointM2MToken Endpoint = "m2m_token"
	// EndpointM2MClients is the M2M clients API: POST /v1/m2m/clients,
	// POST /v1/m2m/clients/search, and GET, PUT and DELETE
	// /v1/m2m/clients/{client_id}.
	EndpointM2MClients Endpoint = "m2m_clients"
)

var allEndpoints = [...]Endpoint{
	EndpointAuthenticate, EndpointGet, EndpointExchange, EndpointMigrate,
	EndpointRevoke, EndpointJWKS, EndpointPolicy, EndpointOrgPolicy,
	EndpointM2MToken, EndpointM2MClients,
}

// Fault describes how an endpoint misbehaves; see SetFault. The fields
// combine in this order: Latency delays the request, then the first of
// Drop, Hang, Body and Status that is set decides the answer. A Fault with
// only Latency set delays requests that are then served normally.
type Fault struct {
	// Status, when non-zero, answers with this HTTP status and a JSON error
	// body of the API's shape (status_code, request_id, error_type,
	// error_message, error_url). With Body set it is the status of the raw
	// body instead (0 there means 200).
	Status int
	// ErrorType is the error_type of the JSON error body; "" picks the
	// usual type for Status (too_many_requests for 429,
	// internal_server_error for 500, ...).
	ErrorType string
	// RetryAfter, when positive, is sent as a Retry-After header in whole
	// seconds (rounded up) with a Status or Body answer.
	RetryAfter time.Duration
	// Latency delays the request before anything else. The delay ends early
	// when the client gives up or the server closes; the request then gets
	// no answer.
	Latency time.Duration
	// Body, when non-nil, is written as the raw response body instead of
	// JSON (HTML error pages, truncated JSON, huge bodies).
	Body []byte
	// ContentType is the Content-Type of Body; "" sniffs it from Body.
	ContentType string
	// Drop closes the connection without any response. Note that Go's
	// http.Transport silently retries an idempotent request (GET) that was
	// sent on a reused keep-alive connection when that connection closes
	// before any response byte, so a one-time Drop can be invisible to such
	// a client; use Times of 2 or more, or 0, to make the failure visible.
	Drop bool
	// Hang holds the request without answering until the client gives up
	// or the server closes; in the latter case the connection is dropped.
	Hang bool
	// Times limits the fault to the next Times requests of the endpoint;
	// 0 keeps it until ClearFault or ClearFaults.
	Times int
}

type faultEntry struct {
	f         Fault
	remaining int
}

// SetFault makes requests to ep misbehave as f describes, replacing any
// fault already set for ep, until the fault is cleared or, when f.Times is
// positive, for the next f.Times requests only. Requests answered by a
// fault still count in Calls. It is safe for concurrent use.
func (s *Server) SetFault(ep Endpoint, f Fault) {
	f.Body = slices.Clone(f.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[ep] = &faultEntry{f: f, remaining: f.Times}
}

// ClearFault removes the fault of ep. It is safe for concurrent use.
func (s *Server) ClearFault(ep Endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.faults, ep)
}

// ClearFaults removes every fault. It is safe for concurrent use.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// Calls returns the number of requests ep received since the server
// started or ResetCalls, including those answered by a fault or with an
// error. It is safe for concurrent use.
func (s *Server) Calls(ep Endpoint) int64 {
	if c, ok := s.calls[ep]; ok {
		return c.Load()
	}
	return 0
}

// ResetCalls sets every endpoint's call count to zero. It is safe for
// concurrent use.
func (s *Server) ResetCalls() {
	for _, c := range s.calls {
		c.Store(0)
	}
}

func (s *Server) takeFault(ep Endpoint) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.faults[ep]
	if !ok {
		return Fault{}, false
	}
	if e.f.Times > 0 {
		e.remaining--
		if e.remaining <= 0 {
			delete(s.faults, ep)
		}
	}
	return e.f, true
}

// wait blocks for d and reports whether it elapsed, rather than the request
// being cancelled or the server closing.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}

// applyFault answers c as f says. It reports whether the request was
// answered (or abandoned), and a description for the log.
func (s *Server) applyFault(w http.ResponseWriter, c *call, f Fault) (string, bool) {
	if f.Latency > 0 && !s.wait(c.r.Context(), f.Latency) {
		if isClosed(s.closing) {
			panic(http.ErrAbortHandler) // drop the connection on Close
		}
		return "latency fault: abandoned", true
	}
	switch {
	case f.Drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return "drop fault", true
			}
		}
		panic(http.ErrAbortHandler)
	case f.Hang:
		select {
		case <-c.r.Context().Done():
			return "hang fault: client gave up", true
		case <-s.closing:
			panic(http.ErrAbortHandler)
		}
	case f.Body != nil:
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		ct := f.ContentType
		if ct == "" {
			ct = http.DetectContentType(f.Body)
		}
		setRetryAfter(w, f.RetryAfter)
		writeBody(w, status, ct, f.Body)
		return strconv.Itoa(status) + " body fault", true
	case f.Status != 0:
		typ := f.ErrorType
		if typ == "" && c.oauth2 {
			typ = defaultOAuth2ErrorType(f.Status)
		}
		if typ == "" {
			typ = defaultErrorType(f.Status)
		}
		setRetryAfter(w, f.RetryAfter)
		return s.writeError(w, c, &apiError{f.Status, typ, defaultErrorMessage(f.Status)}) + " (fault)", true
	}
	return "", false
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	if d <= 0 {
		return
	}
	secs := int64((d + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
}

func defaultErrorType(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "unauthorized_credentials"
	case http.StatusTooManyRequests:
		return "too_many_requests"
	case http.StatusInternalServerError:
		return "internal_server_error"
	}
	t := http.StatusText(status)
	if t == "" {
		return "error_" + strconv.Itoa(status)
	}
	t = strings.ToLower(t)
	t = strings.NewReplacer(" ", "_", "-", "_", "'", "").Replace(t)
	return t
}

// defaultOAuth2ErrorType is the usual RFC 6749 error code of the token
// endpoint for status, or "" to fall back on defaultErrorType.
func defaultOAuth2ErrorType(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge:
		return "invalid_request"
	case http.StatusUnauthorized:
		return "invalid_client"
	case http.StatusInternalServerError:
		return "server_error"
	case http.StatusServiceUnavailable:
		return "temporarily_unavailable"
	}
	return ""
}

func defaultErrorMessage(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "Too many requests have been made."
	case http.StatusInternalServerError:
		return "Oops, something seems to have gone wrong, please try again later."
	}
	if t := http.StatusText(status); t != "" {
		return t + "."
	}
	return "Error " + strconv.Itoa(status) + "."
}
