// Package verifier verifies Stytch B2B session JWTs and M2M access tokens
// locally, against a cached JWKS, and falls back to the Stytch API only for
// session JWTs, and only when the API can succeed where the local check
// could not.
//
// # Verification
//
// [Verifier.Verify] checks a session JWT without any network call (except
// the shared, rate-limited JWKS refetch described below) and returns the
// [client.MemberSession] and [client.Claims]. The rules:
//
//   - at most Config.MaxTokenBytes bytes (default [DefaultMaxTokenBytes]),
//     checked before decoding; three non-empty segments of the base64url
//     alphabet, strictly decoded (no padding, no non-canonical encodings, no
//     line breaks);
//   - header and payload each decoded once, by
//     github.com/go-json-experiment/json (the upstream of Go's
//     encoding/json/v2) with its defaults: a member name repeated in any
//     object, invalid UTF-8 and lone surrogate escapes are refused, names
//     match exactly, and a value of the wrong type for its claim is an
//     error;
//   - alg exactly RS256; no crit, b64, jku, jwk, x5u, x5c or zip header; no
//     duplicated header name; kid a non-empty string naming a key of the
//     JWKS; the signature checked by golang-jwt's RS256;
//   - iss exactly "stytch.com/<project id>" or Config.CustomDomainIssuer,
//     read once from the one decode of the payload; aud contains the
//     project id; sub, the session claim (with an id) and the organization
//     claim are required; no claim appears twice;
//   - exp and iat are required JSON numbers (not strings, null, zero or
//     negative); iat and nbf are not in the future beyond the leeway; exp
//     plus leeway is in the future; exp - iat is at most five minutes plus
//     leeway.
//
// The claims map to the session as the reference SDK does; custom claims
// are the top-level claims other than the registered names (jti included)
// and the https://stytch.com/ namespace.
//
// # M2M access tokens
//
// Stytch signs M2M access tokens (OAuth 2.0 client credentials) with the
// same project keys as session JWTs, so a token's kind is told by its claims
// alone: one with the https://stytch.com/session claim is a session JWT; one
// without it whose scope claim is a JSON string is an M2M access token.
// [Verifier.VerifyM2M] holds M2M tokens to the same key, header, issuer,
// audience, leeway and decoding rules, requires sub (the client id), exp and
// iat, allows a lifetime of one hour plus leeway, and returns a deep copy of
// the [client.M2MClaims]. A session JWT given to VerifyM2M is [ErrNotM2M];
// an M2M token given to Verify is [ErrM2MToken]; a scope that is not a
// string is [ErrClaims]. There is no remote path for M2M tokens: every error
// about one carries TokenError.M2M, CanRefreshRemotely is false for it even
// when expired, and AuthenticateJWT never sends one to Stytch. Both kinds
// share the verified-token cache; an entry knows its kind.
//
// # Keys
//
// The JWKS is fetched from <base URL>/v1/b2b/sessions/jwks/<project id>
// without credentials. Only RSA keys of 2048 to 8192 bits with public
// exponent exactly 65537, with use "sig" or unset and alg "RS256" or unset,
// are kept; any other RSA signing key is skipped, never used, and logged
// once per key id at Warn over the Verifier's life (the record names the
// kid and the rule, never key material). Kept keys live in an immutable
// snapshot swapped atomically, so the key lookup takes no lock. A background
// loop refreshes the set every Config.JWKSRefreshInterval (with jitter), and
// after a failure retries with backoff from 1 s to 60 s. Each fetch has a
// timeout and a 1 MiB body cap; a bad answer keeps the last good set, which
// keeps serving up to Config.JWKSMaxStaleness. [Verifier.Status] reports
// the state, including the last error.
//
// A token whose kid is unknown triggers one refetch shared by every
// concurrent caller, at most once per Config.UnknownKIDWindow; a kid still
// unknown afterwards, or inside the window, is [ErrUnknownKey]: Stytch
// publishes keys before signing with them, so the token is forged. When no
// usable keys are held (before the first good fetch, or after the maximum
// staleness) Verify returns [ErrKeysUnavailable].
//
// # Errors
//
// Every failure is a [*TokenError] whose Reason is a sentinel. All token
// problems match [ErrInvalidToken]; [ErrKeysUnavailable] is separate.
// [CanRefreshRemotely] is true for [ErrExpired], [ErrTooOld] and
// [ErrKeysUnavailable]: the only cases where asking Stytch can help. Error
// strings never contain the token.
//
// # Remote fallback
//
// [Verifier.AuthenticateJWT] keeps the reference semantics of
// [client.AuthenticateJWTParams] (MaxTokenAge zero always asks the API) but
// calls the API only when [CanRefreshRemotely] says it can succeed; a
// forged token gets its local error and costs no request.
//
// # Binding remote answers
//
// Nothing in an Authenticate answer is trusted for being a 200:
// [Verifier.BindAnswer] checks that it is about what was sent ([Sent]): a
// complete member_session whose member and organization objects agree with
// it; for a JWT, the session id, subject and organization of the JWT
// ([Verified.Identity]); for an opaque token, the echoed session_token; a
// returned session_jwt that verifies and names the same session; for an
// authorization check, an authorized verdict granted by the session's own
// roles. An answer that fails is [ErrUnboundAnswer], an upstream fault
// (client.ErrUnavailable), never a verdict on the credential.
// AuthenticateJWT binds every answer it receives before returning it.
//
// # Cache
//
// Verified tokens are kept in a github.com/maypok86/otter/v2 cache of
// Config.CacheSize entries, looked up by the whole token string (a keyed
// hash of its last 64 bytes, then an exact comparison), and served until
// min(exp, iat + max age) as long as their key is still published and
// fresh. [Verifier.Verify] hands out shallow copies (the structs are the
// caller's, the slices, maps and time pointers inside are shared and must
// not be modified); [Verifier.VerifyM2M] deep copies;
// [Verifier.VerifyShared], the hot path's call, hands out the cache's own
// values in a [Verified] returned by value, so a hit allocates nothing.
package verifier
