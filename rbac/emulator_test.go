package rbac

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// emulatorSession is a live session of the emulator with the roles and
// organization the emulator reports for it.
type emulatorSession struct {
	token string
	org   string
	roles []string
}

// TestLocalAgreesWithEmulator runs random policies and checks through the
// emulator's server-side authorization_check (POST
// /v1/b2b/sessions/authenticate over loopback) and through the local
// evaluator, directly and through the Cache fetching the same policies over
// HTTP. The decision, the error type and the granting roles must agree.
func TestLocalAgreesWithEmulator(t *testing.T) {
	cases := 400
	if raceEnabled {
		cases = 250
	}
	t.Parallel()
	e := newEnv(t)
	c := e.newCache(t, Config{})
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 2026))
	orgs := []string{"organization-test-agree-1", "organization-test-agree-2"}

	var sessions []emulatorSession
	for i := range 24 {
		var roles []string
		for range 1 + r.IntN(4) {
			if ro := pick(r, genRoles); ro != "" {
				roles = append(roles, ro)
			}
		}
		token, _, err := e.srv.NewSession(stytchtest.SessionSpec{OrganizationID: orgs[i%len(orgs)], Roles: roles})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := e.client.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: token})
		if err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, emulatorSession{token: token, org: resp.MemberSession.OrganizationID, roles: resp.MemberSession.Roles})
	}

	nonEmpty := func(xs []string) []string {
		return slices.DeleteFunc(slices.Clone(xs), func(s string) bool { return s == "" })
	}
	resources, actions := nonEmpty(genResources), nonEmpty(genActions)

	var counts [3]int
	for i := range cases {
		policy := client.Policy{Roles: genRoleList(r, 8)}
		orgPolicy := client.OrgPolicy{Roles: genRoleList(r, 4)}
		s := pick(r, sessions)
		for _, o := range orgs {
			e.srv.SetOrgPolicy(o, client.OrgPolicy{})
		}
		e.srv.SetPolicy(policy)
		e.srv.SetOrgPolicy(s.org, orgPolicy)

		check := &client.AuthorizationCheck{OrganizationID: s.org, ResourceID: pick(r, resources), Action: pick(r, actions)}
		if r.IntN(8) == 0 {
			check.OrganizationID = pick(r, append(slices.Clone(orgs), "ORGANIZATION-TEST-AGREE-1"))
		}
		// Often ask for something a policy role holds.
		// Mostly from a role the session holds, so that grants are frequent.
		held := slices.DeleteFunc(append(slices.Clone(policy.Roles), orgPolicy.Roles...), func(ro client.Role) bool {
			return !slices.Contains(s.roles, ro.RoleID) && r.IntN(3) != 0
		})
		if ro := pick(r, append(held, client.Role{})); len(ro.Permissions) > 0 && r.IntN(3) != 0 {
			pm := pick(r, ro.Permissions)
			if pm.ResourceID != "" {
				check.ResourceID = pm.ResourceID
			}
			if a := nonEmpty(pm.Actions); len(a) > 0 {
				check.Action = pick(r, a)
			}
		}

		// Remote decision.
		remote := allow
		var remoteGranting []string
		resp, err := e.client.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: s.token, AuthorizationCheck: check})
		var apiErr *client.Error
		switch {
		case err == nil:
			if resp.Verdict == nil || !resp.Verdict.Authorized {
				t.Fatalf("case %d: 200 without an authorized verdict: %+v", i, resp.Verdict)
			}
			remoteGranting = resp.Verdict.GrantingRoles
		case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden && apiErr.ErrorType == client.ErrorTypeTenancy:
			remote = denyTenancy
		case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden && apiErr.ErrorType == client.ErrorTypePermission:
			remote = denyPermission
		default:
			t.Fatalf("case %d: Authenticate: %v", i, err)
		}
		// One vocabulary: the API's refusal and the local one fall in the
		// same client categories.
		if remote != allow && (!errors.Is(err, client.ErrForbidden) || errors.Is(err, client.ErrTenancy) != (remote == denyTenancy)) {
			t.Fatalf("case %d: API refusal %v outside its client category", i, err)
		}
		counts[remote]++

		// Local decision from the same policies.
		v, lerr := Compile(&policy, &orgPolicy).Verdict(s.org, s.roles, check)
		if got := outcomeOf(t, lerr); got != remote {
			t.Fatalf("case %d: local %v (%v), emulator %v\nroles=%q check=%+v\npolicy=%+v\norg=%+v", i, got, lerr, remote, s.roles, check, policy, orgPolicy)
		}
		if lerr != nil && (errors.Is(lerr, client.ErrForbidden) != errors.Is(err, client.ErrForbidden) ||
			errors.Is(lerr, client.ErrTenancy) != errors.Is(err, client.ErrTenancy)) {
			t.Fatalf("case %d: local refusal %v and API refusal %v in different client categories", i, lerr, err)
		}
		if remote == allow && !slices.Equal(v.GrantingRoles, remoteGranting) {
			t.Fatalf("case %d: local granting %q, emulator %q\nroles=%q check=%+v\npolicy=%+v\norg=%+v", i, v.GrantingRoles, remoteGranting, s.roles, check, policy, orgPolicy)
		}

		// The Cache, fetching the policies over HTTP, decides the same.
		if i%4 == 0 {
			if err := c.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			cv, cerr := c.Authorize(ctx, &client.MemberSession{OrganizationID: s.org, Roles: s.roles}, check)
			if got := outcomeOf(t, cerr); got != remote {
				t.Fatalf("case %d: cache %v (%v), emulator %v", i, got, cerr, remote)
			}
			if remote == allow && !slices.Equal(cv.GrantingRoles, remoteGranting) {
				t.Fatalf("case %d: cache granting %q, emulator %q", i, cv.GrantingRoles, remoteGranting)
			}
		}
	}
	for o, n := range counts {
		if n < cases/20 {
			t.Errorf("only %d %v cases of %d", n, outcome(o), cases)
		}
	}
	t.Logf("allow=%d permission=%d tenancy=%d", counts[allow], counts[denyPermission], counts[denyTenancy])
}
