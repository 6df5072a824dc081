package verifier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// FuzzVerify feeds arbitrary strings to Verify. It must never panic, must
// return only this package's error categories, must not echo the token in
// errors, and must accept nothing but the valid tokens the emulator signed
// for the seed corpus.
func FuzzVerify(f *testing.F) {
	e := newEnv(f, nil)
	valid := map[string]bool{}
	for _, tc := range attackTable() {
		tok := tc.token(f, e)
		if tc.want == nil && tc.at.IsZero() {
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
	f.Fuzz(func(t *testing.T, tok string) {
		ms, claims, err := e.v.Verify(ctx, tok)
		if err == nil {
			if !valid[tok] {
				t.Fatalf("accepted a token the emulator never signed: %q", tok)
			}
			if ms == nil || claims == nil {
				t.Fatal("nil result without error")
			}
			return
		}
		if !errors.Is(err, ErrInvalidToken) && !errors.Is(err, ErrKeysUnavailable) {
			t.Fatalf("error outside the categories: %v", err)
		}
		var te *TokenError
		if !errors.As(err, &te) {
			t.Fatalf("error is not a *TokenError: %v", err)
		}
		if len(tok) >= 16 && strings.Contains(err.Error(), tok) {
			t.Fatalf("error text contains the token")
		}
	})
}

// FuzzJWKS feeds arbitrary bodies to the JWKS parser: no panic, and any key
// it keeps is an RSA key of at least 2048 bits under a non-empty kid.
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
		got, _, err := parseJWKS(body)
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
			if kid == "" || k == nil || k.N.BitLen() < minRSABits || k.E < 3 {
				t.Fatalf("kept an unusable key %q", kid)
			}
		}
	})
}

// claimFieldNames are the JSON member names of the Stytch claim types,
// used to skip inputs where encoding/json's case folding (which the
// claim decoders deliberately do not do) would make the results differ.
var claimFieldNames = func() []string {
	var names []string
	var walk func(t reflect.Type)
	seen := map[reflect.Type]bool{}
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			names = append(names, name)
			walk(t.Field(i).Type)
		}
	}
	walk(reflect.TypeFor[client.SessionClaim]())
	walk(reflect.TypeFor[client.OrgClaim]())
	return names
}()

// caseFolded reports whether data has an object member whose name matches
// a claim field only case-insensitively.
func caseFolded(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		s, ok := tok.(string)
		if !ok {
			continue
		}
		for _, n := range claimFieldNames {
			if s != n && strings.EqualFold(s, n) {
				return true
			}
		}
	}
}

// decodeAll runs a cursor decoder over all of data.
func decodeAll[T any](data []byte, decode func([]byte, *T) (int, error), v *T) error {
	n, err := decode(data, v)
	if err != nil {
		return err
	}
	return trailing(data, n)
}

// FuzzStytchClaims holds the session and organization claim decoders to
// encoding/json: on any valid JSON they must agree on success and on the
// decoded value.
func FuzzStytchClaims(f *testing.F) {
	e := &env{srv: &stytchtest.Server{ProjectID: "project-test-fuzz"}}
	c := e.claims(iat0)
	f.Add([]byte(mustJSON(f, c[SessionClaimName])))
	f.Add([]byte(mustJSON(f, c[OrganizationClaimName])))
	f.Add([]byte(`{"id":"s","roles":null,"authentication_factors":[null,{"email_factor":null,"created_at":null}]}`))
	f.Add([]byte(`{"id":5}`))
	f.Add([]byte(`{"roles":["a",null,"\u00e9\ud83d\ude00"],"attributes":{"ip_address":"\u0031"}}`))
	f.Add([]byte(`{"authentication_factors":[{"type":"sso","saml_sso_factor":{"id":"x"},"updated_at":"2026-01-01T00:00:00+02:00"}]}`))
	f.Add([]byte(`{"organization_id":"o","slug":"s","extra":[{}]}`))
	f.Add([]byte(`{"authentication_factors":[{"last_authenticated_at":"yesterday"}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`"x"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) || caseFolded(data) {
			return
		}
		var refS, gotS client.SessionClaim
		errRef := json.Unmarshal(data, &refS)
		// The decoders start at a value: encoding/json skips leading space.
		data = bytes.TrimLeft(data, " \t\r\n")
		errGot := decodeAll(data, decodeSession, &gotS)
		if (errRef == nil) != (errGot == nil) {
			t.Fatalf("session: encoding/json err=%v, decoder err=%v", errRef, errGot)
		}
		if errRef == nil && !reflect.DeepEqual(refS, gotS) {
			t.Fatalf("session: encoding/json %+v, decoder %+v", refS, gotS)
		}
		var refO, gotO client.OrgClaim
		errRef = json.Unmarshal(data, &refO)
		errGot = decodeAll(data, decodeOrg, &gotO)
		if (errRef == nil) != (errGot == nil) {
			t.Fatalf("org: encoding/json err=%v, decoder err=%v", errRef, errGot)
		}
		if errRef == nil && refO != gotO {
			t.Fatalf("org: encoding/json %+v, decoder %+v", refO, gotO)
		}
	})
}
