package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
)

// Session duration bounds accepted by Stytch, in minutes.
const (
	MinSessionDurationMinutes = 5
	MaxSessionDurationMinutes = 527040
)

// Sessions calls the B2B session endpoints. Obtain it from Client.Sessions;
// it is safe for concurrent use.
type Sessions struct {
	c *Client
}

// Authenticate calls POST /v1/b2b/sessions/authenticate. Exactly one of
// SessionToken and SessionJWT must be set. An expired JWT is accepted by
// Stytch while its session lives, and the response carries a fresh one.
//
// Errors: ErrInvalidParams before any request; *Error matching
// ErrSessionInvalid (unknown, expired or revoked session), ErrForbidden (a
// failed AuthorizationCheck) or ErrUnavailable; *TransportError.
func (s *Sessions) Authenticate(ctx context.Context, p *AuthenticateParams) (*AuthenticateResponse, error) {
	if p == nil {
		return nil, invalid("authenticate: nil params")
	}
	if err := exactlyOneSession("authenticate", p.SessionToken, p.SessionJWT); err != nil {
		return nil, err
	}
	if err := checkDuration("authenticate", p.SessionDurationMinutes); err != nil {
		return nil, err
	}
	if ac := p.AuthorizationCheck; ac != nil && (ac.OrganizationID == "" || ac.ResourceID == "" || ac.Action == "") {
		return nil, invalid("authenticate: authorization_check needs organization_id, resource_id and action")
	}
	var out AuthenticateResponse
	if err := s.c.do(ctx, http.MethodPost, PathAuthenticate, nil, p, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Get calls GET /v1/b2b/sessions and lists the member's active sessions.
// Both OrganizationID and MemberID are required.
func (s *Sessions) Get(ctx context.Context, p *GetParams) (*GetResponse, error) {
	if p == nil || p.OrganizationID == "" || p.MemberID == "" {
		return nil, invalid("get: organization_id and member_id are required")
	}
	q := url.Values{}
	q.Set("organization_id", p.OrganizationID)
	q.Set("member_id", p.MemberID)
	var out GetResponse
	if err := s.c.do(ctx, http.MethodGet, PathSessions, q, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Exchange calls POST /v1/b2b/sessions/exchange to move a session to another
// organization of the same member. OrganizationID and exactly one of
// SessionToken and SessionJWT are required; Locale, when set, must be one of
// ExchangeRequestLocales. When the target organization needs another
// authentication method the response has MemberAuthenticated false, an
// IntermediateSessionToken and PrimaryRequired or MFARequired.
func (s *Sessions) Exchange(ctx context.Context, p *ExchangeParams) (*ExchangeResponse, error) {
	if p == nil || p.OrganizationID == "" {
		return nil, invalid("exchange: organization_id is required")
	}
	if err := exactlyOneSession("exchange", p.SessionToken, p.SessionJWT); err != nil {
		return nil, err
	}
	if err := checkDuration("exchange", p.SessionDurationMinutes); err != nil {
		return nil, err
	}
	if p.Locale != "" && !slices.Contains(ExchangeRequestLocales(), p.Locale) {
		return nil, invalid("exchange: unsupported locale %q", p.Locale)
	}
	var out ExchangeResponse
	if err := s.c.do(ctx, http.MethodPost, PathExchange, nil, p, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Migrate calls POST /v1/b2b/sessions/migrate, exchanging an external
// identity provider's token for a Stytch session. SessionToken (the external
// token) and OrganizationID are required.
func (s *Sessions) Migrate(ctx context.Context, p *MigrateParams) (*MigrateResponse, error) {
	if p == nil || p.SessionToken == "" || p.OrganizationID == "" {
		return nil, invalid("migrate: session_token and organization_id are required")
	}
	if err := checkDuration("migrate", p.SessionDurationMinutes); err != nil {
		return nil, err
	}
	var out MigrateResponse
	if err := s.c.do(ctx, http.MethodPost, PathMigrate, nil, p, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Revoke calls POST /v1/b2b/sessions/revoke. Exactly one of MemberSessionID,
// SessionToken, SessionJWT and MemberID must be set; MemberID revokes every
// session of the member. Options add the X-Stytch-Member-Session headers so
// the call runs with that member's permissions. A revoked session's JWTs keep
// verifying locally until they expire (at most five minutes).
func (s *Sessions) Revoke(ctx context.Context, p *RevokeParams, opts ...*RevokeRequestOptions) (*RevokeResponse, error) {
	if p == nil {
		return nil, invalid("revoke: nil params")
	}
	n := 0
	for _, v := range []string{p.MemberSessionID, p.SessionToken, p.SessionJWT, p.MemberID} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return nil, invalid("revoke: exactly one of member_session_id, session_token, session_jwt and member_id is required")
	}
	var h map[string][]string
	for _, o := range opts {
		h = o.AddHeaders(h)
	}
	var out RevokeResponse
	if err := s.c.do(ctx, http.MethodPost, PathRevoke, nil, p, http.Header(h), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetJWKS calls GET /v1/b2b/sessions/jwks/{project_id}. A nil p or an empty
// ProjectID means the client's project.
func (s *Sessions) GetJWKS(ctx context.Context, p *GetJWKSParams) (*GetJWKSResponse, error) {
	pid := s.c.projectID
	if p != nil && p.ProjectID != "" {
		pid = p.ProjectID
	}
	var out GetJWKSResponse
	if err := s.c.do(ctx, http.MethodGet, PathJWKSPrefix+url.PathEscape(pid), nil, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RBAC calls the RBAC policy endpoints. Obtain it from Client.RBAC; it is safe
// for concurrent use.
type RBAC struct {
	c *Client
}

// Policy calls GET /v1/b2b/rbac/policy and returns the project's policy.
func (r *RBAC) Policy(ctx context.Context) (*PolicyResponse, error) {
	var out PolicyResponse
	if err := r.c.do(ctx, http.MethodGet, PathPolicy, nil, nil, nil, &out); err != nil {
		return nil, err
	}
	if out.Policy == nil {
		return nil, &Error{StatusCode: http.StatusOK, RequestID: out.RequestID, ErrorMessage: "policy response has no policy", noAnswer: true}
	}
	return &out, nil
}

// OrgPolicy calls GET /v1/b2b/rbac/organizations/{organization_id} and
// returns the organization's custom roles (an empty list when it has none).
func (r *RBAC) OrgPolicy(ctx context.Context, organizationID string) (*OrgPolicyResponse, error) {
	if organizationID == "" {
		return nil, invalid("org policy: organization_id is required")
	}
	var out OrgPolicyResponse
	if err := r.c.do(ctx, http.MethodGet, PathOrgPolicyPrefix+url.PathEscape(organizationID), nil, nil, nil, &out); err != nil {
		return nil, err
	}
	if out.OrgPolicy == nil {
		out.OrgPolicy = &OrgPolicy{}
	}
	return &out, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("client: %w: "+format, append([]any{ErrInvalidParams}, args...)...)
}

func exactlyOneSession(op, token, jwt string) error {
	switch {
	case token == "" && jwt == "":
		return invalid("%s: one of session_token and session_jwt is required", op)
	case token != "" && jwt != "":
		return invalid("%s: session_token and session_jwt are mutually exclusive", op)
	}
	return nil
}

func checkDuration(op string, minutes int32) error {
	if minutes != 0 && (minutes < MinSessionDurationMinutes || minutes > MaxSessionDurationMinutes) {
		return invalid("%s: session_duration_minutes must be between %d and %d", op, MinSessionDurationMinutes, MaxSessionDurationMinutes)
	}
	return nil
}
