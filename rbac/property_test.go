package rbac

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stytchguard/stytchguard/client"
)

// referenceDecision is the outcome of referenceCheck.
type referenceDecision struct {
	outcome  outcome
	granting []string
}

// referenceCheck is the authorization check exactly as the wire
// specification words it, with no precomputation:
//
//  1. a nil check is allowed;
//  2. a subject organization different from the check's is a tenancy error;
//  3. the role list is the project roles followed by the organization roles;
//  4. a policy role whose role_id is among the subject roles grants when one
//     of its permissions has resource_id equal to the check's resource and
//     lists "*" or the check's action;
//  5. otherwise the permission error.
//
// The verdict lists every granting role once, in the order of the role list.
func referenceCheck(p *client.Policy, org *client.OrgPolicy, subjectOrg string, subjectRoles []string, check *client.AuthorizationCheck) referenceDecision {
	if check == nil {
		return referenceDecision{outcome: allow}
	}
	if subjectOrg != check.OrganizationID {
		return referenceDecision{outcome: denyTenancy}
	}
	var all []client.Role
	if p != nil {
		all = append(all, p.Roles...)
	}
	if org != nil {
		all = append(all, org.Roles...)
	}
	var granting []string
	for _, r := range all {
		if !slices.Contains(subjectRoles, r.RoleID) {
			continue
		}
		for _, pm := range r.Permissions {
			if pm.ResourceID != check.ResourceID {
				continue
			}
			if slices.Contains(pm.Actions, "*") || slices.Contains(pm.Actions, check.Action) {
				if !slices.Contains(granting, r.RoleID) {
					granting = append(granting, r.RoleID)
				}
				break
			}
		}
	}
	if len(granting) == 0 {
		return referenceDecision{outcome: denyPermission}
	}
	return referenceDecision{outcome: allow, granting: granting}
}

// Small alphabets make collisions, near misses and duplicates frequent.
var (
	genRoles     = []string{"admin", "Admin", "admin ", "editor", "viewer", "stytch_member", "stytch_admin", "", "a", "b", "c"}
	genResources = []string{"documents", "Documents", "documents.secret", "doc", "*", "", "stytch.member", "images"}
	genActions   = []string{"read", "write", "delete", "*", "READ", "update.*", "update.name", "", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7"}
	genOrgs      = []string{"organization-test-1", "organization-test-2", "ORGANIZATION-TEST-1", ""}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func genRoleList(r *rand.Rand, max int) []client.Role {
	n := r.IntN(max + 1)
	roles := make([]client.Role, 0, n)
	for range n {
		ro := client.Role{RoleID: pick(r, genRoles)}
		for range r.IntN(4) {
			pm := client.Permission{ResourceID: pick(r, genResources)}
			// Up to 12 actions, so both the slice and the map action sets
			// are exercised.
			for range r.IntN(13) {
				pm.Actions = append(pm.Actions, pick(r, genActions))
			}
			ro.Permissions = append(ro.Permissions, pm)
		}
		roles = append(roles, ro)
	}
	return roles
}

type genCase struct {
	policy     *client.Policy
	org        *client.OrgPolicy
	subjectOrg string
	roles      []string
	check      *client.AuthorizationCheck
}

func (c genCase) String() string {
	return fmt.Sprintf("policy=%+v org=%+v subject=%q roles=%q check=%+v", c.policy, c.org, c.subjectOrg, c.roles, c.check)
}

func genCheckCase(r *rand.Rand) genCase {
	c := genCase{policy: &client.Policy{Roles: genRoleList(r, 8)}}
	if r.IntN(100) < 5 {
		c.policy = nil
	}
	if r.IntN(2) == 0 {
		c.org = &client.OrgPolicy{Roles: genRoleList(r, 4)}
	}
	c.subjectOrg = genOrgs[0]
	if r.IntN(10) == 0 {
		c.subjectOrg = pick(r, genOrgs)
	}
	var pool []client.Role // roles of both policies
	if c.policy != nil {
		pool = append(pool, c.policy.Roles...)
	}
	if c.org != nil {
		pool = append(pool, c.org.Roles...)
	}
	for range r.IntN(5) {
		if len(pool) > 0 && r.IntN(2) == 0 {
			c.roles = append(c.roles, pick(r, pool).RoleID) // a role the policy knows
		} else {
			c.roles = append(c.roles, pick(r, genRoles))
		}
	}
	if r.IntN(50) != 0 {
		c.check = &client.AuthorizationCheck{OrganizationID: genOrgs[0], ResourceID: pick(r, genResources), Action: pick(r, genActions)}
		// Half the time ask for a resource and action some permission names.
		if ro := pick(r, append(pool, client.Role{})); len(ro.Permissions) > 0 && r.IntN(2) == 0 {
			pm := pick(r, ro.Permissions)
			c.check.ResourceID = pm.ResourceID
			if len(pm.Actions) > 0 {
				c.check.Action = pick(r, pm.Actions)
			}
		}
	}
	return c
}

// TestIndexMatchesReference evaluates random policies and checks with the
// compiled Index and with referenceCheck; they must agree on the decision,
// the error type and the granting roles, order included.
func TestIndexMatchesReference(t *testing.T) {
	cases := 20000
	if raceEnabled {
		cases = 5000
	}
	t.Parallel()
	r := rand.New(rand.NewPCG(4, 2026))
	var allowed, denied, tenancy int
	for i := range cases {
		c := genCheckCase(r)
		want := referenceCheck(c.policy, c.org, c.subjectOrg, c.roles, c.check)
		ix := Compile(c.policy, c.org)

		err := ix.Authorize(c.subjectOrg, c.roles, c.check)
		if got := outcomeOf(t, err); got != want.outcome {
			t.Fatalf("case %d: Authorize = %v (%v), reference %v\n%v", i, got, err, want.outcome, c)
		}
		v, verr := ix.Verdict(c.subjectOrg, c.roles, c.check)
		if got := outcomeOf(t, verr); got != want.outcome {
			t.Fatalf("case %d: Verdict = %v (%v), reference %v\n%v", i, got, verr, want.outcome, c)
		}
		if want.outcome == allow && c.check != nil {
			if v == nil || !v.Authorized || !slices.Equal(v.GrantingRoles, want.granting) {
				t.Fatalf("case %d: verdict %+v, reference granting %q\n%v", i, v, want.granting, c)
			}
		}
		var ae *AuthorizationError
		if err != nil && (!errors.As(err, &ae) || ae.ResourceID != c.check.ResourceID || ae.Action != c.check.Action ||
			ae.OrganizationID != c.check.OrganizationID || ae.SubjectOrganizationID != c.subjectOrg) {
			t.Fatalf("case %d: error %#v does not describe the check\n%v", i, err, c)
		}
		switch want.outcome {
		case allow:
			allowed++
		case denyPermission:
			denied++
		case denyTenancy:
			tenancy++
		}
	}
	// The generator must reach every outcome often, or agreement proves little.
	for name, n := range map[string]int{"allow": allowed, "permission": denied, "tenancy": tenancy} {
		if n < cases/50 {
			t.Errorf("only %d %s cases out of %d", n, name, cases)
		}
	}
	t.Logf("allow=%d permission=%d tenancy=%d", allowed, denied, tenancy)
}

// FuzzIndexMatchesReference is TestIndexMatchesReference driven by the
// fuzzer's seeds: go test -fuzz FuzzIndexMatchesReference ./rbac.
func FuzzIndexMatchesReference(f *testing.F) {
	for _, s := range []uint64{0, 1, 42, 2026} {
		f.Add(s, s*7)
	}
	f.Fuzz(func(t *testing.T, s1, s2 uint64) {
		r := rand.New(rand.NewPCG(s1, s2))
		for range 50 {
			c := genCheckCase(r)
			want := referenceCheck(c.policy, c.org, c.subjectOrg, c.roles, c.check)
			v, err := Compile(c.policy, c.org).Verdict(c.subjectOrg, c.roles, c.check)
			if got := outcomeOf(t, err); got != want.outcome {
				t.Fatalf("Verdict = %v (%v), reference %v\n%v", got, err, want.outcome, c)
			}
			if want.outcome == allow && c.check != nil && !slices.Equal(v.GrantingRoles, want.granting) {
				t.Fatalf("granting %q, reference %q\n%v", v.GrantingRoles, want.granting, c)
			}
		}
	})
}
