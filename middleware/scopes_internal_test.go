package middleware

import (
	"slices"
	"testing"
)

// TestScopeRule checks Stytch's M2M scope rule (wire spec, section 8.4).
func TestScopeRule(t *testing.T) {
	cases := []struct {
		name     string
		held     []string
		required []string
		missing  []string
	}{
		{"exact scope", []string{"read:documents"}, []string{"read:documents"}, nil},
		{"wildcard resource grants any resource", []string{"read:*"}, []string{"read:documents", "read:invoices"}, nil},
		{"another action is not granted", []string{"write:documents"}, []string{"read:documents"}, []string{"read:documents"}},
		{"another resource is not granted", []string{"read:invoices"}, []string{"read:documents"}, []string{"read:documents"}},
		// A wildcard action does not exist in the rule: "*:documents" grants only action "*".
		{"wildcard action is literal", []string{"*:documents"}, []string{"read:documents"}, []string{"read:documents"}},
		// Split at the first colon: "read:documents:archive" is action read on resource "documents:archive".
		{"split at the first colon", []string{"read:documents:archive"}, []string{"read:documents:archive"}, nil},
		{"first colon only", []string{"read:documents"}, []string{"read:documents:archive"}, []string{"read:documents:archive"}},
		// A scope without a colon is action scope on resource "-".
		{"scope without colon", []string{"admin"}, []string{"admin"}, nil},
		{"no colon is not a wildcard", []string{"read"}, []string{"read:documents"}, []string{"read:documents"}},
		{"every required scope", []string{"read:documents"}, []string{"read:documents", "write:documents"}, []string{"write:documents"}},
		{"nothing held", nil, []string{"read:documents"}, []string{"read:documents"}},
		{"prefix is not a match", []string{"read:doc"}, []string{"read:documents"}, []string{"read:documents"}},
		{"case matters", []string{"Read:Documents"}, []string{"read:documents"}, []string{"read:documents"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := missingScopes(tc.held, tc.required); !slices.Equal(got, tc.missing) {
				t.Fatalf("missing %v, want %v", got, tc.missing)
			}
		})
	}
}
