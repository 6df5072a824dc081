package verifier

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/stytchguard/stytchguard/client"
)

// Defaults applied by New to zero Config fields, and fixed limits.
const (
	// DefaultLeeway is the clock skew tolerated when Config.Leeway is zero.
	DefaultLeeway = 5 * time.Second
	// DefaultJWKSRefreshInterval is the background refresh period.
	DefaultJWKSRefreshInterval = time.Hour
	// DefaultJWKSFetchTimeout bounds each JWKS fetch and each wait for one.
	DefaultJWKSFetchTimeout = 5 * time.Second
	// DefaultJWKSMaxStaleness is how long a key set serves while refreshes
	// fail.
	DefaultJWKSMaxStaleness = 7 * 24 * time.Hour
	// DefaultUnknownKIDWindow is the minimum time between two refetches
	// caused by tokens.
	DefaultUnknownKIDWindow = 30 * time.Second
	// DefaultJWKSRetryMin is the first backoff after a failed fetch.
	DefaultJWKSRetryMin = time.Second
	// DefaultJWKSRetryMax caps the backoff.
	DefaultJWKSRetryMax = time.Minute
	// DefaultCacheSize is the number of verified tokens kept.
	DefaultCacheSize = 10000
	// DefaultMaxTokenBytes is the size cap of a token when
	// Config.MaxTokenBytes is zero.
	DefaultMaxTokenBytes = 8 << 10

	// MaxLeeway is the largest Config.Leeway New accepts.
	MaxLeeway = 5 * time.Minute
	// MaxJWKSBodySize caps the JWKS response body.
	MaxJWKSBodySize = 1 << 20
	// MaxTokenLifetime is the largest exp - iat accepted (plus leeway):
	// Stytch session JWTs live five minutes.
	MaxTokenLifetime = 5 * time.Minute
)

// Config configures a Verifier. Only ProjectID is required; every other zero
// field selects the documented default. New copies the Config: changing it
// afterwards has no effect.
type Config struct {
	// ProjectID is the Stytch project id ("project-test-..." or
	// "project-live-..."). Required. Tokens must carry it in aud and be issued
	// by "stytch.com/<ProjectID>".
	ProjectID string

	// BaseURL is the Stytch API base URL. Empty selects
	// https://api.stytch.com for "project-live-" ids and
	// https://test.stytch.com otherwise; trailing slashes are trimmed. The
	// JWKS is fetched from <BaseURL>/v1/b2b/sessions/jwks/<ProjectID>.
	BaseURL string

	// HTTPClient fetches the JWKS (without credentials). Nil selects a
	// private client whose idle connections Close releases. Each fetch is
	// bounded by JWKSFetchTimeout whatever the client's own timeout.
	HTTPClient *http.Client

	// Leeway is the clock skew tolerated on exp, iat and nbf and on the
	// five-minute lifetime check. Zero selects 5 s; a negative value means
	// none (clocks are trusted to agree); values above MaxLeeway are a
	// validation error.
	Leeway time.Duration

	// Now returns the current time for claim checks, JWKS staleness and the
	// unknown-kid window. Nil selects time.Now. Background refresh timers
	// always run on the real clock.
	Now func() time.Time

	// CustomDomainIssuer is a second accepted iss, compared as an exact
	// string (for example "https://auth.example.com"), for projects that
	// call Stytch through a custom domain. Empty accepts only
	// "stytch.com/<ProjectID>".
	CustomDomainIssuer string

	// Client performs the remote Authenticate of AuthenticateJWT. Nil builds
	// one from ProjectID, Secret, BaseURL and HTTPClient when Secret is set;
	// with neither, AuthenticateJWT returns ErrNoClient where it would need
	// the network.
	Client *client.Client

	// Secret is the project secret, used only to build Client when Client is
	// nil. It is never sent to the JWKS endpoint.
	Secret string

	// JWKSRefreshInterval is the period of the background JWKS refresh, with
	// ±10% jitter. Zero selects one hour.
	JWKSRefreshInterval time.Duration

	// JWKSFetchTimeout bounds every JWKS fetch and every wait for a shared
	// refetch. Zero selects 5 s.
	JWKSFetchTimeout time.Duration

	// JWKSMaxStaleness is how long the last good key set keeps serving when
	// refreshes fail. After it, Verify returns ErrKeysUnavailable. Zero
	// selects seven days.
	JWKSMaxStaleness time.Duration

	// UnknownKIDWindow is the minimum time between two refetches caused by
	// unknown key ids (or by missing keys); inside the window such tokens
	// fail at once. Zero selects 30 s.
	UnknownKIDWindow time.Duration

	// JWKSRetryMin and JWKSRetryMax bound the exponential backoff of the
	// background fetch after a failure (also before the first good set).
	// Zero selects 1 s and 60 s.
	JWKSRetryMin time.Duration
	JWKSRetryMax time.Duration

	// RequireJWKS makes New fail (with an error matching ErrKeysUnavailable)
	// when the first JWKS fetch fails. False lets New succeed and retry in
	// the background; Verify returns ErrKeysUnavailable meanwhile.
	RequireJWKS bool

	// MaxTokenBytes caps the length of a token, in bytes, checked before
	// any decoding: a longer one is ErrTokenTooLarge. Zero selects
	// DefaultMaxTokenBytes (8 KiB); a negative value is a validation error.
	// A caller that caps credentials itself (the middleware's
	// MaxCredentialBytes) passes the same value, so that one limit holds
	// along a request's path.
	MaxTokenBytes int

	// CacheSize is the number of verified tokens kept in memory. Zero
	// selects 10000; a negative value disables the cache.
	CacheSize int

	// Authorizer decides AuthorizationCheck locally in AuthenticateJWT. Nil
	// sends every request with an authorization check to the remote
	// Authenticate.
	Authorizer Authorizer

	// Logger receives JWKS fetch outcomes and one Warn record per key id
	// skipped by the key rules. Nil discards. Tokens and key material are
	// never logged.
	Logger *slog.Logger
}

// Authorizer evaluates an AuthorizationCheck for a locally verified session.
// It returns a verdict when the check passes; an error matching
// client.ErrForbidden when the policy denies it (AuthenticateJWT returns that
// error without a network call); any other error when it cannot decide (no
// policy yet), in which case AuthenticateJWT asks the remote Authenticate.
// Implementations must be safe for concurrent use.
type Authorizer interface {
	Authorize(ctx context.Context, session *client.MemberSession, check *client.AuthorizationCheck) (*client.AuthorizationVerdict, error)
}
