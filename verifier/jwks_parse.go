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
	// rsaExponent is the only public exponent accepted.
	rsaExponent = 65537
	maxJWKs     = 64
)

// errNoUsableKeys reports a JWKS without a single acceptable key.
var errNoUsableKeys = errors.New("verifier: JWKS has no usable RS256 signing key")

// keySet is what parseJWKS makes of a JWKS body.
type keySet struct {
	keys    map[string]*rsa.PublicKey
	skipped int // keys not kept, for any reason
	// weak are the kids of RSA signing keys refused for their modulus size
	// or public exponent, with the reason: a key Stytch would never
	// publish, worth a warning.
	weak []weakKey
}

// weakKey names an RSA key refused by the key rules; reason is fixed text.
type weakKey struct{ kid, reason string }

// parseJWKS parses a JWKS response body and keeps the keys usable for RS256
// signature verification: RSA public keys of 2048 to 8192 bits with public
// exponent 65537, a non-empty kid, use "sig" or unset, alg "RS256" or
// unset. Keys that fail to parse or do not qualify are skipped (and
// counted); a kid that appears twice is dropped entirely, since the key it
// names would be ambiguous. An unparsable body or a set without any usable
// key is an error; the weak keys are reported either way.
func parseJWKS(body []byte) (keySet, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return keySet{}, fmt.Errorf("verifier: JWKS body is not a JSON key set: %w", err)
	}
	if len(set.Keys) > maxJWKs {
		return keySet{}, fmt.Errorf("verifier: JWKS has %d keys, more than %d", len(set.Keys), maxJWKs)
	}
	ks := keySet{keys: make(map[string]*rsa.PublicKey, len(set.Keys))}
	seen := make([]string, 0, len(set.Keys))
	var dup []string
	for _, raw := range set.Keys {
		kid, pub, weak := usableKey(raw)
		if kid != "" {
			if slices.Contains(seen, kid) {
				dup = append(dup, kid)
			}
			seen = append(seen, kid)
		}
		if weak != "" {
			ks.weak = append(ks.weak, weakKey{kid, weak})
		}
		if pub == nil {
			ks.skipped++
			continue
		}
		ks.keys[kid] = pub
	}
	for _, kid := range dup {
		if _, ok := ks.keys[kid]; ok {
			delete(ks.keys, kid)
			ks.skipped++
		}
	}
	if len(ks.keys) == 0 {
		return keySet{skipped: ks.skipped, weak: ks.weak}, errNoUsableKeys
	}
	return ks, nil
}

// usableKey parses one JWK. It returns the key's kid whenever the JWK
// parses (so duplicates can be detected among unusable keys too), and the
// public key only when the key qualifies. weak is set, with the reason,
// for an RSA signing key refused for its modulus size or exponent.
func usableKey(raw json.RawMessage) (kid string, pub *rsa.PublicKey, weak string) {
	key, err := jwk.ParseKey(raw)
	if err != nil {
		return "", nil, ""
	}
	kid = key.KeyID()
	pk, isRSAPublic := key.(jwk.RSAPublicKey)
	if !isRSAPublic || key.KeyType() != jwa.RSA {
		return kid, nil, "" // other key types, and private keys published by mistake
	}
	if use := pk.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
		return kid, nil, ""
	}
	if alg := pk.Algorithm(); alg != nil && alg.String() != "" && alg.String() != jwa.RS256.String() {
		return kid, nil, ""
	}
	if kid == "" || len(kid) > maxKIDLength {
		return kid, nil, ""
	}
	var rsaKey rsa.PublicKey
	if err := pk.Raw(&rsaKey); err != nil || rsaKey.N == nil {
		return kid, nil, ""
	}
	if bits := rsaKey.N.BitLen(); bits < minRSABits || bits > maxRSABits {
		return kid, nil, "RSA modulus outside 2048 to 8192 bits"
	}
	if rsaKey.E != rsaExponent {
		return kid, nil, "RSA public exponent other than 65537"
	}
	return kid, &rsaKey, ""
}
