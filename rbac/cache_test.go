package rbac

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

const (
	orgB = "organization-test-bbbb"
	orgC = "organization-test-cccc"
)

func cachePolicy() client.Policy {
	return client.Policy{Roles: []client.Role{
		role("stytch_member", perm("stytch.self", "*")),
		role("editor", perm("documents", "read", "write")),
	}}
}

func member(org string, roles ...string) *client.MemberSession {
	return &client.MemberSession{OrganizationID: org, MemberID: "member-test-1", Roles: roles}
}

func docs(org, action string) *client.AuthorizationCheck {
	return &client.AuthorizationCheck{OrganizationID: org, ResourceID: "documents", Action: action}
}

// waitFor polls cond until it holds; background refreshes end
// asynchronously.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	e := newEnv(t)
	for name, cfg := range map[string]Config{
		"nil client":            {},
		"negative refresh":      {Client: e.client, RefreshInterval: -1},
		"negative staleness":    {Client: e.client, MaxStaleness: -1},
		"negative timeout":      {Client: e.client, FetchTimeout: -1},
		"negative retry":        {Client: e.client, RetryInterval: -1},
		"negative organization": {Client: e.client, MaxOrganizations: -1},
	} {
		if c, err := New(cfg); err == nil {
			_ = c.Close()
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

func TestCacheFetchesLazilyOnceAndServesFromMemory(t *testing.T) {
	e := newEnv(t)
	e.srv.SetPolicy(cachePolicy())
	e.srv.SetOrgPolicy(orgA, client.OrgPolicy{Roles: []client.Role{role("auditor", perm("audit_log", "read"))}})
	c := e.newCache(t, Config{})

	if n := e.srv.Calls(stytchtest.EndpointPolicy) + e.srv.Calls(stytchtest.EndpointOrgPolicy); n != 0 {
		t.Fatalf("New fetched %d policies, want none before first use", n)
	}
	ctx := context.Background()
	v, err := c.Authorize(ctx, member(orgA, "stytch_member", "editor"), docs(orgA, "write"))
	if err != nil || !v.Authorized || !slices.Equal(v.GrantingRoles, []string{"editor"}) {
		t.Fatalf("Authorize = %+v, %v", v, err)
	}
	// The organization's own role is in force.
	audit := &client.AuthorizationCheck{OrganizationID: orgA, ResourceID: "audit_log", Action: "read"}
	if _, err := c.Authorize(ctx, member(orgA, "auditor"), audit); err != nil {
		t.Fatalf("org role: %v", err)
	}
	if _, err := c.Authorize(ctx, member(orgA, "editor"), docs(orgA, "delete")); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("denied action: %v", err)
	}
	for range 100 {
		if _, err := c.Authorize(ctx, member(orgA, "editor"), docs(orgA, "read")); err != nil {
			t.Fatal(err)
		}
	}
	if p, o := e.srv.Calls(stytchtest.EndpointPolicy), e.srv.Calls(stytchtest.EndpointOrgPolicy); p != 1 || o != 1 {
		t.Fatalf("fetches: policy %d, org policy %d; want 1 and 1", p, o)
	}
	// Another organization needs its own policy, not the project's again.
	if _, err := c.Authorize(ctx, member(orgB, "editor"), docs(orgB, "read")); err != nil {
		t.Fatal(err)
	}
	if p, o := e.srv.Calls(stytchtest.EndpointPolicy), e.srv.Calls(stytchtest.EndpointOrgPolicy); p != 1 || o != 2 {
		t.Fatalf("fetches: policy %d, org policy %d; want 1 and 2", p, o)
	}
	// The organization's role does not leak into another organization.
	audit.OrganizationID = orgB
	if _, err := c.Authorize(ctx, member(orgB, "auditor"), audit); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("org A role used in org B: %v", err)
	}
}

func TestCacheAuthorizeNeedsNoPolicyForTenancyOrNilCheck(t *testing.T) {
	e := newEnv(t)
	c := e.newCache(t, Config{})
	ctx := context.Background()
	// Attack: a cross-tenant check is refused before any fetch, so requests
	// naming arbitrary organizations cannot make the cache fetch or evict.
	_, err := c.Authorize(ctx, member(orgA, "stytch_admin"), docs(orgB, "read"))
	if !errors.Is(err, ErrTenancy) {
		t.Fatalf("cross-tenant = %v, want ErrTenancy", err)
	}
	v, err := c.Authorize(ctx, member(orgA), nil)
	if v != nil || err != nil {
		t.Fatalf("nil check = %+v, %v; want nil, nil", v, err)
	}
	// A missing session has no organization and no roles: refused on
	// tenancy first, as the reference decides, never allowed.
	if _, err := c.Authorize(ctx, nil, docs(orgA, "read")); !errors.Is(err, ErrForbidden) || !errors.Is(err, ErrTenancy) {
		t.Fatalf("nil session = %v, want ErrForbidden and ErrTenancy", err)
	}
	if _, err := c.Index(ctx, ""); !errors.Is(err, ErrPolicyUnavailable) {
		t.Fatalf("Index(\"\") = %v, want ErrPolicyUnavailable", err)
	}
	if n := e.srv.Calls(stytchtest.EndpointPolicy) + e.srv.Calls(stytchtest.EndpointOrgPolicy); n != 0 {
		t.Fatalf("%d fetches, want 0", n)
	}
}

func TestCacheIndexIsReusedUntilAPolicyChanges(t *testing.T) {
	e := newEnv(t)
	e.srv.SetPolicy(cachePolicy())
	c := e.newCache(t, Config{})
	ctx := context.Background()
	ix1, err := c.Index(ctx, orgA)
	if err != nil {
		t.Fatal(err)
	}
	ix2, _ := c.Index(ctx, orgA)
	if ix1 != ix2 {
		t.Fatal("Index compiled again without a policy change")
	}
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := c.Index(ctx, orgA); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("warm Index allocates %v times, want 0", allocs)
	}
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if ix3, _ := c.Index(ctx, orgA); ix3 == ix1 {
		t.Fatal("Index not rebuilt after a refresh")
	}
}

func TestCacheBackgroundRefresh(t *testing.T) {
	e := newEnv(t)
	e.srv.SetPolicy(cachePolicy())
	c := e.newCache(t, Config{})
	ctx := context.Background()
	sess := member(orgA, "editor")
	if _, err := c.Authorize(ctx, sess, docs(orgA, "delete")); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("before policy change: %v", err)
	}

	p := cachePolicy()
	p.Roles[1].Permissions[0].Actions = append(p.Roles[1].Permissions[0].Actions, "delete")
	e.srv.SetPolicy(p)
	// Cached: the change is not seen yet.
	if _, err := c.Authorize(ctx, sess, docs(orgA, "delete")); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("cached policy not used: %v", err)
	}

	// A background round, past the refresh interval, fetches what was used.
	e.clock.Advance(DefaultRefreshInterval)
	if err := c.refreshRound(ctx, true); err != nil {
		t.Fatal(err)
	}
	if p, o := e.srv.Calls(stytchtest.EndpointPolicy), e.srv.Calls(stytchtest.EndpointOrgPolicy); p != 2 || o != 2 {
		t.Fatalf("after a round: policy %d, org policy %d fetches; want 2 and 2", p, o)
	}
	if _, err := c.Authorize(ctx, sess, docs(orgA, "delete")); err != nil {
		t.Fatalf("refreshed policy not used: %v", err)
	}

	// Everything used was fetched moments ago: a round now fetches nothing
	// (and starts a new usage period).
	e.srv.ResetCalls()
	if err := c.refreshRound(ctx, true); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.Calls(stytchtest.EndpointPolicy) + e.srv.Calls(stytchtest.EndpointOrgPolicy); n != 0 {
		t.Fatalf("round right after a refresh fetched %d policies, want 0", n)
	}

	// Organization B used, A not used since the last round: the next round
	// refreshes the project and B only.
	if _, err := c.Index(ctx, orgB); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(DefaultRefreshInterval)
	e.srv.ResetCalls()
	if err := c.refreshRound(ctx, true); err != nil {
		t.Fatal(err)
	}
	if p, o := e.srv.Calls(stytchtest.EndpointPolicy), e.srv.Calls(stytchtest.EndpointOrgPolicy); p != 1 || o != 1 {
		t.Fatalf("round after using B only: policy %d, org policy %d fetches; want 1 and 1", p, o)
	}
	// Nothing used since: the next round fetches nothing.
	e.clock.Advance(DefaultRefreshInterval)
	e.srv.ResetCalls()
	if err := c.refreshRound(ctx, true); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.Calls(stytchtest.EndpointPolicy) + e.srv.Calls(stytchtest.EndpointOrgPolicy); n != 0 {
		t.Fatalf("idle round fetched %d policies, want 0", n)
	}
	// Refresh fetches everything held, used or not.
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if p, o := e.srv.Calls(stytchtest.EndpointPolicy), e.srv.Calls(stytchtest.EndpointOrgPolicy); p != 1 || o != 2 {
		t.Fatalf("Refresh: policy %d, org policy %d fetches; want 1 and 2", p, o)
	}
}

func TestCacheRefreshesDuePolicyWithoutBlocking(t *testing.T) {
	e := newEnv(t)
	e.srv.SetPolicy(cachePolicy())
	c := e.newCache(t, Config{})
	ctx := context.Background()
	if _, err := c.Index(ctx, orgA); err != nil {
		t.Fatal(err)
	}
	p := cachePolicy()
	p.Roles[1].RoleID = "writer"
	e.srv.SetPolicy(p)
	// Due for refresh: the cached policy answers at once (with the old
	// roles) and a refresh runs in the background.
	e.clock.Advance(DefaultRefreshInterval + time.Second)
	e.srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Latency: 50 * time.Millisecond})
	if _, err := c.Authorize(ctx, member(orgA, "editor"), docs(orgA, "read")); err != nil {
		t.Fatalf("due policy not served while refreshing: %v", err)
	}
	waitFor(t, "background refresh", func() bool {
		_, err := c.Authorize(ctx, member(orgA, "writer"), docs(orgA, "read"))
		return err == nil
	})
	if _, err := c.Authorize(ctx, member(orgA, "editor"), docs(orgA, "read")); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("removed role still grants: %v", err)
	}
	if n := e.srv.Calls(stytchtest.EndpointPolicy); n != 2 {
		t.Fatalf("policy fetched %d times, want 2 (one refresh however many checks)", n)
	}
}

func TestCacheStaleIfErrorThenUnavailable(t *testing.T) {
	e := newEnv(t)
	e.srv.SetPolicy(cachePolicy())
	var logs bytes.Buffer
	c := e.newCache(t, Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	ctx := context.Background()
	sess := member(orgA, "editor")
	if _, err := c.Authorize(ctx, sess, docs(orgA, "read")); err != nil {
		t.Fatal(err)
	}

	e.srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Status: http.StatusInternalServerError})
	e.clock.Advance(30 * time.Minute)
	err := c.Refresh(ctx)
	if !errors.Is(err, ErrPolicyUnavailable) || !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("failed refresh = %v, want ErrPolicyUnavailable wrapping client.ErrUnavailable", err)
	}
	// Within MaxStaleness the last good policy keeps deciding.
	if _, err := c.Authorize(ctx, sess, docs(orgA, "read")); err != nil {
		t.Fatalf("stale policy not served: %v", err)
	}
	if _, err := c.Authorize(ctx, sess, docs(orgA, "delete")); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("stale policy deny: %v", err)
	}

	// Past MaxStaleness with the API still failing: no decision, never allow.
	e.clock.Advance(30*time.Minute + time.Second)
	v, err := c.Authorize(ctx, sess, docs(orgA, "read"))
	if v != nil || !errors.Is(err, ErrPolicyUnavailable) || !errors.Is(err, client.ErrUnavailable) || errors.Is(err, ErrForbidden) {
		t.Fatalf("too stale = %+v, %v; want ErrPolicyUnavailable", v, err)
	}
	// The failure is remembered: checks fail fast until the retry delay.
	calls := e.srv.Calls(stytchtest.EndpointPolicy)
	for range 20 {
		if _, err := c.Authorize(ctx, sess, docs(orgA, "read")); !errors.Is(err, ErrPolicyUnavailable) {
			t.Fatalf("within retry delay: %v", err)
		}
	}
	if n := e.srv.Calls(stytchtest.EndpointPolicy); n != calls {
		t.Fatalf("%d fetches within the retry delay, want 0", n-calls)
	}

	// The API recovers: after the retry delay the next check fetches and allows.
	e.srv.ClearFaults()
	e.clock.Advance(DefaultRefreshInterval)
	if _, err := c.Authorize(ctx, sess, docs(orgA, "read")); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	out := logs.String()
	if !strings.Contains(out, "policy fetch failed") || !strings.Contains(out, "policy fetch recovered") {
		t.Fatalf("failure and recovery not logged:\n%s", out)
	}
	if strings.Contains(out, e.srv.Secret) {
		t.Fatal("log contains the project secret")
	}
}

func TestCacheColdStartFailureBacksOff(t *testing.T) {
	e := newEnv(t)
	c := e.newCache(t, Config{RetryInterval: time.Second})
	ctx := context.Background()
	e.srv.SetFault(stytchtest.EndpointOrgPolicy, stytchtest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})

	fail := func(want int64) {
		t.Helper()
		_, err := c.Authorize(ctx, member(orgA, "stytch_member"), &client.AuthorizationCheck{OrganizationID: orgA, ResourceID: "stytch.self", Action: "delete"})
		if !errors.Is(err, ErrPolicyUnavailable) {
			t.Fatalf("no org policy: %v, want ErrPolicyUnavailable", err)
		}
		if n := e.srv.Calls(stytchtest.EndpointOrgPolicy); n != want {
			t.Fatalf("org policy fetched %d times, want %d", n, want)
		}
	}
	fail(1)
	fail(1) // within RetryInterval: no new fetch
	e.clock.Advance(time.Second)
	fail(2)
	e.clock.Advance(time.Second)
	fail(2) // the delay doubled
	e.clock.Advance(time.Second)
	fail(3)
	e.srv.ClearFaults()
	e.clock.Advance(4 * time.Second)
	if _, err := c.Authorize(ctx, member(orgA, "stytch_member"), &client.AuthorizationCheck{OrganizationID: orgA, ResourceID: "stytch.self", Action: "delete"}); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

func TestCacheUnusableAnswers(t *testing.T) {
	tests := []struct {
		name  string
		ep    stytchtest.Endpoint
		fault stytchtest.Fault
	}{
		// An HTML error page from a proxy is no policy.
		{"html 502", stytchtest.EndpointPolicy, stytchtest.Fault{Status: http.StatusBadGateway, Body: []byte("<html>bad gateway</html>"), ContentType: "text/html"}},
		// A 200 whose body is not JSON is no policy.
		{"200 not json", stytchtest.EndpointPolicy, stytchtest.Fault{Body: []byte("not json")}},
		// A 200 without the policy object must not count as an empty policy.
		{"200 without policy", stytchtest.EndpointPolicy, stytchtest.Fault{Body: []byte(`{"request_id":"r","status_code":200}`), ContentType: "application/json"}},
		// A dropped connection.
		{"dropped", stytchtest.EndpointOrgPolicy, stytchtest.Fault{Drop: true}},
		// Rejected project credentials.
		{"401", stytchtest.EndpointPolicy, stytchtest.Fault{Status: http.StatusUnauthorized, ErrorType: "unauthorized_credentials"}},
		// A 403 from the organization policy endpoint (a workspace without
		// organization policies) refuses the fetch, not the member: it must
		// not read as a denial of the check.
		{"org policy 403", stytchtest.EndpointOrgPolicy, stytchtest.Fault{Status: http.StatusForbidden, ErrorType: "feature_not_enabled"}},
		// An organization unknown to the policy endpoint.
		{"org policy 404", stytchtest.EndpointOrgPolicy, stytchtest.Fault{Status: http.StatusNotFound, ErrorType: "organization_not_found"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c := e.newCache(t, Config{})
			e.srv.SetFault(tc.ep, tc.fault)
			v, err := c.Authorize(context.Background(), member(orgA, "stytch_member"), &client.AuthorizationCheck{OrganizationID: orgA, ResourceID: "stytch.self", Action: "delete"})
			if v != nil || !errors.Is(err, ErrPolicyUnavailable) {
				t.Fatalf("Authorize = %+v, %v; want ErrPolicyUnavailable", v, err)
			}
			if errors.Is(err, ErrForbidden) || errors.Is(err, client.ErrForbidden) {
				t.Fatalf("undecided check reads as a denial: %v", err)
			}
			var ae *AuthorizationError
			if errors.As(err, &ae) {
				t.Fatalf("undecided check carries an AuthorizationError: %v", err)
			}
		})
	}
}

func TestCacheConcurrentFirstUseFetchesOnce(t *testing.T) {
	e := newEnv(t)
	e.srv.SetPolicy(cachePolicy())
	// Slow answers make sure the callers overlap.
	e.srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Latency: 100 * time.Millisecond})
	e.srv.SetFault(stytchtest.EndpointOrgPolicy, stytchtest.Fault{Latency: 100 * time.Millisecond})
	c := e.newCache(t, Config{})
	orgs := []string{orgA, orgB, orgC}

	const callers = 60
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, callers)
	for i := range callers {
		org := orgs[i%len(orgs)]
		wg.Go(func() {
			<-start
			_, err := c.Authorize(context.Background(), member(org, "editor"), docs(org, "read"))
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if p, o := e.srv.Calls(stytchtest.EndpointPolicy), e.srv.Calls(stytchtest.EndpointOrgPolicy); p != 1 || o != int64(len(orgs)) {
		t.Fatalf("%d callers: policy fetched %d times, org policies %d; want 1 and %d", callers, p, o, len(orgs))
	}
}

func TestCacheConcurrentUseWithRefreshes(t *testing.T) {
	// Checks, refreshes, evictions and policy changes at once, for -race.
	e := newEnv(t)
	e.srv.SetPolicy(cachePolicy())
	c := e.newCache(t, Config{MaxOrganizations: 3})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				org := fmt.Sprintf("organization-test-%d", (g+i)%5)
				_, err := c.Authorize(ctx, member(org, "editor"), docs(org, "read"))
				if err != nil && !errors.Is(err, ErrPolicyUnavailable) {
					panic(err)
				}
			}
		})
	}
	wg.Go(func() {
		for ctx.Err() == nil {
			_ = c.Refresh(ctx)
			_ = c.refreshRound(ctx, true)
			e.clock.Advance(time.Minute)
		}
	})
	time.Sleep(300 * time.Millisecond)
	cancel()
	wg.Wait()
	n := 0
	c.lookup.Range(func(_, _ any) bool { n++; return true })
	if m := c.orgs.EstimatedSize(); m > 3 || n != m {
		t.Fatalf("%d organizations cached and %d in the lookup map, want the same, at most 3", m, n)
	}
}

// TestCacheEvictsTheColdOrganization: the organization used least recently
// and least often makes room, and an evicted one is neither refreshed nor
// lost for good.
func TestCacheEvictsTheColdOrganization(t *testing.T) {
	e := newEnv(t)
	e.srv.SetPolicy(cachePolicy())
	c := e.newCache(t, Config{MaxOrganizations: 2})
	ctx := context.Background()
	use := func(org string) {
		t.Helper()
		if _, err := c.Index(ctx, org); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
	}
	use(orgA)
	use(orgB)
	use(orgA)
	use(orgC) // evicts B, used least recently and least often
	if n := e.srv.Calls(stytchtest.EndpointOrgPolicy); n != 3 {
		t.Fatalf("org policy fetched %d times, want 3", n)
	}
	use(orgA)
	use(orgC)
	if n := e.srv.Calls(stytchtest.EndpointOrgPolicy); n != 3 {
		t.Fatalf("A or C was evicted: %d fetches, want 3", n)
	}
	// An evicted organization is no longer refreshed.
	e.srv.ResetCalls()
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.Calls(stytchtest.EndpointOrgPolicy); n != 2 {
		t.Fatalf("Refresh fetched %d org policies, want 2 (A and C)", n)
	}
	use(orgB) // fetched again, evicting A
	if n := e.srv.Calls(stytchtest.EndpointOrgPolicy); n != 3 {
		t.Fatalf("evicted B not fetched again: %d", n)
	}
}

func TestCacheCallerContextAndFetchTimeout(t *testing.T) {
	e := newEnv(t)
	c := e.newCache(t, Config{FetchTimeout: 300 * time.Millisecond})
	e.srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Hang: true})

	// The caller gives up first; its error says why.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := c.Index(ctx, orgA)
	if !errors.Is(err, ErrPolicyUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("caller timeout = %v", err)
	}
	// The shared fetch ends at FetchTimeout and counts as a failure.
	waitFor(t, "fetch timeout", func() bool { return c.project.state.Load().err != nil })
	if err := c.project.state.Load().err; !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("fetch error = %v, want client.ErrUnavailable", err)
	}
	if n := e.srv.Calls(stytchtest.EndpointPolicy); n != 1 {
		t.Fatalf("policy fetched %d times, want 1", n)
	}
}

func TestCacheCloseCancelsFetchesAndStopsFetching(t *testing.T) {
	e := newEnv(t)
	c := e.newCache(t, Config{FetchTimeout: time.Minute})
	e.srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Hang: true})
	done := make(chan error, 1)
	go func() {
		_, err := c.Index(context.Background(), orgA)
		done <- err
	}()
	waitFor(t, "fetch in flight", func() bool { return e.srv.Calls(stytchtest.EndpointPolicy) == 1 })
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrPolicyUnavailable) || !errors.Is(err, ErrClosed) {
			t.Fatalf("Index during Close = %v, want ErrPolicyUnavailable wrapping ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not cancel the fetch")
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	e.srv.ClearFaults()
	if _, err := c.Index(context.Background(), orgB); !errors.Is(err, ErrClosed) {
		t.Fatalf("Index after Close = %v, want ErrClosed", err)
	}
	if n := e.srv.Calls(stytchtest.EndpointPolicy); n != 1 {
		t.Fatalf("%d fetches after Close", n-1)
	}
}

func TestCacheColdStartFetchesBothPoliciesAtOnce(t *testing.T) {
	e := newEnv(t)
	c := e.newCache(t, Config{FetchTimeout: time.Minute})
	e.srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Index(ctx, orgA)
		done <- err
	}()
	// The organization's policy is requested while the project's hangs.
	waitFor(t, "org policy fetch during the project fetch", func() bool {
		return e.srv.Calls(stytchtest.EndpointOrgPolicy) == 1
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || !errors.Is(err, ErrPolicyUnavailable) {
		t.Fatalf("Index = %v, want ErrPolicyUnavailable wrapping context.Canceled", err)
	}
}

func TestCacheBackgroundLoopRefreshesUsedPolicies(t *testing.T) {
	e := newEnv(t)
	// The refresher's ticker runs on real time, its decisions on the fake
	// clock.
	const interval = 20 * time.Millisecond
	c := e.newCache(t, Config{RefreshInterval: interval})
	ctx := context.Background()
	if _, err := c.Index(ctx, orgA); err != nil {
		t.Fatal(err)
	}
	// Old enough for a background round, not yet due for a refresh on use;
	// then used, so only the background loop can fetch again.
	e.clock.Advance(interval/2 + time.Millisecond)
	if _, err := c.Index(ctx, orgA); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a background refresh", func() bool {
		return e.srv.Calls(stytchtest.EndpointPolicy) >= 2 && e.srv.Calls(stytchtest.EndpointOrgPolicy) >= 2
	})
	// Not used since: the following rounds fetch nothing.
	e.clock.Advance(time.Minute)
	time.Sleep(3 * interval)
	p, o := e.srv.Calls(stytchtest.EndpointPolicy), e.srv.Calls(stytchtest.EndpointOrgPolicy)
	time.Sleep(5 * interval)
	if p2, o2 := e.srv.Calls(stytchtest.EndpointPolicy), e.srv.Calls(stytchtest.EndpointOrgPolicy); p2 != p || o2 != o {
		t.Fatalf("unused policies refreshed: policy %d -> %d, org %d -> %d", p, p2, o, o2)
	}
}

// TestCacheIndexAtUsesTheCallersTime: IndexAt decides at the time it is
// given, and the zero Time means the Cache's own clock.
func TestCacheIndexAtUsesTheCallersTime(t *testing.T) {
	e := newEnv(t)
	e.srv.SetPolicy(cachePolicy())
	c := e.newCache(t, Config{})
	ctx := context.Background()
	now := e.clock.Now()
	if _, err := c.IndexAt(ctx, orgA, now); err != nil {
		t.Fatal(err)
	}
	e.srv.SetFault(stytchtest.EndpointPolicy, stytchtest.Fault{Status: http.StatusInternalServerError})
	// A time past MaxStaleness is honoured although the clock says otherwise.
	if _, err := c.IndexAt(ctx, orgA, now.Add(DefaultMaxStaleness+time.Second)); !errors.Is(err, ErrPolicyUnavailable) {
		t.Fatalf("IndexAt(past MaxStaleness) = %v, want ErrPolicyUnavailable", err)
	}
	// And an earlier time although the clock has moved past MaxStaleness.
	e.clock.Advance(DefaultMaxStaleness + time.Second)
	if _, err := c.IndexAt(ctx, orgA, now); err != nil {
		t.Fatalf("IndexAt(fetch time) = %v, want the cached policy", err)
	}
	// The zero Time reads the clock: now the policy is too old.
	if _, err := c.IndexAt(ctx, orgA, time.Time{}); !errors.Is(err, ErrPolicyUnavailable) {
		t.Fatalf("IndexAt(zero) past MaxStaleness = %v, want ErrPolicyUnavailable", err)
	}
}

// TestCacheChurnKeepsTheHotOrganization: with far more organizations than
// MaxOrganizations passing through, the cache stays bounded and the
// organization used all along is never the one evicted.
func TestCacheChurnKeepsTheHotOrganization(t *testing.T) {
	e := newEnv(t)
	c := e.newCache(t, Config{MaxOrganizations: 100})
	now := e.clock.Now().UnixNano()
	hot := c.orgEntry(orgA, now)
	for i := range 2000 {
		now += int64(time.Second)
		if got := c.orgEntry(orgA, now); got != hot { // a use of orgA, as a check makes
			t.Fatalf("after %d cold organizations the hot one was evicted", i)
		}
		c.orgEntry(fmt.Sprintf("organization-test-cold-%d", i), now)
		if n := c.orgs.EstimatedSize(); n > 100 {
			t.Fatalf("after %d cold organizations %d are cached, want at most 100", i+1, n)
		}
	}
	// The lookup map holds exactly the entries the bounded cache holds.
	held := map[string]*entry{}
	for id, x := range c.orgs.All() {
		held[id] = x
	}
	if len(held) != 100 {
		t.Fatalf("%d organizations cached, want 100", len(held))
	}
	n := 0
	c.lookup.Range(func(k, v any) bool {
		n++
		if held[k.(string)] != v.(*entry) {
			t.Errorf("lookup holds %s, evicted from the cache", k)
		}
		return true
	})
	if n != len(held) {
		t.Fatalf("lookup holds %d organizations, the cache %d", n, len(held))
	}
}

// TestCacheRecreatedEntryRecordsTheSharedFailure: an organization evicted
// while its fetch is in flight and used again joins that fetch; when it
// fails, the new entry remembers the failure and its retry delay, so the
// next check fails fast instead of fetching again.
func TestCacheRecreatedEntryRecordsTheSharedFailure(t *testing.T) {
	e := newEnv(t)
	e.srv.SetPolicy(cachePolicy())
	c := e.newCache(t, Config{MaxOrganizations: 1})
	ctx := context.Background()
	if _, err := c.Index(ctx, orgB); err != nil { // the project policy is warm
		t.Fatal(err)
	}
	e.srv.SetFault(stytchtest.EndpointOrgPolicy, stytchtest.Fault{Status: http.StatusInternalServerError, Latency: 300 * time.Millisecond})
	first := make(chan error, 1)
	go func() { _, err := c.Index(ctx, orgA); first <- err }()
	waitFor(t, "the fetch of A to start", func() bool {
		_, ok := c.orgs.GetEntryQuietly(orgA)
		return ok && e.srv.Calls(stytchtest.EndpointOrgPolicy) >= 2 // B once, then A
	})
	// Evicted, as by the bound, while its fetch is still running; a new
	// entry joins that fetch.
	c.orgs.Invalidate(orgA)
	if _, err := c.Index(ctx, orgA); !errors.Is(err, ErrPolicyUnavailable) {
		t.Fatalf("joined fetch = %v, want ErrPolicyUnavailable", err)
	}
	if err := <-first; !errors.Is(err, ErrPolicyUnavailable) {
		t.Fatalf("first fetch = %v", err)
	}
	calls := e.srv.Calls(stytchtest.EndpointOrgPolicy)
	if _, err := c.Index(ctx, orgA); !errors.Is(err, ErrPolicyUnavailable) {
		t.Fatalf("within the retry delay = %v", err)
	}
	if n := e.srv.Calls(stytchtest.EndpointOrgPolicy); n != calls {
		t.Fatalf("%d fetches within the retry delay, want 0", n-calls)
	}
}

// A failed fetch shared by an evicted entry and its re-created successor
// never gives the successor the evicted entry's older policy: a role revoked
// meanwhile stays revoked.
func TestCacheFailedSharedFetchKeepsTheNewerPolicy(t *testing.T) {
	e := newEnv(t)
	e.srv.SetPolicy(cachePolicy())
	audit := &client.AuthorizationCheck{OrganizationID: orgA, ResourceID: "audit_log", Action: "read"}
	e.srv.SetOrgPolicy(orgA, client.OrgPolicy{Roles: []client.Role{role("auditor", perm("audit_log", "read"))}})
	c := e.newCache(t, Config{MaxOrganizations: 1})
	ctx := context.Background()
	if _, err := c.Authorize(ctx, member(orgA, "auditor"), audit); err != nil {
		t.Fatal(err)
	}
	e1, _ := c.orgs.GetIfPresent(orgA) // held by a refresh round's snapshot / a refreshAsync goroutine
	c.orgs.Invalidate(orgA)            // as an eviction does
	// The organization revokes the role; A is used again and fetched afresh.
	e.srv.SetOrgPolicy(orgA, client.OrgPolicy{})
	e.clock.Advance(time.Second)
	if _, err := c.Authorize(ctx, member(orgA, "auditor"), audit); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("after revocation: %v, want denied", err)
	}
	e2, _ := c.orgs.GetIfPresent(orgA)
	if e2 == e1 {
		t.Fatal("not re-created")
	}
	// The stale holder of e1 refreshes it; Stytch is failing, slowly.
	e.srv.SetFault(stytchtest.EndpointOrgPolicy, stytchtest.Fault{Status: http.StatusInternalServerError, Latency: 300 * time.Millisecond})
	calls := e.srv.Calls(stytchtest.EndpointOrgPolicy)
	done := make(chan struct{})
	go func() { _ = c.refreshEntry(ctx, e1); close(done) }()
	waitFor(t, "e1's fetch", func() bool { return e.srv.Calls(stytchtest.EndpointOrgPolicy) > calls })
	_ = c.refreshEntry(ctx, e2) // joins e1's fetch (same singleflight key)
	<-done
	e.srv.SetFault(stytchtest.EndpointOrgPolicy, stytchtest.Fault{})
	// Still a denial by the newer policy: neither the older one (which
	// grants) nor none at all (which would be "unavailable").
	if _, err := c.Authorize(ctx, member(orgA, "auditor"), audit); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("after the failed shared fetch: %v, want the newer policy's denial", err)
	}
	if st := e2.state.Load(); st.failures != 1 || st.err == nil {
		t.Fatalf("the successor did not record the failure: %+v", st)
	}
}
