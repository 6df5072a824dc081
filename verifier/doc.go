// Package verifier verifies Stytch B2B session JWTs locally, against a
// cached JWKS, and falls back to the Stytch API only when the API can
// succeed where the local check could not.
//
// # Verification
//
// [Verifier.Verify] checks a session JWT without any network call (except
// the shared, rate-limited JWKS refetch described below) and returns the
// [client.MemberSession] and [client.Claims]. The rules:
//
//   - at most Config.MaxTokenBytes bytes (default [DefaultMaxTokenBytes]),
//     checked before decoding; three
//     non-empty segments of the base64url alphabet, strictly decoded (no
//     padding, no non-canonical encodings, no line breaks);
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
// # Cache
//
// Verified tokens are kept in a github.com/maypok86/otter/v2 cache of
// Config.CacheSize entries, looked up by the whole token string (a keyed
// hash of its last 64 bytes, then an exact comparison), and served until
// min(exp, iat + max age) as long as their key is still published and
// fresh. Callers receive shallow copies: the
// structs are theirs, the slices, maps and time pointers inside are shared
// and must not be modified.
package verifier
