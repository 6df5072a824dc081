package main

import (
	"fmt"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// defaultSessionTTL is the default lifetime of the demo sessions (flag
// -session-ttl). Their session tokens work for that long; each session JWT
// lives 5 minutes, as Stytch's do, after which the guard refreshes it
// through the emulator.
const defaultSessionTTL = 24 * time.Hour

// checkSessionTTL accepts the session lifetimes Stytch accepts: whole
// minutes from 5 minutes to 366 days (session_duration_minutes).
func checkSessionTTL(d time.Duration) error {
	lo, hi := client.MinSessionDurationMinutes*time.Minute, client.MaxSessionDurationMinutes*time.Minute
	if d < lo || d > hi || d%time.Minute != 0 {
		return fmt.Errorf("example: the session lifetime must be whole minutes from %v to %v (Stytch's bounds), not %v", lo, hi, d)
	}
	return nil
}

// demoOrg is a seeded organization.
type demoOrg struct {
	Slug string
	ID   string
}

// The seeded organizations. Their ids are fixed so that the printed curl
// lines and the tests read the same from one run to the next.
var (
	orgAcme   = demoOrg{Slug: "acme", ID: "organization-test-acme"}
	orgGlobex = demoOrg{Slug: "globex", ID: "organization-test-globex"}
)

// demoMember is a seeded member with the session created for it at start-up.
type demoMember struct {
	Name     string // login name for /demo/login, e.g. "alice"
	Email    string
	Role     string // the demo role: admin, editor or viewer
	Org      demoOrg
	MemberID string

	// SessionToken and SessionJWT are the start-up session's credentials.
	SessionToken string
	SessionJWT   string
}

// demoMembers lists the members seeded in emulator mode.
func demoMembers() []demoMember {
	return []demoMember{
		{Name: "alice", Email: "alice@acme.example", Role: "admin", Org: orgAcme, MemberID: "member-test-alice"},
		{Name: "bob", Email: "bob@acme.example", Role: "editor", Org: orgAcme, MemberID: "member-test-bob"},
		{Name: "carol", Email: "carol@acme.example", Role: "viewer", Org: orgAcme, MemberID: "member-test-carol"},
		{Name: "dave", Email: "dave@globex.example", Role: "admin", Org: orgGlobex, MemberID: "member-test-dave"},
	}
}

// demoPolicy is the project RBAC policy of the demo: Stytch's default
// resources and roles plus two resources and three roles of our own.
//
//	admin:  documents *, invoices *
//	editor: documents read/write, invoices read
//	viewer: documents read
func demoPolicy() client.Policy {
	p := stytchtest.DefaultPolicy()
	p.Resources = append(p.Resources,
		client.Resource{ResourceID: "documents", Description: "Documents of an organization", Actions: []string{"read", "write", "delete"}},
		client.Resource{ResourceID: "invoices", Description: "Invoices of an organization", Actions: []string{"read", "write", "void"}},
	)
	p.Roles = append(p.Roles,
		client.Role{RoleID: "admin", Description: "Everything on documents and invoices", Permissions: []client.Permission{
			{ResourceID: "documents", Actions: []string{"*"}},
			{ResourceID: "invoices", Actions: []string{"*"}},
		}},
		client.Role{RoleID: "editor", Description: "Reads and writes documents, reads invoices", Permissions: []client.Permission{
			{ResourceID: "documents", Actions: []string{"read", "write"}},
			{ResourceID: "invoices", Actions: []string{"read"}},
		}},
		client.Role{RoleID: "viewer", Description: "Reads documents", Permissions: []client.Permission{
			{ResourceID: "documents", Actions: []string{"read"}},
		}},
	)
	return p
}

// sessionSpec is the emulator session of m lasting ttl: same organization,
// member and roles every time, with a custom claim to show in /me.
func (m *demoMember) sessionSpec(ttl time.Duration) stytchtest.SessionSpec {
	return stytchtest.SessionSpec{
		OrganizationID:   m.Org.ID,
		OrganizationSlug: m.Org.Slug,
		MemberID:         m.MemberID,
		Email:            m.Email,
		Roles:            []string{m.Role},
		Duration:         ttl,
		CustomClaims:     map[string]any{"demo_name": m.Name, "demo_role": m.Role},
	}
}

// demoM2M is the seeded M2M client: a reporting service of acme that may
// read documents.
type demoM2M struct {
	Name     string
	ClientID string
	Secret   string
	Scopes   []string
	// Org is the organization its tokens act for, through the custom claim
	// organization_id (middleware.Config.M2MOrganizationClaim's default).
	Org demoOrg
}

// seedM2M creates the demo M2M client in the emulator.
func seedM2M(emu *stytchtest.Server) (*demoM2M, error) {
	m := &demoM2M{Name: "reporting-service", ClientID: "m2m-client-test-reporting", Scopes: []string{"read:documents"}, Org: orgAcme}
	id, secret, err := emu.NewM2MClient(stytchtest.M2MClientSpec{
		ClientID:          m.ClientID,
		Scopes:            m.Scopes,
		CustomClaims:      map[string]any{"organization_id": m.Org.ID},
		ClientName:        m.Name,
		ClientDescription: "Reads acme's documents for reports",
	})
	if err != nil {
		return nil, fmt.Errorf("example: seeding the M2M client: %w", err)
	}
	m.ClientID, m.Secret = id, secret
	return m, nil
}

// seed loads the demo policy, members and data into the emulator and the
// store, and returns the members with a live session of ttl each.
func seed(emu *stytchtest.Server, st *store, ttl time.Duration) ([]demoMember, error) {
	emu.SetPolicy(demoPolicy())
	members := demoMembers()
	for i := range members {
		m := &members[i]
		tok, jwt, err := emu.NewSession(m.sessionSpec(ttl))
		if err != nil {
			return nil, fmt.Errorf("example: seeding member %s: %w", m.Name, err)
		}
		m.SessionToken, m.SessionJWT = tok, jwt
	}
	for _, d := range []struct{ org, title, by string }{
		{orgAcme.ID, "Acme roadmap", "member-test-alice"},
		{orgAcme.ID, "Onboarding guide", "member-test-bob"},
		{orgGlobex.ID, "Globex merger plan", "member-test-dave"},
	} {
		if _, err := st.create(d.org, d.title, d.by); err != nil {
			return nil, err
		}
	}
	st.addInvoice(orgAcme.ID, invoice{ID: "INV-1001", Customer: "Initech", Cents: 120000, Currency: "EUR"})
	st.addInvoice(orgAcme.ID, invoice{ID: "INV-1002", Customer: "Hooli", Cents: 45000, Currency: "EUR"})
	st.addInvoice(orgGlobex.ID, invoice{ID: "INV-2001", Customer: "Umbrella", Cents: 990000, Currency: "USD"})
	return members, nil
}

// findMember returns the seeded member called name.
func findMember(members []demoMember, name string) (*demoMember, bool) {
	for i := range members {
		if members[i].Name == name {
			return &members[i], true
		}
	}
	return nil, false
}
