package verifier

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/stytchtest"
)

// iat0 is the issue time of the table's tokens: one minute before t0, so
// they are valid at t0 and expire at t0+4m.
var iat0 = t0.Add(-time.Minute)

// tokenCase is one row of the attack table.
type tokenCase struct {
	name  string
	token func(tb testing.TB, e *env) string
	at    time.Time // clock time of the check; zero means t0
	want  error     // nil means accepted
}

// tamper changes one byte of segment i (0 header, 1 payload, 2 signature)
// to another base64url character.
func tamper(tok string, i int) string {
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

// rawPayload is the valid claims as JSON text, with extra raw members
// spliced in before the closing brace.
func rawPayload(tb testing.TB, e *env, drop []string, extra string) string {
	c := e.claims(iat0)
	for _, k := range drop {
		delete(c, k)
	}
	s := mustJSON(tb, c)
	if extra != "" {
		s = s[:len(s)-1] + "," + extra + "}"
	}
	return s
}

func attackTable() []tokenCase {
	valid := func(tb testing.TB, e *env) string { return e.sign(tb, e.claims(iat0), nil) }
	claims := func(ch map[string]any) func(tb testing.TB, e *env) string {
		return func(tb testing.TB, e *env) string { return e.sign(tb, with(e.claims(iat0), ch), nil) }
	}
	header := func(h map[string]any) func(tb testing.TB, e *env) string {
		return func(tb testing.TB, e *env) string { return e.sign(tb, e.claims(iat0), h) }
	}
	raw := func(hdr string, drop []string, extra string) func(tb testing.TB, e *env) string {
		return func(tb testing.TB, e *env) string {
			key, _, _ := keys(tb)
			return signRaw(tb, key, hdr, rawPayload(tb, e, drop, extra))
		}
	}
	const goodHeader = `{"alg":"RS256","kid":"jwk-test-primary","typ":"JWT"}`
	exp0 := iat0.Add(5 * time.Minute)

	return []tokenCase{
		// The baseline: an emulator-signed token with Stytch's claims.
		{name: "valid", token: valid},

		// --- algorithm confusion ---
		// Attacker claims no signature is needed.
		{name: "alg_none", token: header(map[string]any{"alg": "none"}), want: ErrAlgorithm},
		// Same with casing variants that lax libraries accept.
		{name: "alg_None", token: header(map[string]any{"alg": "None"}), want: ErrAlgorithm},
		{name: "alg_NONE", token: header(map[string]any{"alg": "NONE"}), want: ErrAlgorithm},
		{name: "alg_nOnE", token: header(map[string]any{"alg": "nOnE"}), want: ErrAlgorithm},
		// alg none with the signature removed entirely.
		{name: "alg_none_empty_signature", token: func(tb testing.TB, e *env) string {
			t := e.sign(tb, e.claims(iat0), map[string]any{"alg": "none"})
			return t[:strings.LastIndexByte(t, '.')+1]
		}, want: ErrMalformed},
		// HMAC keyed with the public RSA key (classic key confusion).
		{name: "hs256_keyed_with_public_key", token: func(tb testing.TB, e *env) string {
			key, _, _ := keys(tb)
			der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
			if err != nil {
				tb.Fatal(err)
			}
			return signWith(tb, jwt.SigningMethodHS256, der, map[string]any{"kid": e.kid}, e.claims(iat0))
		}, want: ErrAlgorithm},
		// A genuine RS384 signature with the right key: still not RS256.
		{name: "rs384_real_signature", token: func(tb testing.TB, e *env) string {
			key, _, _ := keys(tb)
			return signWith(tb, jwt.SigningMethodRS384, key, map[string]any{"kid": e.kid}, e.claims(iat0))
		}, want: ErrAlgorithm},
		// A genuine PS256 signature with the right RSA key.
		{name: "ps256_real_signature", token: func(tb testing.TB, e *env) string {
			key, _, _ := keys(tb)
			return signWith(tb, jwt.SigningMethodPS256, key, map[string]any{"kid": e.kid}, e.claims(iat0))
		}, want: ErrAlgorithm},
		// An ES256 token claiming the RSA key's kid.
		{name: "es256", token: func(tb testing.TB, e *env) string {
			ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				tb.Fatal(err)
			}
			return signWith(tb, jwt.SigningMethodES256, ek, map[string]any{"kid": e.kid}, e.claims(iat0))
		}, want: ErrAlgorithm},
		// alg missing from the header.
		{name: "alg_missing", token: header(map[string]any{"alg": nil}), want: ErrAlgorithm},
		// alg of the wrong JSON type.
		{name: "alg_number", token: header(map[string]any{"alg": 256}), want: ErrAlgorithm},

		// --- kid ---
		// No kid: the key cannot be selected.
		{name: "kid_missing", token: header(map[string]any{"kid": nil}), want: ErrForbiddenHeader},
		// kid of the wrong type.
		{name: "kid_number", token: header(map[string]any{"kid": 7}), want: ErrForbiddenHeader},
		// Empty kid.
		{name: "kid_empty", token: header(map[string]any{"kid": ""}), want: ErrForbiddenHeader},
		// A kid the JWKS never published (forged key id).
		{name: "kid_unknown", token: header(map[string]any{"kid": "jwk-test-forged"}), want: ErrUnknownKey},
		// Path traversal in kid must be a plain lookup.
		{name: "kid_path_traversal", token: header(map[string]any{"kid": "../../v1/b2b/sessions/jwks/x"}), want: ErrUnknownKey},
		// SQL-ish and control characters in kid.
		{name: "kid_hostile_chars", token: header(map[string]any{"kid": "' OR 1=1 --\x00\n"}), want: ErrUnknownKey},
		// A very long kid.
		{name: "kid_huge", token: header(map[string]any{"kid": strings.Repeat("k", 4000)}), want: ErrUnknownKey},
		// Signed with another key under the real kid.
		{name: "other_key_real_kid", token: func(tb testing.TB, e *env) string {
			_, other, _ := keys(tb)
			return signRaw(tb, other, goodHeader, rawPayload(tb, e, nil, ""))
		}, want: ErrBadSignature},

		// --- header injection ---
		// jku pointing at an attacker's key set.
		{name: "header_jku", token: header(map[string]any{"jku": "https://evil.example/jwks"}), want: ErrForbiddenHeader},
		// An embedded attacker key.
		{name: "header_jwk", token: header(map[string]any{"jwk": map[string]any{"kty": "RSA", "n": "AQAB", "e": "AQAB"}}), want: ErrForbiddenHeader},
		// x5u certificate URL.
		{name: "header_x5u", token: header(map[string]any{"x5u": "https://evil.example/cert"}), want: ErrForbiddenHeader},
		// Embedded certificate chain.
		{name: "header_x5c", token: header(map[string]any{"x5c": []string{"MIIB"}}), want: ErrForbiddenHeader},
		// Critical extensions we do not understand.
		{name: "header_crit", token: header(map[string]any{"crit": []string{"exp"}}), want: ErrForbiddenHeader},
		// Unencoded payload (RFC 7797).
		{name: "header_b64_false", token: header(map[string]any{"b64": false}), want: ErrForbiddenHeader},
		// Compressed payload.
		{name: "header_zip", token: header(map[string]any{"zip": "DEF"}), want: ErrForbiddenHeader},
		// Duplicated alg: one parser could read "none", another "RS256".
		{name: "header_duplicate_alg", token: raw(`{"alg":"none","alg":"RS256","kid":"jwk-test-primary"}`, nil, ""), want: ErrForbiddenHeader},
		// Duplicated kid.
		{name: "header_duplicate_kid", token: raw(`{"alg":"RS256","kid":"jwk-test-other","kid":"jwk-test-primary"}`, nil, ""), want: ErrForbiddenHeader},
		// Duplicate hidden behind a JSON escape.
		{name: "header_duplicate_escaped", token: raw(`{"alg":"RS256","kid":"jwk-test-primary","\u006bid":"jwk-test-primary"}`, nil, ""), want: ErrForbiddenHeader},
		// A forbidden name hidden behind a JSON escape.
		{name: "header_escaped_jku", token: raw(`{"alg":"RS256","kid":"jwk-test-primary","\u006aku":"https://evil.example"}`, nil, ""), want: ErrForbiddenHeader},
		// Hundreds of header parameters (quadratic duplicate checks).
		{name: "header_many_params", token: func(tb testing.TB, e *env) string {
			h := map[string]any{}
			for i := range 300 {
				h[fmt.Sprintf("p%d", i)] = 0
			}
			return e.sign(tb, e.claims(iat0), h)
		}, want: ErrForbiddenHeader},
		// Header is not an object.
		{name: "header_array", token: raw(`["RS256"]`, nil, ""), want: ErrMalformed},

		// --- structure and encoding ---
		// Signature segment stripped.
		{name: "signature_stripped", token: func(tb testing.TB, e *env) string {
			t := valid(tb, e)
			return t[:strings.LastIndexByte(t, '.')+1]
		}, want: ErrMalformed},
		// One byte of the signature changed.
		{name: "signature_tampered", token: func(tb testing.TB, e *env) string { return tamper(valid(tb, e), 2) }, want: ErrBadSignature},
		// Signature truncated.
		{name: "signature_truncated", token: func(tb testing.TB, e *env) string {
			t := valid(tb, e)
			i := strings.LastIndexByte(t, '.')
			sig, _ := base64.RawURLEncoding.DecodeString(t[i+1:])
			return t[:i+1] + base64.RawURLEncoding.EncodeToString(sig[:len(sig)-8])
		}, want: ErrBadSignature},
		// Payload changed after signing.
		{name: "payload_tampered", token: func(tb testing.TB, e *env) string {
			t := valid(tb, e)
			p := strings.Split(t, ".")
			p[1] = b64(rawPayload(tb, e, nil, `"role":"admin"`))
			return strings.Join(p, ".")
		}, want: ErrBadSignature},
		// Two segments.
		{name: "two_segments", token: func(tb testing.TB, e *env) string { t := valid(tb, e); return t[:strings.LastIndexByte(t, '.')] }, want: ErrMalformed},
		// Four segments (JWE-like or smuggled data).
		{name: "four_segments", token: func(tb testing.TB, e *env) string { return valid(tb, e) + ".AAAA" }, want: ErrMalformed},
		// One segment.
		{name: "one_segment", token: func(tb testing.TB, e *env) string { return "abc" }, want: ErrMalformed},
		// Empty string.
		{name: "empty", token: func(tb testing.TB, e *env) string { return "" }, want: ErrMalformed},
		// Only dots.
		{name: "only_dots", token: func(tb testing.TB, e *env) string { return ".." }, want: ErrMalformed},
		// base64 padding on the header.
		{name: "padding_header", token: func(tb testing.TB, e *env) string {
			key, _, _ := keys(tb)
			hdr := goodHeader
			for len(hdr)%3 == 0 {
				hdr += " "
			}
			// The signature covers the padded form: only the padding is wrong.
			input := base64.URLEncoding.EncodeToString([]byte(hdr)) + "." + b64(rawPayload(tb, e, nil, ""))
			return input + "." + rsaSign(tb, key, input)
		}, want: ErrMalformed},
		// Padding on the signature.
		{name: "padding_signature", token: func(tb testing.TB, e *env) string { return valid(tb, e) + "==" }, want: ErrMalformed},
		// Non-canonical base64: unused trailing bits set in the signature.
		{name: "noncanonical_signature", token: func(tb testing.TB, e *env) string {
			t := valid(tb, e)
			// 256-byte signatures end in a 2-character group carrying 4 unused bits.
			last := t[len(t)-1]
			i := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", last)
			return t[:len(t)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[i|1])
		}, want: ErrMalformed},
		// Standard-alphabet characters.
		{name: "std_base64_alphabet", token: func(tb testing.TB, e *env) string { return strings.Replace(valid(tb, e), "A", "+", 1) }, want: ErrMalformed},
		// A line break inside a segment (Go's decoder would skip it).
		{name: "newline_inside", token: func(tb testing.TB, e *env) string { t := valid(tb, e); return t[:10] + "\n" + t[10:] }, want: ErrMalformed},
		// Surrounding whitespace.
		{name: "trailing_space", token: func(tb testing.TB, e *env) string { return valid(tb, e) + " " }, want: ErrMalformed},
		// Over the 8 KiB cap: rejected before decoding.
		{name: "oversized", token: func(tb testing.TB, e *env) string {
			return e.sign(tb, with(e.claims(iat0), map[string]any{"pad": strings.Repeat("x", MaxTokenLength)}), nil)
		}, want: ErrTokenTooLarge},
		// Payload is a JSON array.
		{name: "payload_array", token: func(tb testing.TB, e *env) string {
			key, _, _ := keys(tb)
			return signRaw(tb, key, goodHeader, `[1,2]`)
		}, want: ErrMalformed},
		// Payload is not JSON.
		{name: "payload_not_json", token: func(tb testing.TB, e *env) string {
			key, _, _ := keys(tb)
			return signRaw(tb, key, goodHeader, `{"sub":`)
		}, want: ErrMalformed},
		// Payload is JSON null (golang-jwt's parser would have let it through as empty claims).
		{name: "payload_null", token: func(tb testing.TB, e *env) string {
			key, _, _ := keys(tb)
			return signRaw(tb, key, goodHeader, `null`)
		}, want: ErrMalformed},
		// Header is JSON null: no alg.
		{name: "header_null", token: raw(`null`, nil, ""), want: ErrAlgorithm},
		// Header is an array.
		{name: "header_array", token: raw(`["RS256"]`, nil, ""), want: ErrMalformed},
		// A header number no float64 holds: undecodable, as in a map decode.
		{name: "header_number_overflow", token: raw(`{"alg":"RS256","kid":"jwk-test-primary","x":1e400}`, nil, ""), want: ErrMalformed},
		// The same hidden in an array.
		{name: "header_nested_number_overflow", token: raw(`{"alg":"RS256","kid":"jwk-test-primary","x":[-1e999]}`, nil, ""), want: ErrMalformed},
		// Short unknown header names that are substrings of forbidden ones are fine.
		{name: "header_short_names_ok", token: raw(`{"alg":"RS256","kid":"jwk-test-primary","p":1,"ku":true,"5c":null}`, nil, "")},
		// alg spelt with JSON escapes still reads RS256.
		{name: "header_alg_escaped_ok", token: raw(`{"alg":"RS\u00325\u0036","kid":"jwk-test-primary"}`, nil, "")},
		// alg with a trailing space names no algorithm.
		{name: "header_alg_trailing_space", token: raw(`{"alg":"RS256 ","kid":"jwk-test-primary"}`, nil, ""), want: ErrAlgorithm},

		// --- duplicated claims ---
		// A second exp: one reader could see a far-future value.
		{name: "duplicate_exp", token: raw(goodHeader, nil, fmt.Sprintf(`"exp":%d`, iat0.Add(time.Hour).Unix())), want: ErrClaims},
		// A second iss.
		{name: "duplicate_iss", token: raw(goodHeader, nil, `"iss":"stytch.com/other"`), want: ErrClaims},
		// A second session claim.
		{name: "duplicate_session", token: raw(goodHeader, nil, `"https://stytch.com/session":{}`), want: ErrClaims},
		// Duplicate hidden behind an escape.
		{name: "duplicate_escaped_sub", token: raw(goodHeader, nil, `"\u0073ub":"member-test-evil"`), want: ErrClaims},
		// Hundreds of claims in the Stytch namespace.
		{name: "many_stytch_claims", token: func(tb testing.TB, e *env) string {
			c := e.claims(iat0)
			for i := range 100 {
				c[fmt.Sprintf("https://stytch.com/%d", i)] = 0
			}
			return e.sign(tb, c, nil)
		}, want: ErrClaims},
		// A duplicated custom claim.
		{name: "duplicate_custom", token: raw(goodHeader, nil, `"tenant_tier":"platinum"`), want: ErrClaims},

		// --- time claim types ---
		// exp as a string of digits (encoding/json would accept it into json.Number).
		{name: "exp_string", token: claims(map[string]any{"exp": fmt.Sprint(exp0.Unix())}), want: ErrClaims},
		// iat as a string.
		{name: "iat_string", token: claims(map[string]any{"iat": fmt.Sprint(iat0.Unix())}), want: ErrClaims},
		// nbf as a string.
		{name: "nbf_string", token: claims(map[string]any{"nbf": fmt.Sprint(iat0.Unix())}), want: ErrClaims},
		// exp null.
		{name: "exp_null", token: raw(goodHeader, []string{"exp"}, `"exp":null`), want: ErrClaims},
		// exp zero ("never expires" in some libraries).
		{name: "exp_zero", token: claims(map[string]any{"exp": 0}), want: ErrClaims},
		// exp negative.
		{name: "exp_negative", token: claims(map[string]any{"exp": -1}), want: ErrClaims},
		// exp absurdly large.
		{name: "exp_huge", token: claims(map[string]any{"exp": 1e300}), want: ErrClaims},
		// exp boolean.
		{name: "exp_bool", token: claims(map[string]any{"exp": true}), want: ErrClaims},
		// exp missing.
		{name: "exp_missing", token: claims(map[string]any{"exp": nil}), want: ErrClaims},
		// iat missing.
		{name: "iat_missing", token: claims(map[string]any{"iat": nil}), want: ErrClaims},
		// iat null.
		{name: "iat_null", token: raw(goodHeader, []string{"iat"}, `"iat":null`), want: ErrClaims},
		// iat zero (1970).
		{name: "iat_zero", token: claims(map[string]any{"iat": 0}), want: ErrClaims},
		// iat negative.
		{name: "iat_negative", token: claims(map[string]any{"iat": -1}), want: ErrClaims},
		// iat boolean.
		{name: "iat_bool", token: claims(map[string]any{"iat": true}), want: ErrClaims},
		// iat written with an exponent is still a JSON number.
		{name: "iat_exponent_ok", token: raw(goodHeader, []string{"iat"}, fmt.Sprintf(`"iat":%de0`, iat0.Unix()))},
		// nbf null.
		{name: "nbf_null", token: raw(goodHeader, []string{"nbf"}, `"nbf":null`), want: ErrClaims},
		// nbf in the future but within the leeway.
		{name: "nbf_within_leeway_ok", token: claims(map[string]any{"nbf": t0.Add(DefaultLeeway).Unix()})},
		// nbf in the future beyond the leeway.
		{name: "nbf_beyond_leeway", token: claims(map[string]any{"nbf": t0.Add(DefaultLeeway + time.Second).Unix()}), want: ErrNotYetValid},
		// jti that is not a string.
		{name: "jti_number", token: claims(map[string]any{"jti": 42}), want: ErrClaims},
		// nbf missing is allowed (optional in RFC 7519).
		{name: "nbf_missing_ok", token: claims(map[string]any{"nbf": nil})},
		// Fractional seconds are valid JSON numbers.
		{name: "exp_fractional_ok", token: claims(map[string]any{"exp": float64(exp0.Unix()) + 0.5})},

		// --- time boundaries (leeway 5 s) ---
		// One second before exp.
		{name: "at_exp_minus_1s", token: valid, at: exp0.Add(-time.Second)},
		// Exactly at exp: inside the leeway.
		{name: "at_exp", token: valid, at: exp0},
		// Last second inside the leeway.
		{name: "at_exp_plus_leeway_minus_1s", token: valid, at: exp0.Add(4 * time.Second)},
		// At exp + leeway: expired.
		{name: "at_exp_plus_leeway", token: valid, at: exp0.Add(5 * time.Second), want: ErrExpired},
		// Long expired.
		{name: "expired_hour", token: valid, at: exp0.Add(time.Hour), want: ErrExpired},
		// iat in the future within the leeway (clock skew).
		{name: "iat_future_within_leeway", token: valid, at: iat0.Add(-5 * time.Second)},
		// iat in the future beyond the leeway.
		{name: "iat_future", token: valid, at: iat0.Add(-6 * time.Second), want: ErrNotYetValid},
		// nbf in the future beyond the leeway.
		{name: "nbf_future", token: claims(map[string]any{"nbf": t0.Add(time.Minute).Unix()}), want: ErrNotYetValid},
		// A lifetime of 5 min + leeway is the maximum.
		{name: "lifetime_max", token: claims(map[string]any{"exp": iat0.Add(5*time.Minute + 5*time.Second).Unix()})},
		// A long-lived token, as a stolen signing key would mint.
		{name: "lifetime_too_long", token: claims(map[string]any{"exp": iat0.Add(5*time.Minute + 6*time.Second).Unix()}), want: ErrClaims},
		// A day-long token.
		{name: "lifetime_day", token: claims(map[string]any{"exp": iat0.Add(24 * time.Hour).Unix()}), want: ErrClaims},
		// exp before iat.
		{name: "exp_before_iat", token: claims(map[string]any{"exp": iat0.Add(-time.Second).Unix()}), want: ErrClaims},
		// Expired and from another issuer: the issuer wins, no refresh.
		{name: "expired_wrong_issuer", token: claims(map[string]any{"iss": "stytch.com/project-test-other"}), at: exp0.Add(time.Hour), want: ErrIssuer},

		// --- iss ---
		// Another project's issuer.
		{name: "iss_other_project", token: claims(map[string]any{"iss": "stytch.com/project-test-other"}), want: ErrIssuer},
		// With a scheme.
		{name: "iss_with_scheme", token: func(tb testing.TB, e *env) string {
			return e.sign(tb, with(e.claims(iat0), map[string]any{"iss": "https://stytch.com/" + e.srv.ProjectID}), nil)
		}, want: ErrIssuer},
		// With a trailing slash.
		{name: "iss_trailing_slash", token: func(tb testing.TB, e *env) string {
			return e.sign(tb, with(e.claims(iat0), map[string]any{"iss": "stytch.com/" + e.srv.ProjectID + "/"}), nil)
		}, want: ErrIssuer},
		// Case changed.
		{name: "iss_case", token: func(tb testing.TB, e *env) string {
			return e.sign(tb, with(e.claims(iat0), map[string]any{"iss": "Stytch.com/" + e.srv.ProjectID}), nil)
		}, want: ErrIssuer},
		// The API base URL, which the reference SDK accepts as a fallback.
		{name: "iss_base_url", token: func(tb testing.TB, e *env) string {
			return e.sign(tb, with(e.claims(iat0), map[string]any{"iss": e.srv.URL}), nil)
		}, want: ErrIssuer},
		// A custom domain that is not configured.
		{name: "iss_unconfigured_custom_domain", token: claims(map[string]any{"iss": "https://auth.example.com"}), want: ErrIssuer},
		// Missing.
		{name: "iss_missing", token: claims(map[string]any{"iss": nil}), want: ErrIssuer},
		// Empty.
		{name: "iss_empty", token: claims(map[string]any{"iss": ""}), want: ErrIssuer},
		// Wrong type.
		{name: "iss_array", token: func(tb testing.TB, e *env) string {
			return e.sign(tb, with(e.claims(iat0), map[string]any{"iss": []string{"stytch.com/" + e.srv.ProjectID}}), nil)
		}, want: ErrClaims},

		// --- aud ---
		// A plain string aud is valid.
		{name: "aud_string_ok", token: func(tb testing.TB, e *env) string {
			return e.sign(tb, with(e.claims(iat0), map[string]any{"aud": e.srv.ProjectID}), nil)
		}},
		// The project among other audiences.
		{name: "aud_among_others_ok", token: func(tb testing.TB, e *env) string {
			return e.sign(tb, with(e.claims(iat0), map[string]any{"aud": []string{"other", e.srv.ProjectID}}), nil)
		}},
		// Another project's token.
		{name: "aud_other_project", token: claims(map[string]any{"aud": []string{"project-test-other"}}), want: ErrAudience},
		// A prefix of the project id.
		{name: "aud_prefix", token: func(tb testing.TB, e *env) string {
			return e.sign(tb, with(e.claims(iat0), map[string]any{"aud": []string{e.srv.ProjectID[:len(e.srv.ProjectID)-1]}}), nil)
		}, want: ErrAudience},
		// Missing.
		{name: "aud_missing", token: claims(map[string]any{"aud": nil}), want: ErrAudience},
		// Empty array.
		{name: "aud_empty", token: claims(map[string]any{"aud": []string{}}), want: ErrAudience},
		// Wrong type.
		{name: "aud_number", token: claims(map[string]any{"aud": 1}), want: ErrClaims},

		// --- sub and the Stytch claims ---
		// No subject.
		{name: "sub_missing", token: claims(map[string]any{"sub": nil}), want: ErrClaims},
		// Empty subject.
		{name: "sub_empty", token: claims(map[string]any{"sub": ""}), want: ErrClaims},
		// Subject of the wrong type.
		{name: "sub_number", token: claims(map[string]any{"sub": 1}), want: ErrClaims},
		// A bare JWT without the session claim (another product's token).
		{name: "session_claim_missing", token: claims(map[string]any{SessionClaimName: nil}), want: ErrClaims},
		// Session claim of the wrong type.
		{name: "session_claim_string", token: claims(map[string]any{SessionClaimName: "session"}), want: ErrClaims},
		// Session claim without an id.
		{name: "session_id_missing", token: func(tb testing.TB, e *env) string {
			c := e.claims(iat0)
			return e.sign(tb, with(c, map[string]any{SessionClaimName: sessionWith(c, map[string]any{"id": nil})}), nil)
		}, want: ErrClaims},
		// Organization claim missing.
		{name: "organization_claim_missing", token: claims(map[string]any{OrganizationClaimName: nil}), want: ErrClaims},
		// Malformed session timestamp: an error, not a panic.
		{name: "session_started_at_malformed", token: func(tb testing.TB, e *env) string {
			c := e.claims(iat0)
			return e.sign(tb, with(c, map[string]any{SessionClaimName: sessionWith(c, map[string]any{"started_at": "yesterday"})}), nil)
		}, want: ErrClaims},
		// Malformed factor timestamp.
		{name: "factor_time_malformed", token: func(tb testing.TB, e *env) string {
			c := e.claims(iat0)
			f := []any{map[string]any{"type": "magic_link", "last_authenticated_at": "soon"}}
			return e.sign(tb, with(c, map[string]any{SessionClaimName: sessionWith(c, map[string]any{"authentication_factors": f})}), nil)
		}, want: ErrClaims},
		// Roles of the wrong type.
		{name: "roles_wrong_type", token: func(tb testing.TB, e *env) string {
			c := e.claims(iat0)
			return e.sign(tb, with(c, map[string]any{SessionClaimName: sessionWith(c, map[string]any{"roles": "admin"})}), nil)
		}, want: ErrClaims},

		// --- keys ---
		// A 1024-bit key published in the JWKS is never used.
		{name: "jwks_key_1024_bits", token: func(tb testing.TB, e *env) string {
			_, _, weak := keys(tb)
			e.srv.PublishKey(&weak.PublicKey, "jwk-test-weak")
			return signRaw(tb, weak, `{"alg":"RS256","kid":"jwk-test-weak","typ":"JWT"}`, rawPayload(tb, e, nil, ""))
		}, want: ErrUnknownKey},
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
