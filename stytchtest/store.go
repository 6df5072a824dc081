package stytchtest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/stytchguard/stytchguard/client"
)

// ErrInvalidSpec is returned (wrapped) by NewSession and AddMember for a
// SessionSpec the emulator cannot honour.
var ErrInvalidSpec = errors.New("stytchtest: invalid session spec")

// ErrSessionNotFound is returned by MintJWT for a token that names no live
// session.
var ErrSessionNotFound = errors.New("stytchtest: session not found")

// defaultSessionDuration is the lifetime of a session created without an
// explicit duration, as in the API.
const defaultSessionDuration = 60 * time.Minute

// jwtLifetime is the lifetime of every minted session JWT.
const jwtLifetime = 5 * time.Minute

// SessionSpec describes a session for NewSession (and a member for
// AddMember). Every field is optional.
type SessionSpec struct {
	// OrganizationID is the organization of the session; "" generates
	// "organization-test-<uuid>". The organization is created when it does
	// not exist yet.
	OrganizationID string
	// MemberID is the member of the session; "" reuses the member of the
	// organization with Email, or generates "member-test-<uuid>". The member
	// is created when it does not exist yet; an existing member must belong
	// to OrganizationID.
	MemberID string
	// Email is the member's email address; "" means "<member id>@example.com"
	// for a new member and the member's address for an existing one.
	Email string
	// Roles are the session's roles besides "stytch_member", which every
	// session holds; duplicates are dropped. They are also added to the
	// member's roles.
	Roles []string
	// Duration is the session lifetime from now; 0 means 60 minutes, as in
	// the API.
	Duration time.Duration
	// CustomClaims are the session's custom claims, copied into every JWT
	// minted for it. They follow the API's rules: no registered claim names,
	// nothing under https://stytch.com/, at most 4 KB of JSON.
	CustomClaims map[string]any

	// OrganizationSlug is the slug of a newly created organization; ""
	// uses the organization id. It is ignored for an existing organization.
	OrganizationSlug string
	// AuthMethod is the primary authentication method of the session, named
	// as in an organization's allowed_auth_methods: "magic_link" (the
	// default), "email_otp", "password", "sso", "google_oauth" or
	// "microsoft_oauth". It decides the session's authentication factor.
	AuthMethod string
	// IPAddress and UserAgent are the session's recorded attributes.
	IPAddress, UserAgent string
	// MFAPhoneNumber enrolls the member in SMS MFA with this number (E.164,
	// e.g. "+15555550123"); "" leaves the member as it is. Exchange into an
	// organization that requires MFA offers it in mfa_required.
	MFAPhoneNumber string
}

// orgByRefLocked finds an organization by id or, as the API allows for
// organization_id inputs, by slug. s.mu must be held.
func (s *Server) orgByRefLocked(ref string) (*organization, bool) {
	if o, ok := s.orgs[ref]; ok {
		return o, true
	}
	for _, o := range s.orgs {
		if o.slug == ref {
			return o, true
		}
	}
	return nil, false
}

type organization struct {
	id, slug, name     string
	created            time.Time
	allowedAuthMethods []string // empty: every method allowed
	mfaRequired        bool     // mfa_policy REQUIRED_FOR_ALL
}

type member struct {
	id, orgID, email, emailID string
	name                      string   // "" unless seeded with one
	mfaPhone                  string   // "" when not enrolled in MFA
	roles                     []string // besides stytch_member
	created                   time.Time
}

type session struct {
	id, token       string
	orgID, memberID string
	started         time.Time
	lastAccessed    time.Time
	expires         time.Time
	factors         []wireFactor
	roles           []string
	claims          map[string]any
	ip, ua          string
	revoked         bool
}

func (ss *session) alive(now time.Time) bool {
	return !ss.revoked && now.Before(ss.expires)
}

// externalIdentity is who an external token stands for: a member, whose
// email address Migrate matches in the organization it is asked for.
type externalIdentity struct {
	memberID string
}

// NewSession creates a session as SessionSpec describes, creating its
// organization and member first when they do not exist, and returns the
// session token and a freshly minted session JWT. It returns an error
// wrapping ErrInvalidSpec when the spec conflicts with existing data (a
// member id of another organization, an email address taken by another
// member) or breaks the API's rules (negative duration, invalid custom
// claims, unknown AuthMethod). It is safe for concurrent use.
func (s *Server) NewSession(spec SessionSpec) (sessionToken, sessionJWT string, err error) {
	if spec.Duration < 0 {
		return "", "", fmt.Errorf("%w: negative duration", ErrInvalidSpec)
	}
	claims, err := normalizeClaims(spec.CustomClaims)
	if err != nil {
		return "", "", fmt.Errorf("%w: custom claims: %v", ErrInvalidSpec, err)
	}
	claims, e := newSessionClaims(claims)
	if e != nil {
		return "", "", fmt.Errorf("%w: %s", ErrInvalidSpec, e.typ)
	}
	method := spec.AuthMethod
	if method == "" {
		method = "magic_link"
	}
	if !slices.Contains(knownAuthMethods, method) {
		return "", "", fmt.Errorf("%w: unknown auth method %q", ErrInvalidSpec, method)
	}
	dur := spec.Duration
	if dur == 0 {
		dur = defaultSessionDuration
	}

	s.mu.Lock()
	now := s.nowSec()
	org, m, err := s.ensureMemberLocked(spec, now)
	if err != nil {
		s.mu.Unlock()
		return "", "", err
	}
	roles := sessionRoles(spec.Roles)
	factor := s.newFactor(method, m, now)
	ss := s.newSessionLocked(org, m, []wireFactor{factor}, roles, now.Add(dur), claims, now)
	ss.ip, ss.ua = spec.IPAddress, spec.UserAgent
	u := s.unsignedJWTLocked(ss, now, nil)
	token := ss.token
	s.mu.Unlock()

	jwtStr, err := u.signed()
	if err != nil {
		return "", "", err
	}
	return token, jwtStr, nil
}

// AddMember creates the organization and member spec describes (like
// NewSession, without creating a session) and returns the member id. Use it
// to give a member an account in a second organization before an Exchange.
// Duration, CustomClaims, AuthMethod and the attributes are ignored. It
// returns an error wrapping ErrInvalidSpec in the cases NewSession does. It
// is safe for concurrent use.
func (s *Server) AddMember(spec SessionSpec) (memberID string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, m, err := s.ensureMemberLocked(spec, s.nowSec())
	if err != nil {
		return "", err
	}
	return m.id, nil
}

// sessionRoles returns stytch_member followed by roles, without duplicates
// or empty names.
func sessionRoles(roles []string) []string {
	out := []string{"stytch_member"}
	for _, r := range roles {
		if r != "" && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) ensureOrgLocked(id, slug string, now time.Time) (*organization, error) {
	if id == "" {
		id = s.newID("organization")
	}
	if o, ok := s.orgs[id]; ok {
		return o, nil
	}
	if slug == "" {
		slug = id
	}
	for _, o := range s.orgs {
		if o.slug == slug {
			return nil, fmt.Errorf("%w: organization slug %q is used by another organization", ErrInvalidSpec, slug)
		}
	}
	o := &organization{id: id, slug: slug, name: slug, created: now}
	s.orgs[id] = o
	return o, nil
}

func (s *Server) memberByEmailLocked(orgID, email string) *member {
	for _, m := range s.members {
		if m.orgID == orgID && strings.EqualFold(m.email, email) {
			return m
		}
	}
	return nil
}

func (s *Server) ensureMemberLocked(spec SessionSpec, now time.Time) (*organization, *member, error) {
	if spec.MemberID != "" {
		if m, ok := s.members[spec.MemberID]; ok {
			if spec.OrganizationID != "" && m.orgID != spec.OrganizationID {
				return nil, nil, fmt.Errorf("%w: member %s belongs to another organization", ErrInvalidSpec, m.id)
			}
			if spec.Email != "" && !strings.EqualFold(spec.Email, m.email) {
				return nil, nil, fmt.Errorf("%w: member %s has another email address", ErrInvalidSpec, m.id)
			}
			s.addMemberRolesLocked(m, spec.Roles)
			m.mfaPhone = cmp.Or(spec.MFAPhoneNumber, m.mfaPhone)
			return s.orgs[m.orgID], m, nil
		}
	}
	org, err := s.ensureOrgLocked(spec.OrganizationID, spec.OrganizationSlug, now)
	if err != nil {
		return nil, nil, err
	}
	if spec.MemberID == "" && spec.Email != "" {
		if m := s.memberByEmailLocked(org.id, spec.Email); m != nil {
			s.addMemberRolesLocked(m, spec.Roles)
			m.mfaPhone = cmp.Or(spec.MFAPhoneNumber, m.mfaPhone)
			return org, m, nil
		}
	}
	id := spec.MemberID
	if id == "" {
		id = s.newID("member")
	}
	email := spec.Email
	if email == "" {
		email = strings.ToLower(id) + "@example.com"
	}
	if s.memberByEmailLocked(org.id, email) != nil {
		return nil, nil, fmt.Errorf("%w: email address already used by another member of the organization", ErrInvalidSpec)
	}
	m := &member{id: id, orgID: org.id, email: email, emailID: s.newID("email"), mfaPhone: spec.MFAPhoneNumber, created: now}
	s.addMemberRolesLocked(m, spec.Roles)
	s.members[id] = m
	return org, m, nil
}

func (s *Server) addMemberRolesLocked(m *member, roles []string) {
	for _, r := range roles {
		if r != "" && r != "stytch_member" && !slices.Contains(m.roles, r) {
			m.roles = append(m.roles, r)
		}
	}
}

// knownAuthMethods are the allowed_auth_methods values a session can be
// created with.
var knownAuthMethods = []string{"magic_link", "email_otp", "password", "sso", "google_oauth", "microsoft_oauth"}

// newFactor returns the authentication factor of a session created with
// the auth method.
func (s *Server) newFactor(method string, m *member, now time.Time) wireFactor {
	ts := formatTime(now)
	f := wireFactor{LastAuthenticatedAt: ts, CreatedAt: ts, UpdatedAt: ts, SequenceOrder: "PRIMARY"}
	email := &wireEmailFactor{EmailID: m.emailID, EmailAddress: m.email}
	switch method {
	case "magic_link":
		f.Type, f.DeliveryMethod, f.EmailFactor = "magic_link", "email", email
	case "email_otp":
		f.Type, f.DeliveryMethod, f.EmailFactor = "email_otp", "email", email
	case "password":
		f.Type, f.DeliveryMethod, f.EmailFactor = "password", "knowledge", email
	case "sso":
		f.Type, f.DeliveryMethod = "sso", "sso_saml"
		f.SAMLSSOFactor = &wireSSOFactor{ID: s.newID("saml-registration"), ProviderID: s.newID("saml-connection"), ExternalID: m.email}
	case "google_oauth":
		f.Type, f.DeliveryMethod = "oauth", "oauth_google"
		f.GoogleOAuthFactor = &wireOAuthFactor{ID: s.newID("oauth-user-registration"), ProviderSubject: newUUID(), EmailID: m.emailID}
	case "microsoft_oauth":
		f.Type, f.DeliveryMethod = "oauth", "oauth_microsoft"
		f.MicrosoftOAuthFactor = &wireOAuthFactor{ID: s.newID("oauth-user-registration"), ProviderSubject: newUUID(), EmailID: m.emailID}
	case "imported": // Migrate: the identity provider vouched for the email address
		f.Type, f.DeliveryMethod, f.EmailFactor = "imported", "email", email
	}
	return f
}

func (s *Server) newSessionLocked(org *organization, m *member, factors []wireFactor, roles []string,
	expires time.Time, claims map[string]any, now time.Time) *session {
	if claims == nil {
		claims = map[string]any{}
	}
	ss := &session{
		id:           s.newID("session"),
		token:        newOpaqueToken(),
		orgID:        org.id,
		memberID:     m.id,
		started:      now,
		lastAccessed: now,
		expires:      expires.UTC().Truncate(time.Second),
		factors:      factors,
		roles:        roles,
		claims:       claims,
	}
	s.sessions[ss.id] = ss
	s.tokens[ss.token] = ss
	return ss
}

func jwtHeader(kid string) map[string]any {
	return map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT"}
}

// jwtClaimsLocked returns the claims of a session JWT minted now: custom
// claims at the top level, the registered claims, and the session and
// organization claim objects.
func (s *Server) jwtClaimsLocked(ss *session, now time.Time) map[string]any {
	org := s.orgs[ss.orgID]
	c := deepCopyMap(ss.claims)
	iat := now.Unix()
	exp := now.Add(jwtLifetime).Unix()
	if e := ss.expires.Unix(); e < exp {
		exp = e
	}
	c["iss"] = s.issuer
	c["aud"] = []string{s.ProjectID}
	c["sub"] = ss.memberID
	c["iat"] = iat
	c["nbf"] = iat
	c["exp"] = exp
	c[stytchClaimPrefix+"session"] = map[string]any{
		"id":                     ss.id,
		"started_at":             formatTime(ss.started),
		"last_accessed_at":       formatTime(ss.lastAccessed),
		"expires_at":             formatTime(ss.expires),
		"attributes":             map[string]any{"ip_address": ss.ip, "user_agent": ss.ua},
		"authentication_factors": slices.Clone(ss.factors),
		"roles":                  slices.Clone(ss.roles),
	}
	c[stytchClaimPrefix+"organization"] = map[string]any{"organization_id": org.id, "slug": org.slug}
	return c
}

// MintJWT returns a freshly minted session JWT (iat now, exp five minutes
// later or at the session's expiry) for the live session of sessionToken,
// signed with the current key. It does not touch the session. It returns an
// error wrapping ErrSessionNotFound when the token names no live session.
// It is safe for concurrent use.
func (s *Server) MintJWT(sessionToken string) (string, error) {
	s.mu.Lock()
	now := s.nowSec()
	ss, ok := s.tokens[sessionToken]
	if !ok || !ss.alive(s.now()) {
		s.mu.Unlock()
		return "", ErrSessionNotFound
	}
	u := s.unsignedJWTLocked(ss, now, nil)
	s.mu.Unlock()
	return u.signed()
}

// RevokeSession ends the session of sessionToken at once, as the Revoke
// endpoint does; JWTs already minted for it keep verifying locally until
// they expire. An unknown token is ignored. It is safe for concurrent use.
func (s *Server) RevokeSession(sessionToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss, ok := s.tokens[sessionToken]; ok {
		ss.revoked = true
	}
}

// RegisterExternalToken makes token a valid external identity-provider
// token for Migrate, standing for the member memberID (of organizationID,
// which only documents the caller's intent: member ids are unique). Migrate
// then finds the member of the organization it is asked for with that
// member's email address, as the API does with the address the identity
// provider reports. It is safe for concurrent use.
func (s *Server) RegisterExternalToken(token string, organizationID, memberID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.external[token] = externalIdentity{memberID: memberID}
}

// SetOrganizationAuthMethods restricts the primary authentication methods
// of the organization (creating it when it does not exist) to methods, as
// an organization with auth_methods "RESTRICTED" does; nil or empty allows
// every method again. Exchange into a restricted organization issues an
// intermediate session token with primary_required when the session holds
// no factor of an allowed method. It is safe for concurrent use.
func (s *Server) SetOrganizationAuthMethods(organizationID string, methods []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.ensureOrgLocked(organizationID, "", s.nowSec())
	if err != nil {
		return // only a slug clash, which an id-as-slug cannot have in practice
	}
	o.allowedAuthMethods = slices.Clone(methods)
}

// SetOrganizationMFARequired sets the organization's mfa_policy (creating
// the organization when it does not exist): "REQUIRED_FOR_ALL" when required,
// else "OPTIONAL". Exchange into an organization that requires MFA issues an
// intermediate session token with mfa_required (after the primary_required
// check: the emulator's sessions carry primary factors only). It is safe for
// concurrent use.
func (s *Server) SetOrganizationMFARequired(organizationID string, required bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.ensureOrgLocked(organizationID, "", s.nowSec())
	if err != nil {
		return // only a slug clash, which an id-as-slug cannot have in practice
	}
	o.mfaRequired = required
}

// SetPolicy replaces the project's RBAC policy served by the policy
// endpoint and used by the server's authorization checks. It is safe for
// concurrent use.
func (s *Server) SetPolicy(p client.Policy) {
	p = clonePolicy(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.policy = p
}

// SetOrgPolicy replaces the custom roles of organizationID (as the PUT of
// the organization policy endpoint does). They add to the project's roles
// in authorization checks. It is safe for concurrent use.
func (s *Server) SetOrgPolicy(organizationID string, p client.OrgPolicy) {
	roles := cloneRoles(p.Roles)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orgPolicies[organizationID] = client.OrgPolicy{Roles: roles}
}

// wire conversions; s.mu must be held.

func (s *Server) wireSessionLocked(ss *session) wireSession {
	org := s.orgs[ss.orgID]
	return wireSession{
		MemberSessionID:       ss.id,
		MemberID:              ss.memberID,
		StartedAt:             formatTime(ss.started),
		LastAccessedAt:        formatTime(ss.lastAccessed),
		ExpiresAt:             formatTime(ss.expires),
		AuthenticationFactors: slices.Clone(ss.factors),
		OrganizationID:        ss.orgID,
		Roles:                 slices.Clone(ss.roles),
		OrganizationSlug:      org.slug,
		CustomClaims:          deepCopyMap(ss.claims),
	}
}

func (s *Server) wireMemberLocked(m *member) wireMember {
	ts := formatTime(m.created)
	roles := []wireMemberRole{}
	for _, r := range append([]string{"stytch_member"}, m.roles...) {
		roles = append(roles, wireMemberRole{RoleID: r, Sources: []wireRoleSource{{Type: "direct_assignment", Details: map[string]any{}}}})
	}
	return wireMember{
		OrganizationID:         m.orgID,
		MemberID:               m.id,
		EmailAddress:           m.email,
		Name:                   m.name,
		Status:                 "active",
		Roles:                  roles,
		IsAdmin:                slices.Contains(m.roles, "stytch_admin"),
		EmailAddressVerified:   true,
		MfaEnrolled:            m.mfaPhone != "",
		MfaPhoneNumber:         m.mfaPhone,
		MfaPhoneNumberVerified: m.mfaPhone != "",
		DefaultMfaMethod:       defaultMFAMethod(m.mfaPhone),
		SSORegistrations:       []map[string]any{},
		OAuthRegistrations:     []map[string]any{},
		RetiredEmailAddresses:  []map[string]any{},
		TrustedMetadata:        map[string]any{},
		UntrustedMetadata:      map[string]any{},
		CreatedAt:              ts,
		UpdatedAt:              ts,
	}
}

func defaultMFAMethod(phone string) string {
	if phone != "" {
		return "sms_otp"
	}
	return ""
}

func mfaPolicy(required bool) string {
	if required {
		return "REQUIRED_FOR_ALL"
	}
	return "OPTIONAL"
}

func (s *Server) wireOrgLocked(o *organization) wireOrganization {
	ts := formatTime(o.created)
	authMethods := "ALL_ALLOWED"
	if len(o.allowedAuthMethods) > 0 {
		authMethods = "RESTRICTED"
	}
	return wireOrganization{
		OrganizationID:                       o.id,
		OrganizationName:                     o.name,
		OrganizationSlug:                     o.slug,
		TrustedMetadata:                      map[string]any{},
		EmailAllowedDomains:                  []string{},
		EmailJITProvisioning:                 "NOT_ALLOWED",
		EmailInvites:                         "ALL_ALLOWED",
		AuthMethods:                          authMethods,
		AllowedAuthMethods:                   append([]string{}, o.allowedAuthMethods...),
		MfaPolicy:                            mfaPolicy(o.mfaRequired),
		MfaMethods:                           "ALL_ALLOWED",
		AllowedMfaMethods:                    []string{},
		SSOJITProvisioning:                   "NOT_ALLOWED",
		SSOActiveConnections:                 []map[string]any{},
		RBACEmailImplicitRoleAssignments:     []map[string]any{},
		CustomRoles:                          cloneRoles(s.orgPolicies[o.id].Roles),
		CreatedAt:                            ts,
		UpdatedAt:                            ts,
		SSOJITProvisioningAllowedConnections: []string{},
		OAuthTenantJITProvisioning:           "NOT_ALLOWED",
		AllowedOAuthTenants:                  map[string]any{},
		ClaimedEmailDomains:                  []string{},
		FirstPartyConnectedAppsAllowedType:   "ALL_ALLOWED",
		AllowedFirstPartyConnectedApps:       []string{},
		ThirdPartyConnectedAppsAllowedType:   "ALL_ALLOWED",
		AllowedThirdPartyConnectedApps:       []string{},
	}
}

// activeSessionsLocked returns the live sessions of the member, oldest
// first.
func (s *Server) activeSessionsLocked(memberID string, now time.Time) []*session {
	var out []*session
	for _, ss := range s.sessions {
		if ss.memberID == memberID && ss.alive(now) {
			out = append(out, ss)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].started.Equal(out[j].started) {
			return out[i].started.Before(out[j].started)
		}
		return out[i].id < out[j].id
	})
	return out
}
