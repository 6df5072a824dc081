// Package attacks is the attack table of Stytch tokens: named cases, each a
// token built against an emulator (forged, malformed, mistyped, expired,
// signed with the wrong key or algorithm, smuggling headers or claims, a
// token of the other kind) with the reason a verifier must refuse it, or
// none for the valid ones. Table holds the cases for a verifier of session
// JWTs (M2M access tokens among them, to be refused as such); M2MTable the
// cases for a verifier of M2M access tokens. Each case says which kind of
// verification it is for (Kind), so a consumer may replay both tables in
// one loop. The verifier's tests check every reason; the middleware's tests
// replay the tables over HTTP. It is internal: only the module's tests
// import it.
package attacks

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/internal/testkit"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// Facts of the verifier the table is built around; the verifier's tests
// check that they agree with its own constants.
const (
	// SessionClaim and OrganizationClaim are Stytch's claim names.
	SessionClaim      = "https://stytch.com/session"
	OrganizationClaim = "https://stytch.com/organization"
	// MaxTokenBytes is the verifier's default cap on a token, in bytes.
	MaxTokenBytes = 8 << 10
	// Leeway is the verifier's default clock skew.
	Leeway = 5 * time.Second
	// M2MClientID is the client id (sub) of the table's M2M tokens.
	M2MClientID = "m2m-client-test-1"
	// M2MLifetime is the lifetime of Stytch's M2M access tokens.
	M2MLifetime = time.Hour
	// KID is the kid the emulator must sign under (Options.KeyID): the raw
	// headers of the table name it.
	KID = "jwk-test-primary"
)

// Reason is why a verifier refuses a case's token; Accepted for the valid
// ones.
type Reason string

// The reasons, one per refusal category of the verifier.
const (
	Accepted        Reason = ""
	Malformed       Reason = "malformed"
	TooLarge        Reason = "too large"
	Algorithm       Reason = "algorithm"
	ForbiddenHeader Reason = "forbidden header"
	UnknownKey      Reason = "unknown key"
	BadSignature    Reason = "bad signature"
	Issuer          Reason = "issuer"
	Audience        Reason = "audience"
	Claims          Reason = "claims"
	NotYetValid     Reason = "not yet valid"
	Expired         Reason = "expired"
	// M2MToken: an M2M access token where a session JWT is required.
	M2MToken Reason = "m2m token"
	// NotM2M: a session JWT where an M2M access token is required.
	NotM2M Reason = "not m2m"
)

// Case is one row of the table.
type Case struct {
	Name  string
	Token func(tb testing.TB, e *Env) string
	// At is the time of the check; zero means the table's t0.
	At time.Time
	// Kind is the verification the case is for: a session JWT is required
	// (Session, the zero value) or an M2M access token (M2M). Want is the
	// reason of that verification.
	Kind Kind
	Want Reason
}

// Kind is the kind of token a verification requires.
type Kind uint8

// The kinds.
const (
	Session Kind = iota // a session JWT (Verify; a member route)
	M2M                 // an M2M access token (VerifyM2M; a scope route)
)

// Env is what the tokens are built with: an emulator signing with the key
// Keys returns first, under KID, and the time the checks run at.
type Env struct {
	Server *stytchtest.Server
	T0     time.Time
}

var otherKeys = sync.OnceValues(func() (*rsa.PrivateKey, *rsa.PrivateKey) {
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		panic(err)
	}
	return other, weak
})

// Keys returns RSA keys generated once per process: the emulator's signing
// key (testkit.SigningKey), an unrelated 2048-bit key, and a 1024-bit key.
func Keys() (signing, other, weak *rsa.PrivateKey) {
	other, weak = otherKeys()
	return testkit.SigningKey(), other, weak
}

// WeakKeys are RSA keys that break the key rules (modulus of at least 2048
// bits, public exponent exactly 65537) yet sign and verify: a verifier must
// skip them when a JWKS publishes them.
type WeakKeys struct {
	Exponent3     *rsa.PrivateKey // 2048 bits, e = 3
	Exponent65539 *rsa.PrivateKey // 2048 bits, e = 65539
	Bits2047      *rsa.PrivateKey // 2047 bits, e = 65537
	Bits1024      *rsa.PrivateKey // 1024 bits, e = 65537 (Keys' third key)
}

var weakKeys = sync.OnceValue(func() WeakKeys {
	bits2047, err := rsa.GenerateKey(rand.Reader, 2047)
	if err != nil {
		panic(err)
	}
	_, _, weak := Keys()
	return WeakKeys{
		Exponent3:     exponentKey(3),
		Exponent65539: exponentKey(65539),
		Bits2047:      bits2047,
		Bits1024:      weak,
	}
})

// Weak returns the weak keys, generated once per process.
func Weak() WeakKeys { return weakKeys() }

// exponentKey generates a 2048-bit RSA key with public exponent e, which
// rsa.GenerateKey cannot do.
func exponentKey(e int64) *rsa.PrivateKey {
	one := big.NewInt(1)
	for {
		p, err := rand.Prime(rand.Reader, 1024)
		if err != nil {
			panic(err)
		}
		q, err := rand.Prime(rand.Reader, 1024)
		if err != nil {
			panic(err)
		}
		n := new(big.Int).Mul(p, q)
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(big.NewInt(e), phi)
		if p.Cmp(q) == 0 || d == nil || n.BitLen() != 2048 {
			continue
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: int(e)}, D: d, Primes: []*big.Int{p, q}}
		k.Precompute()
		if err := k.Validate(); err != nil {
			panic(err)
		}
		return k
	}
}

// Claims returns the payload of a valid session JWT issued at iat, as the
// emulator mints them, including one custom claim.
func (e *Env) Claims(iat time.Time) map[string]any {
	return map[string]any{
		"iss": "stytch.com/" + e.Server.ProjectID,
		"aud": []string{e.Server.ProjectID},
		"sub": "member-test-1",
		"iat": iat.Unix(),
		"nbf": iat.Unix(),
		"exp": iat.Add(5 * time.Minute).Unix(),
		SessionClaim: map[string]any{
			"id":               "member-session-test-1",
			"started_at":       "2026-01-01T11:00:00Z",
			"last_accessed_at": "2026-01-01T11:59:00Z",
			"expires_at":       "2026-01-01T13:00:00Z",
			"attributes":       map[string]any{"ip_address": "", "user_agent": ""},
			"authentication_factors": []any{map[string]any{
				"type": "magic_link", "delivery_method": "email",
				"last_authenticated_at": "2026-01-01T11:00:00Z",
				"email_factor":          map[string]any{"email_id": "email-test-1", "email_address": "a@example.com"},
			}},
			"roles": []string{"stytch_member", "editor"},
		},
		OrganizationClaim: map[string]any{"organization_id": "organization-test-1", "slug": "acme"},
		"tenant_tier":     "gold",
	}
}

// M2MClaims returns the payload of a valid M2M access token issued at iat,
// as Stytch mints them (section 8.3 of the API notes): sub the client id,
// aud an array, scope one space-separated string, a one-hour lifetime, and
// one custom claim.
func (e *Env) M2MClaims(iat time.Time) map[string]any {
	return map[string]any{
		"iss":             "stytch.com/" + e.Server.ProjectID,
		"aud":             []string{e.Server.ProjectID},
		"sub":             M2MClientID,
		"scope":           "read:documents write:documents",
		"iat":             iat.Unix(),
		"nbf":             iat.Unix(),
		"exp":             iat.Add(M2MLifetime).Unix(),
		"organization_id": "organization-test-1",
	}
}

// Sign signs claims with the emulator's current key; header entries
// override (nil removes) the default header.
func (e *Env) Sign(tb testing.TB, claims map[string]any, header map[string]any) string {
	tb.Helper()
	tok, err := e.Server.SignClaims(claims, header)
	if err != nil {
		tb.Fatalf("SignClaims: %v", err)
	}
	return tok
}

// B64 is the JWS segment encoding.
func B64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// SignRaw builds a token from raw header and payload JSON, signed RS256 with
// key, so tests can send bytes no JSON encoder would produce.
func SignRaw(tb testing.TB, key *rsa.PrivateKey, header, payload string) string {
	tb.Helper()
	input := B64(header) + "." + B64(payload)
	return input + "." + RSASign(tb, key, input)
}

// RSASign returns the base64url RS256 signature of input.
func RSASign(tb testing.TB, key *rsa.PrivateKey, input string) string {
	tb.Helper()
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		tb.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(sig)
}

// MustJSON encodes v.
func MustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// SignWith signs claims with any golang-jwt method and key, with the given
// extra header entries, for algorithm-confusion cases.
func SignWith(tb testing.TB, m jwt.SigningMethod, key any, header, claims map[string]any) string {
	tb.Helper()
	t := jwt.NewWithClaims(m, jwt.MapClaims(claims))
	for k, v := range header {
		t.Header[k] = v
	}
	s, err := t.SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// With returns a copy of base with the given changes applied; a nil value
// deletes the claim.
func With(base map[string]any, changes map[string]any) map[string]any {
	out := make(map[string]any, len(base))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// SessionWith returns the session claim of base with changes applied.
func SessionWith(base map[string]any, changes map[string]any) map[string]any {
	return With(base[SessionClaim].(map[string]any), changes)
}

// Tamper changes one byte of segment i (0 header, 1 payload, 2 signature)
// to another base64url character.
func Tamper(tok string, i int) string {
	parts := strings.Split(tok, ".")
	b := []byte(parts[i])
	pos := len(b) / 2
	if b[pos] == 'A' {
		b[pos] = 'B'
	} else {
		b[pos] = 'A'
	}
	parts[i] = string(b)
	return strings.Join(parts, ".")
}

// RawPayload is the valid claims (issued one minute before e.T0) as JSON text, with extra raw members
// spliced in before the closing brace.
func RawPayload(tb testing.TB, e *Env, drop []string, extra string) string {
	c := e.Claims(e.T0.Add(-time.Minute))
	for _, k := range drop {
		delete(c, k)
	}
	s := MustJSON(tb, c)
	if extra != "" {
		s = s[:len(s)-1] + "," + extra + "}"
	}
	return s
}

// weakKey publishes the weak key pick returns under its own kid and signs
// the valid claims with it: a token that verifies with the published key,
// were that key used.
func weakKey(pick func(WeakKeys) *rsa.PrivateKey) func(tb testing.TB, e *Env) string {
	return func(tb testing.TB, e *Env) string {
		k := pick(Weak())
		kid := fmt.Sprintf("jwk-test-weak-%d-%d", k.N.BitLen(), k.E)
		e.Server.PublishKey(&k.PublicKey, kid)
		return SignRaw(tb, k, `{"alg":"RS256","kid":"`+kid+`","typ":"JWT"}`, RawPayload(tb, e, nil, ""))
	}
}

// Table returns the attack table for checks at t0: every token is issued one
// minute before t0 (valid at t0, expired from t0+4m plus the leeway) unless
// the case says otherwise.
func Table(t0 time.Time) []Case {
	iat0 := t0.Add(-time.Minute)
	valid := func(tb testing.TB, e *Env) string { return e.Sign(tb, e.Claims(iat0), nil) }
	claims := func(ch map[string]any) func(tb testing.TB, e *Env) string {
		return func(tb testing.TB, e *Env) string { return e.Sign(tb, With(e.Claims(iat0), ch), nil) }
	}
	header := func(h map[string]any) func(tb testing.TB, e *Env) string {
		return func(tb testing.TB, e *Env) string { return e.Sign(tb, e.Claims(iat0), h) }
	}
	raw := func(hdr string, drop []string, extra string) func(tb testing.TB, e *Env) string {
		return func(tb testing.TB, e *Env) string {
			key, _, _ := Keys()
			return SignRaw(tb, key, hdr, RawPayload(tb, e, drop, extra))
		}
	}
	const goodHeader = `{"alg":"RS256","kid":"` + KID + `","typ":"JWT"}`
	exp0 := iat0.Add(5 * time.Minute)

	return []Case{
		// The baseline: an emulator-signed token with Stytch's claims.
		{Name: "valid", Token: valid},

		// --- algorithm confusion ---
		// Attacker claims no signature is needed.
		{Name: "alg_none", Token: header(map[string]any{"alg": "none"}), Want: Algorithm},
		// Same with casing variants that lax libraries accept.
		{Name: "alg_None", Token: header(map[string]any{"alg": "None"}), Want: Algorithm},
		{Name: "alg_NONE", Token: header(map[string]any{"alg": "NONE"}), Want: Algorithm},
		{Name: "alg_nOnE", Token: header(map[string]any{"alg": "nOnE"}), Want: Algorithm},
		// alg none with the signature removed entirely.
		{Name: "alg_none_empty_signature", Token: func(tb testing.TB, e *Env) string {
			t := e.Sign(tb, e.Claims(iat0), map[string]any{"alg": "none"})
			return t[:strings.LastIndexByte(t, '.')+1]
		}, Want: Malformed},
		// HMAC keyed with the public RSA key (classic key confusion).
		{Name: "hs256_keyed_with_public_key", Token: func(tb testing.TB, e *Env) string {
			key, _, _ := Keys()
			der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
			if err != nil {
				tb.Fatal(err)
			}
			return SignWith(tb, jwt.SigningMethodHS256, der, map[string]any{"kid": KID}, e.Claims(iat0))
		}, Want: Algorithm},
		// A genuine RS384 signature with the right key: still not RS256.
		{Name: "rs384_real_signature", Token: func(tb testing.TB, e *Env) string {
			key, _, _ := Keys()
			return SignWith(tb, jwt.SigningMethodRS384, key, map[string]any{"kid": KID}, e.Claims(iat0))
		}, Want: Algorithm},
		// A genuine PS256 signature with the right RSA key.
		{Name: "ps256_real_signature", Token: func(tb testing.TB, e *Env) string {
			key, _, _ := Keys()
			return SignWith(tb, jwt.SigningMethodPS256, key, map[string]any{"kid": KID}, e.Claims(iat0))
		}, Want: Algorithm},
		// An ES256 token claiming the RSA key's kid.
		{Name: "es256", Token: func(tb testing.TB, e *Env) string {
			ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				tb.Fatal(err)
			}
			return SignWith(tb, jwt.SigningMethodES256, ek, map[string]any{"kid": KID}, e.Claims(iat0))
		}, Want: Algorithm},
		// alg missing from the header.
		{Name: "alg_missing", Token: header(map[string]any{"alg": nil}), Want: Algorithm},
		// alg of the wrong JSON type.
		{Name: "alg_number", Token: header(map[string]any{"alg": 256}), Want: Algorithm},

		// --- kid ---
		// No kid: the key cannot be selected.
		{Name: "kid_missing", Token: header(map[string]any{"kid": nil}), Want: ForbiddenHeader},
		// kid of the wrong type.
		{Name: "kid_number", Token: header(map[string]any{"kid": 7}), Want: ForbiddenHeader},
		// Empty kid.
		{Name: "kid_empty", Token: header(map[string]any{"kid": ""}), Want: ForbiddenHeader},
		// A kid the JWKS never published (forged key id).
		{Name: "kid_unknown", Token: header(map[string]any{"kid": "jwk-test-forged"}), Want: UnknownKey},
		// Path traversal in kid must be a plain lookup.
		{Name: "kid_path_traversal", Token: header(map[string]any{"kid": "../../v1/b2b/sessions/jwks/x"}), Want: UnknownKey},
		// SQL-ish and control characters in kid.
		{Name: "kid_hostile_chars", Token: header(map[string]any{"kid": "' OR 1=1 --\x00\n"}), Want: UnknownKey},
		// A very long kid.
		{Name: "kid_huge", Token: header(map[string]any{"kid": strings.Repeat("k", 4000)}), Want: UnknownKey},
		// Signed with another key under the real kid.
		{Name: "other_key_real_kid", Token: func(tb testing.TB, e *Env) string {
			_, other, _ := Keys()
			return SignRaw(tb, other, goodHeader, RawPayload(tb, e, nil, ""))
		}, Want: BadSignature},

		// --- header injection ---
		// jku pointing at an attacker's key set.
		{Name: "header_jku", Token: header(map[string]any{"jku": "https://evil.example/jwks"}), Want: ForbiddenHeader},
		// An embedded attacker key.
		{Name: "header_jwk", Token: header(map[string]any{"jwk": map[string]any{"kty": "RSA", "n": "AQAB", "e": "AQAB"}}), Want: ForbiddenHeader},
		// x5u certificate URL.
		{Name: "header_x5u", Token: header(map[string]any{"x5u": "https://evil.example/cert"}), Want: ForbiddenHeader},
		// Embedded certificate chain.
		{Name: "header_x5c", Token: header(map[string]any{"x5c": []string{"MIIB"}}), Want: ForbiddenHeader},
		// Critical extensions we do not understand.
		{Name: "header_crit", Token: header(map[string]any{"crit": []string{"exp"}}), Want: ForbiddenHeader},
		// Unencoded payload (RFC 7797).
		{Name: "header_b64_false", Token: header(map[string]any{"b64": false}), Want: ForbiddenHeader},
		// Compressed payload.
		{Name: "header_zip", Token: header(map[string]any{"zip": "DEF"}), Want: ForbiddenHeader},
		// Duplicated alg: one parser could read "none", another "RS256".
		{Name: "header_duplicate_alg", Token: raw(`{"alg":"none","alg":"RS256","kid":"jwk-test-primary"}`, nil, ""), Want: ForbiddenHeader},
		// Duplicated kid.
		{Name: "header_duplicate_kid", Token: raw(`{"alg":"RS256","kid":"jwk-test-other","kid":"jwk-test-primary"}`, nil, ""), Want: ForbiddenHeader},
		// Duplicate hidden behind a JSON escape.
		{Name: "header_duplicate_escaped", Token: raw(`{"alg":"RS256","kid":"jwk-test-primary","\u006bid":"jwk-test-primary"}`, nil, ""), Want: ForbiddenHeader},
		// A forbidden name hidden behind a JSON escape.
		{Name: "header_escaped_jku", Token: raw(`{"alg":"RS256","kid":"jwk-test-primary","\u006aku":"https://evil.example"}`, nil, ""), Want: ForbiddenHeader},
		// Hundreds of header parameters (quadratic duplicate checks).
		{Name: "header_many_params", Token: func(tb testing.TB, e *Env) string {
			h := map[string]any{}
			for i := range 300 {
				h[fmt.Sprintf("p%d", i)] = 0
			}
			return e.Sign(tb, e.Claims(iat0), h)
		}, Want: ForbiddenHeader},
		// Header is not an object.
		{Name: "header_array", Token: raw(`["RS256"]`, nil, ""), Want: Malformed},

		// --- structure and encoding ---
		// Signature segment stripped.
		{Name: "signature_stripped", Token: func(tb testing.TB, e *Env) string {
			t := valid(tb, e)
			return t[:strings.LastIndexByte(t, '.')+1]
		}, Want: Malformed},
		// One byte of the signature changed.
		{Name: "signature_tampered", Token: func(tb testing.TB, e *Env) string { return Tamper(valid(tb, e), 2) }, Want: BadSignature},
		// Signature truncated.
		{Name: "signature_truncated", Token: func(tb testing.TB, e *Env) string {
			t := valid(tb, e)
			i := strings.LastIndexByte(t, '.')
			sig, _ := base64.RawURLEncoding.DecodeString(t[i+1:])
			return t[:i+1] + base64.RawURLEncoding.EncodeToString(sig[:len(sig)-8])
		}, Want: BadSignature},
		// Payload changed after signing.
		{Name: "payload_tampered", Token: func(tb testing.TB, e *Env) string {
			t := valid(tb, e)
			p := strings.Split(t, ".")
			p[1] = B64(RawPayload(tb, e, nil, `"role":"admin"`))
			return strings.Join(p, ".")
		}, Want: BadSignature},
		// Two segments.
		{Name: "two_segments", Token: func(tb testing.TB, e *Env) string { t := valid(tb, e); return t[:strings.LastIndexByte(t, '.')] }, Want: Malformed},
		// Four segments (JWE-like or smuggled data).
		{Name: "four_segments", Token: func(tb testing.TB, e *Env) string { return valid(tb, e) + ".AAAA" }, Want: Malformed},
		// One segment.
		{Name: "one_segment", Token: func(tb testing.TB, e *Env) string { return "abc" }, Want: Malformed},
		// Empty string.
		{Name: "empty", Token: func(tb testing.TB, e *Env) string { return "" }, Want: Malformed},
		// Only dots.
		{Name: "only_dots", Token: func(tb testing.TB, e *Env) string { return ".." }, Want: Malformed},
		// base64 padding on the header.
		{Name: "padding_header", Token: func(tb testing.TB, e *Env) string {
			key, _, _ := Keys()
			hdr := goodHeader
			for len(hdr)%3 == 0 {
				hdr += " "
			}
			// The signature covers the padded form: only the padding is wrong.
			input := base64.URLEncoding.EncodeToString([]byte(hdr)) + "." + B64(RawPayload(tb, e, nil, ""))
			return input + "." + RSASign(tb, key, input)
		}, Want: Malformed},
		// Padding on the signature.
		{Name: "padding_signature", Token: func(tb testing.TB, e *Env) string { return valid(tb, e) + "==" }, Want: Malformed},
		// Non-canonical base64: unused trailing bits set in the signature.
		{Name: "noncanonical_signature", Token: func(tb testing.TB, e *Env) string {
			t := valid(tb, e)
			// 256-byte signatures end in a 2-character group carrying 4 unused bits.
			last := t[len(t)-1]
			i := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", last)
			return t[:len(t)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[i|1])
		}, Want: Malformed},
		// Standard-alphabet characters.
		{Name: "std_base64_alphabet", Token: func(tb testing.TB, e *Env) string { return strings.Replace(valid(tb, e), "A", "+", 1) }, Want: Malformed},
		// A line break inside a segment (Go's decoder would skip it).
		{Name: "newline_inside", Token: func(tb testing.TB, e *Env) string { t := valid(tb, e); return t[:10] + "\n" + t[10:] }, Want: Malformed},
		// Surrounding whitespace.
		{Name: "trailing_space", Token: func(tb testing.TB, e *Env) string { return valid(tb, e) + " " }, Want: Malformed},
		// Over the 8 KiB cap: rejected before decoding.
		{Name: "oversized", Token: func(tb testing.TB, e *Env) string {
			return e.Sign(tb, With(e.Claims(iat0), map[string]any{"pad": strings.Repeat("x", MaxTokenBytes)}), nil)
		}, Want: TooLarge},
		// Payload is a JSON array.
		{Name: "payload_array", Token: func(tb testing.TB, e *Env) string {
			key, _, _ := Keys()
			return SignRaw(tb, key, goodHeader, `[1,2]`)
		}, Want: Malformed},
		// Payload is not JSON.
		{Name: "payload_not_json", Token: func(tb testing.TB, e *Env) string {
			key, _, _ := Keys()
			return SignRaw(tb, key, goodHeader, `{"sub":`)
		}, Want: Malformed},
		// Payload is JSON null (golang-jwt's parser would have let it through as empty claims).
		{Name: "payload_null", Token: func(tb testing.TB, e *Env) string {
			key, _, _ := Keys()
			return SignRaw(tb, key, goodHeader, `null`)
		}, Want: Malformed},
		// Header is JSON null: no alg.
		{Name: "header_null", Token: raw(`null`, nil, ""), Want: Algorithm},
		// A header number no float64 holds: undecodable, as in a map decode.
		{Name: "header_number_overflow", Token: raw(`{"alg":"RS256","kid":"jwk-test-primary","x":1e400}`, nil, ""), Want: Malformed},
		// The same hidden in an array.
		{Name: "header_nested_number_overflow", Token: raw(`{"alg":"RS256","kid":"jwk-test-primary","x":[-1e999]}`, nil, ""), Want: Malformed},
		// Short unknown header names that are substrings of forbidden ones are fine.
		{Name: "header_short_names_ok", Token: raw(`{"alg":"RS256","kid":"jwk-test-primary","p":1,"ku":true,"5c":null}`, nil, "")},
		// alg spelt with JSON escapes still reads RS256.
		{Name: "header_alg_escaped_ok", Token: raw(`{"alg":"RS\u00325\u0036","kid":"jwk-test-primary"}`, nil, "")},
		// alg with a trailing space names no algorithm.
		{Name: "header_alg_trailing_space", Token: raw(`{"alg":"RS256 ","kid":"jwk-test-primary"}`, nil, ""), Want: Algorithm},

		// --- duplicated claims ---
		// A second exp: one reader could see a far-future value.
		{Name: "duplicate_exp", Token: raw(goodHeader, nil, fmt.Sprintf(`"exp":%d`, iat0.Add(time.Hour).Unix())), Want: Claims},
		// A second iss.
		{Name: "duplicate_iss", Token: raw(goodHeader, nil, `"iss":"stytch.com/other"`), Want: Claims},
		// A second session claim.
		{Name: "duplicate_session", Token: raw(goodHeader, nil, `"https://stytch.com/session":{}`), Want: Claims},
		// Duplicate hidden behind an escape.
		{Name: "duplicate_escaped_sub", Token: raw(goodHeader, nil, `"\u0073ub":"member-test-evil"`), Want: Claims},
		// Hundreds of claims in the Stytch namespace.
		{Name: "many_stytch_claims", Token: func(tb testing.TB, e *Env) string {
			c := e.Claims(iat0)
			for i := range 100 {
				c[fmt.Sprintf("https://stytch.com/%d", i)] = 0
			}
			return e.Sign(tb, c, nil)
		}, Want: Claims},
		// A duplicated custom claim.
		{Name: "duplicate_custom", Token: raw(goodHeader, nil, `"tenant_tier":"platinum"`), Want: Claims},

		// --- time claim types ---
		// exp as a string of digits (encoding/json would accept it into json.Number).
		{Name: "exp_string", Token: claims(map[string]any{"exp": fmt.Sprint(exp0.Unix())}), Want: Claims},
		// iat as a string.
		{Name: "iat_string", Token: claims(map[string]any{"iat": fmt.Sprint(iat0.Unix())}), Want: Claims},
		// nbf as a string.
		{Name: "nbf_string", Token: claims(map[string]any{"nbf": fmt.Sprint(iat0.Unix())}), Want: Claims},
		// exp null.
		{Name: "exp_null", Token: raw(goodHeader, []string{"exp"}, `"exp":null`), Want: Claims},
		// exp zero ("never expires" in some libraries).
		{Name: "exp_zero", Token: claims(map[string]any{"exp": 0}), Want: Claims},
		// exp negative.
		{Name: "exp_negative", Token: claims(map[string]any{"exp": -1}), Want: Claims},
		// exp absurdly large.
		{Name: "exp_huge", Token: claims(map[string]any{"exp": 1e300}), Want: Claims},
		// exp boolean.
		{Name: "exp_bool", Token: claims(map[string]any{"exp": true}), Want: Claims},
		// exp missing.
		{Name: "exp_missing", Token: claims(map[string]any{"exp": nil}), Want: Claims},
		// iat missing.
		{Name: "iat_missing", Token: claims(map[string]any{"iat": nil}), Want: Claims},
		// iat null.
		{Name: "iat_null", Token: raw(goodHeader, []string{"iat"}, `"iat":null`), Want: Claims},
		// iat zero (1970).
		{Name: "iat_zero", Token: claims(map[string]any{"iat": 0}), Want: Claims},
		// iat negative.
		{Name: "iat_negative", Token: claims(map[string]any{"iat": -1}), Want: Claims},
		// iat boolean.
		{Name: "iat_bool", Token: claims(map[string]any{"iat": true}), Want: Claims},
		// iat written with an exponent is still a JSON number.
		{Name: "iat_exponent_ok", Token: raw(goodHeader, []string{"iat"}, fmt.Sprintf(`"iat":%de0`, iat0.Unix()))},
		// nbf null.
		{Name: "nbf_null", Token: raw(goodHeader, []string{"nbf"}, `"nbf":null`), Want: Claims},
		// nbf in the future but within the leeway.
		{Name: "nbf_within_leeway_ok", Token: claims(map[string]any{"nbf": t0.Add(Leeway).Unix()})},
		// nbf in the future beyond the leeway.
		{Name: "nbf_beyond_leeway", Token: claims(map[string]any{"nbf": t0.Add(Leeway + time.Second).Unix()}), Want: NotYetValid},
		// jti that is not a string.
		{Name: "jti_number", Token: claims(map[string]any{"jti": 42}), Want: Claims},
		// nbf missing is allowed (optional in RFC 7519).
		{Name: "nbf_missing_ok", Token: claims(map[string]any{"nbf": nil})},
		// Fractional seconds are valid JSON numbers.
		{Name: "exp_fractional_ok", Token: claims(map[string]any{"exp": float64(exp0.Unix()) + 0.5})},

		// --- time boundaries (leeway 5 s) ---
		// One second before exp.
		{Name: "at_exp_minus_1s", Token: valid, At: exp0.Add(-time.Second)},
		// Exactly at exp: inside the leeway.
		{Name: "at_exp", Token: valid, At: exp0},
		// Last second inside the leeway.
		{Name: "at_exp_plus_leeway_minus_1s", Token: valid, At: exp0.Add(4 * time.Second)},
		// At exp + leeway: expired.
		{Name: "at_exp_plus_leeway", Token: valid, At: exp0.Add(5 * time.Second), Want: Expired},
		// Long expired.
		{Name: "expired_hour", Token: valid, At: exp0.Add(time.Hour), Want: Expired},
		// iat in the future within the leeway (clock skew).
		{Name: "iat_future_within_leeway", Token: valid, At: iat0.Add(-5 * time.Second)},
		// iat in the future beyond the leeway.
		{Name: "iat_future", Token: valid, At: iat0.Add(-6 * time.Second), Want: NotYetValid},
		// nbf in the future beyond the leeway.
		{Name: "nbf_future", Token: claims(map[string]any{"nbf": t0.Add(time.Minute).Unix()}), Want: NotYetValid},
		// A lifetime of 5 min + leeway is the maximum.
		{Name: "lifetime_max", Token: claims(map[string]any{"exp": iat0.Add(5*time.Minute + 5*time.Second).Unix()})},
		// A long-lived token, as a stolen signing key would mint.
		{Name: "lifetime_too_long", Token: claims(map[string]any{"exp": iat0.Add(5*time.Minute + 6*time.Second).Unix()}), Want: Claims},
		// A day-long token.
		{Name: "lifetime_day", Token: claims(map[string]any{"exp": iat0.Add(24 * time.Hour).Unix()}), Want: Claims},
		// exp before iat.
		{Name: "exp_before_iat", Token: claims(map[string]any{"exp": iat0.Add(-time.Second).Unix()}), Want: Claims},
		// Expired and from another issuer: the issuer wins, no refresh.
		{Name: "expired_wrong_issuer", Token: claims(map[string]any{"iss": "stytch.com/project-test-other"}), At: exp0.Add(time.Hour), Want: Issuer},

		// --- iss ---
		// Another project's issuer.
		{Name: "iss_other_project", Token: claims(map[string]any{"iss": "stytch.com/project-test-other"}), Want: Issuer},
		// With a scheme.
		{Name: "iss_with_scheme", Token: func(tb testing.TB, e *Env) string {
			return e.Sign(tb, With(e.Claims(iat0), map[string]any{"iss": "https://stytch.com/" + e.Server.ProjectID}), nil)
		}, Want: Issuer},
		// With a trailing slash.
		{Name: "iss_trailing_slash", Token: func(tb testing.TB, e *Env) string {
			return e.Sign(tb, With(e.Claims(iat0), map[string]any{"iss": "stytch.com/" + e.Server.ProjectID + "/"}), nil)
		}, Want: Issuer},
		// Case changed.
		{Name: "iss_case", Token: func(tb testing.TB, e *Env) string {
			return e.Sign(tb, With(e.Claims(iat0), map[string]any{"iss": "Stytch.com/" + e.Server.ProjectID}), nil)
		}, Want: Issuer},
		// The API base URL, which the reference SDK accepts as a fallback.
		{Name: "iss_base_url", Token: func(tb testing.TB, e *Env) string {
			return e.Sign(tb, With(e.Claims(iat0), map[string]any{"iss": e.Server.URL}), nil)
		}, Want: Issuer},
		// A custom domain that is not configured.
		{Name: "iss_unconfigured_custom_domain", Token: claims(map[string]any{"iss": "https://auth.example.com"}), Want: Issuer},
		// Missing.
		{Name: "iss_missing", Token: claims(map[string]any{"iss": nil}), Want: Issuer},
		// Empty.
		{Name: "iss_empty", Token: claims(map[string]any{"iss": ""}), Want: Issuer},
		// Wrong type.
		{Name: "iss_array", Token: func(tb testing.TB, e *Env) string {
			return e.Sign(tb, With(e.Claims(iat0), map[string]any{"iss": []string{"stytch.com/" + e.Server.ProjectID}}), nil)
		}, Want: Claims},

		// --- aud ---
		// A plain string aud is valid.
		{Name: "aud_string_ok", Token: func(tb testing.TB, e *Env) string {
			return e.Sign(tb, With(e.Claims(iat0), map[string]any{"aud": e.Server.ProjectID}), nil)
		}},
		// The project among other audiences.
		{Name: "aud_among_others_ok", Token: func(tb testing.TB, e *Env) string {
			return e.Sign(tb, With(e.Claims(iat0), map[string]any{"aud": []string{"other", e.Server.ProjectID}}), nil)
		}},
		// Another project's token.
		{Name: "aud_other_project", Token: claims(map[string]any{"aud": []string{"project-test-other"}}), Want: Audience},
		// A prefix of the project id.
		{Name: "aud_prefix", Token: func(tb testing.TB, e *Env) string {
			return e.Sign(tb, With(e.Claims(iat0), map[string]any{"aud": []string{e.Server.ProjectID[:len(e.Server.ProjectID)-1]}}), nil)
		}, Want: Audience},
		// Missing.
		{Name: "aud_missing", Token: claims(map[string]any{"aud": nil}), Want: Audience},
		// Empty array.
		{Name: "aud_empty", Token: claims(map[string]any{"aud": []string{}}), Want: Audience},
		// Wrong type.
		{Name: "aud_number", Token: claims(map[string]any{"aud": 1}), Want: Claims},

		// --- sub and the Stytch claims ---
		// No subject.
		{Name: "sub_missing", Token: claims(map[string]any{"sub": nil}), Want: Claims},
		// Empty subject.
		{Name: "sub_empty", Token: claims(map[string]any{"sub": ""}), Want: Claims},
		// Subject of the wrong type.
		{Name: "sub_number", Token: claims(map[string]any{"sub": 1}), Want: Claims},
		// A bare JWT without the session claim (another product's token).
		{Name: "session_claim_missing", Token: claims(map[string]any{SessionClaim: nil}), Want: Claims},
		// Session claim of the wrong type.
		{Name: "session_claim_string", Token: claims(map[string]any{SessionClaim: "session"}), Want: Claims},
		// Session claim without an id.
		{Name: "session_id_missing", Token: func(tb testing.TB, e *Env) string {
			c := e.Claims(iat0)
			return e.Sign(tb, With(c, map[string]any{SessionClaim: SessionWith(c, map[string]any{"id": nil})}), nil)
		}, Want: Claims},
		// Organization claim missing.
		{Name: "organization_claim_missing", Token: claims(map[string]any{OrganizationClaim: nil}), Want: Claims},
		// Malformed session timestamp: an error, not a panic.
		{Name: "session_started_at_malformed", Token: func(tb testing.TB, e *Env) string {
			c := e.Claims(iat0)
			return e.Sign(tb, With(c, map[string]any{SessionClaim: SessionWith(c, map[string]any{"started_at": "yesterday"})}), nil)
		}, Want: Claims},
		// Malformed factor timestamp.
		{Name: "factor_time_malformed", Token: func(tb testing.TB, e *Env) string {
			c := e.Claims(iat0)
			f := []any{map[string]any{"type": "magic_link", "last_authenticated_at": "soon"}}
			return e.Sign(tb, With(c, map[string]any{SessionClaim: SessionWith(c, map[string]any{"authentication_factors": f})}), nil)
		}, Want: Claims},
		// Roles of the wrong type.
		{Name: "roles_wrong_type", Token: func(tb testing.TB, e *Env) string {
			c := e.Claims(iat0)
			return e.Sign(tb, With(c, map[string]any{SessionClaim: SessionWith(c, map[string]any{"roles": "admin"})}), nil)
		}, Want: Claims},

		// --- keys ---
		// A 1024-bit key published in the JWKS is never used.
		{Name: "jwks_key_1024_bits", Token: weakKey(func(w WeakKeys) *rsa.PrivateKey { return w.Bits1024 }), Want: UnknownKey},
		// A key one bit short of 2048 is never used.
		{Name: "jwks_key_2047_bits", Token: weakKey(func(w WeakKeys) *rsa.PrivateKey { return w.Bits2047 }), Want: UnknownKey},
		// Public exponent 3 (signature forgery on lax PKCS#1 v1.5 checks) is never used.
		{Name: "jwks_key_exponent_3", Token: weakKey(func(w WeakKeys) *rsa.PrivateKey { return w.Exponent3 }), Want: UnknownKey},
		// Any exponent other than 65537 is never used.
		{Name: "jwks_key_exponent_65539", Token: weakKey(func(w WeakKeys) *rsa.PrivateKey { return w.Exponent65539 }), Want: UnknownKey},

		// --- M2M access tokens where a session JWT is required ---
		// A genuine M2M token on a member route.
		{Name: "m2m_token_as_session", Token: func(tb testing.TB, e *Env) string {
			return e.Sign(tb, e.M2MClaims(iat0), nil)
		}, Want: M2MToken},
		// An expired M2M token: refused as M2M, never refreshed with Stytch.
		{Name: "m2m_token_expired_as_session", Token: func(tb testing.TB, e *Env) string {
			return e.Sign(tb, e.M2MClaims(iat0), nil)
		}, At: iat0.Add(2 * M2MLifetime), Want: M2MToken},
		// A session JWT with a string scope claim is still a session (scope is a custom claim).
		{Name: "session_with_string_scope_ok", Token: claims(map[string]any{"scope": "admin:*"})},
		// No session claim and a scope that is no string: neither kind, refused as a session.
		{Name: "no_session_scope_array", Token: claims(map[string]any{SessionClaim: nil, "scope": []string{"read:documents"}}), Want: Claims},
	}
}

// M2MTable returns the cases for a verifier of M2M access tokens at t0
// (Kind M2M): every token is issued one minute before t0 with a one-hour
// lifetime unless the case says otherwise.
func M2MTable(t0 time.Time) []Case {
	iat0 := t0.Add(-time.Minute)
	exp0 := iat0.Add(M2MLifetime)
	valid := func(tb testing.TB, e *Env) string { return e.Sign(tb, e.M2MClaims(iat0), nil) }
	claims := func(ch map[string]any) func(tb testing.TB, e *Env) string {
		return func(tb testing.TB, e *Env) string { return e.Sign(tb, With(e.M2MClaims(iat0), ch), nil) }
	}
	raw := func(drop []string, extra string) func(tb testing.TB, e *Env) string {
		return func(tb testing.TB, e *Env) string {
			key, _, _ := Keys()
			c := e.M2MClaims(iat0)
			for _, k := range drop {
				delete(c, k)
			}
			s := MustJSON(tb, c)
			if extra != "" {
				s = s[:len(s)-1] + "," + extra + "}"
			}
			return SignRaw(tb, key, `{"alg":"RS256","kid":"`+KID+`","typ":"JWT"}`, s)
		}
	}
	cases := []Case{
		// The baseline: an M2M token as Stytch mints it.
		{Name: "m2m_valid", Token: valid},
		// Exactly at exp: inside the leeway.
		{Name: "m2m_at_exp", Token: valid, At: exp0},
		// Signed by an attacker's key under the project's kid.
		{Name: "m2m_forged_attacker_key", Token: func(tb testing.TB, e *Env) string {
			_, other, _ := Keys()
			return SignRaw(tb, other, `{"alg":"RS256","kid":"`+KID+`","typ":"JWT"}`, MustJSON(tb, e.M2MClaims(iat0)))
		}, Want: BadSignature},
		// Scopes widened after signing.
		{Name: "m2m_scope_tampered", Token: func(tb testing.TB, e *Env) string {
			p := strings.Split(valid(tb, e), ".")
			p[1] = B64(MustJSON(tb, With(e.M2MClaims(iat0), map[string]any{"scope": "admin:*"})))
			return strings.Join(p, ".")
		}, Want: BadSignature},
		// A kid the JWKS never published.
		{Name: "m2m_kid_unknown", Token: func(tb testing.TB, e *Env) string {
			return e.Sign(tb, e.M2MClaims(iat0), map[string]any{"kid": "jwk-test-forged"})
		}, Want: UnknownKey},
		// Signed by a published key with public exponent 3.
		{Name: "m2m_key_exponent_3", Token: func(tb testing.TB, e *Env) string {
			k := Weak().Exponent3
			e.Server.PublishKey(&k.PublicKey, "jwk-test-m2m-e3")
			return SignRaw(tb, k, `{"alg":"RS256","kid":"jwk-test-m2m-e3","typ":"JWT"}`, MustJSON(tb, e.M2MClaims(iat0)))
		}, Want: UnknownKey},
		// No signature needed, says the attacker.
		{Name: "m2m_alg_none", Token: func(tb testing.TB, e *Env) string {
			return e.Sign(tb, e.M2MClaims(iat0), map[string]any{"alg": "none"})
		}, Want: Algorithm},
		// HMAC keyed with the public RSA key.
		{Name: "m2m_hs256_keyed_with_public_key", Token: func(tb testing.TB, e *Env) string {
			key, _, _ := Keys()
			der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
			if err != nil {
				tb.Fatal(err)
			}
			return SignWith(tb, jwt.SigningMethodHS256, der, map[string]any{"kid": KID}, e.M2MClaims(iat0))
		}, Want: Algorithm},
		// A key set URL smuggled into the header.
		{Name: "m2m_header_jku", Token: func(tb testing.TB, e *Env) string {
			return e.Sign(tb, e.M2MClaims(iat0), map[string]any{"jku": "https://evil.example/jwks"})
		}, Want: ForbiddenHeader},
		// Over the size cap.
		{Name: "m2m_oversized", Token: claims(map[string]any{"pad": strings.Repeat("x", MaxTokenBytes)}), Want: TooLarge},
		// Invalid UTF-8 in the scope.
		{Name: "m2m_scope_invalid_utf8", Token: raw([]string{"scope"}, "\"scope\":\"read:docu\xffments\""), Want: Malformed},
		// Another project's issuer.
		{Name: "m2m_iss_other_project", Token: claims(map[string]any{"iss": "stytch.com/project-test-other"}), Want: Issuer},
		// The API base URL as issuer.
		{Name: "m2m_iss_base_url", Token: func(tb testing.TB, e *Env) string {
			return e.Sign(tb, With(e.M2MClaims(iat0), map[string]any{"iss": e.Server.URL}), nil)
		}, Want: Issuer},
		// Another project's audience.
		{Name: "m2m_aud_other_project", Token: claims(map[string]any{"aud": []string{"project-test-other"}}), Want: Audience},
		// No audience.
		{Name: "m2m_aud_missing", Token: claims(map[string]any{"aud": nil}), Want: Audience},
		// Expired: refused locally, there is no remote refresh for M2M tokens.
		{Name: "m2m_expired", Token: valid, At: exp0.Add(Leeway), Want: Expired},
		// Long expired.
		{Name: "m2m_expired_day", Token: valid, At: exp0.Add(24 * time.Hour), Want: Expired},
		// iat in the future beyond the leeway.
		{Name: "m2m_iat_future", Token: valid, At: iat0.Add(-Leeway - time.Second), Want: NotYetValid},
		// nbf in the future beyond the leeway.
		{Name: "m2m_nbf_future", Token: claims(map[string]any{"nbf": t0.Add(time.Minute).Unix()}), Want: NotYetValid},
		// The longest lifetime: one hour plus the leeway.
		{Name: "m2m_lifetime_max", Token: claims(map[string]any{"exp": iat0.Add(M2MLifetime + Leeway).Unix()})},
		// A second longer, as a stolen signing key would mint.
		{Name: "m2m_lifetime_too_long", Token: claims(map[string]any{"exp": iat0.Add(M2MLifetime + Leeway + time.Second).Unix()}), Want: Claims},
		// A day-long token.
		{Name: "m2m_lifetime_day", Token: claims(map[string]any{"exp": iat0.Add(24 * time.Hour).Unix()}), Want: Claims},
		// exp as a string.
		{Name: "m2m_exp_string", Token: claims(map[string]any{"exp": fmt.Sprint(exp0.Unix())}), Want: Claims},
		// exp missing.
		{Name: "m2m_exp_missing", Token: claims(map[string]any{"exp": nil}), Want: Claims},
		// iat missing.
		{Name: "m2m_iat_missing", Token: claims(map[string]any{"iat": nil}), Want: Claims},
		// No client id.
		{Name: "m2m_sub_missing", Token: claims(map[string]any{"sub": nil}), Want: Claims},
		// Client id of the wrong type.
		{Name: "m2m_sub_number", Token: claims(map[string]any{"sub": 7}), Want: Claims},
		// Scopes as an array, which a lax reader would take.
		{Name: "m2m_scope_array", Token: claims(map[string]any{"scope": []string{"read:documents"}}), Want: Claims},
		// Scope as a number.
		{Name: "m2m_scope_number", Token: claims(map[string]any{"scope": 1}), Want: Claims},
		// Scope as an object.
		{Name: "m2m_scope_object", Token: claims(map[string]any{"scope": map[string]any{"read": "documents"}}), Want: Claims},
		// Scope null.
		{Name: "m2m_scope_null", Token: raw([]string{"scope"}, `"scope":null`), Want: Claims},
		// No scope at all.
		{Name: "m2m_scope_missing", Token: claims(map[string]any{"scope": nil}), Want: Claims},
		// A second scope: one reader could see "admin:*".
		{Name: "m2m_duplicate_scope", Token: raw(nil, `"scope":"admin:*"`), Want: Claims},
		// A second sub.
		{Name: "m2m_duplicate_sub", Token: raw(nil, `"sub":"m2m-client-test-evil"`), Want: Claims},
		// An organization claim: M2M tokens are bound to the project, not to an organization.
		{Name: "m2m_organization_claim", Token: claims(map[string]any{OrganizationClaim: map[string]any{"organization_id": "organization-test-1", "slug": "acme"}}), Want: Claims},
		// A session claim next to a string scope: a session JWT, not an M2M token.
		{Name: "m2m_session_claim_with_string_scope", Token: func(tb testing.TB, e *Env) string {
			return e.Sign(tb, With(e.Claims(iat0), map[string]any{"scope": "read:documents"}), nil)
		}, Want: NotM2M},
		// A genuine session JWT on a scope route.
		{Name: "m2m_session_jwt", Token: func(tb testing.TB, e *Env) string { return e.Sign(tb, e.Claims(iat0), nil) }, Want: NotM2M},
		// An expired session JWT on a scope route: refused as a session, never refreshed.
		{Name: "m2m_session_jwt_expired", Token: func(tb testing.TB, e *Env) string { return e.Sign(tb, e.Claims(iat0), nil) }, At: iat0.Add(time.Hour), Want: NotM2M},
	}
	for i := range cases {
		cases[i].Kind = M2M
	}
	return cases
}
