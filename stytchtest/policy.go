package stytchtest

import (
	"slices"

	"github.com/stytchguard/stytchguard/client"
)

// DefaultPolicy returns the RBAC policy a new Stytch project starts with, and
// the one a Server serves until SetPolicy replaces it: the default resources
// stytch.organization, stytch.member, stytch.sso and stytch.self with their
// reserved actions; the role stytch_member holding every action ("*") on
// stytch.self; and the role stytch_admin holding every action on
// stytch.organization, stytch.member and stytch.sso. It has no scopes.
func DefaultPolicy() client.Policy {
	return client.Policy{
		Roles: []client.Role{
			{
				RoleID:      "stytch_member",
				Description: "Granted to every member of an organization.",
				Permissions: []client.Permission{
					{ResourceID: "stytch.self", Actions: []string{"*"}},
				},
			},
			{
				RoleID:      "stytch_admin",
				Description: "Granted to the member who created the organization.",
				Permissions: []client.Permission{
					{ResourceID: "stytch.organization", Actions: []string{"*"}},
					{ResourceID: "stytch.member", Actions: []string{"*"}},
					{ResourceID: "stytch.sso", Actions: []string{"*"}},
				},
			},
		},
		Resources: []client.Resource{
			{
				ResourceID:  "stytch.organization",
				Description: "The organization the member belongs to.",
				Actions: []string{
					"update.info.name", "update.info.slug", "update.info.untrusted_metadata",
					"update.info.email_jit_provisioning", "update.info.logo_url",
					"update.info.email_invites", "update.info.allowed_domains",
					"update.info.default_sso_connection", "update.info.sso_jit_provisioning",
					"update.info.mfa_policy", "update.info.implicit_roles", "delete",
				},
			},
			{
				ResourceID:  "stytch.member",
				Description: "The members of the organization.",
				Actions: []string{
					"create", "update.info.name", "update.info.untrusted_metadata",
					"update.info.mfa-phone", "update.info.delete.mfa-phone",
					"update.settings.is-breakglass", "update.settings.mfa_enrolled",
					"update.settings.roles", "search", "delete", "revoke-sessions",
				},
			},
			{
				ResourceID:  "stytch.sso",
				Description: "The SSO connections of the organization.",
				Actions:     []string{"create", "update", "delete"},
			},
			{
				ResourceID:  "stytch.self",
				Description: "The member's own record.",
				Actions: []string{
					"update.info.name", "update.info.untrusted_metadata", "update.info.mfa-phone",
					"update.info.delete.mfa-phone", "update.info.delete.password",
					"update.settings.mfa_enrolled", "delete",
				},
			},
		},
		Scopes: []client.Scope{},
	}
}

// clonePolicy deep-copies p, turning nil slices into empty ones so that the
// wire never carries null where the API sends [].
func clonePolicy(p client.Policy) client.Policy {
	out := client.Policy{
		Roles:     cloneRoles(p.Roles),
		Resources: make([]client.Resource, 0, len(p.Resources)),
		Scopes:    make([]client.Scope, 0, len(p.Scopes)),
	}
	for _, r := range p.Resources {
		out.Resources = append(out.Resources, client.Resource{
			ResourceID:  r.ResourceID,
			Description: r.Description,
			Actions:     cloneStrings(r.Actions),
		})
	}
	for _, sc := range p.Scopes {
		out.Scopes = append(out.Scopes, client.Scope{
			Scope:       sc.Scope,
			Description: sc.Description,
			Permissions: clonePermissions(sc.Permissions),
		})
	}
	return out
}

func cloneRoles(roles []client.Role) []client.Role {
	out := make([]client.Role, 0, len(roles))
	for _, r := range roles {
		out = append(out, client.Role{
			RoleID:      r.RoleID,
			Description: r.Description,
			Permissions: clonePermissions(r.Permissions),
		})
	}
	return out
}

func clonePermissions(ps []client.Permission) []client.Permission {
	out := make([]client.Permission, 0, len(ps))
	for _, p := range ps {
		out = append(out, client.Permission{ResourceID: p.ResourceID, Actions: cloneStrings(p.Actions)})
	}
	return out
}

func cloneStrings(s []string) []string {
	out := make([]string, len(s))
	copy(out, s)
	return out
}

// authzResult is the outcome of an authorization check.
type authzResult int

const (
	authzGranted authzResult = iota
	authzTenancy
	authzDenied
)

// evaluate runs the authorization check of the wire specification (§4.3)
// and, unlike the SDK's local evaluator, collects every granting role as the
// API's verdict does. Roles are the project's followed by the
// organization's; a role granting the permission is listed once, in policy
// order. Resources match exactly; actions match exactly or through a "*" in
// the permission.
func evaluate(project client.Policy, org client.OrgPolicy, subjectOrg string, subjectRoles []string,
	checkOrg, resource, action string) (authzResult, []string) {
	if subjectOrg != checkOrg {
		return authzTenancy, nil
	}
	var granting []string
	consider := func(roles []client.Role) {
		for _, role := range roles {
			if !slices.Contains(subjectRoles, role.RoleID) || slices.Contains(granting, role.RoleID) {
				continue
			}
			for _, p := range role.Permissions {
				if p.ResourceID == resource && (slices.Contains(p.Actions, "*") || slices.Contains(p.Actions, action)) {
					granting = append(granting, role.RoleID)
					break
				}
			}
		}
	}
	consider(project.Roles)
	consider(org.Roles)
	if len(granting) == 0 {
		return authzDenied, nil
	}
	return authzGranted, granting
}
