package stytchtest

import (
	"strconv"

	"github.com/stytchguard/stytchguard/client"
)

// The types of this file are the emulator's own JSON shapes. Unlike the
// client types they carry no omitempty: the real API sends every key, empty
// or not, and so does the emulator.

// meta is embedded in every response body.
type meta struct {
	RequestID  string `json:"request_id"`
	StatusCode int    `json:"status_code"`
}

// wireError is the error body of §5.1 of the wire specification.
type wireError struct {
	StatusCode   int            `json:"status_code"`
	RequestID    string         `json:"request_id"`
	ErrorType    string         `json:"error_type"`
	ErrorMessage string         `json:"error_message"`
	ErrorURL     string         `json:"error_url"`
	ErrorDetails map[string]any `json:"error_details,omitempty"`
}

// apiError is an error a handler answers with.
type apiError struct {
	status  int
	typ     string
	message string
}

func errorURL(status int) string {
	return "https://stytch.com/docs/api/errors/" + strconv.Itoa(status)
}

type wireEmailFactor struct {
	EmailID      string `json:"email_id"`
	EmailAddress string `json:"email_address"`
}

type wirePhoneFactor struct {
	PhoneID     string `json:"phone_id"`
	PhoneNumber string `json:"phone_number"`
}

type wireOAuthFactor struct {
	ID              string `json:"id"`
	ProviderSubject string `json:"provider_subject"`
	EmailID         string `json:"email_id"`
}

type wireSSOFactor struct {
	ID         string `json:"id"`
	ProviderID string `json:"provider_id"`
	ExternalID string `json:"external_id"`
}

type wireTOTPFactor struct {
	TOTPID string `json:"totp_id"`
}

// wireFactor is an authentication factor. Exactly one of the *_factor
// objects is present.
type wireFactor struct {
	Type                   string           `json:"type"`
	DeliveryMethod         string           `json:"delivery_method"`
	LastAuthenticatedAt    string           `json:"last_authenticated_at"`
	CreatedAt              string           `json:"created_at"`
	UpdatedAt              string           `json:"updated_at"`
	SequenceOrder          string           `json:"sequence_order"`
	EmailFactor            *wireEmailFactor `json:"email_factor,omitempty"`
	PhoneNumberFactor      *wirePhoneFactor `json:"phone_number_factor,omitempty"`
	GoogleOAuthFactor      *wireOAuthFactor `json:"google_oauth_factor,omitempty"`
	MicrosoftOAuthFactor   *wireOAuthFactor `json:"microsoft_oauth_factor,omitempty"`
	SAMLSSOFactor          *wireSSOFactor   `json:"saml_sso_factor,omitempty"`
	AuthenticatorAppFactor *wireTOTPFactor  `json:"authenticator_app_factor,omitempty"`
}

// wireSession is the MemberSession object (§1.9).
type wireSession struct {
	MemberSessionID       string         `json:"member_session_id"`
	MemberID              string         `json:"member_id"`
	StartedAt             string         `json:"started_at"`
	LastAccessedAt        string         `json:"last_accessed_at"`
	ExpiresAt             string         `json:"expires_at"`
	AuthenticationFactors []wireFactor   `json:"authentication_factors"`
	OrganizationID        string         `json:"organization_id"`
	Roles                 []string       `json:"roles"`
	OrganizationSlug      string         `json:"organization_slug"`
	CustomClaims          map[string]any `json:"custom_claims"`
}

type wireRoleSource struct {
	Type    string         `json:"type"`
	Details map[string]any `json:"details"`
}

type wireMemberRole struct {
	RoleID  string           `json:"role_id"`
	Sources []wireRoleSource `json:"sources"`
}

// wireMember is the Member object (§7.3), with every key the reference Go
// and Node SDKs declare.
type wireMember struct {
	OrganizationID         string           `json:"organization_id"`
	MemberID               string           `json:"member_id"`
	EmailAddress           string           `json:"email_address"`
	Status                 string           `json:"status"`
	Name                   string           `json:"name"`
	Roles                  []wireMemberRole `json:"roles"`
	IsAdmin                bool             `json:"is_admin"`
	IsBreakglass           bool             `json:"is_breakglass"`
	EmailAddressVerified   bool             `json:"email_address_verified"`
	MfaEnrolled            bool             `json:"mfa_enrolled"`
	MfaPhoneNumber         string           `json:"mfa_phone_number"`
	MfaPhoneNumberVerified bool             `json:"mfa_phone_number_verified"`
	DefaultMfaMethod       string           `json:"default_mfa_method"`
	TOTPRegistrationID     string           `json:"totp_registration_id"`
	MemberPasswordID       string           `json:"member_password_id"`
	SSORegistrations       []map[string]any `json:"sso_registrations"`
	OAuthRegistrations     []map[string]any `json:"oauth_registrations"`
	RetiredEmailAddresses  []map[string]any `json:"retired_email_addresses"`
	TrustedMetadata        map[string]any   `json:"trusted_metadata"`
	UntrustedMetadata      map[string]any   `json:"untrusted_metadata"`
	CreatedAt              string           `json:"created_at"`
	UpdatedAt              string           `json:"updated_at"`
	ExternalID             string           `json:"external_id"`
	IsLocked               bool             `json:"is_locked"`
	SCIMRegistration       map[string]any   `json:"scim_registration"`
	LockCreatedAt          *string          `json:"lock_created_at"`
	LockExpiresAt          *string          `json:"lock_expires_at"`
}

// wireOrganization is the Organization object (§7.3), with every key the
// reference Go and Node SDKs declare.
type wireOrganization struct {
	OrganizationID                       string           `json:"organization_id"`
	OrganizationName                     string           `json:"organization_name"`
	OrganizationSlug                     string           `json:"organization_slug"`
	OrganizationLogoURL                  string           `json:"organization_logo_url"`
	TrustedMetadata                      map[string]any   `json:"trusted_metadata"`
	EmailAllowedDomains                  []string         `json:"email_allowed_domains"`
	EmailJITProvisioning                 string           `json:"email_jit_provisioning"`
	EmailInvites                         string           `json:"email_invites"`
	AuthMethods                          string           `json:"auth_methods"`
	AllowedAuthMethods                   []string         `json:"allowed_auth_methods"`
	MfaPolicy                            string           `json:"mfa_policy"`
	MfaMethods                           string           `json:"mfa_methods"`
	AllowedMfaMethods                    []string         `json:"allowed_mfa_methods"`
	SSOJITProvisioning                   string           `json:"sso_jit_provisioning"`
	SSOActiveConnections                 []map[string]any `json:"sso_active_connections"`
	SSODefaultConnectionID               string           `json:"sso_default_connection_id"`
	RBACEmailImplicitRoleAssignments     []map[string]any `json:"rbac_email_implicit_role_assignments"`
	CustomRoles                          []client.Role    `json:"custom_roles"`
	CreatedAt                            string           `json:"created_at"`
	UpdatedAt                            string           `json:"updated_at"`
	OrganizationExternalID               string           `json:"organization_external_id"`
	SSOJITProvisioningAllowedConnections []string         `json:"sso_jit_provisioning_allowed_connections"`
	OAuthTenantJITProvisioning           string           `json:"oauth_tenant_jit_provisioning"`
	AllowedOAuthTenants                  map[string]any   `json:"allowed_oauth_tenants"`
	ClaimedEmailDomains                  []string         `json:"claimed_email_domains"`
	FirstPartyConnectedAppsAllowedType   string           `json:"first_party_connected_apps_allowed_type"`
	AllowedFirstPartyConnectedApps       []string         `json:"allowed_first_party_connected_apps"`
	ThirdPartyConnectedAppsAllowedType   string           `json:"third_party_connected_apps_allowed_type"`
	AllowedThirdPartyConnectedApps       []string         `json:"allowed_third_party_connected_apps"`
	SCIMActiveConnection                 map[string]any   `json:"scim_active_connection"`
}

type wireVerdict struct {
	Authorized    bool     `json:"authorized"`
	GrantingRoles []string `json:"granting_roles"`
}

type authenticateResponse struct {
	meta
	MemberSession wireSession      `json:"member_session"`
	SessionToken  string           `json:"session_token"`
	SessionJWT    string           `json:"session_jwt"`
	Member        wireMember       `json:"member"`
	Organization  wireOrganization `json:"organization"`
	Verdict       *wireVerdict     `json:"verdict,omitempty"`
}

type getResponse struct {
	meta
	MemberSessions []wireSession `json:"member_sessions"`
}

type revokeResponse struct {
	meta
}

type wirePrimaryRequired struct {
	AllowedAuthMethods []string `json:"allowed_auth_methods"`
}

type exchangeResponse struct {
	meta
	MemberID                          string               `json:"member_id"`
	MemberSession                     *wireSession         `json:"member_session"`
	SessionToken                      string               `json:"session_token"`
	SessionJWT                        string               `json:"session_jwt"`
	Member                            wireMember           `json:"member"`
	Organization                      wireOrganization     `json:"organization"`
	MemberAuthenticated               bool                 `json:"member_authenticated"`
	IntermediateSessionToken          string               `json:"intermediate_session_token"`
	IntermediateSessionTokenExpiresAt *string              `json:"intermediate_session_token_expires_at"`
	MFARequired                       map[string]any       `json:"mfa_required"`
	PrimaryRequired                   *wirePrimaryRequired `json:"primary_required"`
	MemberDevice                      map[string]any       `json:"member_device"`
}

type migrateResponse struct {
	meta
	MemberID      string           `json:"member_id"`
	SessionToken  string           `json:"session_token"`
	SessionJWT    string           `json:"session_jwt"`
	Member        wireMember       `json:"member"`
	Organization  wireOrganization `json:"organization"`
	MemberSession *wireSession     `json:"member_session"`
}

type wireJWK struct {
	KeyType string   `json:"kty"`
	Use     string   `json:"use"`
	KeyOps  []string `json:"key_ops"`
	Alg     string   `json:"alg"`
	KeyID   string   `json:"kid"`
	X5C     []string `json:"x5c"`
	X5TS256 string   `json:"x5tS256"`
	N       string   `json:"n"`
	E       string   `json:"e"`
}

type jwksResponse struct {
	Keys []wireJWK `json:"keys"`
	meta
}

type policyResponse struct {
	meta
	Policy client.Policy `json:"policy"`
}

type orgPolicyResponse struct {
	meta
	OrgPolicy client.OrgPolicy `json:"org_policy"`
}

// wireOAuth2Error is the error body of the M2M token endpoint (§8.2).
type wireOAuth2Error struct {
	StatusCode       int    `json:"status_code"`
	RequestID        string `json:"request_id"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorURI         string `json:"error_uri"`
}

type m2mTokenResponse struct {
	meta
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// wireM2MClient is the M2M client object (§8.5).
type wireM2MClient struct {
	ClientID                 string         `json:"client_id"`
	ClientName               string         `json:"client_name"`
	ClientDescription        string         `json:"client_description"`
	Status                   string         `json:"status"`
	Scopes                   []string       `json:"scopes"`
	ClientSecretLastFour     string         `json:"client_secret_last_four"`
	TrustedMetadata          map[string]any `json:"trusted_metadata"`
	NextClientSecretLastFour *string        `json:"next_client_secret_last_four"`
}

type wireM2MClientWithSecret struct {
	wireM2MClient
	ClientSecret string `json:"client_secret"`
}

type m2mClientSecretResponse struct {
	meta
	M2MClient wireM2MClientWithSecret `json:"m2m_client"`
}

type m2mClientResponse struct {
	meta
	M2MClient wireM2MClient `json:"m2m_client"`
}

type m2mDeleteResponse struct {
	meta
	ClientID string `json:"client_id"`
}

type wireResultsMetadata struct {
	Total      int     `json:"total"`
	NextCursor *string `json:"next_cursor"`
}

type m2mSearchResponse struct {
	meta
	M2MClients      []wireM2MClient     `json:"m2m_clients"`
	ResultsMetadata wireResultsMetadata `json:"results_metadata"`
}
