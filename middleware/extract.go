package middleware

import (
	"net/http"
	"strings"
)

// Default cookie names, as set by Stytch's frontend SDKs.
const (
	DefaultJWTCookie   = "stytch_session_jwt"
	DefaultTokenCookie = "stytch_session"
)

// DefaultMaxCredentialBytes caps a credential's length before any decoding.
const DefaultMaxCredentialBytes = 8 << 10

// Bounds of a plausible opaque session token (Stytch's are 44 characters).
const (
	MinSessionTokenLen = 32
	MaxSessionTokenLen = 128
)

// Credential is a session credential found in a request. At most one of
// SessionJWT and SessionToken is used for a decision: the JWT when present.
type Credential struct {
	// SessionJWT is a token of JWT shape (three base64url segments).
	SessionJWT string
	// SessionToken is an opaque session token.
	SessionToken string
	// FromCookies is true when the credential came from session cookies;
	// only then does the Guard re-issue or clear cookies.
	FromCookies bool

	// shaped is set by the built-in extractors, which classify what they
	// return; the Guard checks the shape of any other extractor's output.
	shaped bool
}

// empty reports whether c carries no credential.
func (c Credential) empty() bool { return c.SessionJWT == "" && c.SessionToken == "" }

// Extractor finds the credential of a request. It returns a zero Credential
// and a nil error when the request has none, and an error wrapping
// ErrMalformedCredentials when what it found must be refused.
type Extractor func(r *http.Request) (Credential, error)

// Kind is the shape of a credential string.
type Kind int

// Shapes of a credential string.
const (
	// KindInvalid is neither a JWT nor a session token: refused with 401,
	// never sent to Stytch.
	KindInvalid Kind = iota
	// KindJWT is three non-empty base64url segments separated by dots.
	KindJWT
	// KindSessionToken is one run of base64url characters of plausible
	// length.
	KindSessionToken
)

// Classify tells a session JWT from an opaque session token by shape alone,
// without decoding, and refuses anything longer than maxBytes (0 means
// DefaultMaxCredentialBytes). A JWT is three non-empty segments separated by
// dots; the verifier checks their base64url alphabet strictly before it
// decodes anything, so the scan is not repeated here. A session token is one
// run of base64url characters of plausible length.
func Classify(s string, maxBytes int) Kind {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxCredentialBytes
	}
	if len(s) == 0 || len(s) > maxBytes {
		return KindInvalid
	}
	// Three forward byte searches: a single pass over the credential.
	if i := strings.IndexByte(s, '.'); i >= 0 {
		j := strings.IndexByte(s[i+1:], '.')
		if i == 0 || j <= 0 {
			return KindInvalid
		}
		j += i + 1
		if j == len(s)-1 || strings.IndexByte(s[j+1:], '.') >= 0 {
			return KindInvalid
		}
		return KindJWT
	}
	{
		if len(s) < MinSessionTokenLen || len(s) > MaxSessionTokenLen {
			return KindInvalid
		}
		for i := 0; i < len(s); i++ {
			if !b64URL[s[i]] {
				return KindInvalid
			}
		}
		return KindSessionToken
	}
}

// b64URL marks the base64url alphabet.
var b64URL = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
	}
	return t
}()

// BearerExtractor reads "Authorization: Bearer <credential>". The scheme is
// case-insensitive and separated from the credential by spaces only. More
// than one Authorization header, a credential over maxBytes (0 means
// DefaultMaxCredentialBytes) or one of neither shape is refused. A header
// with another scheme (Basic, ...) is not ours and yields no credential.
func BearerExtractor(maxBytes int) Extractor {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxCredentialBytes
	}
	return func(r *http.Request) (Credential, error) {
		vals := r.Header["Authorization"] // canonical key: no per-request canonicalization
		if len(vals) == 0 {
			return Credential{}, nil
		}
		if len(vals) > 1 {
			return Credential{}, newError(ErrMalformedCredentials, "more than one Authorization header", nil)
		}
		v := vals[0]
		if len(v) > maxBytes+len("Bearer ")+16 {
			return Credential{}, newError(ErrMalformedCredentials, "credential too large", nil)
		}
		const scheme = "bearer"
		if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
			return Credential{}, nil
		}
		rest := v[len(scheme):]
		if rest == "" || rest[0] != ' ' {
			if rest == "" {
				return Credential{}, newError(ErrMalformedCredentials, "empty bearer credential", nil)
			}
			return Credential{}, nil // "Bearerx": another scheme
		}
		rest = strings.TrimLeft(rest, " ")
		return classified(rest, maxBytes, false)
	}
}

// CookieExtractor reads the session JWT cookie jwtName and the session token
// cookie tokenName (empty names mean the defaults). A cookie name present
// more than once is refused, since the duplicate may have been planted by a
// sibling domain.
func CookieExtractor(jwtName, tokenName string, maxBytes int) Extractor {
	if jwtName == "" {
		jwtName = DefaultJWTCookie
	}
	if tokenName == "" {
		tokenName = DefaultTokenCookie
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxCredentialBytes
	}
	return func(r *http.Request) (Credential, error) {
		if len(r.Header["Cookie"]) == 0 {
			return Credential{}, nil
		}
		jwtCookies, tokCookies := r.CookiesNamed(jwtName), r.CookiesNamed(tokenName)
		if len(jwtCookies) > 1 || len(tokCookies) > 1 {
			return Credential{}, newError(ErrMalformedCredentials, "duplicate session cookie", nil)
		}
		var jwtVal, tokVal string
		if len(jwtCookies) == 1 {
			jwtVal = jwtCookies[0].Value
		}
		if len(tokCookies) == 1 {
			tokVal = tokCookies[0].Value
		}
		cred := Credential{shaped: true}
		if jwtVal != "" {
			if Classify(jwtVal, maxBytes) != KindJWT {
				return Credential{}, newError(ErrMalformedCredentials, "session JWT cookie is malformed", nil)
			}
			cred.SessionJWT = jwtVal
		}
		if tokVal != "" {
			if Classify(tokVal, maxBytes) != KindSessionToken {
				if cred.SessionJWT == "" {
					return Credential{}, newError(ErrMalformedCredentials, "session token cookie is malformed", nil)
				}
			} else {
				cred.SessionToken = tokVal
			}
		}
		cred.FromCookies = !cred.empty()
		return cred, nil
	}
}

func classified(s string, maxBytes int, fromCookies bool) (Credential, error) {
	switch Classify(s, maxBytes) {
	case KindJWT:
		return Credential{SessionJWT: s, FromCookies: fromCookies, shaped: true}, nil
	case KindSessionToken:
		return Credential{SessionToken: s, FromCookies: fromCookies, shaped: true}, nil
	}
	if len(s) > maxBytes {
		return Credential{}, newError(ErrMalformedCredentials, "credential too large", nil)
	}
	return Credential{}, newError(ErrMalformedCredentials, "credential is neither a session JWT nor a session token", nil)
}
