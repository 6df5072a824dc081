package verifier

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"github.com/stytchguard/stytchguard/client"
)

// Verifier verifies Stytch B2B session JWTs locally against a cached JWKS.
// It is safe for concurrent use. Close stops its background refresh.
type Verifier struct {
	projectID     string
	issuer        string
	customIssuer  string
	jwksURL       string
	httpClient    *http.Client
	jwksClient    *http.Client // httpClient without redirects
	ownTransport  *http.Transport
	leeway        time.Duration
	maxTokenBytes int
	now           func() time.Time
	remote        *client.Client
	authorizer    Authorizer
	log           *slog.Logger

	refreshInterval time.Duration
	fetchTimeout    time.Duration
	maxStale        time.Duration
	retryMin        time.Duration
	retryMax        time.Duration

	keys    atomic.Pointer[keySnapshot]
	flight  singleflight.Group
	limiter *rate.Limiter
	cache   *tokenCache

	statusMu sync.Mutex
	status   JWKSStatus
	warned   map[string]struct{} // kids of weak keys already logged

	// life is the Verifier's lifetime, cancelled by Close; background and
	// shared fetches derive their contexts from it.
	life      context.Context
	cancel    context.CancelFunc
	done      chan struct{}
	closeMu   sync.RWMutex
	closed    bool
	closeOnce sync.Once
	loopWG    sync.WaitGroup
	fetchWG   sync.WaitGroup
}

// New validates cfg, fetches the JWKS once (bounded by ctx and
// JWKSFetchTimeout) and starts the background refresh. When that first fetch
// fails, New still succeeds unless cfg.RequireJWKS is set; the background
// retries with backoff and Verify returns ErrKeysUnavailable until a good key
// set arrives. Errors: a missing ProjectID, an invalid BaseURL or an
// out-of-range duration; with RequireJWKS, an error matching
// ErrKeysUnavailable.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.ProjectID == "" {
		return nil, errors.New("verifier: empty ProjectID")
	}
	if strings.ContainsAny(cfg.ProjectID, "/?#% \t\r\n") {
		return nil, errors.New("verifier: ProjectID contains characters not allowed in a project id")
	}
	base, err := client.ResolveBaseURL(cfg.ProjectID, cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("verifier: invalid BaseURL: %w", err)
	}
	if cfg.Leeway > MaxLeeway {
		return nil, fmt.Errorf("verifier: Leeway must be at most %v", MaxLeeway)
	}
	if cfg.MaxTokenBytes < 0 {
		return nil, errors.New("verifier: MaxTokenBytes must not be negative")
	}
	for _, d := range []time.Duration{cfg.JWKSRefreshInterval, cfg.JWKSFetchTimeout, cfg.JWKSMaxStaleness, cfg.UnknownKIDWindow, cfg.JWKSRetryMin, cfg.JWKSRetryMax} {
		if d < 0 {
			return nil, errors.New("verifier: JWKS durations must not be negative")
		}
	}

	v := &Verifier{
		projectID:       cfg.ProjectID,
		issuer:          "stytch.com/" + cfg.ProjectID,
		customIssuer:    cfg.CustomDomainIssuer,
		jwksURL:         base + jwksPath(url.PathEscape(cfg.ProjectID)),
		httpClient:      cfg.HTTPClient,
		leeway:          max(0, cmp.Or(cfg.Leeway, DefaultLeeway)),
		maxTokenBytes:   cmp.Or(cfg.MaxTokenBytes, DefaultMaxTokenBytes),
		now:             cfg.Now,
		remote:          cfg.Client,
		authorizer:      cfg.Authorizer,
		log:             cfg.Logger,
		refreshInterval: cmp.Or(cfg.JWKSRefreshInterval, DefaultJWKSRefreshInterval),
		fetchTimeout:    cmp.Or(cfg.JWKSFetchTimeout, DefaultJWKSFetchTimeout),
		maxStale:        cmp.Or(cfg.JWKSMaxStaleness, DefaultJWKSMaxStaleness),
		retryMin:        cmp.Or(cfg.JWKSRetryMin, DefaultJWKSRetryMin),
		retryMax:        cmp.Or(cfg.JWKSRetryMax, DefaultJWKSRetryMax),
		done:            make(chan struct{}),
		warned:          make(map[string]struct{}),
	}
	if v.retryMax < v.retryMin {
		v.retryMax = v.retryMin
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	if v.httpClient == nil {
		v.ownTransport = http.DefaultTransport.(*http.Transport).Clone()
		v.httpClient = &http.Client{Transport: v.ownTransport}
	}
	// JWKS fetches never follow redirects: keys come from the configured
	// URL or not at all.
	jwksClient := *v.httpClient
	jwksClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	v.jwksClient = &jwksClient
	if v.remote == nil && cfg.Secret != "" {
		v.remote, err = client.New(client.Config{
			ProjectID:  cfg.ProjectID,
			Secret:     cfg.Secret,
			BaseURL:    base,
			HTTPClient: v.httpClient, // closed with the Verifier when it is ours
		})
		if err != nil {
			return nil, fmt.Errorf("verifier: building the API client: %w", err)
		}
	}
	window := cmp.Or(cfg.UnknownKIDWindow, DefaultUnknownKIDWindow)
	v.limiter = rate.NewLimiter(rate.Every(window), 1)
	switch {
	case cfg.CacheSize == 0:
		v.cache = newTokenCache(DefaultCacheSize)
	case cfg.CacheSize > 0:
		v.cache = newTokenCache(cfg.CacheSize)
	}
	v.life, v.cancel = context.WithCancel(context.Background())

	firstErr := v.fetchJWKS(ctx)
	if firstErr != nil && cfg.RequireJWKS {
		_ = v.Close()
		return nil, fmt.Errorf("%w: first JWKS fetch: %w", ErrKeysUnavailable, firstErr)
	}
	v.loopWG.Add(1)
	go v.refreshLoop(firstErr == nil)
	return v, nil
}

// Close stops the background refresh, cancels fetches in flight, waits for
// them, and releases the private HTTP client's idle connections. Verify
// keeps using the keys already held (until they become stale) but never
// fetches again. Close is idempotent and always returns nil.
func (v *Verifier) Close() error {
	v.closeOnce.Do(func() {
		v.closeMu.Lock()
		v.closed = true
		v.closeMu.Unlock()
		v.cancel()
		close(v.done)
		v.loopWG.Wait()
		v.fetchWG.Wait()
		if v.ownTransport != nil {
			v.ownTransport.CloseIdleConnections()
		}
	})
	return nil
}

// Verify checks sessionJWT locally, with no age limit beyond exp, and
// returns the session and the claims. It makes no network call, except that
// an unknown kid (or a missing key set) may trigger one JWKS refetch shared
// with all concurrent callers and rate-limited to one per
// Config.UnknownKIDWindow; ctx bounds the wait for it.
//
// The returned values are shallow copies owned by the caller; their slices,
// maps and time pointers are shared with the verified-token cache and must
// be treated as read-only.
//
// Errors are *TokenError values; branch with errors.Is on ErrInvalidToken
// (and the specific reasons), ErrKeysUnavailable, and CanRefreshRemotely.
func (v *Verifier) Verify(ctx context.Context, sessionJWT string) (*client.MemberSession, *client.Claims, error) {
	return v.VerifyMaxAge(ctx, sessionJWT, 0)
}

// VerifyMaxAge is Verify with a maximum token age: a token whose iat is more
// than maxAge before now fails with ErrTooOld (which also matches
// client.ErrJWTTooOld). maxAge zero means no age limit; a negative maxAge is
// treated as zero.
func (v *Verifier) VerifyMaxAge(ctx context.Context, sessionJWT string, maxAge time.Duration) (*client.MemberSession, *client.Claims, error) {
	session, claims, err := v.VerifyShared(ctx, sessionJWT, maxAge, time.Time{})
	if err != nil {
		return nil, nil, err
	}
	out := &result{session: *session, claims: *claims}
	return &out.session, &out.claims, nil
}

// VerifyShared is VerifyMaxAge for callers on a hot path: it returns the
// session and claims held by the verified-token cache instead of copies, so
// a cache hit allocates nothing. Both are shared with every other caller of
// the same token and must be treated as read-only, fields included.
//
// now is the time of the check, for a caller that has just read the
// Verifier's clock (Config.Now) for other checks too; the zero Time reads
// the clock.
func (v *Verifier) VerifyShared(ctx context.Context, sessionJWT string, maxAge time.Duration, now time.Time) (*client.MemberSession, *client.Claims, error) {
	if len(sessionJWT) > v.maxTokenBytes {
		return nil, nil, tokenErr(ErrTokenTooLarge, "longer than the configured maximum")
	}
	if now.IsZero() {
		now = v.now()
	}
	if v.cache != nil {
		if e := v.cache.get(sessionJWT); e != nil && v.servable(e, now, maxAge) {
			return &e.res.session, &e.res.claims, nil
		}
	}
	e, err := v.verify(ctx, sessionJWT, now)
	if err != nil {
		return nil, nil, err
	}
	if v.cache != nil {
		v.cache.put(sessionJWT, e) // authentic: even a too-old token may serve callers allowing its age
	}
	if maxAge > 0 && e.iat.Add(maxAge).Before(now) {
		return nil, nil, tokenErr(ErrTooOld, "iat older than the maximum token age")
	}
	return &e.res.session, &e.res.claims, nil
}

// servable reports whether a cached entry may answer now: the token has not
// reached exp (no leeway: the cache never extends a token), is young enough,
// and the same key is still published under its kid in a usable key set.
func (v *Verifier) servable(e *cacheEntry, now time.Time, maxAge time.Duration) bool {
	if !now.Before(e.exp) {
		return false
	}
	if maxAge > 0 && e.iat.Add(maxAge).Before(now) {
		return false
	}
	s := v.usableSnapshot(now)
	// The key set the token was verified with needs no lookup.
	return s != nil && (s == e.snap || s.keys[e.kid] == e.key)
}

// verify runs the full check, each step once and in this order: character
// set and shape; strict base64url of the header and its JSON; the payload's
// strict base64url and JSON, decoded in one pass; alg (RS256 only); the
// signature's base64url; the header rules and kid; the claim rules that
// need no time; the key lookup; the RSA signature (golang-jwt's RS256);
// then the time rules and the MemberSession mapping.
func (v *Verifier) verify(ctx context.Context, tok string, now time.Time) (*cacheEntry, error) {
	if err := checkCharset(tok); err != nil {
		return nil, err
	}
	i := strings.IndexByte(tok, '.')
	j := i + 1 + strings.IndexByte(tok[i+1:], '.')
	if i < 0 || j <= i || strings.IndexByte(tok[j+1:], '.') >= 0 {
		return nil, tokenErr(ErrMalformed, "not three segments")
	}
	var buf [512]byte
	hdr, err := decodeSegment(buf[:0], tok[:i])
	if err != nil {
		return nil, tokenErr(ErrMalformed, "header is not base64url")
	}
	h, err := decodeHeader(hdr)
	if err != nil {
		return nil, err
	}
	raw, err := decodeSegment(nil, tok[i+1:j])
	if err != nil {
		return nil, tokenErr(ErrMalformed, "payload is not base64url")
	}
	p, err := decodePayload(raw)
	if err != nil {
		return nil, err
	}
	alg, err := algorithm(h)
	if err != nil {
		return nil, err
	}
	sig, err := decodeSegment(buf[:0], tok[j+1:])
	if err != nil {
		return nil, tokenErr(ErrMalformed, "signature is not base64url")
	}
	if alg != jwt.SigningMethodRS256.Alg() {
		return nil, tokenErr(ErrAlgorithm, "alg is not RS256")
	}
	kid, err := keyID(h)
	if err != nil {
		return nil, err
	}
	// Refuse what no key could make valid before looking one up, so a
	// forged token is never "undecidable" for want of keys.
	if err := v.validateStatic(p); err != nil {
		return nil, err
	}
	key, err := v.lookupKey(ctx, kid, now)
	if err != nil {
		return nil, err
	}
	if err := jwt.SigningMethodRS256.Verify(tok[:j], sig, key); err != nil {
		return nil, tokenErr(ErrBadSignature, "signature does not verify")
	}
	if err := v.validateTime(p, now); err != nil {
		return nil, err
	}
	e := &cacheEntry{kid: kid, key: key, iat: p.IssuedAt.t, exp: p.ExpiresAt.t}
	if s := v.keys.Load(); s != nil && s.keys[kid] == key {
		e.snap = s
	}
	if err := memberSession(p, e); err != nil {
		return nil, err
	}
	return e, nil
}

// strictB64 is the JWS segment encoding: unpadded base64url, no trailing bits.
var strictB64 = base64.RawURLEncoding.Strict()

// decodeSegment appends the decoding of seg to dst (whose spare capacity it
// uses when large enough).
func decodeSegment(dst []byte, seg string) ([]byte, error) {
	n := strictB64.DecodedLen(len(seg))
	if cap(dst)-len(dst) < n {
		dst = slices.Grow(dst, n)
	}
	m, err := strictB64.Decode(dst[len(dst):len(dst)+n], []byte(seg))
	return dst[:len(dst)+m], err
}

// checkCharset rejects what strict base64url decoding would let through:
// line breaks (Go's base64 decoders skip CR and LF even in strict mode) and
// empty segments. Every other byte outside the base64url alphabet, padding
// included, fails the strict decoding of its segment.
func checkCharset(tok string) error {
	if strings.IndexByte(tok, '\n') >= 0 || strings.IndexByte(tok, '\r') >= 0 {
		return tokenErr(ErrMalformed, "line break in the token")
	}
	if tok == "" || tok[0] == '.' || tok[len(tok)-1] == '.' || strings.Contains(tok, "..") {
		return tokenErr(ErrMalformed, "empty segment")
	}
	return nil
}

// checkShape accepts exactly three non-empty segments of the base64url
// alphabet, without decoding anything.
func checkShape(tok string) error {
	dots := 0
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c == '.':
			dots++
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return tokenErr(ErrMalformed, "character outside the base64url alphabet")
		}
	}
	if dots != 2 {
		return tokenErr(ErrMalformed, "not three segments")
	}
	return checkCharset(tok)
}

// ProjectID returns the project whose session JWTs v accepts.
func (v *Verifier) ProjectID() string { return v.projectID }
