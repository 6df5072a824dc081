package client

import "time"

// Member is the Stytch B2B member object.
type Member struct {
	OrganizationID         string           `json:"organization_id,omitempty"`
	MemberID               string           `json:"member_id,omitempty"`
	EmailAddress           string           `json:"email_address,omitempty"`
	Status                 string           `json:"status,omitempty"`
	Name                   string           `json:"name,omitempty"`
	Roles                  []MemberRole     `json:"roles,omitempty"`
	IsAdmin                bool             `json:"is_admin,omitempty"`
	IsBreakglass           bool             `json:"is_breakglass,omitempty"`
	EmailAddressVerified   bool             `json:"email_address_verified,omitempty"`
	MfaEnrolled            bool             `json:"mfa_enrolled,omitempty"`
	MfaPhoneNumber         string           `json:"mfa_phone_number,omitempty"`
	MfaPhoneNumberVerified bool             `json:"mfa_phone_number_verified,omitempty"`
	DefaultMfaMethod       string           `json:"default_mfa_method,omitempty"`
	TOTPRegistrationID     string           `json:"totp_registration_id,omitempty"`
	MemberPasswordID       string           `json:"member_password_id,omitempty"`
	SSORegistrations       []map[string]any `json:"sso_registrations,omitempty"`
	OAuthRegistrations     []map[string]any `json:"oauth_registrations,omitempty"`
	RetiredEmailAddresses  []map[string]any `json:"retired_email_addresses,omitempty"`
	TrustedMetadata        map[string]any   `json:"trusted_metadata,omitempty"`
	UntrustedMetadata      map[string]any   `json:"untrusted_metadata,omitempty"`
	CreatedAt              *time.Time       `json:"created_at,omitempty"`
	UpdatedAt              *time.Time       `json:"updated_at,omitempty"`
	ExternalID             string           `json:"external_id,omitempty"`
	IsLocked               bool             `json:"is_locked,omitempty"`
	SCIMRegistration       map[string]any   `json:"scim_registration,omitempty"`
	// LockCreatedAt and LockExpiresAt bound a lock of the member (too many
	// failed authentications); nil (null on the wire) when not locked.
	LockCreatedAt *time.Time `json:"lock_created_at,omitempty"`
	LockExpiresAt *time.Time `json:"lock_expires_at,omitempty"`
}

// MemberRole is a role held by a member, with where it comes from.
type MemberRole struct {
	RoleID  string             `json:"role_id,omitempty"`
	Sources []MemberRoleSource `json:"sources,omitempty"`
}

// MemberRoleSource is one source of a MemberRole: direct_assignment,
// email_assignment, sso_connection, sso_connection_group or
// scim_connection_group.
type MemberRoleSource struct {
	Type    string         `json:"type,omitempty"`
	Details map[string]any `json:"details,omitempty"`
}

// Organization is the Stytch B2B organization object.
type Organization struct {
	OrganizationID                   string           `json:"organization_id,omitempty"`
	OrganizationName                 string           `json:"organization_name,omitempty"`
	OrganizationSlug                 string           `json:"organization_slug,omitempty"`
	OrganizationLogoURL              string           `json:"organization_logo_url,omitempty"`
	TrustedMetadata                  map[string]any   `json:"trusted_metadata,omitempty"`
	EmailAllowedDomains              []string         `json:"email_allowed_domains,omitempty"`
	EmailJITProvisioning             string           `json:"email_jit_provisioning,omitempty"`
	EmailInvites                     string           `json:"email_invites,omitempty"`
	AuthMethods                      string           `json:"auth_methods,omitempty"`
	AllowedAuthMethods               []string         `json:"allowed_auth_methods,omitempty"`
	MfaPolicy                        string           `json:"mfa_policy,omitempty"`
	MfaMethods                       string           `json:"mfa_methods,omitempty"`
	AllowedMfaMethods                []string         `json:"allowed_mfa_methods,omitempty"`
	SSOJITProvisioning               string           `json:"sso_jit_provisioning,omitempty"`
	SSOActiveConnections             []map[string]any `json:"sso_active_connections,omitempty"`
	SSODefaultConnectionID           string           `json:"sso_default_connection_id,omitempty"`
	RBACEmailImplicitRoleAssignments []map[string]any `json:"rbac_email_implicit_role_assignments,omitempty"`
	CustomRoles                      []Role           `json:"custom_roles,omitempty"`
	CreatedAt                        *time.Time       `json:"created_at,omitempty"`
	UpdatedAt                        *time.Time       `json:"updated_at,omitempty"`
	OrganizationExternalID           string           `json:"organization_external_id,omitempty"`
	// SSOJITProvisioningAllowedConnections are the SSO connections allowed
	// to JIT-provision members when SSOJITProvisioning is "RESTRICTED".
	SSOJITProvisioningAllowedConnections []string `json:"sso_jit_provisioning_allowed_connections,omitempty"`
	// OAuthTenantJITProvisioning is "RESTRICTED" or "NOT_ALLOWED" (the
	// default); AllowedOAuthTenants lists the tenants by provider.
	OAuthTenantJITProvisioning string         `json:"oauth_tenant_jit_provisioning,omitempty"`
	AllowedOAuthTenants        map[string]any `json:"allowed_oauth_tenants,omitempty"`
	// ClaimedEmailDomains are the email domains the organization claims.
	ClaimedEmailDomains []string `json:"claimed_email_domains,omitempty"`
	// FirstPartyConnectedAppsAllowedType and
	// ThirdPartyConnectedAppsAllowedType are "ALL_ALLOWED" (the default),
	// "RESTRICTED" (only the listed apps) or "NOT_ALLOWED".
	FirstPartyConnectedAppsAllowedType string   `json:"first_party_connected_apps_allowed_type,omitempty"`
	AllowedFirstPartyConnectedApps     []string `json:"allowed_first_party_connected_apps,omitempty"`
	ThirdPartyConnectedAppsAllowedType string   `json:"third_party_connected_apps_allowed_type,omitempty"`
	AllowedThirdPartyConnectedApps     []string `json:"allowed_third_party_connected_apps,omitempty"`
	// SCIMActiveConnection is the organization's SCIM connection; nil (null
	// on the wire) when it has none.
	SCIMActiveConnection *ActiveSCIMConnection `json:"scim_active_connection,omitempty"`
}

// ActiveSCIMConnection is the SCIM connection of an organization.
type ActiveSCIMConnection struct {
	ConnectionID         string     `json:"connection_id,omitempty"`
	DisplayName          string     `json:"display_name,omitempty"`
	BearerTokenLastFour  string     `json:"bearer_token_last_four,omitempty"`
	BearerTokenExpiresAt *time.Time `json:"bearer_token_expires_at,omitempty"`
}

// Policy is the project's RBAC policy.
type Policy struct {
	Roles     []Role     `json:"roles"`
	Resources []Resource `json:"resources"`
	Scopes    []Scope    `json:"scopes"`
}

// Role is an RBAC role with its permissions.
type Role struct {
	RoleID      string       `json:"role_id"`
	Description string       `json:"description"`
	Permissions []Permission `json:"permissions"`
}

// Permission grants Actions on the resource ResourceID. The action "*" grants
// every action; resources match exactly.
type Permission struct {
	ResourceID string   `json:"resource_id"`
	Actions    []string `json:"actions"`
}

// Resource is an RBAC resource with the actions it defines.
type Resource struct {
	ResourceID  string   `json:"resource_id"`
	Description string   `json:"description"`
	Actions     []string `json:"actions"`
}

// Scope is a Connected-Apps scope; it is not used for session role checks.
type Scope struct {
	Scope       string       `json:"scope"`
	Description string       `json:"description"`
	Permissions []Permission `json:"permissions"`
}

// OrgPolicy is an organization's custom roles (they add to the project's).
type OrgPolicy struct {
	Roles []Role `json:"roles"`
}

// PolicyResponse is the response of GET /v1/b2b/rbac/policy.
type PolicyResponse struct {
	RequestID  string  `json:"request_id,omitempty"`
	StatusCode int32   `json:"status_code,omitempty"`
	Policy     *Policy `json:"policy,omitempty"`
}

// OrgPolicyResponse is the response of GET /v1/b2b/rbac/organizations/{id}.
type OrgPolicyResponse struct {
	RequestID  string     `json:"request_id,omitempty"`
	StatusCode int32      `json:"status_code,omitempty"`
	OrgPolicy  *OrgPolicy `json:"org_policy,omitempty"`
}
