package stytchtest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stytchguard/stytchguard/client"
)

// maxBodyBytes caps the request bodies the emulator reads.
const maxBodyBytes = 1 << 20

// Options configure a Server. The zero value is a valid configuration: every
// empty field is generated or defaulted.
type Options struct {
	// ProjectID is the project the server emulates; "" generates
	// "project-test-<uuid>". An id starting with "project-live-" makes every
	// generated id use "-live-" instead of "-test-".
	ProjectID string
	// Secret is the project secret required by HTTP Basic auth; "" generates
	// "secret-test-<random>".
	Secret string
	// SigningKey signs the session JWTs and is published in the JWKS; nil
	// generates an RSA-2048 key, which costs a large part of a second. Suites
	// that start many servers save that time by generating one key and
	// passing it to each.
	SigningKey *rsa.PrivateKey
	// KeyID is the kid of SigningKey; "" generates "jwk-test-<uuid>".
	KeyID string
	// Now is the server's clock (session expiry, JWT times, timestamps); nil
	// means time.Now. A Clock's Now method fits.
	Now func() time.Time
	// CustomDomainIssuer, when set, is the iss of every minted JWT instead
	// of "stytch.com/<project id>", as when the API is reached through a
	// custom domain. Session JWTs sent to the server must carry the same
	// issuer.
	CustomDomainIssuer string
	// Logf, when set, receives one line per request (method, path, status)
	// and the HTTP server's own errors. Tokens and secrets are never
	// logged. nil logs nothing.
	Logf func(format string, args ...any)
	// Listener, when set, is where the server accepts connections instead
	// of a new listener on 127.0.0.1 with a random port; the server owns
	// it and closes it on Close. It lets a standalone emulator listen on a
	// fixed address. The emulator trusts whoever reaches it: keep it on
	// loopback.
	Listener net.Listener
	// TLS, when set, makes the server speak HTTPS with this configuration
	// (cloned); URL then starts with "https://". A configuration without
	// certificates gets net/http/httptest's built-in certificate for
	// 127.0.0.1 and example.com, which only clients configured to trust it
	// accept. nil serves plain HTTP.
	TLS *tls.Config
}

// Server is a Stytch-compatible B2B sessions, RBAC and M2M API listening on
// a random loopback port (or Options.Listener). All its methods are safe for concurrent use,
// including while requests are being served.
type Server struct {
	// URL is the base URL of the server, "http://127.0.0.1:<port>" (https
	// with Options.TLS), without a trailing slash: the BaseURL to configure
	// clients with.
	URL string
	// ProjectID is the project id the server accepts.
	ProjectID string
	// Secret is the project secret the server accepts.
	Secret string

	ts        *httptest.Server
	nowFn     func() time.Time
	issuer    string
	env       string
	logf      func(format string, args ...any)
	closing   chan struct{}
	closeOnce sync.Once
	calls     map[Endpoint]*atomic.Int64

	mu          sync.Mutex
	signKey     *rsa.PrivateKey
	signKID     string
	keys        []publishedKey
	jwksBody    []byte
	policy      client.Policy
	orgPolicies map[string]client.OrgPolicy
	orgs        map[string]*organization
	members     map[string]*member
	sessions    map[string]*session // by member_session_id
	tokens      map[string]*session // by session token
	external    map[string]externalIdentity
	faults      map[Endpoint]*faultEntry
	m2mClients  map[string]*m2mClient
	m2mSeq      uint64
}

// NewServer starts a Server on 127.0.0.1 with a random port (or on
// Options.Listener) and returns it once it accepts connections. The server holds the default RBAC policy
// (see DefaultPolicy) and no organizations, members or sessions. Call Close
// when done. NewServer panics only if the system's random source fails.
func NewServer(opts Options) *Server {
	s := &Server{
		ProjectID:   opts.ProjectID,
		Secret:      opts.Secret,
		nowFn:       opts.Now,
		logf:        opts.Logf,
		closing:     make(chan struct{}),
		calls:       make(map[Endpoint]*atomic.Int64, len(allEndpoints)),
		policy:      DefaultPolicy(),
		orgPolicies: map[string]client.OrgPolicy{},
		orgs:        map[string]*organization{},
		members:     map[string]*member{},
		sessions:    map[string]*session{},
		tokens:      map[string]*session{},
		external:    map[string]externalIdentity{},
		faults:      map[Endpoint]*faultEntry{},
		m2mClients:  map[string]*m2mClient{},
	}
	if s.nowFn == nil {
		s.nowFn = time.Now
	}
	for _, ep := range allEndpoints {
		s.calls[ep] = new(atomic.Int64)
	}
	s.env = "test"
	if s.ProjectID == "" {
		s.ProjectID = "project-test-" + newUUID()
	} else if strings.HasPrefix(s.ProjectID, "project-live-") {
		s.env = "live"
	}
	if s.Secret == "" {
		s.Secret = "secret-" + s.env + "-" + newOpaqueToken()
	}
	s.issuer = "stytch.com/" + s.ProjectID
	if opts.CustomDomainIssuer != "" {
		s.issuer = opts.CustomDomainIssuer
	}
	s.signKey, s.signKID = opts.SigningKey, opts.KeyID
	if s.signKey == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(fmt.Sprintf("stytchtest: generate signing key: %v", err))
		}
		s.signKey = k
	}
	if s.signKID == "" {
		s.signKID = s.newID("jwk")
	}
	s.keys = []publishedKey{s.makePublishedKey(s.signKID, &s.signKey.PublicKey, s.signKey)}

	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	errLog := io.Discard
	if s.logf != nil {
		errLog = logfWriter(s.logf)
	}
	s.ts.Config.ErrorLog = log.New(errLog, "stytchtest: ", 0)
	if opts.Listener != nil {
		_ = s.ts.Listener.Close() // the random-port listener httptest made
		s.ts.Listener = opts.Listener
	}
	if opts.TLS != nil {
		s.ts.TLS = opts.TLS.Clone()
		s.ts.StartTLS()
	} else {
		s.ts.Start()
	}
	s.URL = s.ts.URL
	return s
}

// logfWriter adapts a Logf function to an io.Writer for log.Logger.
type logfWriter func(format string, args ...any)

func (f logfWriter) Write(p []byte) (int, error) {
	f("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Close releases requests held by Hang or Latency faults, shuts the server
// down and waits for its handlers to return. It is safe to call more than
// once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.ts.Close()
	})
}

// Issuer returns the iss claim of the JWTs the server mints.
func (s *Server) Issuer() string { return s.issuer }

// JWKSURL returns the URL of the project's JWKS.
func (s *Server) JWKSURL() string {
	return s.URL + client.PathJWKSPrefix + url.PathEscape(s.ProjectID)
}

func (s *Server) now() time.Time { return s.nowFn() }

// nowSec is the current time truncated to whole seconds, the precision of
// every timestamp the API emits.
func (s *Server) nowSec() time.Time { return s.nowFn().UTC().Truncate(time.Second) }

// call is one request being served.
type call struct {
	r      *http.Request
	body   []byte
	param  string // the path parameter (project id, organization id or client id)
	rid    string // request_id
	oauth2 bool   // an OAuth 2.0 endpoint: errors have the RFC 6749 shape
	extra  http.Header
}

// header returns headers to add to the response, whatever it is.
func (c *call) header() http.Header {
	if c.extra == nil {
		c.extra = http.Header{}
	}
	return c.extra
}

func (c *call) meta() meta { return meta{RequestID: c.rid, StatusCode: http.StatusOK} }

// decode reads the JSON request body into v; an empty body counts as {}.
func (c *call) decode(v any) *apiError {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return nil
	}
	if err := decodeJSON(c.body, v); err != nil {
		return &apiError{http.StatusBadRequest, "bad_request", "The request body is not valid JSON for this endpoint."}
	}
	return nil
}

type handlerFunc func(s *Server, c *call) (any, *apiError)

type route struct {
	ep      Endpoint
	methods map[string]handlerFunc
	auth    bool
	oauth2  bool
}

func (s *Server) route(path string) (rt route, param string, ok bool) {
	switch path {
	case client.PathAuthenticate:
		return route{EndpointAuthenticate, map[string]handlerFunc{http.MethodPost: (*Server).handleAuthenticate}, true, false}, "", true
	case client.PathSessions:
		return route{EndpointGet, map[string]handlerFunc{http.MethodGet: (*Server).handleGet}, true, false}, "", true
	case client.PathExchange:
		return route{EndpointExchange, map[string]handlerFunc{http.MethodPost: (*Server).handleExchange}, true, false}, "", true
	case client.PathMigrate:
		return route{EndpointMigrate, map[string]handlerFunc{http.MethodPost: (*Server).handleMigrate}, true, false}, "", true
	case client.PathRevoke:
		return route{EndpointRevoke, map[string]handlerFunc{http.MethodPost: (*Server).handleRevoke}, true, false}, "", true
	case client.PathPolicy:
		return route{EndpointPolicy, map[string]handlerFunc{http.MethodGet: (*Server).handlePolicy}, true, false}, "", true
	case client.PathM2MClients:
		return route{ep: EndpointM2MClients, methods: map[string]handlerFunc{http.MethodPost: (*Server).handleM2MCreate}, auth: true}, "", true
	case client.PathM2MClientsSearch:
		// The search route; other methods address a client named "search".
		return route{ep: EndpointM2MClients, methods: map[string]handlerFunc{
			http.MethodPost:   (*Server).handleM2MSearch,
			http.MethodGet:    (*Server).handleM2MGet,
			http.MethodPut:    (*Server).handleM2MUpdate,
			http.MethodDelete: (*Server).handleM2MDelete,
		}, auth: true}, "search", true
	}
	if p, found := strings.CutPrefix(path, client.PathM2MClients+"/"); found && p != "" && !strings.Contains(p, "/") {
		return route{ep: EndpointM2MClients, methods: map[string]handlerFunc{
			http.MethodGet:    (*Server).handleM2MGet,
			http.MethodPut:    (*Server).handleM2MUpdate,
			http.MethodDelete: (*Server).handleM2MDelete,
		}, auth: true}, p, true
	}
	if rest, found := strings.CutPrefix(path, client.PathPublicPrefix); found {
		if p, found := strings.CutSuffix(rest, client.PathOAuth2TokenSuffix); found && p != "" && !strings.Contains(p, "/") {
			return route{ep: EndpointM2MToken, methods: map[string]handlerFunc{http.MethodPost: (*Server).handleM2MToken}, oauth2: true}, p, true
		}
	}
	if p, found := strings.CutPrefix(path, client.PathJWKSPrefix); found && p != "" && !strings.Contains(p, "/") {
		return route{EndpointJWKS, map[string]handlerFunc{http.MethodGet: (*Server).handleJWKS}, false, false}, p, true
	}
	if p, found := strings.CutPrefix(path, client.PathOrgPolicyPrefix); found && p != "" && !strings.Contains(p, "/") {
		return route{EndpointOrgPolicy, map[string]handlerFunc{
			http.MethodGet: (*Server).handleGetOrgPolicy,
			http.MethodPut: (*Server).handlePutOrgPolicy,
		}, true, false}, p, true
	}
	return route{}, "", false
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	c := &call{r: r, rid: "request-id-" + s.env + "-" + newUUID()}
	status := s.serveCall(w, c)
	if s.logf != nil {
		s.logf("stytchtest: %s %s -> %s", r.Method, r.URL.Path, status)
	}
}

// serveCall answers c and returns a description of the outcome for the log.
func (s *Server) serveCall(w http.ResponseWriter, c *call) string {
	r := c.r
	escaped := r.URL.EscapedPath()
	if escaped == PathHealth {
		return s.serveHealth(w, c)
	}
	rt, rawParam, ok := s.route(escaped)
	if !ok {
		return s.writeError(w, c, &apiError{http.StatusNotFound, "not_found", "The requested route does not exist."})
	}
	c.oauth2 = rt.oauth2
	param, err := url.PathUnescape(rawParam)
	if err != nil {
		return s.writeError(w, c, &apiError{http.StatusBadRequest, "bad_request", "The path is not validly escaped."})
	}
	c.param = param
	s.calls[rt.ep].Add(1)

	// Read the whole body first: the server only notices a client that
	// goes away (cancelling the request context) once the body is consumed.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return s.writeError(w, c, &apiError{http.StatusBadRequest, "bad_request", "The request body could not be read."})
	}
	c.body = body

	if f, ok := s.takeFault(rt.ep); ok {
		if outcome, handled := s.applyFault(w, c, f); handled {
			return outcome
		}
	}
	h, ok := rt.methods[r.Method]
	if !ok {
		allow := make([]string, 0, len(rt.methods))
		for m := range rt.methods {
			allow = append(allow, m)
		}
		w.Header().Set("Allow", strings.Join(slices.Sorted(slices.Values(allow)), ", "))
		return s.writeError(w, c, &apiError{http.StatusMethodNotAllowed, "method_not_allowed",
			"The method " + r.Method + " is not allowed on this route."})
	}
	if rt.auth && !s.authorized(r) {
		return s.writeError(w, c, &apiError{http.StatusUnauthorized, "unauthorized_credentials",
			"Unauthorized credentials: the project id or secret is wrong."})
	}
	if len(body) > maxBodyBytes {
		return s.writeError(w, c, &apiError{http.StatusBadRequest, "bad_request", "The request body is too large."})
	}
	resp, apiErr := h(s, c)
	if apiErr != nil {
		return s.writeError(w, c, apiErr)
	}
	if raw, ok := resp.(rawJSON); ok {
		writeBody(w, http.StatusOK, "application/json", raw)
		return "200 (raw body)"
	}
	return s.writeJSON(w, c, http.StatusOK, resp)
}

// PathHealth is the emulator's own health check, GET /healthz, answering 200
// {"status":"ok"} without authentication. It is no Stytch endpoint: faults
// and call counters do not apply to it.
const PathHealth = "/healthz"

func (s *Server) serveHealth(w http.ResponseWriter, c *call) string {
	if c.r.Method != http.MethodGet && c.r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return s.writeError(w, c, &apiError{http.StatusMethodNotAllowed, "method_not_allowed",
			"The method " + c.r.Method + " is not allowed on this route."})
	}
	writeBody(w, http.StatusOK, "application/json", []byte(`{"status":"ok"}`+"\n"))
	return "200"
}

// rawJSON is a handler result written as is.
type rawJSON []byte

// authorized reports whether r carries the project's Basic credentials.
func (s *Server) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	u := subtle.ConstantTimeCompare([]byte(user), []byte(s.ProjectID))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(s.Secret))
	return u&p == 1
}

func (s *Server) writeJSON(w http.ResponseWriter, c *call, status int, v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return s.writeError(w, c, &apiError{http.StatusInternalServerError, "internal_server_error",
			"The response could not be encoded."})
	}
	c.addHeaders(w)
	writeBody(w, status, "application/json", buf.Bytes())
	return strconv.Itoa(status)
}

func (s *Server) writeError(w http.ResponseWriter, c *call, e *apiError) string {
	var body any = wireError{
		StatusCode:   e.status,
		RequestID:    c.rid,
		ErrorType:    e.typ,
		ErrorMessage: e.message,
		ErrorURL:     errorURL(e.status),
	}
	typ := e.typ
	if c.oauth2 {
		if typ == "bad_request" || typ == "method_not_allowed" {
			typ = "invalid_request" // the generic checks of serveCall, in RFC 6749 words
		}
		body = wireOAuth2Error{
			StatusCode:       e.status,
			RequestID:        c.rid,
			Error:            typ,
			ErrorDescription: e.message,
			ErrorURI:         errorURL(e.status),
		}
	}
	b, _ := json.Marshal(body) // strings and ints only: cannot fail
	c.addHeaders(w)
	writeBody(w, e.status, "application/json", append(b, '\n'))
	return strconv.Itoa(e.status) + " " + typ
}

// addHeaders copies the headers a handler asked for into w.
func (c *call) addHeaders(w http.ResponseWriter) {
	for k, vs := range c.extra {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
}

func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
