package stytchtest

import (
	"crypto/rsa"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/stytchguard/stytchguard/client"
)

// istLifetime is the lifetime of an intermediate session token.
const istLifetime = 10 * time.Minute

var errSessionNotFound = &apiError{http.StatusNotFound, "session_not_found", "Session could not be found."}

type authenticateRequest struct {
	SessionToken           string                     `json:"session_token"`
	SessionJWT             string                     `json:"session_jwt"`
	SessionDurationMinutes *int64                     `json:"session_duration_minutes"`
	SessionCustomClaims    map[string]any             `json:"session_custom_claims"`
	AuthorizationCheck     *client.AuthorizationCheck `json:"authorization_check"`
}

type exchangeRequest struct {
	OrganizationID         string         `json:"organization_id"`
	SessionToken           string         `json:"session_token"`
	SessionJWT             string         `json:"session_jwt"`
	SessionDurationMinutes *int64         `json:"session_duration_minutes"`
	SessionCustomClaims    map[string]any `json:"session_custom_claims"`
	Locale                 string         `json:"locale"`
	TelemetryID            string         `json:"telemetry_id"`
}

type migrateRequest struct {
	SessionToken           string         `json:"session_token"`
	OrganizationID         string         `json:"organization_id"`
	SessionDurationMinutes *int64         `json:"session_duration_minutes"`
	SessionCustomClaims    map[string]any `json:"session_custom_claims"`
}

func oneSessionArgument(token, jwt string) *apiError {
	switch {
	case token == "" && jwt == "":
		return &apiError{http.StatusBadRequest, "no_session_arguments", "Exactly one of session_token and session_jwt must be provided."}
	case token != "" && jwt != "":
		return &apiError{http.StatusBadRequest, "too_many_session_arguments", "Only one of session_token and session_jwt may be provided."}
	}
	return nil
}

func checkDuration(minutes *int64) *apiError {
	if minutes != nil && (*minutes < client.MinSessionDurationMinutes || *minutes > client.MaxSessionDurationMinutes) {
		return &apiError{http.StatusBadRequest, "invalid_session_duration_minutes",
			fmt.Sprintf("session_duration_minutes must be between %d and %d.", client.MinSessionDurationMinutes, client.MaxSessionDurationMinutes)}
	}
	return nil
}

// sessionRef names a session by token or by a verified JWT's claims.
type sessionRef struct {
	token    string
	jwtSID   string
	jwtSub   string
	fromJWT  bool
	jwtError *apiError
}

// resolveRef verifies the JWT of a reference (outside s.mu).
func (s *Server) resolveRef(token, jwtStr string) sessionRef {
	if jwtStr == "" {
		return sessionRef{token: token}
	}
	sid, sub, e := s.parseSessionJWT(jwtStr)
	return sessionRef{jwtSID: sid, jwtSub: sub, fromJWT: true, jwtError: e}
}

// liveSessionLocked returns the live session ref names. s.mu must be held.
func (s *Server) liveSessionLocked(ref sessionRef, now time.Time) (*session, *apiError) {
	if ref.jwtError != nil {
		return nil, ref.jwtError
	}
	var ss *session
	if ref.fromJWT {
		ss = s.sessions[ref.jwtSID]
		if ss != nil && ss.memberID != ref.jwtSub {
			return nil, &apiError{http.StatusBadRequest, "jwt_invalid_claims", "The session JWT's subject does not match its session."}
		}
	} else {
		ss = s.tokens[ref.token]
	}
	if ss == nil || !ss.alive(now) {
		return nil, errSessionNotFound
	}
	return ss, nil
}

func (s *Server) handleAuthenticate(c *call) (any, *apiError) {
	var req authenticateRequest
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	if e := oneSessionArgument(req.SessionToken, req.SessionJWT); e != nil {
		return nil, e
	}
	if e := checkDuration(req.SessionDurationMinutes); e != nil {
		return nil, e
	}
	if e := checkClaimKeys(req.SessionCustomClaims); e != nil {
		return nil, e
	}
	check := req.AuthorizationCheck
	if check != nil && (check.ResourceID == "" || check.Action == "") {
		return nil, &apiError{http.StatusBadRequest, "invalid_request_value",
			"authorization_check needs organization_id, resource_id and action."}
	}
	ref := s.resolveRef(req.SessionToken, req.SessionJWT)

	return signedResponse(s.authenticateLocked(c, &req, check, ref))
}

func (s *Server) authenticateLocked(c *call, req *authenticateRequest, check *client.AuthorizationCheck, ref sessionRef) (*authenticateResponse, *unsignedJWT, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now, nowSec := s.now(), s.nowSec()
	ss, e := s.liveSessionLocked(ref, now)
	if e != nil {
		return nil, nil, e
	}
	claims := ss.claims
	if req.SessionCustomClaims != nil {
		claims = mergeClaims(ss.claims, req.SessionCustomClaims)
		if e := finishClaims(claims); e != nil {
			return nil, nil, e
		}
	}
	var verdict *wireVerdict
	if check != nil {
		result, granting := evaluate(s.policy, s.orgPolicies[ss.orgID], ss.orgID, ss.roles,
			check.OrganizationID, check.ResourceID, check.Action)
		switch result {
		case authzTenancy:
			return nil, nil, &apiError{http.StatusForbidden, "session_authorization_tenancy_error",
				"Subject organization_id " + ss.orgID + " does not match authZ request organization_id " + check.OrganizationID + "."}
		case authzDenied:
			return nil, nil, &apiError{http.StatusForbidden, "session_authorization_error",
				"The Member is not authorized to perform the requested action on that resource."}
		}
		verdict = &wireVerdict{Authorized: true, GrantingRoles: granting}
	}
	ss.claims = claims
	if req.SessionDurationMinutes != nil {
		ss.expires = nowSec.Add(time.Duration(*req.SessionDurationMinutes) * time.Minute)
	}
	ss.lastAccessed = nowSec
	resp := authenticateResponse{
		meta:          c.meta(),
		MemberSession: s.wireSessionLocked(ss),
		SessionToken:  ss.token,
		Member:        s.wireMemberLocked(s.members[ss.memberID]),
		Organization:  s.wireOrgLocked(s.orgs[ss.orgID]),
		Verdict:       verdict,
	}
	u := s.unsignedJWTLocked(ss, nowSec, &resp.SessionJWT)
	return &resp, &u, nil
}

func (s *Server) handleGet(c *call) (any, *apiError) {
	q := c.r.URL.Query()
	orgID, memberID := q.Get("organization_id"), q.Get("member_id")
	if orgID == "" {
		return nil, &apiError{http.StatusBadRequest, "invalid_organization_id", "organization_id is required."}
	}
	if memberID == "" {
		return nil, &apiError{http.StatusBadRequest, "invalid_member_id", "member_id is required."}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	org, e := s.orgLocked(orgID)
	if e != nil {
		return nil, e
	}
	orgID = org.id
	m, ok := s.members[memberID]
	if !ok || m.orgID != orgID {
		return nil, &apiError{http.StatusNotFound, "member_not_found", "Member could not be found."}
	}
	out := []wireSession{}
	for _, ss := range s.activeSessionsLocked(memberID, s.now()) {
		out = append(out, s.wireSessionLocked(ss))
	}
	return getResponse{meta: c.meta(), MemberSessions: out}, nil
}

func (s *Server) handleRevoke(c *call) (any, *apiError) {
	var req client.RevokeParams // decoding ignores omitempty
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	n := 0
	for _, v := range []string{req.MemberSessionID, req.SessionToken, req.SessionJWT, req.MemberID} {
		if v != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return nil, &apiError{http.StatusBadRequest, "no_session_revoke_arguments",
			"One of member_session_id, session_token, session_jwt and member_id must be provided."}
	case n > 1:
		return nil, &apiError{http.StatusBadRequest, "too_many_session_revoke_arguments",
			"Only one of member_session_id, session_token, session_jwt and member_id may be provided."}
	}

	// The optional acting member: its permissions govern the call.
	actToken := c.r.Header.Get(client.HeaderMemberSession)
	actJWT := c.r.Header.Get(client.HeaderMemberSessionJWT)
	var actRefs []sessionRef
	if actToken != "" {
		actRefs = append(actRefs, sessionRef{token: actToken})
	}
	if actJWT != "" {
		ref := s.resolveRef("", actJWT)
		if ref.jwtError != nil {
			return nil, &apiError{http.StatusUnauthorized, ref.jwtError.typ, "The member session JWT header could not be verified."}
		}
		actRefs = append(actRefs, ref)
	}
	target := s.resolveRef(req.SessionToken, req.SessionJWT)

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var actor *session
	for _, ref := range actRefs {
		ss, e := s.liveSessionLocked(ref, now)
		if e != nil {
			return nil, e
		}
		if actor != nil && actor != ss {
			return nil, &apiError{http.StatusBadRequest, "too_many_session_arguments",
				"The member session headers name different sessions."}
		}
		actor = ss
	}

	var victims []*session
	var targetMember *member
	switch {
	case req.MemberID != "":
		m, ok := s.members[req.MemberID]
		if !ok {
			return nil, &apiError{http.StatusNotFound, "member_not_found", "Member could not be found."}
		}
		targetMember = m
		victims = s.activeSessionsLocked(m.id, now)
	case req.MemberSessionID != "":
		ss, ok := s.sessions[req.MemberSessionID]
		if !ok || !ss.alive(now) {
			return nil, errSessionNotFound
		}
		targetMember = s.members[ss.memberID]
		victims = []*session{ss}
	default:
		ss, e := s.liveSessionLocked(target, now)
		if e != nil {
			return nil, e
		}
		targetMember = s.members[ss.memberID]
		victims = []*session{ss}
	}

	if actor != nil && actor.memberID != targetMember.id {
		result, _ := evaluate(s.policy, s.orgPolicies[actor.orgID], actor.orgID, actor.roles,
			targetMember.orgID, "stytch.member", "revoke-sessions")
		switch result {
		case authzTenancy:
			return nil, &apiError{http.StatusForbidden, "session_authorization_tenancy_error",
				"Subject organization_id " + actor.orgID + " does not match authZ request organization_id " + targetMember.orgID + "."}
		case authzDenied:
			return nil, &apiError{http.StatusForbidden, "session_authorization_error",
				"The Member is not authorized to revoke sessions of another member."}
		}
	}
	for _, ss := range victims {
		ss.revoked = true
	}
	return revokeResponse{meta: c.meta()}, nil
}

// authMethodOf names the allowed_auth_methods value a factor satisfies.
func authMethodOf(f wireFactor) string {
	switch f.Type {
	case "magic_link", "email_otp", "password", "sso":
		return f.Type
	case "oauth":
		if p, ok := strings.CutPrefix(f.DeliveryMethod, "oauth_"); ok {
			return p + "_oauth"
		}
	}
	return ""
}

func validLocale(l string) bool {
	return slices.Contains(client.ExchangeRequestLocales(), client.ExchangeRequestLocale(l))
}

func (s *Server) handleExchange(c *call) (any, *apiError) {
	var req exchangeRequest
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	if req.OrganizationID == "" {
		return nil, &apiError{http.StatusBadRequest, "invalid_organization_id", "organization_id is required."}
	}
	if e := oneSessionArgument(req.SessionToken, req.SessionJWT); e != nil {
		return nil, e
	}
	if req.Locale != "" && !validLocale(req.Locale) {
		return nil, &apiError{http.StatusBadRequest, "invalid_locale", "locale is not a supported locale."}
	}
	if e := checkDuration(req.SessionDurationMinutes); e != nil {
		return nil, e
	}
	claims, e := newSessionClaims(req.SessionCustomClaims)
	if e != nil {
		return nil, e
	}
	ref := s.resolveRef(req.SessionToken, req.SessionJWT)

	return signedResponse(s.exchangeLocked(c, &req, claims, ref))
}

func (s *Server) exchangeLocked(c *call, req *exchangeRequest, claims map[string]any, ref sessionRef) (*exchangeResponse, *unsignedJWT, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now, nowSec := s.now(), s.nowSec()
	org, e := s.orgLocked(req.OrganizationID)
	if e != nil {
		return nil, nil, e
	}
	src, e := s.liveSessionLocked(ref, now)
	if e != nil {
		return nil, nil, e
	}
	if src.orgID == org.id {
		// Exchange switches to a different organization.
		return nil, nil, &apiError{http.StatusBadRequest, "invalid_organization_id", "The session already belongs to this organization."}
	}
	m := s.memberByEmailLocked(org.id, s.members[src.memberID].email)
	if m == nil {
		return nil, nil, &apiError{http.StatusNotFound, "member_not_found", "Member could not be found in the organization."}
	}
	resp := exchangeResponse{
		meta:         c.meta(),
		MemberID:     m.id,
		Member:       s.wireMemberLocked(m),
		Organization: s.wireOrgLocked(org),
	}
	allowed := len(org.allowedAuthMethods) == 0
	for _, f := range src.factors {
		if slices.Contains(org.allowedAuthMethods, authMethodOf(f)) {
			allowed = true
		}
	}
	if !allowed || org.mfaRequired {
		// An intermediate session token instead of a session: primary
		// authentication first, then MFA (the emulator's sessions carry
		// primary factors only, so MFA is always still to do).
		exp := formatTime(nowSec.Add(istLifetime))
		resp.IntermediateSessionToken = newOpaqueToken()
		resp.IntermediateSessionTokenExpiresAt = &exp
		if !allowed {
			resp.PrimaryRequired = &wirePrimaryRequired{AllowedAuthMethods: slices.Clone(org.allowedAuthMethods)}
			return &resp, nil, nil
		}
		var initiated any // null: nothing sent yet
		if m.mfaPhone != "" {
			initiated = "sms_otp" // Stytch sends the code to an enrolled phone at once
		}
		resp.MFARequired = map[string]any{
			"member_options":           map[string]any{"mfa_phone_number": m.mfaPhone, "totp_registration_id": ""},
			"secondary_auth_initiated": initiated,
		}
		return &resp, nil, nil
	}
	ss := s.newSessionLocked(org, m, slices.Clone(src.factors),
		sessionRoles(m.roles), nowSec.Add(sessionDuration(req.SessionDurationMinutes)), claims, nowSec)
	ss.ip, ss.ua = src.ip, src.ua
	ws := s.wireSessionLocked(ss)
	resp.MemberSession = &ws
	resp.SessionToken = ss.token
	resp.MemberAuthenticated = true
	u := s.unsignedJWTLocked(ss, nowSec, &resp.SessionJWT)
	return &resp, &u, nil
}

func (s *Server) handleMigrate(c *call) (any, *apiError) {
	var req migrateRequest
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	if req.SessionToken == "" {
		return nil, &apiError{http.StatusBadRequest, "invalid_session_token", "session_token is required."}
	}
	if req.OrganizationID == "" {
		return nil, &apiError{http.StatusBadRequest, "invalid_organization_id", "organization_id is required."}
	}
	if e := checkDuration(req.SessionDurationMinutes); e != nil {
		return nil, e
	}
	claims, e := newSessionClaims(req.SessionCustomClaims)
	if e != nil {
		return nil, e
	}

	return signedResponse(s.migrateLocked(c, &req, claims))
}

func (s *Server) migrateLocked(c *call, req *migrateRequest, claims map[string]any) (*migrateResponse, *unsignedJWT, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	nowSec := s.nowSec()
	org, e := s.orgLocked(req.OrganizationID)
	if e != nil {
		return nil, nil, e
	}
	ident, ok := s.external[req.SessionToken]
	if !ok {
		return nil, nil, &apiError{http.StatusBadRequest, "migrate_from_external_unexpected_response",
			"The identity provider did not accept the session token."}
	}
	var m *member
	if known, ok := s.members[ident.memberID]; ok {
		m = s.memberByEmailLocked(org.id, known.email)
	}
	if m == nil {
		return nil, nil, &apiError{http.StatusNotFound, "migrate_from_external_email_does_not_exist",
			"No member of the organization has the email address the identity provider reported."}
	}
	factor := s.newFactor("imported", m, nowSec)
	ss := s.newSessionLocked(org, m, []wireFactor{factor}, sessionRoles(m.roles), nowSec.Add(sessionDuration(req.SessionDurationMinutes)), claims, nowSec)
	ws := s.wireSessionLocked(ss)
	resp := migrateResponse{
		meta:          c.meta(),
		MemberID:      m.id,
		SessionToken:  ss.token,
		Member:        s.wireMemberLocked(m),
		Organization:  s.wireOrgLocked(org),
		MemberSession: &ws,
	}
	u := s.unsignedJWTLocked(ss, nowSec, &resp.SessionJWT)
	return &resp, &u, nil
}

// orgLocked finds an organization by id or slug, or answers 404
// organization_not_found as the API does.
func (s *Server) orgLocked(ref string) (*organization, *apiError) {
	if org, ok := s.orgByRefLocked(ref); ok {
		return org, nil
	}
	return nil, &apiError{http.StatusNotFound, "organization_not_found", "Organization could not be found."}
}

// sessionDuration is the lifetime a request asks for, or the API's default
// (60 minutes) when it names none.
func sessionDuration(minutes *int64) time.Duration {
	if minutes == nil {
		return defaultSessionDuration
	}
	return time.Duration(*minutes) * time.Minute
}

// unsignedJWT is a session JWT prepared under s.mu and signed after the
// lock is released: RSA signing is the slow part.
type unsignedJWT struct {
	claims map[string]any
	key    *rsa.PrivateKey
	kid    string
	dst    *string // where the signed JWT goes in the response
}

// unsignedJWTLocked prepares the JWT of ss with the current key, to be
// written to dst. s.mu must be held.
func (s *Server) unsignedJWTLocked(ss *session, now time.Time, dst *string) unsignedJWT {
	return unsignedJWT{claims: s.jwtClaimsLocked(ss, now), key: s.signKey, kid: s.signKID, dst: dst}
}

// signedResponse completes what a locked handler part returned: on success
// it signs the prepared JWT (if any) into the response, outside the lock.
func signedResponse(resp any, u *unsignedJWT, e *apiError) (any, *apiError) {
	if e != nil {
		return nil, e
	}
	if u != nil {
		jwtStr, e := u.sign()
		if e != nil {
			return nil, e
		}
		*u.dst = jwtStr
	}
	return resp, nil
}

// signed signs u.
func (u unsignedJWT) signed() (string, error) {
	return signJWT(jwtHeader(u.kid), u.claims, u.key)
}

// sign signs u for a handler.
func (u unsignedJWT) sign() (string, *apiError) {
	jwtStr, err := u.signed()
	if err != nil {
		return "", &apiError{http.StatusInternalServerError, "internal_server_error", "The session JWT could not be signed."}
	}
	return jwtStr, nil
}
