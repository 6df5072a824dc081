package verifier

import (
	"errors"

	"github.com/stytchguard/stytchguard/client"
)

// category is a sentinel error that belongs to zero or more parent
// categories: errors.Is(child, parent) reports true for each parent.
type category struct {
	msg     string
	parents []error
}

func (c *category) Error() string { return c.msg }

// Unwrap returns the parent categories, so errors.Is walks up to them.
func (c *category) Unwrap() []error { return c.parents }

func newCategory(msg string, parents ...error) error {
	return &category{msg: msg, parents: parents}
}

// Category sentinels. Callers branch on them with errors.Is to choose a
// response: every token problem is an ErrInvalidToken (401), and
// ErrKeysUnavailable means the verifier could not decide locally (ask Stytch
// or answer 503). The categories themselves are the client package's:
// ErrInvalidToken is a kind of client.ErrSessionInvalid and
// ErrKeysUnavailable a kind of client.ErrUnavailable, so one errors.Is on
// the client's vocabulary sorts local and remote failures alike.
var (
	// ErrInvalidToken is the category of every error that says the token
	// itself is not acceptable locally. ErrExpired and ErrTooOld are in this
	// category too; CanRefreshRemotely tells them apart from forgeries. It
	// matches client.ErrSessionInvalid.
	ErrInvalidToken = newCategory("verifier: invalid token", client.ErrSessionInvalid)

	// ErrKeysUnavailable reports that no usable signing keys are held: the
	// JWKS has not been fetched successfully yet, or the last good set is
	// older than the maximum staleness. The token may be valid; only the
	// remote Authenticate can tell. It matches client.ErrUnavailable.
	ErrKeysUnavailable = newCategory("verifier: signing keys unavailable", client.ErrUnavailable)
)

// Specific reasons. Each is also an ErrInvalidToken.
var (
	// ErrExpired reports a token whose signature, algorithm, issuer and
	// audience are valid but whose exp (plus leeway) has passed. The remote
	// Authenticate can refresh a session JWT while the session lives; an
	// M2M access token has no such path.
	ErrExpired = newCategory("verifier: token expired", ErrInvalidToken)

	// ErrTooOld reports a valid token whose iat is further in the past than
	// the maximum token age the caller allows. It also matches
	// client.ErrJWTTooOld.
	ErrTooOld = newCategory("verifier: session JWT too old", ErrInvalidToken, client.ErrJWTTooOld)

	// ErrMalformed reports a token that is not three strict base64url
	// segments of JSON objects.
	ErrMalformed = newCategory("verifier: malformed token", ErrInvalidToken)

	// ErrTokenTooLarge reports a token longer than Config.MaxTokenBytes; it
	// is rejected before any decoding.
	ErrTokenTooLarge = newCategory("verifier: token too large", ErrInvalidToken)

	// ErrBadSignature reports a signature that does not verify with the key
	// named by kid.
	ErrBadSignature = newCategory("verifier: bad signature", ErrInvalidToken)

	// ErrUnknownKey reports a kid that is not in the held JWKS, even after
	// the shared refetch (or when the refetch is rate-limited, fails or times
	// out). Stytch publishes keys long before signing with them, so such a
	// token is forged.
	ErrUnknownKey = newCategory("verifier: unknown signing key", ErrInvalidToken)

	// ErrAlgorithm reports an alg other than RS256.
	ErrAlgorithm = newCategory("verifier: signing algorithm not allowed", ErrInvalidToken)

	// ErrForbiddenHeader reports a header that is never acceptable: crit, b64,
	// jku, jwk, x5u, x5c, zip, a duplicated header key, or a missing or
	// non-string kid.
	ErrForbiddenHeader = newCategory("verifier: forbidden JWT header", ErrInvalidToken)

	// ErrIssuer reports an iss other than stytch.com/<project_id> or the
	// configured custom-domain issuer.
	ErrIssuer = newCategory("verifier: wrong issuer", ErrInvalidToken)

	// ErrAudience reports an aud that does not contain the project id.
	ErrAudience = newCategory("verifier: wrong audience", ErrInvalidToken)

	// ErrClaims reports missing, mistyped, duplicated or inconsistent claims
	// (sub, the Stytch session and organization claims, exp, iat, nbf, an
	// M2M token's scope, a lifetime longer than the token's kind allows,
	// malformed session timestamps).
	ErrClaims = newCategory("verifier: invalid claims", ErrInvalidToken)

	// ErrNotYetValid reports an iat or nbf in the future beyond the leeway.
	ErrNotYetValid = newCategory("verifier: token not valid yet", ErrInvalidToken)

	// ErrM2MToken reports an M2M access token where a session JWT is
	// required (Verify, VerifyMaxAge, AuthenticateJWT). It is never
	// refreshable: Stytch's sessions API does not take M2M tokens.
	ErrM2MToken = newCategory("verifier: M2M access token where a session JWT is required", ErrInvalidToken)

	// ErrNotM2M reports a session JWT given to VerifyM2M.
	ErrNotM2M = newCategory("verifier: not an M2M access token", ErrInvalidToken)
)

// ErrNoClient is returned by AuthenticateJWT when the remote Authenticate is
// needed but the Verifier has neither a Config.Client nor a Config.Secret.
var ErrNoClient = errors.New("verifier: remote authenticate needs Config.Client or Config.Secret")

// TokenError is the error type Verify and VerifyM2M return. Reason is one
// of the sentinels of this package (ErrMalformed, ErrExpired,
// ErrKeysUnavailable, ...); Detail is a fixed description written by this
// package; Err, when set, is the underlying cause. M2M is true when the
// token's claims are an M2M access token's, or an M2M token was asked for:
// such a token has no remote path, and CanRefreshRemotely is false for it
// whatever the Reason. Error() never contains any part of the token:
// neither the cause's text nor attacker-chosen header values are printed.
type TokenError struct {
	Reason error
	Detail string
	Err    error
	M2M    bool
}

// Error returns the reason and the fixed detail.
func (e *TokenError) Error() string {
	if e.Detail == "" {
		return e.Reason.Error()
	}
	return e.Reason.Error() + ": " + e.Detail
}

// Unwrap returns the reason and the cause, so errors.Is matches the reason's
// categories and errors.As reaches the cause.
func (e *TokenError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Err}
}

func tokenErr(reason error, detail string) error {
	return &TokenError{Reason: reason, Detail: detail}
}

func tokenErrCause(reason error, detail string, cause error) error {
	return &TokenError{Reason: reason, Detail: detail, Err: cause}
}

// CanRefreshRemotely reports whether the remote Authenticate can succeed where
// local verification failed with err: the token is a session JWT that is
// authentic but expired or too old, or no usable keys were available to
// check it. It is false for nil, for every forgery (bad signature, unknown
// key, wrong alg, issuer or audience, malformed token), which must be
// rejected without a network call, and for every M2M access token (a
// *TokenError with M2M set), for which no remote path exists.
func CanRefreshRemotely(err error) bool {
	if te, ok := errors.AsType[*TokenError](err); ok && te.M2M {
		return false
	}
	return errors.Is(err, ErrExpired) || errors.Is(err, ErrTooOld) || errors.Is(err, ErrKeysUnavailable)
}

// m2mErr marks err, a *TokenError about an M2M token, as such.
func m2mErr(err error) error {
	if te, ok := err.(*TokenError); ok {
		te.M2M = true
	}
	return err
}
