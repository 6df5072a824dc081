package verifier

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/client"
)

// Claim names of a Stytch session JWT.
const (
	// SessionClaimName is the claim holding the session object.
	SessionClaimName = "https://stytch.com/session"
	// OrganizationClaimName is the claim holding the organization id and
	// slug.
	OrganizationClaimName = "https://stytch.com/organization"
	// stytchClaimPrefix is the namespace excluded from custom claims.
	stytchClaimPrefix = "https://stytch.com/"
)

// maxOtherStytchClaims bounds the https://stytch.com/ claims besides the
// session and organization ones, which keeps their duplicate check cheap.
const maxOtherStytchClaims = 16

// maxNumericDate bounds exp, iat and nbf (year 5138): anything larger is not
// a time a Stytch token can carry, and would overflow time arithmetic.
const maxNumericDate = 1e11

// Bits of tokenClaims.seen, one per claim this package reads.
const (
	seenIss = 1 << iota
	seenSub
	seenAud
	seenExp
	seenIat
	seenNbf
	seenJti
	seenSession
	seenOrg
)

// tokenClaims is what the payload decodes into, in one pass: the typed claims
// plus the custom claims (every other top-level member). verify calls
// UnmarshalJSON on it after json.Valid accepted the payload; it is never
// decoded twice.
type tokenClaims struct {
	client.Claims
	custom      map[string]any
	seen        uint16
	otherStytch []string           // other https://stytch.com/* names, for duplicate detection
	dates       [3]jwt.NumericDate // storage for ExpiresAt, IssuedAt, NotBefore
}

// UnmarshalJSON walks the payload's members once. Registered names and the
// Stytch claims go to their typed fields, https://stytch.com/* names are
// dropped, everything else becomes a custom claim. A duplicated name, a
// non-numeric time claim, a non-positive or absurd time, and a mistyped
// registered claim are errors.
func (c *tokenClaims) UnmarshalJSON(data []byte) error {
	end, err := objectAt(data, c.member)
	if err != nil {
		return err
	}
	return trailing(data, end)
}

func (c *tokenClaims) mark(bit uint16) error {
	if c.seen&bit != 0 {
		return tokenErr(ErrClaims, "duplicated claim")
	}
	c.seen |= bit
	return nil
}

// member decodes one top-level member whose value starts rest, and returns
// the value's length.
func (c *tokenClaims) member(name, rest []byte) (int, error) {
	var err error
	switch string(name) {
	case SessionClaimName:
		if err = c.mark(seenSession); err != nil {
			return 0, err
		}
		n, err := decodeSession(rest, &c.Session)
		return n, claimErr(err)
	case OrganizationClaimName:
		if err = c.mark(seenOrg); err != nil {
			return 0, err
		}
		n, err := decodeOrg(rest, &c.Organization)
		return n, claimErr(err)
	}
	n, err := skip(rest)
	if err != nil {
		return 0, err
	}
	raw := rest[:n]
	switch string(name) {
	case "iss":
		if err = c.mark(seenIss); err == nil {
			c.Issuer, err = jsonString(raw)
		}
	case "sub":
		if err = c.mark(seenSub); err == nil {
			c.Subject, err = jsonString(raw)
		}
	case "jti":
		if err = c.mark(seenJti); err == nil {
			c.ID, err = jsonString(raw)
		}
	case "aud":
		if err = c.mark(seenAud); err == nil {
			err = decodeAudience(raw, &c.Audience)
		}
	case "exp":
		if err = c.mark(seenExp); err == nil {
			c.ExpiresAt, err = numericDate(raw, &c.dates[0])
		}
	case "iat":
		if err = c.mark(seenIat); err == nil {
			c.IssuedAt, err = numericDate(raw, &c.dates[1])
		}
	case "nbf":
		if err = c.mark(seenNbf); err == nil {
			c.NotBefore, err = numericDate(raw, &c.dates[2])
		}
	default:
		key := string(name)
		if strings.HasPrefix(key, stytchClaimPrefix) {
			if slices.Contains(c.otherStytch, key) {
				return 0, tokenErr(ErrClaims, "duplicated claim")
			}
			if len(c.otherStytch) == maxOtherStytchClaims {
				return 0, tokenErr(ErrClaims, "too many https://stytch.com/ claims")
			}
			c.otherStytch = append(c.otherStytch, key)
			return n, nil
		}
		if c.custom == nil {
			c.custom = make(map[string]any)
		} else if _, dup := c.custom[key]; dup {
			return 0, tokenErr(ErrClaims, "duplicated claim")
		}
		var v any
		if v, err = decodeAny(raw); err == nil {
			c.custom[key] = v
		}
	}
	return n, claimErr(err)
}

// claimErr turns a decoding error into ErrClaims, keeping TokenErrors.
func claimErr(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*TokenError); ok {
		return err
	}
	// The decoder's message can quote payload text: keep only the reason.
	return tokenErr(ErrClaims, "mistyped claim")
}

// decodeAudience accepts a string or an array of strings, like
// jwt.ClaimStrings, but rejects null and other types.
func decodeAudience(raw []byte, aud *jwt.ClaimStrings) error {
	switch raw[0] {
	case '"':
		s, err := jsonString(raw)
		if err != nil {
			return err
		}
		*aud = jwt.ClaimStrings{s}
		return nil
	case '[':
		var list []string
		if _, err := decodeStrings(raw, &list); err != nil {
			return err
		}
		*aud = list
		return nil
	}
	return tokenErr(ErrClaims, "aud is neither a string nor an array of strings")
}

// numericDate decodes a JSON number of seconds since the epoch. Strings,
// null, booleans, zero, negative and absurdly large values are rejected.
func numericDate(raw []byte, dst *jwt.NumericDate) (*jwt.NumericDate, error) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return nil, tokenErr(ErrClaims, "time claim is not a JSON number")
	}
	var sec, nsec int64
	if n, ok := smallInt(raw); ok {
		sec = n
	} else {
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, tokenErr(ErrClaims, "time claim is not a number")
		}
		if f <= 0 || f > maxNumericDate {
			return nil, tokenErr(ErrClaims, "time claim out of range")
		}
		whole, frac := math.Modf(f)
		sec, nsec = int64(whole), int64(math.Round(frac*1e9))
	}
	if sec <= 0 || sec > maxNumericDate {
		return nil, tokenErr(ErrClaims, "time claim out of range")
	}
	dst.Time = time.Unix(sec, nsec)
	return dst, nil
}

// decodeAny decodes a custom claim value as encoding/json does into an
// interface (numbers become float64), without reflection for scalars.
func decodeAny(raw []byte) (any, error) {
	switch raw[0] {
	case '"':
		return jsonString(raw)
	case 't', 'f', 'n':
		switch string(raw) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null":
			return nil, nil
		}
	case '{', '[':
		var v any
		err := json.Unmarshal(raw, &v)
		return v, err
	default:
		if f, err := strconv.ParseFloat(string(raw), 64); err == nil {
			return f, nil
		}
	}
	var v any // anything else: encoding/json reports it
	err := json.Unmarshal(raw, &v)
	return v, err
}

// smallInt parses a plain run of at most 15 decimal digits.
func smallInt(raw []byte) (int64, bool) {
	if len(raw) == 0 || len(raw) > 15 {
		return 0, false
	}
	var n int64
	for _, b := range raw {
		if b < '0' || b > '9' {
			return 0, false
		}
		n = n*10 + int64(b-'0')
	}
	return n, true
}

// validateStatic applies the rules that do not depend on the time or the
// key: issuer, audience, required claims and lifetime. It runs before the
// key lookup too, so that a token failing them is refused as such even
// while no signing keys are available (and is never sent to Stytch).
func (v *Verifier) validateStatic(c *tokenClaims) error {
	if c.Issuer != v.issuer && (v.customIssuer == "" || c.Issuer != v.customIssuer) {
		return tokenErr(ErrIssuer, "iss is not the project's issuer")
	}
	if !slices.Contains(c.Audience, v.projectID) {
		return tokenErr(ErrAudience, "aud does not contain the project id")
	}
	if c.Subject == "" {
		return tokenErr(ErrClaims, "sub missing")
	}
	if c.seen&seenSession == 0 || c.Session.ID == "" {
		return tokenErr(ErrClaims, "session claim missing")
	}
	if c.seen&seenOrg == 0 || c.Organization.ID == "" {
		return tokenErr(ErrClaims, "organization claim missing")
	}
	if c.ExpiresAt == nil {
		return tokenErr(ErrClaims, "exp missing")
	}
	if c.IssuedAt == nil {
		return tokenErr(ErrClaims, "iat missing")
	}
	exp, iat := c.ExpiresAt.Time, c.IssuedAt.Time
	if exp.Before(iat) {
		return tokenErr(ErrClaims, "exp before iat")
	}
	if exp.Sub(iat) > MaxTokenLifetime+v.leeway {
		return tokenErr(ErrClaims, "lifetime longer than five minutes")
	}
	return nil
}

// validateTime applies the time rules to a token that passed
// validateStatic.
func (v *Verifier) validateTime(c *tokenClaims, now time.Time) error {
	iat, exp := c.IssuedAt.Time, c.ExpiresAt.Time
	horizon := now.Add(v.leeway)
	if iat.After(horizon) {
		return tokenErr(ErrNotYetValid, "iat in the future")
	}
	if c.NotBefore != nil && c.NotBefore.After(horizon) {
		return tokenErr(ErrNotYetValid, "nbf in the future")
	}
	if !now.Before(exp.Add(v.leeway)) {
		return tokenErr(ErrExpired, "exp passed")
	}
	return nil
}

// memberSession maps verified claims to a MemberSession as the reference
// does: session id, sub, the session timestamps (RFC 3339, converted to UTC;
// expires_at falls back to exp), factors, roles, organization and custom
// claims (never nil). Malformed timestamps are ErrClaims.
func memberSession(c *tokenClaims, ms *client.MemberSession, times *[3]time.Time) error {
	var err error
	if times[0], err = time.Parse(time.RFC3339, c.Session.StartedAt); err != nil {
		return tokenErr(ErrClaims, "session started_at is not RFC 3339")
	}
	if times[1], err = time.Parse(time.RFC3339, c.Session.LastAccessedAt); err != nil {
		return tokenErr(ErrClaims, "session last_accessed_at is not RFC 3339")
	}
	if c.Session.ExpiresAt != "" {
		if times[2], err = time.Parse(time.RFC3339, c.Session.ExpiresAt); err != nil {
			return tokenErr(ErrClaims, "session expires_at is not RFC 3339")
		}
	} else {
		times[2] = c.ExpiresAt.Time
	}
	for i := range times {
		times[i] = times[i].UTC()
	}
	custom := c.custom
	if custom == nil {
		custom = map[string]any{}
	}
	*ms = client.MemberSession{
		MemberSessionID:       c.Session.ID,
		MemberID:              c.Subject,
		StartedAt:             &times[0],
		LastAccessedAt:        &times[1],
		ExpiresAt:             &times[2],
		AuthenticationFactors: c.Session.AuthenticationFactors,
		OrganizationID:        c.Organization.ID,
		Roles:                 c.Session.Roles,
		OrganizationSlug:      c.Organization.Slug,
		CustomClaims:          custom,
	}
	return nil
}
