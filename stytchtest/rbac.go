package stytchtest

import (
	"net/http"
	"slices"
	"strings"

	"github.com/stytchguard/stytchguard/client"
)

func (s *Server) handleJWKS(c *call) (any, *apiError) {
	if c.param != s.ProjectID {
		return nil, &apiError{http.StatusNotFound, "project_not_found", "No project has this project id."}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jwksBody != nil {
		return rawJSON(slices.Clone(s.jwksBody)), nil
	}
	keys := make([]wireJWK, 0, len(s.keys))
	for _, k := range s.keys {
		keys = append(keys, k.jwk())
	}
	return jwksResponse{Keys: keys, meta: c.meta()}, nil
}

func (s *Server) handlePolicy(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return policyResponse{meta: c.meta(), Policy: clonePolicy(s.policy)}, nil
}

func (s *Server) handleGetOrgPolicy(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return orgPolicyResponse{meta: c.meta(), OrgPolicy: client.OrgPolicy{Roles: cloneRoles(s.orgPolicies[c.param].Roles)}}, nil
}

func (s *Server) handlePutOrgPolicy(c *call) (any, *apiError) {
	var req struct {
		OrgPolicy *client.OrgPolicy `json:"org_policy"`
	}
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	if req.OrgPolicy == nil {
		return nil, &apiError{http.StatusBadRequest, "invalid_request_value", "org_policy is required."}
	}
	for _, r := range req.OrgPolicy.Roles {
		if r.RoleID == "" {
			return nil, &apiError{http.StatusBadRequest, "empty_rbac_role_id", "Every role needs a role_id."}
		}
		if strings.HasPrefix(r.RoleID, "stytch_") {
			return nil, &apiError{http.StatusBadRequest, "invalid_rbac_stytch_role_edit",
				"Organization roles may not use the reserved stytch_ prefix."}
		}
		for _, p := range r.Permissions {
			if p.ResourceID == "" {
				return nil, &apiError{http.StatusBadRequest, "empty_rbac_resource_id", "Every permission needs a resource_id."}
			}
		}
	}
	roles := cloneRoles(req.OrgPolicy.Roles)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orgPolicies[c.param] = client.OrgPolicy{Roles: roles}
	return orgPolicyResponse{meta: c.meta(), OrgPolicy: client.OrgPolicy{Roles: cloneRoles(roles)}}, nil
}
