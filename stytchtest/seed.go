package stytchtest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/stytchguard/stytchguard/client"
)

// ErrInvalidSeed is returned (wrapped) by LoadSeed and ApplySeed for a seed
// the emulator cannot honour.
var ErrInvalidSeed = errors.New("stytchtest: invalid seed")

// maxSeedBytes caps what LoadSeed reads.
const maxSeedBytes = 8 << 20

// Seed is the initial content of a Server: the RBAC policy, organizations
// with their custom roles and members, and M2M clients. LoadSeed reads one
// from JSON (the names below are its keys); Server.ApplySeed creates it.
//
// A seed file looks like this (every key is optional):
//
//	{
//	  "session_duration_minutes": 1440,
//	  "policy": {
//	    "resources": [{"resource_id": "documents", "actions": ["read", "write", "delete"]}],
//	    "roles": [{"role_id": "editor", "permissions": [{"resource_id": "documents", "actions": ["read", "write"]}]}]
//	  },
//	  "organizations": [{
//	    "organization_id": "organization-test-acme", "organization_slug": "acme", "organization_name": "Acme",
//	    "custom_roles": [{"role_id": "auditor", "permissions": [{"resource_id": "documents", "actions": ["read"]}]}],
//	    "members": [{"member_id": "member-test-ada", "email_address": "ada@acme.test", "name": "Ada", "roles": ["editor"]}]
//	  }],
//	  "m2m_clients": [{"client_id": "m2m-client-test-indexer", "client_secret": "a-secret-of-8+-chars", "scopes": ["read:documents"]}]
//	}
type Seed struct {
	// ProjectID and Secret, when set, must be the server's: a program
	// that reads a seed passes them in Options first (as cmd/stytchtest
	// does when its flags leave them open).
	ProjectID string `json:"project_id,omitempty"`
	Secret    string `json:"secret,omitempty"`
	// Policy adds its roles, resources and scopes to DefaultPolicy; a role
	// or resource with the id of a default one replaces it. nil leaves the
	// server's policy as it is.
	Policy *client.Policy `json:"policy,omitempty"`
	// SessionDurationMinutes is the lifetime of the seeded sessions unless
	// a member says otherwise: 5 to 527040, 0 meaning 60 as in the API.
	SessionDurationMinutes int `json:"session_duration_minutes,omitempty"`
	// Organizations are created in order, each with its members.
	Organizations []SeedOrganization `json:"organizations,omitempty"`
	// M2MClients are created in order.
	M2MClients []SeedM2MClient `json:"m2m_clients,omitempty"`
}

// SeedOrganization is an organization of a Seed.
type SeedOrganization struct {
	// OrganizationID is the id; "" generates "organization-test-<uuid>".
	OrganizationID string `json:"organization_id,omitempty"`
	// OrganizationSlug is the slug; "" uses the id.
	OrganizationSlug string `json:"organization_slug,omitempty"`
	// OrganizationName is the name; "" uses the slug.
	OrganizationName string `json:"organization_name,omitempty"`
	// AllowedAuthMethods restricts the primary authentication methods
	// (see Server.SetOrganizationAuthMethods); empty allows all.
	AllowedAuthMethods []string `json:"allowed_auth_methods,omitempty"`
	// MFARequired sets mfa_policy REQUIRED_FOR_ALL.
	MFARequired bool `json:"mfa_required,omitempty"`
	// CustomRoles are the organization's own roles (its organization
	// policy); role ids may not start with "stytch_".
	CustomRoles []client.Role `json:"custom_roles,omitempty"`
	// Members are created in order.
	Members []SeedMember `json:"members,omitempty"`
}

// SeedMember is a member of a SeedOrganization.
type SeedMember struct {
	// MemberID is the id; "" generates "member-test-<uuid>".
	MemberID string `json:"member_id,omitempty"`
	// EmailAddress is the address; "" means "<member id>@example.com".
	// Addresses are unique within an organization; the same address in
	// two organizations is one person with two members, as Exchange
	// expects.
	EmailAddress string `json:"email_address,omitempty"`
	// Name is the member's name.
	Name string `json:"name,omitempty"`
	// Roles are the member's roles besides stytch_member; each must be a
	// role of the seeded project policy or of the organization's custom
	// roles.
	Roles []string `json:"roles,omitempty"`
	// Session says whether the member gets a ready session; nil means
	// true.
	Session *bool `json:"session,omitempty"`
	// SessionDurationMinutes overrides Seed.SessionDurationMinutes.
	SessionDurationMinutes int `json:"session_duration_minutes,omitempty"`
	// SessionCustomClaims are the custom claims of the member's session.
	SessionCustomClaims map[string]any `json:"session_custom_claims,omitempty"`
}

// SeedM2MClient is an M2M client of a Seed, as M2MClientSpec describes.
type SeedM2MClient struct {
	ClientID          string         `json:"client_id,omitempty"`
	ClientSecret      string         `json:"client_secret,omitempty"`
	ClientName        string         `json:"client_name,omitempty"`
	ClientDescription string         `json:"client_description,omitempty"`
	Scopes            []string       `json:"scopes,omitempty"`
	CustomClaims      map[string]any `json:"custom_claims,omitempty"`
}

// SeedResult is what ApplySeed created: the ready sessions and the M2M
// clients with their secrets.
type SeedResult struct {
	Sessions   []SeededSession   `json:"sessions"`
	M2MClients []SeededM2MClient `json:"m2m_clients"`
}

// SeededSession is the session of a seeded member. SessionJWT expires five
// minutes after it was minted; authenticate SessionToken for a fresh one.
type SeededSession struct {
	OrganizationID   string    `json:"organization_id"`
	OrganizationSlug string    `json:"organization_slug"`
	MemberID         string    `json:"member_id"`
	EmailAddress     string    `json:"email_address"`
	Roles            []string  `json:"roles"`
	SessionToken     string    `json:"session_token"`
	SessionJWT       string    `json:"session_jwt"`
	ExpiresAt        time.Time `json:"expires_at"`
}

// SeededM2MClient is a seeded M2M client with its secret.
type SeededM2MClient struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	Scopes       []string `json:"scopes"`
}

// LoadSeed reads a Seed from JSON (at most 8 MiB). Unknown keys, trailing
// data and malformed JSON are errors wrapping ErrInvalidSeed, so a typo in
// a seed file does not go unnoticed.
func LoadSeed(r io.Reader) (*Seed, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxSeedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSeed, err)
	}
	if len(b) > maxSeedBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalidSeed, maxSeedBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var seed Seed
	if err := dec.Decode(&seed); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSeed, err)
	}
	if err := dec.Decode(new(json.RawMessage)); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrInvalidSeed)
	}
	return &seed, nil
}

// ApplySeed creates what seed describes: the policy (DefaultPolicy plus
// the seed's roles, resources and scopes), then each organization with its
// custom roles and members, a session for every member whose Session is
// not false, and the M2M clients. The whole seed is checked before
// anything is created: an error wrapping ErrInvalidSeed (a project id or
// secret other than the server's, an id or slug used twice or already
// taken, an unknown role, an invalid duration, custom claims or M2M client)
// leaves the server unchanged. It is safe for concurrent use, but meant for
// a fresh server.
func (s *Server) ApplySeed(seed *Seed) (*SeedResult, error) {
	if seed == nil {
		return &SeedResult{Sessions: []SeededSession{}, M2MClients: []SeededM2MClient{}}, nil
	}
	plan, err := s.checkSeed(seed)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSeed, err)
	}
	if seed.Policy != nil {
		s.SetPolicy(plan.policy)
	}
	res := &SeedResult{Sessions: []SeededSession{}, M2MClients: []SeededM2MClient{}}
	for _, o := range plan.orgs {
		s.mu.Lock()
		org, err := s.ensureOrgLocked(o.id, o.slug, s.nowSec())
		if err == nil {
			org.name = o.name
			org.allowedAuthMethods = slices.Clone(o.src.AllowedAuthMethods)
			org.mfaRequired = o.src.MFARequired
			if len(o.src.CustomRoles) > 0 {
				s.orgPolicies[org.id] = client.OrgPolicy{Roles: cloneRoles(o.src.CustomRoles)}
			}
		}
		s.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidSeed, err)
		}
		for _, m := range o.src.Members {
			spec := SessionSpec{OrganizationID: org.id, MemberID: m.MemberID, Email: m.EmailAddress, Roles: m.Roles}
			id, err := s.AddMember(spec)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrInvalidSeed, err)
			}
			s.mu.Lock()
			mem := s.members[id]
			mem.name = m.Name
			email := mem.email
			s.mu.Unlock()
			if m.Session != nil && !*m.Session {
				continue
			}
			minutes := cmp.Or(m.SessionDurationMinutes, seed.SessionDurationMinutes)
			spec.MemberID, spec.Duration, spec.CustomClaims = id, time.Duration(minutes)*time.Minute, m.SessionCustomClaims
			start := s.nowSec()
			token, jwtStr, err := s.NewSession(spec)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrInvalidSeed, err)
			}
			dur := spec.Duration
			if dur == 0 {
				dur = defaultSessionDuration
			}
			res.Sessions = append(res.Sessions, SeededSession{
				OrganizationID: org.id, OrganizationSlug: org.slug, MemberID: id, EmailAddress: email,
				Roles: sessionRoles(m.Roles), SessionToken: token, SessionJWT: jwtStr, ExpiresAt: start.Add(dur),
			})
		}
	}
	for _, c := range seed.M2MClients {
		id, secret, err := s.NewM2MClient(M2MClientSpec{ClientID: c.ClientID, Scopes: c.Scopes, CustomClaims: c.CustomClaims,
			ClientSecret: c.ClientSecret, ClientName: c.ClientName, ClientDescription: c.ClientDescription})
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidSeed, err)
		}
		scopes, _ := m2mScopes(c.Scopes)
		res.M2MClients = append(res.M2MClients, SeededM2MClient{ClientID: id, ClientSecret: secret, Scopes: scopes})
	}
	return res, nil
}

// seedPlan is a checked seed with its defaults filled in.
type seedPlan struct {
	policy client.Policy
	orgs   []seedOrgPlan
}

type seedOrgPlan struct {
	id, slug, name string
	src            SeedOrganization
}

// checkSeed validates the whole seed against itself and the server.
func (s *Server) checkSeed(seed *Seed) (*seedPlan, error) {
	if seed.ProjectID != "" && seed.ProjectID != s.ProjectID {
		return nil, errors.New("project_id is not the server's")
	}
	if seed.Secret != "" && seed.Secret != s.Secret {
		return nil, errors.New("secret is not the server's")
	}
	checkMinutes := func(what string, n int) error {
		if n != 0 && (n < client.MinSessionDurationMinutes || n > client.MaxSessionDurationMinutes) {
			return fmt.Errorf("%s: session_duration_minutes must be between %d and %d", what,
				client.MinSessionDurationMinutes, client.MaxSessionDurationMinutes)
		}
		return nil
	}
	if err := checkMinutes("seed", seed.SessionDurationMinutes); err != nil {
		return nil, err
	}
	plan := &seedPlan{}
	s.mu.Lock()
	plan.policy = clonePolicy(s.policy)
	existingOrgs := map[string]bool{}
	existingSlugs := map[string]bool{}
	for _, o := range s.orgs {
		existingOrgs[o.id], existingSlugs[o.slug] = true, true
	}
	existingMembers := map[string]bool{}
	for id := range s.members {
		existingMembers[id] = true
	}
	existingClients := map[string]bool{}
	for id := range s.m2mClients {
		existingClients[id] = true
	}
	s.mu.Unlock()

	if seed.Policy != nil {
		p, err := mergeSeedPolicy(DefaultPolicy(), *seed.Policy)
		if err != nil {
			return nil, err
		}
		plan.policy = p
	}
	projectRoles := map[string]bool{}
	for _, r := range plan.policy.Roles {
		projectRoles[r.RoleID] = true
	}
	for i, o := range seed.Organizations {
		what := fmt.Sprintf("organizations[%d]", i)
		// A generated id is fixed now, so that the slug defaults to it.
		p := seedOrgPlan{id: cmp.Or(o.OrganizationID, s.newID("organization")), src: o}
		p.slug = cmp.Or(o.OrganizationSlug, p.id)
		p.name = cmp.Or(o.OrganizationName, p.slug)
		plan.orgs = append(plan.orgs, p)
		if existingOrgs[p.id] {
			return nil, fmt.Errorf("%s: organization %s exists already", what, p.id)
		}
		if existingSlugs[p.slug] {
			return nil, fmt.Errorf("%s: slug %q is used twice", what, p.slug)
		}
		existingOrgs[p.id], existingSlugs[p.slug] = true, true
		for _, m := range o.AllowedAuthMethods {
			if !slices.Contains(knownAuthMethods, m) {
				return nil, fmt.Errorf("%s: unknown auth method %q", what, m)
			}
		}
		orgRoles := map[string]bool{}
		for _, r := range o.CustomRoles {
			if err := checkCustomRole(r); err != nil {
				return nil, fmt.Errorf("%s: custom role %q: %v", what, r.RoleID, err)
			}
			orgRoles[r.RoleID] = true
		}
		emails := map[string]bool{}
		for j, m := range o.Members {
			what := fmt.Sprintf("%s.members[%d]", what, j)
			if m.MemberID != "" {
				if existingMembers[m.MemberID] {
					return nil, fmt.Errorf("%s: member %s exists already", what, m.MemberID)
				}
				existingMembers[m.MemberID] = true
			}
			if email := strings.ToLower(m.EmailAddress); email != "" {
				if emails[email] {
					return nil, fmt.Errorf("%s: email address %s is used twice in the organization", what, m.EmailAddress)
				}
				emails[email] = true
			}
			for _, r := range m.Roles {
				if r != "stytch_member" && !projectRoles[r] && !orgRoles[r] {
					return nil, fmt.Errorf("%s: role %q is in neither the policy nor the organization's custom roles", what, r)
				}
			}
			if err := checkMinutes(what, m.SessionDurationMinutes); err != nil {
				return nil, err
			}
			claims, err := normalizeClaims(m.SessionCustomClaims)
			if err != nil {
				return nil, fmt.Errorf("%s: session_custom_claims: %v", what, err)
			}
			if _, e := newSessionClaims(claims); e != nil {
				return nil, fmt.Errorf("%s: session_custom_claims: %s", what, e.message)
			}
		}
	}
	for i, c := range seed.M2MClients {
		what := fmt.Sprintf("m2m_clients[%d]", i)
		if c.ClientID != "" {
			if !validM2MClientID(c.ClientID) {
				return nil, fmt.Errorf("%s: client_id %q is not valid", what, c.ClientID)
			}
			if existingClients[c.ClientID] {
				return nil, fmt.Errorf("%s: client %s is defined twice", what, c.ClientID)
			}
			existingClients[c.ClientID] = true
		}
		if c.ClientSecret != "" && len(c.ClientSecret) < minM2MSecretLength {
			return nil, fmt.Errorf("%s: client_secret is shorter than %d characters", what, minM2MSecretLength)
		}
		if _, e := m2mScopes(c.Scopes); e != nil {
			return nil, fmt.Errorf("%s: %s", what, e.message)
		}
		claims, err := normalizeClaims(c.CustomClaims)
		if err != nil {
			return nil, fmt.Errorf("%s: custom_claims: %v", what, err)
		}
		if e := checkM2MClaims(claims); e != nil {
			return nil, fmt.Errorf("%s: custom_claims: %s", what, e.message)
		}
	}
	return plan, nil
}

// checkCustomRole applies the organization policy endpoint's rules.
func checkCustomRole(r client.Role) error {
	if r.RoleID == "" {
		return errors.New("empty role_id")
	}
	if strings.HasPrefix(r.RoleID, "stytch_") {
		return errors.New("the stytch_ prefix is reserved")
	}
	for _, p := range r.Permissions {
		if p.ResourceID == "" {
			return errors.New("a permission has no resource_id")
		}
	}
	return nil
}

// mergeSeedPolicy adds add's roles, resources and scopes to base; an entry
// with the id of one of base's replaces it.
func mergeSeedPolicy(base, add client.Policy) (client.Policy, error) {
	out := clonePolicy(base)
	add = clonePolicy(add)
	for _, r := range add.Roles {
		if r.RoleID == "" {
			return client.Policy{}, errors.New("policy: a role has no role_id")
		}
		for _, p := range r.Permissions {
			if p.ResourceID == "" {
				return client.Policy{}, fmt.Errorf("policy: role %q has a permission without resource_id", r.RoleID)
			}
		}
		if i := slices.IndexFunc(out.Roles, func(x client.Role) bool { return x.RoleID == r.RoleID }); i >= 0 {
			out.Roles[i] = r
		} else {
			out.Roles = append(out.Roles, r)
		}
	}
	for _, r := range add.Resources {
		if r.ResourceID == "" {
			return client.Policy{}, errors.New("policy: a resource has no resource_id")
		}
		if i := slices.IndexFunc(out.Resources, func(x client.Resource) bool { return x.ResourceID == r.ResourceID }); i >= 0 {
			out.Resources[i] = r
		} else {
			out.Resources = append(out.Resources, r)
		}
	}
	out.Scopes = append(out.Scopes, add.Scopes...)
	return out, nil
}
