package rbac

import (
	"cmp"
	"slices"

	"github.com/stytchguard/stytchguard/client"
)

// wildcardAction is the permission action that grants every action.
const wildcardAction = "*"

// smallActionSet is the largest action list kept as a slice; longer lists
// get a map. A linear scan of a few short strings beats hashing.
const smallActionSet = 8

// Index is a compiled, immutable RBAC policy: the project policy plus,
// optionally, one organization's policy, whose roles add to the project's.
// A check costs one map lookup for the resource and one per session role in
// each policy; it never walks the policy.
//
// An Index is safe for concurrent use. The zero Index and a nil *Index hold
// no roles; a nil *Index refuses every check that passes tenancy with
// ErrPolicyUnavailable.
type Index struct {
	project *compiled
	org     *compiled // nil: no organization policy
}

// compiled is one policy (project or organization) ready for lookups.
type compiled struct {
	// grants maps a resource, then a role, to the actions the role's
	// permissions list for that resource, merged over every permission and
	// every role entry of that role_id. Keying by resource first makes a
	// check one lookup for the resource plus one per session role in a
	// small map.
	grants map[string]map[string]*actionSet
	// roles is the length of the policy's role list.
	roles int
}

// actionSet is the merged action list of the permissions one role holds on
// one resource. Beside each action it keeps the position, in the policy's
// role list, of the first role entry that lists it; a verdict orders its
// granting roles by that position.
type actionSet struct {
	all   bool           // "*" is listed
	allAt int            // position of the first entry listing "*"
	few   []string       // the other actions, when at most smallActionSet
	fewAt []int          // positions of few
	many  map[string]int // the other actions with positions, when more
}

// allows reports whether the set grants action.
func (a *actionSet) allows(action string) bool {
	if a.all {
		return true
	}
	if a.many != nil {
		_, ok := a.many[action]
		return ok
	}
	for _, x := range a.few {
		if x == action {
			return true
		}
	}
	return false
}

// firstAt returns the position of the first role entry granting action, or
// -1 when none does.
func (a *actionSet) firstAt(action string) int {
	at := -1
	if a.many != nil {
		if i, ok := a.many[action]; ok {
			at = i
		}
	} else if i := slices.Index(a.few, action); i >= 0 {
		at = a.fewAt[i]
	}
	if a.all && (at < 0 || a.allAt < at) {
		at = a.allAt
	}
	return at
}

// Compile builds the Index of the project policy p and the organization
// policy org. Either may be nil: a nil p holds no project roles, a nil org
// no organization roles. Compile copies what it needs; p and org may change
// afterwards without affecting the Index.
//
// The semantics are those of Stytch's authorization check: organization
// roles are appended to project roles (a role_id present in both grants the
// union of both permission lists), resources match exactly, an action
// matches a permission listing it exactly or listing "*", and policy
// resources and scopes are not consulted.
func Compile(p *client.Policy, org *client.OrgPolicy) *Index {
	ix := &Index{project: compileRoles(nil)}
	if p != nil {
		ix.project = compileRoles(p.Roles)
	}
	if org != nil {
		ix.org = compileRoles(org.Roles)
	}
	return ix
}

func compileRoles(roles []client.Role) *compiled {
	// first[resource][role][action] is the position of the first role entry
	// listing action.
	first := make(map[string]map[string]map[string]int)
	for i, r := range roles {
		for _, p := range r.Permissions {
			byRole := first[p.ResourceID]
			if byRole == nil {
				byRole = make(map[string]map[string]int)
				first[p.ResourceID] = byRole
			}
			m := byRole[r.RoleID]
			if m == nil {
				m = make(map[string]int, len(p.Actions))
				byRole[r.RoleID] = m
			}
			for _, a := range p.Actions {
				if _, ok := m[a]; !ok {
					m[a] = i
				}
			}
		}
	}
	c := &compiled{grants: make(map[string]map[string]*actionSet, len(first)), roles: len(roles)}
	for resource, byRole := range first {
		sets := make(map[string]*actionSet, len(byRole))
		for role, m := range byRole {
			sets[role] = newActionSet(m)
		}
		c.grants[resource] = sets
	}
	return c
}

// newActionSet builds the set of the actions in m (action -> position).
func newActionSet(m map[string]int) *actionSet {
	set := &actionSet{}
	if at, ok := m[wildcardAction]; ok {
		set.all, set.allAt = true, at
		delete(m, wildcardAction)
	}
	if len(m) > smallActionSet {
		set.many = m
		return set
	}
	for a := range m {
		set.few = append(set.few, a)
	}
	slices.Sort(set.few)
	set.fewAt = make([]int, len(set.few))
	for i, a := range set.few {
		set.fewAt[i] = m[a]
	}
	return set
}

// resourceGrants returns the role -> actions maps of resource in the project
// and organization policies; either may be nil.
func (ix *Index) resourceGrants(resource string) (project, org map[string]*actionSet) {
	if ix.project != nil {
		project = ix.project.grants[resource]
	}
	if ix.org != nil {
		org = ix.org.grants[resource]
	}
	return project, org
}

// grantPosition returns the position, in the combined role list (project
// roles, then organization roles), of the first role entry of role that
// grants action, given the resource's grants, or -1 when none does.
func (ix *Index) grantPosition(project, org map[string]*actionSet, role, action string) int {
	if s := project[role]; s != nil {
		if at := s.firstAt(action); at >= 0 {
			return at
		}
	}
	if s := org[role]; s != nil {
		if at := s.firstAt(action); at >= 0 {
			offset := 0
			if ix.project != nil {
				offset = ix.project.roles
			}
			return offset + at
		}
	}
	return -1
}

// Authorize decides check for a subject that belongs to organization
// subjectOrg and holds roles (the session's roles).
//
// A nil check is allowed (nil error). Otherwise tenancy is decided first:
// subjectOrg must equal check.OrganizationID exactly, else the result is an
// *AuthorizationError of type client.ErrorTypeTenancy. Then the check is granted
// when a permission of one of roles (roles the policy does not know grant
// nothing) has ResourceID equal to check.ResourceID and lists check.Action
// or "*"; else the result is an *AuthorizationError of type
// client.ErrorTypePermission. A nil ix refuses every check that passes tenancy with
// ErrPolicyUnavailable.
//
// Authorize does not allocate when it allows.
func (ix *Index) Authorize(subjectOrg string, roles []string, check *client.AuthorizationCheck) error {
	if check == nil {
		return nil
	}
	if subjectOrg != check.OrganizationID {
		return newAuthorizationError(client.ErrorTypeTenancy, subjectOrg, check)
	}
	if ix == nil {
		return ErrPolicyUnavailable
	}
	project, org := ix.resourceGrants(check.ResourceID)
	if project == nil && org == nil {
		return newAuthorizationError(client.ErrorTypePermission, subjectOrg, check)
	}
	for _, r := range roles {
		if s := project[r]; s != nil && s.allows(check.Action) {
			return nil
		}
		if s := org[r]; s != nil && s.allows(check.Action) {
			return nil
		}
	}
	return newAuthorizationError(client.ErrorTypePermission, subjectOrg, check)
}

// Verdict makes the same decision as Authorize and, when it allows, returns
// the verdict the Stytch API would: Authorized true and GrantingRoles
// listing every role of roles that grants the check, once each, in policy
// order: ordered by the first role entry of the combined role list (project
// roles, then organization roles) that grants the check, as the Stytch API
// lists them.
//
// A nil check returns a nil verdict and a nil error: there is nothing to
// report. A refusal returns a nil verdict and the error Authorize returns.
func (ix *Index) Verdict(subjectOrg string, roles []string, check *client.AuthorizationCheck) (*client.AuthorizationVerdict, error) {
	if check == nil {
		return nil, nil
	}
	if subjectOrg != check.OrganizationID {
		return nil, newAuthorizationError(client.ErrorTypeTenancy, subjectOrg, check)
	}
	if ix == nil {
		return nil, ErrPolicyUnavailable
	}
	type grantingRole struct {
		role string
		at   int
	}
	var granting []grantingRole
	project, org := ix.resourceGrants(check.ResourceID)
	for _, r := range roles {
		if slices.ContainsFunc(granting, func(g grantingRole) bool { return g.role == r }) {
			continue
		}
		if at := ix.grantPosition(project, org, r, check.Action); at >= 0 {
			granting = append(granting, grantingRole{role: r, at: at})
		}
	}
	if len(granting) == 0 {
		return nil, newAuthorizationError(client.ErrorTypePermission, subjectOrg, check)
	}
	slices.SortFunc(granting, func(a, b grantingRole) int { return cmp.Compare(a.at, b.at) })
	names := make([]string, len(granting))
	for i, g := range granting {
		names[i] = g.role
	}
	return &client.AuthorizationVerdict{Authorized: true, GrantingRoles: names}, nil
}
