package middleware

import "strings"

// scopeGranted reports whether held grants required, with Stytch's rule
// for M2M scopes: a scope is "action:resource", split at the first colon
// (a scope without one is action scope, resource "-"); required is granted
// by a held scope of the same action whose resource is the same or "*".
func scopeGranted(held []string, required string) bool {
	ra, rr := splitScope(required)
	for _, h := range held {
		if ha, hr := splitScope(h); ha == ra && (hr == rr || hr == "*") {
			return true
		}
	}
	return false
}

func splitScope(s string) (action, resource string) {
	if a, r, ok := strings.Cut(s, ":"); ok {
		return a, r
	}
	return s, "-"
}

// missingScopes returns the required scopes held does not grant, or nil.
func missingScopes(held, required []string) []string {
	var out []string
	for _, r := range required {
		if !scopeGranted(held, r) {
			out = append(out, r)
		}
	}
	return out
}
