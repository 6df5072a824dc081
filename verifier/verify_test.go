package verifier

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/internal/attacks"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// iat0 is the issue time of the attack table's tokens: one minute before
// t0, so they are valid at t0 and expire at t0+4m.
var iat0 = t0.Add(-time.Minute)

// reasons maps the attack table's reasons to this package's sentinels.
var reasons = map[attacks.Reason]error{
	attacks.Malformed:       ErrMalformed,
	attacks.TooLarge:        ErrTokenTooLarge,
	attacks.Algorithm:       ErrAlgorithm,
	attacks.ForbiddenHeader: ErrForbiddenHeader,
	attacks.UnknownKey:      ErrUnknownKey,
	attacks.BadSignature:    ErrBadSignature,
	attacks.Issuer:          ErrIssuer,
	attacks.Audience:        ErrAudience,
	attacks.Claims:          ErrClaims,
	attacks.NotYetValid:     ErrNotYetValid,
	attacks.Expired:         ErrExpired,
}

// tokenCase is one row of the attack table, with its reason as a sentinel.
type tokenCase struct {
	name  string
	token func(tb testing.TB, e *env) string
	at    time.Time // clock time of the check; zero means t0
	want  error     // nil means accepted
}

// attackTable is internal/attacks' table at t0, for this package's env.
func attackTable() []tokenCase {
	var out []tokenCase
	for _, c := range attacks.Table(t0) {
		want, ok := reasons[c.Want]
		if !ok && c.Want != attacks.Accepted {
			panic("attack reason without a sentinel: " + c.Want)
		}
		out = append(out, tokenCase{
			name:  c.Name,
			token: func(tb testing.TB, e *env) string { return c.Token(tb, e.attackEnv()) },
			at:    c.At,
			want:  want,
		})
	}
	return out
}

// TestAttackFactsAgree: the facts the table is built around are this
// package's.
func TestAttackFactsAgree(t *testing.T) {
	if attacks.SessionClaim != SessionClaimName || attacks.OrganizationClaim != OrganizationClaimName ||
		attacks.MaxTokenBytes != DefaultMaxTokenBytes || attacks.Leeway != DefaultLeeway {
		t.Fatal("internal/attacks disagrees with the verifier's constants")
	}
	names := map[string]bool{}
	for _, c := range attacks.Table(t0) {
		if names[c.Name] {
			t.Errorf("attack case %s appears twice", c.Name)
		}
		names[c.Name] = true
	}
	if len(names) < 125 {
		t.Fatalf("%d attack cases, want at least 125", len(names))
	}
}

func TestVerifyAttackTable(t *testing.T) {
	for _, tc := range attackTable() {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.CacheSize = -1 })
			tok := tc.token(t, e)
			at := tc.at
			if at.IsZero() {
				at = t0
			}
			e.clock.Set(at)
			ms, claims, err := e.v.Verify(context.Background(), tok)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v, want success", err)
				}
				if ms == nil || claims == nil || ms.MemberID != "member-test-1" {
					t.Fatalf("Verify returned %+v, %+v", ms, claims)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify error = %v, want %v", err, tc.want)
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("error %v is not ErrInvalidToken", err)
			}
			if ms != nil || claims != nil {
				t.Errorf("Verify returned values with an error")
			}
			if got, want := CanRefreshRemotely(err), tc.want == ErrExpired; got != want {
				t.Errorf("CanRefreshRemotely = %v, want %v", got, want)
			}
			if len(tok) > 20 && strings.Contains(err.Error(), tok[len(tok)-20:]) {
				t.Errorf("error text contains the token")
			}
			if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 0 {
				t.Errorf("%d authenticate calls, want 0", n)
			}
		})
	}
}
