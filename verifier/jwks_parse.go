package verifier

// This file is the only one that uses github.com/lestrrat-go/jwx: moving to
// another JWK parser touches nothing else.

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Bounds on keys taken from the JWKS.
const (
	minRSABits = 2048
	maxRSABits = 8192
	maxJWKs    = 64
)

// errNoUsableKeys reports a JWKS without a single acceptable key.
var errNoUsableKeys = errors.New("verifier: JWKS has no usable RS256 signing key")

// parseJWKS parses a JWKS response body and keeps the keys usable for RS256
// signature verification: RSA public keys of 2048 to 8192 bits with a sane
// exponent, a non-empty kid, use "sig" or unset, alg "RS256" or unset. Keys
// that fail to parse or do not qualify are skipped (their count is
// returned); a kid that appears twice is dropped entirely, since the key it
// names would be ambiguous. An unparsable body or a set without any usable
// key is an error.
func parseJWKS(body []byte) (map[string]*rsa.PublicKey, int, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, 0, fmt.Errorf("verifier: JWKS body is not a JSON key set: %w", err)
	}
	if len(set.Keys) > maxJWKs {
		return nil, 0, fmt.Errorf("verifier: JWKS has %d keys, more than %d", len(set.Keys), maxJWKs)
	}
	keys := make(map[string]*rsa.PublicKey, len(set.Keys))
	seen := make([]string, 0, len(set.Keys))
	var dup []string
	skipped := 0
	for _, raw := range set.Keys {
		kid, pub, ok := usableKey(raw)
		if kid != "" {
			if slices.Contains(seen, kid) {
				dup = append(dup, kid)
			}
			seen = append(seen, kid)
		}
		if !ok {
			skipped++
			continue
		}
		keys[kid] = pub
	}
	for _, kid := range dup {
		if _, ok := keys[kid]; ok {
			delete(keys, kid)
			skipped++
		}
	}
	if len(keys) == 0 {
		return nil, skipped, errNoUsableKeys
	}
	return keys, skipped, nil
}

// usableKey parses one JWK. It returns the key's kid whenever the JWK
// parses (so duplicates can be detected among unusable keys too), and the
// public key with ok true only when the key qualifies.
func usableKey(raw json.RawMessage) (kid string, pub *rsa.PublicKey, ok bool) {
	key, err := jwk.ParseKey(raw)
	if err != nil {
		return "", nil, false
	}
	kid = key.KeyID()
	pk, isRSAPublic := key.(jwk.RSAPublicKey)
	if !isRSAPublic || key.KeyType() != jwa.RSA {
		return kid, nil, false // other key types, and private keys published by mistake
	}
	if use := pk.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
		return kid, nil, false
	}
	if alg := pk.Algorithm(); alg != nil && alg.String() != "" && alg.String() != jwa.RS256.String() {
		return kid, nil, false
	}
	if kid == "" || len(kid) > maxKIDLength {
		return kid, nil, false
	}
	var rsaKey rsa.PublicKey
	if err := pk.Raw(&rsaKey); err != nil || rsaKey.N == nil {
		return kid, nil, false
	}
	if bits := rsaKey.N.BitLen(); bits < minRSABits || bits > maxRSABits {
		return kid, nil, false
	}
	if len(pk.E()) > 4 || rsaKey.E < 3 || rsaKey.E%2 == 0 {
		return kid, nil, false
	}
	return kid, &rsaKey, true
}
