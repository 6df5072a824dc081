package middleware

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/rbac"
	"github.com/stytchguard/stytchguard/verifier"
)

// Defaults of the remote-call limits (RemoteConfig).
const (
	DefaultRemoteTimeout       = 3 * time.Second
	DefaultRemoteMaxConcurrent = 64
	DefaultRemoteCacheTTL      = 5 * time.Second
	DefaultRemoteCacheSize     = 10000
	DefaultBreakerFailures     = 5
	DefaultBreakerOpenFor      = 5 * time.Second
)

// Config configures a Guard. Every zero value is a safe default or a
// validation error, never a permissive setting. Negative values follow one
// rule: in a field that can be switched off (Leeway, MaxTokenAge,
// RemoteConfig.CacheTTL) a negative value switches it off; in every other
// field it is a configuration error.
//
// The fields a service usually sets come first; the rest tune what rarely
// needs tuning.
type Config struct {
	// ProjectID is the Stytch project id. Required.
	ProjectID string
	// Secret is the project secret, used for the remote Authenticate and the
	// policy fetches. Required unless Client is set.
	Secret string
	// OrganizationID names the organization a guarded route acts on, e.g.
	// func(r) string { return r.PathValue("orgID") }, for Require. Nil means
	// the session's own organization. When set, an empty result is refused
	// with 403 tenancy_mismatch (fail closed: the hook probably reads the
	// wrong router or parameter); give routes without an organization in
	// their path a Guard without the hook.
	OrganizationID func(*http.Request) string
	// MaxTokenAge refreshes a session JWT through Stytch once its iat is
	// older than this, bounding how long a revoked session keeps working.
	// Zero (or negative) means trust the JWT until its exp (at most 5
	// minutes).
	MaxTokenAge time.Duration
	// JWTCookie and TokenCookie are the session cookie names. Empty means
	// DefaultJWTCookie and DefaultTokenCookie.
	JWTCookie, TokenCookie string
	// Cookies are the attributes of re-issued and cleared cookies.
	Cookies CookieAttributes
	// CrossOrigin protects cookie-authenticated requests with unsafe
	// methods (POST, PUT, PATCH, DELETE, ...) from cross-site request
	// forgery: such a request must pass its Check (Sec-Fetch-Site, then
	// Origin against Host, then the trusted origins added with
	// AddTrustedOrigin), else it is refused with 403 cross_origin before
	// any verification. Requests with a Bearer credential are exempt (a
	// browser never adds one by itself). Nil means
	// http.NewCrossOriginProtection() with no trusted origin.
	CrossOrigin *http.CrossOriginProtection
	// Logger receives one Debug record per decision, Warn records for
	// outages and Error records for answers of Stytch that fail the
	// binding checks. Tokens, cookies and secrets are never logged. Nil
	// means no logging.
	Logger *slog.Logger
	// ErrorHandler writes refusals. Nil means DefaultErrorHandler (with
	// Realm).
	ErrorHandler ErrorHandler
	// HTTPClient carries every call to Stytch. Nil means private clients with
	// timeouts.
	HTTPClient *http.Client
	// AcceptM2M lets M2M access tokens (Bearer only) through Authenticate,
	// Optional and Require: Require(resource, action) then admits a token
	// holding the scope "action:resource". False means M2M tokens pass only
	// RequireScopes routes and are 401 invalid_token elsewhere.
	AcceptM2M bool
	// M2MOrganizationClaim is the custom claim of an M2M token that binds
	// its client to an organization: on a route whose OrganizationID hook
	// names one, the claim must equal it (else 403 tenancy_mismatch).
	// Empty means "organization_id".
	M2MOrganizationClaim string
	// Now returns the current time of token, cookie and policy decisions.
	// Nil means time.Now. The circuit breaker's open period and Stytch's
	// Retry-After run on real time.
	Now func() time.Time

	// BaseURL is the Stytch API base URL. Empty means the one chosen from
	// ProjectID (live for "project-live-" ids, else test).
	BaseURL string
	// CustomDomainIssuer is a second accepted JWT issuer, for projects served
	// through a custom domain (e.g. "https://auth.example.com"). Empty means
	// only "stytch.com/<project_id>".
	CustomDomainIssuer string
	// Leeway is the clock skew allowed on exp, nbf and iat. Zero means the
	// verifier's default (5 s); a negative value means none.
	Leeway time.Duration
	// Extractors find the credential, first match wins. Nil means
	// BearerExtractor then CookieExtractor: when both a header and cookies
	// are present, the header wins.
	Extractors []Extractor
	// MaxCredentialBytes caps a credential before decoding; it is the only
	// size cap on the path (a Verifier the Guard builds gets the same; New
	// refuses a shared Verifier whose MaxTokenBytes is smaller). Zero means
	// DefaultMaxCredentialBytes (8 KiB).
	MaxCredentialBytes int
	// GuardOPTIONS makes every OPTIONS request go through authentication.
	// False (the zero value) lets a CORS preflight pass untouched: an
	// OPTIONS request with both Origin and Access-Control-Request-Method
	// and no method-override header. Any other OPTIONS request is guarded
	// like any method.
	GuardOPTIONS bool
	// Realm is the WWW-Authenticate realm of the default error handler.
	// Empty means DefaultRealm.
	Realm string
	// OnDecision receives every decision, for metrics. Nil means none. It is
	// called synchronously on the request goroutine.
	OnDecision func(Decision)
	// TracerProvider makes the spans of decisions and remote calls. Nil
	// means the otel global provider; a decision then gets a span only
	// under a recording request span (an SDK installed and the request
	// sampled), so an untraced request pays one context lookup.
	TracerProvider trace.TracerProvider
	// MeterProvider makes the guard's metrics. Nil means the otel global
	// provider.
	MeterProvider metric.MeterProvider

	// Client, Verifier and Policies let several Guards share one client,
	// verifier or policy cache. Nil means the Guard builds its own and closes
	// it on Close; shared ones are not closed by the Guard. A shared
	// Verifier or Policies keeps its own settings: Leeway, Now,
	// CustomDomainIssuer and HTTPClient here do not reach it. A shared
	// Client must be for ProjectID; Secret, BaseURL and HTTPClient are then
	// unused for API calls.
	Client   *client.Client
	Verifier *verifier.Verifier
	Policies *rbac.Cache

	// Remote tunes the calls to Stytch's Authenticate.
	Remote RemoteConfig

	// Fleet shares revocations and remote answers with the other replicas
	// of the service (fleet.Redis). Nil means this replica decides alone:
	// Revoke then refuses a session here only.
	Fleet Fleet
	// FleetOutageMaxTokenAge bounds how long a session JWT is trusted
	// locally while this replica is not current with the fleet's
	// revocation feed (Fleet.Current is not nil): older JWTs, and answers
	// of Stytch's cached longer than this (Remote.CacheTTL may be longer),
	// are checked with Stytch again, so a revocation made during the
	// outage takes effect within this bound. Zero means DefaultFleetOutageMaxTokenAge (30 s);
	// negative is an error.
	FleetOutageMaxTokenAge time.Duration
}

// RemoteConfig tunes the calls to Stytch's Authenticate: timeout,
// concurrency, the short answer cache and the circuit breaker. The zero
// value selects every default.
type RemoteConfig struct {
	// Timeout bounds each Authenticate call. Zero means
	// DefaultRemoteTimeout (3 s). A call is retried at most once, on a 5xx
	// or a timeout.
	Timeout time.Duration
	// MaxConcurrent bounds the Authenticate calls in flight. Zero means
	// DefaultRemoteMaxConcurrent.
	MaxConcurrent int
	// CacheTTL is how long a remote answer is reused for the same
	// credential. Zero means DefaultRemoteCacheTTL (5 s); a negative value
	// switches the cache off (concurrent calls are still coalesced). A
	// session revoked through Guard.Revoke or heard of from Config.Fleet
	// stays refused at least this long, so that no cached answer outlives
	// its revocation; with a Fleet, keep the fleet's retention (for
	// fleet.Redis, RedisConfig.Retention, 15 minutes by default) above
	// max(5 minutes, CacheTTL) plus twice the leeway.
	CacheTTL time.Duration
	// CacheSize bounds that cache. Zero means DefaultRemoteCacheSize.
	CacheSize int
	// BreakerFailures is the number of consecutive outage answers (or
	// answers that fail the binding checks) that open the circuit breaker.
	// Zero means DefaultBreakerFailures.
	BreakerFailures int
	// BreakerOpenFor is how long the open breaker fails fast before letting
	// one probe through. Zero means DefaultBreakerOpenFor.
	BreakerOpenFor time.Duration
}

// CookieAttributes are the attributes of cookies the Guard sets. Zero values
// are the strict choices.
type CookieAttributes struct {
	// Path of the cookies. Empty means "/".
	Path string
	// Domain of the cookies. Empty means host-only.
	Domain string
	// SameSite mode. Zero means http.SameSiteLaxMode.
	SameSite http.SameSite
	// AllowInsecure drops the Secure attribute, for plain-HTTP development.
	// False means Secure.
	AllowInsecure bool
	// ScriptReadable drops HttpOnly, for frontends whose JavaScript reads the
	// session cookies. False means HttpOnly.
	ScriptReadable bool
}

// errConfig wraps every configuration error of New.
var errConfig = errors.New("middleware: invalid config")

func (cfg *Config) normalize() error {
	if strings.TrimSpace(cfg.ProjectID) == "" {
		return fmt.Errorf("%w: empty ProjectID", errConfig)
	}
	if cfg.Secret == "" && cfg.Client == nil {
		return fmt.Errorf("%w: Secret (or a shared Client) is required", errConfig)
	}
	rc := &cfg.Remote
	if rc.Timeout < 0 || rc.BreakerOpenFor < 0 || rc.MaxConcurrent < 0 || rc.CacheSize < 0 ||
		rc.BreakerFailures < 0 || cfg.MaxCredentialBytes < 0 || cfg.FleetOutageMaxTokenAge < 0 {
		return fmt.Errorf("%w: negative duration or limit", errConfig)
	}
	cfg.MaxTokenAge = max(cfg.MaxTokenAge, 0)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.JWTCookie = cmp.Or(cfg.JWTCookie, DefaultJWTCookie)
	cfg.TokenCookie = cmp.Or(cfg.TokenCookie, DefaultTokenCookie)
	if cfg.JWTCookie == cfg.TokenCookie {
		return fmt.Errorf("%w: JWTCookie and TokenCookie must differ", errConfig)
	}
	cfg.MaxCredentialBytes = cmp.Or(cfg.MaxCredentialBytes, DefaultMaxCredentialBytes)
	if cfg.Extractors == nil {
		cfg.Extractors = []Extractor{
			BearerExtractor(cfg.MaxCredentialBytes),
			CookieExtractor(cfg.JWTCookie, cfg.TokenCookie, cfg.MaxCredentialBytes),
		}
	}
	if cfg.CrossOrigin == nil {
		cfg.CrossOrigin = http.NewCrossOriginProtection()
	}
	cfg.M2MOrganizationClaim = cmp.Or(cfg.M2MOrganizationClaim, "organization_id")
	cfg.Realm = cmp.Or(cfg.Realm, DefaultRealm)
	if strings.ContainsAny(cfg.Realm, "\"\\\r\n") {
		return fmt.Errorf("%w: Realm must not contain quotes, backslashes or line breaks", errConfig)
	}
	if cfg.ErrorHandler == nil {
		realm := cfg.Realm
		cfg.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) { writeError(w, realm, err) }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Cookies.Path = cmp.Or(cfg.Cookies.Path, "/")
	cfg.Cookies.SameSite = cmp.Or(cfg.Cookies.SameSite, http.SameSiteLaxMode)
	cfg.FleetOutageMaxTokenAge = cmp.Or(cfg.FleetOutageMaxTokenAge, DefaultFleetOutageMaxTokenAge)
	rc.Timeout = cmp.Or(rc.Timeout, DefaultRemoteTimeout)
	rc.MaxConcurrent = cmp.Or(rc.MaxConcurrent, DefaultRemoteMaxConcurrent)
	rc.CacheTTL = cmp.Or(rc.CacheTTL, DefaultRemoteCacheTTL)
	rc.CacheSize = cmp.Or(rc.CacheSize, DefaultRemoteCacheSize)
	rc.BreakerFailures = cmp.Or(rc.BreakerFailures, DefaultBreakerFailures)
	rc.BreakerOpenFor = cmp.Or(rc.BreakerOpenFor, DefaultBreakerOpenFor)
	return nil
}
