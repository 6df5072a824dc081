package verifier

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/stytchtest"
)

// FuzzVerify feeds arbitrary strings to Verify, VerifyM2M and VerifyShared.
// They must never panic, must return only this package's error categories
// as *TokenError values, must not echo the token in errors, and must accept
// nothing but the valid tokens of their kind the emulator signed for the
// seed corpus.
func FuzzVerify(f *testing.F) {
	e := newEnv(f, nil)
	valid := map[string]bool{} // session JWTs
	validM2M := map[string]bool{}
	// A token of each table is valid as its table's kind when accepted, and
	// as the other kind when refused for being of that kind.
	for _, tc := range attackTable() {
		tok := tc.token(f, e)
		if tc.at.IsZero() && tc.want == nil {
			valid[tok] = true
		}
		if tc.at.IsZero() && tc.want == ErrM2MToken {
			validM2M[tok] = true
		}
		f.Add(tok)
	}
	for _, tc := range m2mAttackTable() {
		tok := tc.token(f, e)
		if tc.at.IsZero() && tc.want == nil {
			validM2M[tok] = true
		}
		if tc.at.IsZero() && tc.want == ErrNotM2M {
			valid[tok] = true
		}
		f.Add(tok)
	}
	_, jwtStr, err := e.srv.NewSession(stytchtest.SessionSpec{CustomClaims: map[string]any{"plan": "pro"}})
	if err != nil {
		f.Fatal(err)
	}
	valid[jwtStr] = true
	f.Add(jwtStr)
	ctx := context.Background()
	refused := func(t *testing.T, tok string, err error) {
		t.Helper()
		if !errors.Is(err, ErrInvalidToken) && !errors.Is(err, ErrKeysUnavailable) {
			t.Fatalf("error outside the categories: %v", err)
		}
		if _, ok := errors.AsType[*TokenError](err); !ok {
			t.Fatalf("error is not a *TokenError: %v", err)
		}
		if len(tok) >= 16 && strings.Contains(err.Error(), tok) {
			t.Fatalf("error text contains the token")
		}
	}
	f.Fuzz(func(t *testing.T, tok string) {
		ms, claims, err := e.v.Verify(ctx, tok)
		switch {
		case err != nil:
			refused(t, tok, err)
		case !valid[tok]:
			t.Fatalf("Verify accepted a token the emulator never signed as a session: %q", tok)
		case ms == nil || claims == nil:
			t.Fatal("nil result without error")
		}
		m2m, err := e.v.VerifyM2M(ctx, tok)
		switch {
		case err != nil:
			refused(t, tok, err)
			if CanRefreshRemotely(err) {
				t.Fatalf("VerifyM2M error refreshable: %v", err)
			}
		case !validM2M[tok]:
			t.Fatalf("VerifyM2M accepted a token the emulator never signed as M2M: %q", tok)
		case m2m == nil:
			t.Fatal("nil result without error")
		}
		res, err := e.v.VerifyShared(ctx, tok, 0, time.Time{})
		switch {
		case err != nil:
			refused(t, tok, err)
		case res.Session != nil && !valid[tok], res.M2M != nil && !validM2M[tok], (res.Session == nil) == (res.M2M == nil):
			t.Fatalf("VerifyShared accepted %q as %+v", tok, res)
		}
	})
}

// FuzzJWKS feeds arbitrary bodies to the JWKS parser: no panic, and any key
// it keeps is an RSA key of at least 2048 bits with exponent 65537 under a
// non-empty kid.
func FuzzJWKS(f *testing.F) {
	key, other, weak := keys(f)
	f.Add(jwksBody(jwkJSON(&key.PublicKey, "jwk-test-primary", "sig", "RS256")))
	f.Add(jwksBody(jwkJSON(&key.PublicKey, "a", "", ""), jwkJSON(&other.PublicKey, "b", "enc", "")))
	f.Add(jwksBody(jwkJSON(&weak.PublicKey, "weak", "sig", "RS256")))
	f.Add(jwksBody(jwkJSON(&key.PublicKey, "d", "sig", "RS256"), jwkJSON(&other.PublicKey, "d", "sig", "RS256")))
	f.Add(jwksBody(privateJWK(other, "p")))
	f.Add(jwksBody(`{"kty":"EC","kid":"ec","crv":"P-256","x":"AAAA","y":"AAAA"}`, `{"kty":"oct","k":"c2VjcmV0"}`))
	f.Add(jwksBody(`{"kty":"RSA","kid":"x","n":"AQAB","e":"AQAB"}`, `{"kty":"RSA","kid":"y","n":"","e":""}`))
	f.Add([]byte(`{"keys":null}`))
	f.Add([]byte(`<html></html>`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		ks, err := parseJWKS(body)
		got := ks.keys
		if err != nil {
			if got != nil {
				t.Fatal("keys returned with an error")
			}
			return
		}
		if len(got) == 0 {
			t.Fatal("empty key set without an error")
		}
		for kid, k := range got {
			if kid == "" || k == nil || k.N.BitLen() < minRSABits || k.E != 65537 {
				t.Fatalf("kept an unusable key %q", kid)
			}
		}
	})
}
