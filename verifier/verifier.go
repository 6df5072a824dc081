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
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
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
	tracer  trace.Tracer
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

	tp := cfg.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	v.tracer = tp.Tracer("github.com/stytchguard/stytchguard/verifier")
	_, firstErr := v.tracedFetch(ctx)
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
// An M2M access token is ErrM2MToken. It is safe for concurrent use.
func (v *Verifier) Verify(ctx context.Context, sessionJWT string) (*client.MemberSession, *client.Claims, error) {
	return v.VerifyMaxAge(ctx, sessionJWT, 0)
}

// VerifyMaxAge is Verify with a maximum token age: a token whose iat is more
// than maxAge before now fails with ErrTooOld (which also matches
// client.ErrJWTTooOld). maxAge zero means no age limit; a negative maxAge is
// treated as zero.
func (v *Verifier) VerifyMaxAge(ctx context.Context, sessionJWT string, maxAge time.Duration) (*client.MemberSession, *client.Claims, error) {
	e, err := v.lookup(ctx, sessionJWT, kindSession, maxAge, time.Time{})
	if err != nil {
		return nil, nil, err
	}
	out := &result{session: e.res.session, claims: e.res.claims}
	return &out.session, &out.claims, nil
}

// Verified is the outcome of VerifyShared: exactly one of Session (with
// Claims) or M2M is set on success. The pointed-to values are the
// verified-token cache's own: read-only, shared with every other caller of
// the same token, fields, slices and maps included.
type Verified struct {
	// Session and Claims are set for a session JWT.
	Session *client.MemberSession
	Claims  *client.Claims
	// M2M is set for an M2M access token.
	M2M *client.M2MClaims
	// Identity is set whenever the token's payload was decoded and its
	// claims are a session's: on success, and on every error for which
	// CanRefreshRemotely(err) is true (expired or too old with a verified
	// signature; ErrKeysUnavailable, where the signature could not be
	// checked). It is what a remote answer about the token must be bound
	// to (Sent.Identity).
	Identity Identity
	// IssuedAt is the token's iat (zero when unknown).
	IssuedAt time.Time
	// Cached reports that the verified-token cache answered (no
	// verification ran), for metrics.
	Cached bool
}

// Identity names the session a token is about: the session claim's id, the
// subject and the organization claim's id.
type Identity struct{ SessionID, MemberID, OrganizationID string }

// VerifyShared verifies a session JWT or an M2M access token for a caller
// on a hot path: it returns the values held by the verified-token cache
// instead of copies, by value, so a cache hit allocates nothing. maxAge
// applies to session tokens only (zero or negative: no limit; a session
// token older is ErrTooOld). The caller decides which kinds it accepts.
//
// now is the time of the check, for a caller that has just read the
// Verifier's clock (Config.Now) for other checks too; the zero Time reads
// the clock.
//
// Errors are those of Verify and VerifyM2M; on a refreshable one the
// result still carries the token's Identity and IssuedAt.
func (v *Verifier) VerifyShared(ctx context.Context, tok string, maxAge time.Duration, now time.Time) (Verified, error) {
	var out Verified
	e, err := v.lookupHit(ctx, tok, kindAny, maxAge, now, &out.Cached)
	if e != nil {
		out.Identity, out.IssuedAt = e.ident, e.iat
	}
	if err != nil {
		return out, err
	}
	if e.kind == kindM2M {
		out.M2M = &e.m2m
	} else {
		out.Session, out.Claims = &e.res.session, &e.res.claims
	}
	return out, nil
}

// lookup returns the verified entry of tok, a token of kind want (or
// kindAny), from the cache or by verifying it. maxAge applies to session
// tokens only; the zero now reads the clock. With an error for which
// CanRefreshRemotely is true it also returns an entry, which only its ident
// and iat may be read from.
func (v *Verifier) lookup(ctx context.Context, tok string, want tokenKind, maxAge time.Duration, now time.Time) (*cacheEntry, error) {
	var hit bool
	return v.lookupHit(ctx, tok, want, maxAge, now, &hit)
}

// lookupHit is lookup reporting in *hit whether the cache answered.
func (v *Verifier) lookupHit(ctx context.Context, tok string, want tokenKind, maxAge time.Duration, now time.Time, hit *bool) (*cacheEntry, error) {
	if len(tok) > v.maxTokenBytes {
		err := tokenErr(ErrTokenTooLarge, "longer than the configured maximum")
		if want == kindM2M {
			err = m2mErr(err)
		}
		return nil, err
	}
	if now.IsZero() {
		now = v.now()
	}
	var e *cacheEntry
	if v.cache != nil {
		if e = v.cache.get(tok); e != nil && !v.servable(e, now) {
			e = nil
		}
	}
	*hit = e != nil
	if e == nil {
		var err error
		if e, err = v.verify(ctx, tok, want, now); err != nil {
			return e, err
		}
		if v.cache != nil {
			v.cache.put(tok, e) // authentic: even a too-old token may serve callers allowing its age
		}
	}
	if err := kindMismatch(e.kind, want); err != nil {
		return nil, err
	}
	if e.kind == kindSession && maxAge > 0 && e.iat.Add(maxAge).Before(now) {
		return e, tokenErr(ErrTooOld, "iat older than the maximum token age")
	}
	return e, nil
}

// kindMismatch is the error for a verified token of kind when want was
// asked for.
func kindMismatch(kind, want tokenKind) error {
	switch {
	case kind == kindM2M && want == kindSession:
		return m2mErr(tokenErr(ErrM2MToken, "an M2M access token, not a session JWT"))
	case kind == kindSession && want == kindM2M:
		return m2mErr(tokenErr(ErrNotM2M, "a session JWT, not an M2M access token"))
	}
	return nil
}

// servable reports whether a cached entry may answer now: the token has not
// reached exp (no leeway: the cache never extends a token) and the same key
// is still published under its kid in a usable key set.
func (v *Verifier) servable(e *cacheEntry, now time.Time) bool {
	if !now.Before(e.exp) {
		return false
	}
	s := v.usableSnapshot(now)
	// The key set the token was verified with needs no lookup.
	return s != nil && (s == e.snap || s.keys[e.kid] == e.key)
}

// verify runs the full check, each step once and in this order: character
// set and shape; strict base64url of the header and its JSON; the payload's
// strict base64url and JSON, decoded in one pass; alg (RS256 only); the
// signature's base64url; the header rules and kid; the token's kind and the
// claim rules that need no time; the key lookup; the RSA signature
// (golang-jwt's RS256); then the time rules and the mapping of the claims.
// Errors about an M2M token, or where one was asked for, are marked so.
func (v *Verifier) verify(ctx context.Context, tok string, want tokenKind, now time.Time) (*cacheEntry, error) {
	t, err := parse(tok)
	if err == nil {
		var e *cacheEntry
		if e, err = v.check(ctx, t, want, now); err == nil {
			return e, nil
		}
	}
	if want == kindM2M || t.p != nil && t.p.kind() == kindM2M {
		return nil, m2mErr(err)
	}
	if CanRefreshRemotely(err) { // checkStatic passed: a session's claims
		return &cacheEntry{ident: t.p.identity(), iat: t.p.IssuedAt.t}, err
	}
	return nil, err
}

// parsed is a token split and decoded up to its kid.
type parsed struct {
	kid    string
	p      *payload
	sig    []byte
	signed string // the signing input: header and payload segments
}

// parse splits and decodes tok and applies the header rules. On an error
// after the payload was decoded, the result still holds it.
func parse(tok string) (parsed, error) {
	if err := checkCharset(tok); err != nil {
		return parsed{}, err
	}
	i := strings.IndexByte(tok, '.')
	j := i + 1 + strings.IndexByte(tok[i+1:], '.')
	if i < 0 || j <= i || strings.IndexByte(tok[j+1:], '.') >= 0 {
		return parsed{}, tokenErr(ErrMalformed, "not three segments")
	}
	var buf [512]byte
	hdr, err := decodeSegment(buf[:0], tok[:i])
	if err != nil {
		return parsed{}, tokenErr(ErrMalformed, "header is not base64url")
	}
	h, err := decodeHeader(hdr)
	if err != nil {
		return parsed{}, err
	}
	raw, err := decodeSegment(nil, tok[i+1:j])
	if err != nil {
		return parsed{}, tokenErr(ErrMalformed, "payload is not base64url")
	}
	t := parsed{signed: tok[:j]}
	if t.p, err = decodePayload(raw); err != nil {
		return t, err
	}
	alg, err := algorithm(h)
	if err != nil {
		return t, err
	}
	if t.sig, err = decodeSegment(nil, tok[j+1:]); err != nil {
		return t, tokenErr(ErrMalformed, "signature is not base64url")
	}
	if alg != jwt.SigningMethodRS256.Alg() {
		return t, tokenErr(ErrAlgorithm, "alg is not RS256")
	}
	t.kid, err = keyID(h)
	return t, err
}

// check applies the claim rules, the key and the time to a parsed token,
// and builds its cache entry.
func (v *Verifier) check(ctx context.Context, t parsed, want tokenKind, now time.Time) (*cacheEntry, error) {
	// Refuse what no key could make valid before looking one up, so a
	// forged token is never "undecidable" for want of keys.
	kind, err := v.checkStatic(t.p, want)
	if err != nil {
		return nil, err
	}
	key, err := v.lookupKey(ctx, t.kid, now)
	if err != nil {
		return nil, err
	}
	if err := jwt.SigningMethodRS256.Verify(t.signed, t.sig, key); err != nil {
		return nil, tokenErr(ErrBadSignature, "signature does not verify")
	}
	if err := v.validateTime(t.p, now); err != nil {
		return nil, err
	}
	e := &cacheEntry{kind: kind, kid: t.kid, key: key, iat: t.p.IssuedAt.t, exp: t.p.ExpiresAt.t}
	if s := v.keys.Load(); s != nil && s.keys[t.kid] == key {
		e.snap = s
	}
	if kind == kindM2M {
		m2mClaims(t.p, &e.m2m)
		return e, nil
	}
	e.ident = t.p.identity()
	if err := memberSession(t.p, e); err != nil {
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

// MaxTokenBytes returns the size cap of a token: Config.MaxTokenBytes, or
// DefaultMaxTokenBytes when that was zero.
func (v *Verifier) MaxTokenBytes() int { return v.maxTokenBytes }

// ProjectID returns the project whose session JWTs v accepts.
func (v *Verifier) ProjectID() string { return v.projectID }
