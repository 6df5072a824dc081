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
	attacks.M2MToken:        ErrM2MToken,
	attacks.NotM2M:          ErrNotM2M,
}

// tokenCase is one row of the attack table, with its reason as a sentinel.
type tokenCase struct {
	name  string
	token func(tb testing.TB, e *env) string
	at    time.Time // clock time of the check; zero means t0
	want  error     // nil means accepted
}

// attackTable is internal/attacks' table at t0, for this package's env.
func attackTable() []tokenCase { return tokenCases(attacks.Table(t0)) }

// m2mAttackTable is internal/attacks' M2M table at t0.
func m2mAttackTable() []tokenCase { return tokenCases(attacks.M2MTable(t0)) }

func tokenCases(table []attacks.Case) []tokenCase {
	var out []tokenCase
	for _, c := range table {
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
		attacks.MaxTokenBytes != DefaultMaxTokenBytes || attacks.Leeway != DefaultLeeway ||
		attacks.M2MLifetime != MaxM2MTokenLifetime {
		t.Fatal("internal/attacks disagrees with the verifier's constants")
	}
	names := map[string]bool{}
	for _, c := range append(attacks.Table(t0), attacks.M2MTable(t0)...) {
		if names[c.Name] {
			t.Errorf("attack case %s appears twice", c.Name)
		}
		names[c.Name] = true
	}
	for _, c := range attacks.M2MTable(t0) {
		if c.Kind != attacks.M2M {
			t.Errorf("M2M case %s is not of kind M2M", c.Name)
		}
	}
	if n := len(attacks.Table(t0)); n < 125 {
		t.Fatalf("%d session attack cases, want at least 125", n)
	}
	if n := len(attacks.M2MTable(t0)); n < 35 {
		t.Fatalf("%d M2M attack cases, want at least 35", n)
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

// TestVerifyM2MAttackTable replays the M2M table through VerifyM2M: every
// refusal has its reason, none is refreshable (not even an expired token),
// and nothing reaches Stytch.
func TestVerifyM2MAttackTable(t *testing.T) {
	for _, tc := range m2mAttackTable() {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.CacheSize = -1 })
			tok := tc.token(t, e)
			if !tc.at.IsZero() {
				e.clock.Set(tc.at)
			}
			got, err := e.v.VerifyM2M(context.Background(), tok)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("VerifyM2M: %v, want success", err)
				}
				if got.ClientID != attacks.M2MClientID || len(got.Scopes) != 2 {
					t.Fatalf("VerifyM2M returned %+v", got)
				}
				return
			}
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("VerifyM2M error = %v, want %v", err, tc.want)
			}
			if got != nil {
				t.Error("VerifyM2M returned claims with an error")
			}
			if CanRefreshRemotely(err) {
				t.Errorf("CanRefreshRemotely(%v) = true for an M2M verification", err)
			}
			if len(tok) > 20 && strings.Contains(err.Error(), tok[len(tok)-20:]) {
				t.Errorf("error text contains the token")
			}
			// The hot path decides the same, except that it takes session JWTs.
			if _, err := e.v.VerifyShared(context.Background(), tok, 0, time.Time{}); tc.want != ErrNotM2M && !errors.Is(err, tc.want) {
				t.Errorf("VerifyShared error = %v, want %v", err, tc.want)
			}
			if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 0 {
				t.Errorf("%d authenticate calls, want 0", n)
			}
		})
	}
}
