package client

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrJWTTooOld reports a session JWT whose iat is further in the past than the
// MaxTokenAge the caller allows. It is returned by local verification; the
// remote Authenticate call can still refresh such a token.
var ErrJWTTooOld = errors.New("client: JWT too old")

// AuthorizationCheck asks Stytch (or the local evaluator) whether the session
// may perform Action on ResourceID inside OrganizationID.
type AuthorizationCheck struct {
	OrganizationID string `json:"organization_id,omitempty"`
	ResourceID     string `json:"resource_id,omitempty"`
	Action         string `json:"action,omitempty"`
}

// AuthorizationVerdict is returned when an AuthorizationCheck passed. Authorized
// is always true when present; GrantingRoles lists every session role that
// grants the permission.
type AuthorizationVerdict struct {
	Authorized    bool     `json:"authorized,omitempty"`
	GrantingRoles []string `json:"granting_roles,omitempty"`
}

// AuthenticateParams is the request body of POST /v1/b2b/sessions/authenticate.
// Exactly one of SessionToken and SessionJWT must be set.
type AuthenticateParams struct {
	SessionToken           string              `json:"session_token,omitempty"`
	SessionDurationMinutes int32               `json:"session_duration_minutes,omitempty"`
	SessionJWT             string              `json:"session_jwt,omitempty"`
	SessionCustomClaims    map[string]any      `json:"session_custom_claims,omitempty"`
	AuthorizationCheck     *AuthorizationCheck `json:"authorization_check,omitempty"`
}

// AuthenticateResponse is the response of Authenticate.
type AuthenticateResponse struct {
	RequestID     string                `json:"request_id,omitempty"`
	MemberSession MemberSession         `json:"member_session,omitempty"`
	SessionToken  string                `json:"session_token,omitempty"`
	SessionJWT    string                `json:"session_jwt,omitempty"`
	Member        Member                `json:"member,omitempty"`
	Organization  Organization          `json:"organization,omitempty"`
	StatusCode    int32                 `json:"status_code,omitempty"`
	Verdict       *AuthorizationVerdict `json:"verdict,omitempty"`
}

// AuthenticateJWTParams is the input of a JWT authentication that may be done
// locally. MaxTokenAge zero means "always ask the API" (reference semantics);
// otherwise a JWT whose iat is older than MaxTokenAge is refreshed remotely.
type AuthenticateJWTParams struct {
	MaxTokenAge time.Duration
	Body        *AuthenticateParams
}

// OrgClaim is the "https://stytch.com/organization" claim of a session JWT.
type OrgClaim struct {
	ID   string `json:"organization_id"`
	Slug string `json:"slug"`
}

// Claims are the claims of a Stytch B2B session JWT.
type Claims struct {
	Session      SessionClaim `json:"https://stytch.com/session"`
	Organization OrgClaim     `json:"https://stytch.com/organization"`
	jwt.RegisteredClaims
}

// ClaimsWrapper carries a session's custom claims.
type ClaimsWrapper struct {
	Claims map[string]any `json:"custom_claims"`
}

// SessionWrapper wraps a ClaimsWrapper under "session".
type SessionWrapper struct {
	Session ClaimsWrapper `json:"session"`
}

// SessionClaim is the "https://stytch.com/session" claim of a session JWT.
// Timestamps are RFC 3339 strings exactly as carried in the token.
type SessionClaim struct {
	ID                    string                 `json:"id"`
	StartedAt             string                 `json:"started_at"`
	LastAccessedAt        string                 `json:"last_accessed_at"`
	ExpiresAt             string                 `json:"expires_at"`
	Attributes            Attributes             `json:"attributes"`
	AuthenticationFactors []AuthenticationFactor `json:"authentication_factors"`
	Roles                 []string               `json:"roles"`
}

// Attributes are the request attributes recorded on a session.
type Attributes struct {
	IPAddress string `json:"ip_address"`
	UserAgent string `json:"user_agent"`
}

// ExchangeRequestLocale is the language of an MFA one-time passcode sent by
// Exchange.
type ExchangeRequestLocale string

// The locales Exchange accepts.
const (
	ExchangeRequestLocaleEn     ExchangeRequestLocale = "en"
	ExchangeRequestLocaleEs     ExchangeRequestLocale = "es"
	ExchangeRequestLocalePtbr   ExchangeRequestLocale = "pt-br"
	ExchangeRequestLocaleFr     ExchangeRequestLocale = "fr"
	ExchangeRequestLocaleIt     ExchangeRequestLocale = "it"
	ExchangeRequestLocaleDeDE   ExchangeRequestLocale = "de-DE"
	ExchangeRequestLocaleZhHans ExchangeRequestLocale = "zh-Hans"
	ExchangeRequestLocaleCaES   ExchangeRequestLocale = "ca-ES"
	ExchangeRequestLocaleJa     ExchangeRequestLocale = "ja"
	ExchangeRequestLocaleRu     ExchangeRequestLocale = "ru"
	ExchangeRequestLocaleNl     ExchangeRequestLocale = "nl"
	ExchangeRequestLocalePl     ExchangeRequestLocale = "pl"
	ExchangeRequestLocaleTr     ExchangeRequestLocale = "tr"
	ExchangeRequestLocaleFa     ExchangeRequestLocale = "fa"
	ExchangeRequestLocaleVi     ExchangeRequestLocale = "vi"
	ExchangeRequestLocaleCs     ExchangeRequestLocale = "cs"
)

// ExchangeRequestLocales lists every supported ExchangeRequestLocale.
func ExchangeRequestLocales() []ExchangeRequestLocale {
	return []ExchangeRequestLocale{
		ExchangeRequestLocaleEn, ExchangeRequestLocaleEs, ExchangeRequestLocalePtbr,
		ExchangeRequestLocaleFr, ExchangeRequestLocaleIt, ExchangeRequestLocaleDeDE,
		ExchangeRequestLocaleZhHans, ExchangeRequestLocaleCaES, ExchangeRequestLocaleJa,
		ExchangeRequestLocaleRu, ExchangeRequestLocaleNl, ExchangeRequestLocalePl,
		ExchangeRequestLocaleTr, ExchangeRequestLocaleFa, ExchangeRequestLocaleVi,
		ExchangeRequestLocaleCs,
	}
}

// ExchangeParams is the request body of POST /v1/b2b/sessions/exchange.
// OrganizationID is required and exactly one of SessionToken and SessionJWT.
type ExchangeParams struct {
	OrganizationID         string                `json:"organization_id,omitempty"`
	SessionToken           string                `json:"session_token,omitempty"`
	SessionJWT             string                `json:"session_jwt,omitempty"`
	SessionDurationMinutes int32                 `json:"session_duration_minutes,omitempty"`
	SessionCustomClaims    map[string]any        `json:"session_custom_claims,omitempty"`
	Locale                 ExchangeRequestLocale `json:"locale,omitempty"`
	TelemetryID            string                `json:"telemetry_id,omitempty"`
}

// ExchangeResponse is the response of Exchange. When MemberAuthenticated is
// false the tokens are empty and IntermediateSessionToken is set, together
// with PrimaryRequired or MFARequired.
type ExchangeResponse struct {
	RequestID                         string           `json:"request_id,omitempty"`
	MemberID                          string           `json:"member_id,omitempty"`
	MemberSession                     *MemberSession   `json:"member_session,omitempty"`
	SessionToken                      string           `json:"session_token,omitempty"`
	SessionJWT                        string           `json:"session_jwt,omitempty"`
	Member                            Member           `json:"member,omitempty"`
	Organization                      Organization     `json:"organization,omitempty"`
	MemberAuthenticated               bool             `json:"member_authenticated,omitempty"`
	IntermediateSessionToken          string           `json:"intermediate_session_token,omitempty"`
	IntermediateSessionTokenExpiresAt *time.Time       `json:"intermediate_session_token_expires_at,omitempty"`
	StatusCode                        int32            `json:"status_code,omitempty"`
	MFARequired                       *MfaRequired     `json:"mfa_required,omitempty"`
	PrimaryRequired                   *PrimaryRequired `json:"primary_required,omitempty"`
	MemberDevice                      map[string]any   `json:"member_device,omitempty"`
}

// GetJWKSParams names the project whose JWKS to fetch.
type GetJWKSParams struct {
	ProjectID string `json:"project_id,omitempty"`
}

// GetJWKSResponse is the response of GetJWKS.
type GetJWKSResponse struct {
	Keys       []JWK  `json:"keys,omitempty"`
	RequestID  string `json:"request_id,omitempty"`
	StatusCode int32  `json:"status_code,omitempty"`
}

// JWK is one JSON Web Key of the JWKS.
type JWK struct {
	KeyType string   `json:"kty,omitempty"`
	Use     string   `json:"use,omitempty"`
	KeyOps  []string `json:"key_ops,omitempty"`
	Alg     string   `json:"alg,omitempty"`
	KeyID   string   `json:"kid,omitempty"`
	X5C     []string `json:"x5c,omitempty"`
	X5TS256 string   `json:"x5tS256,omitempty"`
	N       string   `json:"n,omitempty"`
	E       string   `json:"e,omitempty"`
}

// UnmarshalJSON decodes a JWK, accepting the thumbprint under the wire name
// "x5tS256" and under the reference SDK's "x5t_s256".
func (k *JWK) UnmarshalJSON(data []byte) error {
	type plain JWK
	var v struct {
		plain
		X5TS256Alt string `json:"x5t_s256"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*k = JWK(v.plain)
	if k.X5TS256 == "" {
		k.X5TS256 = v.X5TS256Alt
	}
	return nil
}

// GetParams selects the member whose active sessions Get lists.
type GetParams struct {
	OrganizationID string `json:"organization_id,omitempty"`
	MemberID       string `json:"member_id,omitempty"`
}

// GetResponse is the response of Get.
type GetResponse struct {
	RequestID      string          `json:"request_id,omitempty"`
	MemberSessions []MemberSession `json:"member_sessions,omitempty"`
	StatusCode     int32           `json:"status_code,omitempty"`
}

// MemberSession is the Stytch B2B session object.
type MemberSession struct {
	MemberSessionID       string                 `json:"member_session_id,omitempty"`
	MemberID              string                 `json:"member_id,omitempty"`
	StartedAt             *time.Time             `json:"started_at,omitempty"`
	LastAccessedAt        *time.Time             `json:"last_accessed_at,omitempty"`
	ExpiresAt             *time.Time             `json:"expires_at,omitempty"`
	AuthenticationFactors []AuthenticationFactor `json:"authentication_factors,omitempty"`
	OrganizationID        string                 `json:"organization_id,omitempty"`
	Roles                 []string               `json:"roles,omitempty"`
	OrganizationSlug      string                 `json:"organization_slug,omitempty"`
	CustomClaims          map[string]any         `json:"custom_claims,omitempty"`
}

// MigrateParams is the request body of POST /v1/b2b/sessions/migrate.
type MigrateParams struct {
	SessionToken           string         `json:"session_token,omitempty"`
	OrganizationID         string         `json:"organization_id,omitempty"`
	SessionDurationMinutes int32          `json:"session_duration_minutes,omitempty"`
	SessionCustomClaims    map[string]any `json:"session_custom_claims,omitempty"`
}

// MigrateResponse is the response of Migrate.
type MigrateResponse struct {
	RequestID     string         `json:"request_id,omitempty"`
	MemberID      string         `json:"member_id,omitempty"`
	SessionToken  string         `json:"session_token,omitempty"`
	SessionJWT    string         `json:"session_jwt,omitempty"`
	Member        Member         `json:"member,omitempty"`
	Organization  Organization   `json:"organization,omitempty"`
	StatusCode    int32          `json:"status_code,omitempty"`
	MemberSession *MemberSession `json:"member_session,omitempty"`
}

// PrimaryRequired tells that the target organization of an Exchange needs a
// primary authentication method the session does not carry.
type PrimaryRequired struct {
	AllowedAuthMethods []string `json:"allowed_auth_methods,omitempty"`
}

// MfaRequired tells that the member must complete MFA.
type MfaRequired struct {
	MemberOptions          *MemberOptions `json:"member_options,omitempty"`
	SecondaryAuthInitiated string         `json:"secondary_auth_initiated,omitempty"`
}

// MemberOptions are the MFA options of a member.
type MemberOptions struct {
	MfaPhoneNumber     string `json:"mfa_phone_number,omitempty"`
	TOTPRegistrationID string `json:"totp_registration_id,omitempty"`
}

// RevokeParams is the request body of POST /v1/b2b/sessions/revoke. Exactly one
// field must be set; MemberID revokes every session of the member.
type RevokeParams struct {
	MemberSessionID string `json:"member_session_id,omitempty"`
	SessionToken    string `json:"session_token,omitempty"`
	SessionJWT      string `json:"session_jwt,omitempty"`
	MemberID        string `json:"member_id,omitempty"`
}

// RevokeResponse is the response of Revoke.
type RevokeResponse struct {
	RequestID  string `json:"request_id,omitempty"`
	StatusCode int32  `json:"status_code,omitempty"`
}

// RevokeRequestOptions run a Revoke with a member's own permissions.
type RevokeRequestOptions struct {
	// Authorization names the member session whose RBAC permissions apply.
	Authorization Authorization
}

// Authorization identifies a member session by token or JWT.
type Authorization struct {
	SessionToken string
	SessionJWT   string
}

// AddHeaders sets X-Stytch-Member-Session and X-Stytch-Member-SessionJWT for
// the non-empty credentials of o. A nil o adds nothing.
func (o *RevokeRequestOptions) AddHeaders(h map[string][]string) map[string][]string {
	if h == nil {
		h = map[string][]string{}
	}
	if o == nil {
		return h
	}
	if o.Authorization.SessionToken != "" {
		h[HeaderMemberSession] = append(h[HeaderMemberSession], o.Authorization.SessionToken)
	}
	if o.Authorization.SessionJWT != "" {
		h[HeaderMemberSessionJWT] = append(h[HeaderMemberSessionJWT], o.Authorization.SessionJWT)
	}
	return h
}

// Header names of RevokeRequestOptions, in Go's canonical form.
const (
	HeaderMemberSession    = "X-Stytch-Member-Session"
	HeaderMemberSessionJWT = "X-Stytch-Member-Sessionjwt"
)

// AuthenticationFactor is one factor of a session.
type AuthenticationFactor struct {
	Type                   string                  `json:"type,omitempty"`
	DeliveryMethod         string                  `json:"delivery_method,omitempty"`
	LastAuthenticatedAt    *time.Time              `json:"last_authenticated_at,omitempty"`
	CreatedAt              *time.Time              `json:"created_at,omitempty"`
	UpdatedAt              *time.Time              `json:"updated_at,omitempty"`
	SequenceOrder          string                  `json:"sequence_order,omitempty"`
	EmailFactor            *EmailFactor            `json:"email_factor,omitempty"`
	PhoneNumberFactor      *PhoneNumberFactor      `json:"phone_number_factor,omitempty"`
	GoogleOAuthFactor      *OAuthFactor            `json:"google_oauth_factor,omitempty"`
	MicrosoftOAuthFactor   *OAuthFactor            `json:"microsoft_oauth_factor,omitempty"`
	GithubOAuthFactor      *OAuthFactor            `json:"github_oauth_factor,omitempty"`
	HubspotOAuthFactor     *OAuthFactor            `json:"hubspot_oauth_factor,omitempty"`
	SlackOAuthFactor       *OAuthFactor            `json:"slack_oauth_factor,omitempty"`
	SAMLSSOFactor          *SSOFactor              `json:"saml_sso_factor,omitempty"`
	OIDCSSOFactor          *SSOFactor              `json:"oidc_sso_factor,omitempty"`
	AuthenticatorAppFactor *AuthenticatorAppFactor `json:"authenticator_app_factor,omitempty"`
	RecoveryCodeFactor     *RecoveryCodeFactor     `json:"recovery_code_factor,omitempty"`
	ImpersonatedFactor     *ImpersonatedFactor     `json:"impersonated_factor,omitempty"`
	TrustedAuthTokenFactor *TrustedAuthTokenFactor `json:"trusted_auth_token_factor,omitempty"`
}

// EmailFactor is an email-based factor.
type EmailFactor struct {
	EmailID      string `json:"email_id,omitempty"`
	EmailAddress string `json:"email_address,omitempty"`
}

// PhoneNumberFactor is an SMS or WhatsApp factor.
type PhoneNumberFactor struct {
	PhoneID     string `json:"phone_id,omitempty"`
	PhoneNumber string `json:"phone_number,omitempty"`
}

// OAuthFactor is an OAuth provider factor.
type OAuthFactor struct {
	ID               string `json:"id,omitempty"`
	ProviderSubject  string `json:"provider_subject,omitempty"`
	EmailID          string `json:"email_id,omitempty"`
	ProviderTenantID string `json:"provider_tenant_id,omitempty"`
}

// SSOFactor is a SAML or OIDC SSO factor.
type SSOFactor struct {
	ID         string `json:"id,omitempty"`
	ProviderID string `json:"provider_id,omitempty"`
	ExternalID string `json:"external_id,omitempty"`
}

// AuthenticatorAppFactor is a TOTP factor.
type AuthenticatorAppFactor struct {
	TOTPID string `json:"totp_id,omitempty"`
}

// RecoveryCodeFactor is a TOTP recovery-code factor.
type RecoveryCodeFactor struct {
	TOTPRecoveryCodeID string `json:"totp_recovery_code_id,omitempty"`
}

// ImpersonatedFactor records who impersonated the member.
type ImpersonatedFactor struct {
	ImpersonatorID           string `json:"impersonator_id,omitempty"`
	ImpersonatorEmailAddress string `json:"impersonator_email_address,omitempty"`
}

// TrustedAuthTokenFactor is a trusted-auth-token factor.
type TrustedAuthTokenFactor struct {
	TokenID string `json:"token_id,omitempty"`
}
