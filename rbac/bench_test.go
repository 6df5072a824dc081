package rbac

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// The cache benchmarks of this file are read as ratios against BenchmarkFloor
// (or the hit/floor metric of BenchmarkHitRatio), run in the same invocation:
//
//	go test -run '^$' -bench 'Floor|Cache|HitRatio' -benchmem ./rbac/

// benchPolicy is a policy of 50 roles with 20 permissions each (each on its
// own resource with 4 actions), the shape of a large real project.
func benchPolicy() *client.Policy {
	p := &client.Policy{}
	for i := range 50 {
		r := client.Role{RoleID: fmt.Sprintf("role-%02d", i)}
		for j := range 20 {
			r.Permissions = append(r.Permissions, client.Permission{
				ResourceID: fmt.Sprintf("resource-%02d", (i+j)%60),
				Actions:    []string{"create", "read", "update", "delete"},
			})
		}
		p.Roles = append(p.Roles, r)
	}
	return p
}

// benchSession holds 3 roles; only the last grants benchCheck, so every role
// is looked up.
var (
	benchRoles = []string{"role-10", "role-20", "role-30"}
	benchCheck = &client.AuthorizationCheck{OrganizationID: orgA, ResourceID: "resource-49", Action: "delete"}
	benchDeny  = &client.AuthorizationCheck{OrganizationID: orgA, ResourceID: "resource-59", Action: "delete"}
)

var sinkErr error

// BenchmarkAuthorize is the local check of 3 session roles against 50 roles x
// 20 permissions plus an (empty) organization policy, allowed by the third
// role.
func BenchmarkAuthorize(b *testing.B) {
	ix := Compile(benchPolicy(), &client.OrgPolicy{})
	if err := ix.Authorize(orgA, benchRoles, benchCheck); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		sinkErr = ix.Authorize(orgA, benchRoles, benchCheck)
	}
}

// BenchmarkAuthorizeParallel is BenchmarkAuthorize from every core at once:
// the Index is shared and takes no lock.
func BenchmarkAuthorizeParallel(b *testing.B) {
	ix := Compile(benchPolicy(), &client.OrgPolicy{})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var err error
		for pb.Next() {
			err = ix.Authorize(orgA, benchRoles, benchCheck)
		}
		if err != nil {
			panic(err)
		}
	})
}

// BenchmarkAuthorizeDeny is a refused check (it allocates the error).
func BenchmarkAuthorizeDeny(b *testing.B) {
	ix := Compile(benchPolicy(), &client.OrgPolicy{})
	if err := ix.Authorize(orgA, benchRoles, benchDeny); err == nil {
		b.Fatal("benchDeny allowed")
	}
	b.ReportAllocs()
	for b.Loop() {
		sinkErr = ix.Authorize(orgA, benchRoles, benchDeny)
	}
}

var sinkVerdict *client.AuthorizationVerdict

// BenchmarkVerdict is BenchmarkAuthorize returning the verdict with its
// granting roles.
func BenchmarkVerdict(b *testing.B) {
	ix := Compile(benchPolicy(), &client.OrgPolicy{})
	b.ReportAllocs()
	for b.Loop() {
		sinkVerdict, sinkErr = ix.Verdict(orgA, benchRoles, benchCheck)
	}
}

// BenchmarkReferenceWalk is the floor to beat: the same check evaluated the
// way the spec words it (and the reference SDK does it), walking the policy's
// roles and permissions.
func BenchmarkReferenceWalk(b *testing.B) {
	p := benchPolicy()
	org := &client.OrgPolicy{}
	if d := referenceCheck(p, org, orgA, benchRoles, benchCheck); d.outcome != allow {
		b.Fatal("reference denies benchCheck")
	}
	b.ReportAllocs()
	for b.Loop() {
		if referenceCheck(p, org, orgA, benchRoles, benchCheck).outcome != allow {
			b.Fatal("denied")
		}
	}
}

var sinkBool bool

// BenchmarkFloorMapLookups is the physical floor of the indexed design: one
// string-keyed map lookup per session role, in a map of the policy's size.
func BenchmarkFloorMapLookups(b *testing.B) {
	m := make(map[string]bool, 1000)
	for i := range 1000 {
		m[fmt.Sprintf("role-%02d/resource-%02d", i/20, i%60)] = true
	}
	keys := []string{"role-10/resource-00", "role-20/resource-01", "role-30/resource-49"}
	b.ReportAllocs()
	for b.Loop() {
		ok := false
		for _, k := range keys {
			ok = ok || m[k]
		}
		sinkBool = ok
	}
}

func TestCompileBenchPolicyShape(t *testing.T) {
	p := benchPolicy()
	n := 0
	for _, r := range p.Roles {
		n += len(r.Permissions)
	}
	if len(p.Roles) != 50 || n != 1000 {
		t.Fatalf("bench policy has %d roles and %d permissions, want 50 and 1000", len(p.Roles), n)
	}
	ix := Compile(p, nil)
	// role-10 and role-20 do not grant resource-49; role-30 does.
	for i, r := range benchRoles {
		if got := ix.Authorize(orgA, []string{r}, benchCheck) == nil; got != (i == 2) {
			t.Fatalf("%s grants = %v", r, got)
		}
	}
}

// warmCache is a Cache on a real clock holding the benchmark policy for
// orgA, fetched over loopback from the emulator.
func warmCache(b *testing.B) *Cache { return warmCacheOrgs(b, 1) }

// fullOrgs is the number of organizations a full cache holds in the
// benchmarks: its MaxOrganizations, so that the bookkeeping of eviction runs
// on every hit as in a busy service.
const fullOrgs = 200

// warmCacheOrgs is warmCache holding orgs organizations' policies (orgA and
// others), with MaxOrganizations orgs.
func warmCacheOrgs(b *testing.B, orgs int) *Cache {
	e := newEnv(b)
	e.srv.SetPolicy(*benchPolicy())
	c := e.newCache(b, Config{Now: time.Now, MaxOrganizations: orgs})
	for i := range orgs - 1 {
		if _, err := c.Index(b.Context(), fmt.Sprintf("organization-test-bench-%d", i)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := c.Index(b.Context(), orgA); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkCacheAuthorize is the authorizer hook with warm policies (fetched
// once from the emulator): Index lookup plus Verdict.
func BenchmarkCacheAuthorize(b *testing.B) {
	c := warmCache(b)
	session := &client.MemberSession{OrganizationID: orgA, Roles: benchRoles}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		sinkVerdict, sinkErr = c.Authorize(ctx, session, benchCheck)
	}
}

// BenchmarkCacheIndexAuthorize is the allocation-free path a caller without
// need of the verdict takes: Cache.Index then Index.Authorize, with one
// organization cached, and with a full cache (MaxOrganizations held).
func BenchmarkCacheIndexAuthorize(b *testing.B) {
	for _, bc := range []struct {
		name string
		orgs int
	}{{"orgs=1", 1}, {"orgs=full", fullOrgs}} {
		b.Run(bc.name, func(b *testing.B) {
			c := warmCacheOrgs(b, bc.orgs)
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				ix, err := c.Index(ctx, orgA)
				if err == nil {
					err = ix.Authorize(orgA, benchRoles, benchCheck)
				}
				sinkErr = err
			}
		})
	}
}

// BenchmarkCacheIndexAuthorizeParallel is BenchmarkCacheIndexAuthorize from
// every core at once, on one organization (the contended case).
func BenchmarkCacheIndexAuthorizeParallel(b *testing.B) {
	c := warmCache(b)
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer() // the policy fetch was on the clock
	b.RunParallel(func(pb *testing.PB) {
		var err error
		for pb.Next() {
			var ix *Index
			if ix, err = c.Index(ctx, orgA); err == nil {
				err = ix.Authorize(orgA, benchRoles, benchCheck)
			}
		}
		if err != nil {
			panic(err)
		}
	})
}

// BenchmarkAdmitOrganization is the first use of an organization when
// MaxOrganizations (10,000) are cached already: one admission and one
// eviction, without the fetch.
func BenchmarkAdmitOrganization(b *testing.B) {
	cl, err := client.New(client.Config{ProjectID: "project-test-bench", Secret: "secret-test-bench"})
	if err != nil {
		b.Fatal(err)
	}
	c, err := New(Config{Client: cl, MaxOrganizations: 10000})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ids := make([]string, 10000+b.N)
	for i := range ids {
		ids[i] = fmt.Sprintf("organization-test-%d", i)
	}
	for _, id := range ids[:10000] {
		c.orgEntry(id, 0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for _, id := range ids[10000:] {
		c.orgEntry(id, 0)
	}
}

// newFloor returns the floor of a local decision the whole project measures
// against: the SHA-256 of a session JWT's signing input and one RSA-2048
// PKCS#1 v1.5 verification of its signature.
func newFloor(b *testing.B) func() error {
	srv := stytchtest.NewServer(stytchtest.Options{SigningKey: signingKey()})
	b.Cleanup(srv.Close)
	_, jwt, err := srv.NewSession(stytchtest.SessionSpec{})
	if err != nil {
		b.Fatal(err)
	}
	dot := strings.LastIndexByte(jwt, '.')
	input := jwt[:dot]
	sig, err := base64.RawURLEncoding.DecodeString(jwt[dot+1:])
	if err != nil {
		b.Fatal(err)
	}
	pub := &signingKey().PublicKey
	return func() error {
		h := sha256.Sum256([]byte(input))
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig)
	}
}

// BenchmarkFloor is the physical floor of a local decision: one RSA-2048
// PKCS#1 v1.5 verification and the SHA-256 of the token's signing input.
func BenchmarkFloor(b *testing.B) {
	floor := newFloor(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := floor(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHitRatio interleaves the floor with hitsPerFloor cached
// IndexAt + Authorize hits (the path of a guarded request whose policies are
// warm) and reports the median hit over the median floor: on a shared
// machine the ratio of the two, measured side by side, is what holds. The
// cache holds one organization, or is full.
func BenchmarkHitRatio(b *testing.B) {
	const hitsPerFloor = 256
	for _, bc := range []struct {
		name string
		orgs int
	}{{"orgs=1", 1}, {"orgs=full", fullOrgs}} {
		b.Run(bc.name, func(b *testing.B) {
			c := warmCacheOrgs(b, bc.orgs)
			floor := newFloor(b)
			ctx := b.Context()
			floors, hits := make([]float64, 0, 1024), make([]float64, 0, 1024)
			for b.Loop() {
				t0 := time.Now()
				if err := floor(); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				for range hitsPerFloor {
					ix, err := c.IndexAt(ctx, orgA, t1)
					if err == nil {
						err = ix.Authorize(orgA, benchRoles, benchCheck)
					}
					sinkErr = err
				}
				t2 := time.Now()
				if sinkErr != nil {
					b.Fatal(sinkErr)
				}
				floors = append(floors, float64(t1.Sub(t0)))
				hits = append(hits, float64(t2.Sub(t1))/hitsPerFloor)
			}
			b.StopTimer()
			f := median(floors)
			b.ReportMetric(median(hits)/f, "hit/floor")
			b.ReportMetric(median(hits), "hit-ns")
			b.ReportMetric(f, "floor-ns")
		})
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}
