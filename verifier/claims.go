package verifier

import (
	"slices"
	"time"

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

// checkStatic tells the token's kind from its claims and applies the rules
// that do not depend on the time or the key: the kind asked for (want, or
// kindAny), issuer, audience, the kind's required claims and lifetime. It
// runs before the key lookup too, so that a token failing them is refused
// as such even while no signing keys are available (and is never sent to
// Stytch). A token of neither kind is held to the session rules unless an
// M2M token was asked for.
func (v *Verifier) checkStatic(p *payload, want tokenKind) (tokenKind, error) {
	kind := p.kind()
	switch {
	case want == kindM2M && kind == kindSession:
		return kind, tokenErr(ErrNotM2M, "a session JWT, not an M2M access token")
	case want == kindM2M && kind == kindNeither:
		return kind, tokenErr(ErrClaims, "scope missing or not a string")
	case want == kindSession && kind == kindM2M:
		return kind, tokenErr(ErrM2MToken, "an M2M access token, not a session JWT")
	case kind == kindNeither:
		kind = kindSession
	}
	if p.Issuer != v.issuer && (v.customIssuer == "" || p.Issuer != v.customIssuer) {
		return kind, tokenErr(ErrIssuer, "iss is not the project's issuer")
	}
	if !slices.Contains(p.Audience, v.projectID) {
		return kind, tokenErr(ErrAudience, "aud does not contain the project id")
	}
	if p.Subject == "" {
		return kind, tokenErr(ErrClaims, "sub missing")
	}
	lifetime := MaxTokenLifetime
	if kind == kindM2M {
		if p.Organization != nil {
			return kind, tokenErr(ErrClaims, "organization claim on an M2M access token")
		}
		lifetime = MaxM2MTokenLifetime
	} else {
		if p.Session == nil || p.Session.ID == "" {
			return kind, tokenErr(ErrClaims, "session claim missing")
		}
		if p.Organization == nil || p.Organization.ID == "" {
			return kind, tokenErr(ErrClaims, "organization claim missing")
		}
		if jti, ok := p.Others["jti"]; ok && jti != nil {
			if _, ok := jti.(string); !ok {
				return kind, tokenErr(ErrClaims, "jti is not a string")
			}
		}
	}
	if !p.ExpiresAt.set {
		return kind, tokenErr(ErrClaims, "exp missing")
	}
	if !p.IssuedAt.set {
		return kind, tokenErr(ErrClaims, "iat missing")
	}
	exp, iat := p.ExpiresAt.t, p.IssuedAt.t
	if exp.Before(iat) {
		return kind, tokenErr(ErrClaims, "exp before iat")
	}
	if exp.Sub(iat) > lifetime+v.leeway {
		return kind, tokenErr(ErrClaims, "lifetime longer than the kind's maximum")
	}
	return kind, nil
}

// validateTime applies the time rules to a token that passed checkStatic.
func (v *Verifier) validateTime(p *payload, now time.Time) error {
	horizon := now.Add(v.leeway)
	if p.IssuedAt.t.After(horizon) {
		return tokenErr(ErrNotYetValid, "iat in the future")
	}
	if p.NotBefore.set && p.NotBefore.t.After(horizon) {
		return tokenErr(ErrNotYetValid, "nbf in the future")
	}
	if !now.Before(p.ExpiresAt.t.Add(v.leeway)) {
		return tokenErr(ErrExpired, "exp passed")
	}
	return nil
}

// memberSession maps the verified claims of a session token to e's Claims
// and MemberSession as the reference does: session id, sub, the session
// timestamps (RFC 3339, converted to UTC; expires_at falls back to exp),
// factors, roles, organization and custom claims (never nil). Malformed
// timestamps are ErrClaims. It consumes p.
func memberSession(p *payload, e *cacheEntry) error {
	c, times := &e.res.claims, &e.times
	custom := p.sessionClaims(c, &e.dates)
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
	e.res.session = client.MemberSession{
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
