package middleware_test

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"

	"github.com/stytchguard/stytchguard/internal/testkit"
)

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func payload(t *testing.T, jwt string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// attackTokens builds the attack table of the verifier, as credentials.
func attackTokens(t *testing.T, srv *stytchtest.Server, valid string) map[string]string {
	t.Helper()
	claims := payload(t, valid)
	parts := strings.Split(valid, ".")
	sign := func(mut func(map[string]any), hdr map[string]any) string {
		c := map[string]any{}
		for k, v := range claims {
			c[k] = v
		}
		if mut != nil {
			mut(c)
		}
		s, err := srv.SignClaims(c, hdr)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	hsInput := b64(map[string]any{"alg": "HS256", "kid": srv.KeyID(), "typ": "JWT"}) + "." + parts[1]
	pubDER := x509.MarshalPKCS1PublicKey(&testkit.SigningKey().PublicKey)
	mac := hmac.New(sha256.New, pubDER)
	mac.Write([]byte(hsInput))
	forgedSig := func(input string) string {
		h := sha256.Sum256([]byte(input))
		s, err := rsa.SignPKCS1v15(rand.Reader, otherKey, crypto.SHA256, h[:])
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(s)
	}
	foreignInput := parts[0] + "." + parts[1]
	return map[string]string{
		// alg none: an unsigned token must never verify
		"alg none": b64(map[string]any{"alg": "none", "kid": srv.KeyID(), "typ": "JWT"}) + "." + parts[1] + ".",
		// alg none with odd casing and a dummy signature
		"alg NoNe": b64(map[string]any{"alg": "NoNe", "kid": srv.KeyID(), "typ": "JWT"}) + "." + parts[1] + ".AAAA",
		// HMAC keyed with the RSA public key (algorithm confusion)
		"HS256 with public key": hsInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)),
		// signed by a key Stytch never published, under Stytch's kid
		"foreign key": foreignInput + "." + forgedSig(foreignInput),
		// signature removed
		"signature stripped": parts[0] + "." + parts[1] + ".",
		// payload changed after signing
		"payload tampered": parts[0] + "." + b64(map[string]any{"sub": "member-test-evil"}) + "." + parts[2],
		// two segments only
		"two segments": parts[0] + "." + parts[1],
		// four segments
		"four segments": valid + ".AAAA",
		// standard base64 padding is not base64url
		"padded segment": parts[0] + "=." + parts[1] + "." + parts[2],
		// wrong issuer, correctly signed
		"wrong issuer": sign(func(c map[string]any) { c["iss"] = "stytch.com/project-test-other" }, nil),
		// wrong audience, correctly signed
		"wrong audience": sign(func(c map[string]any) { c["aud"] = []string{"project-test-other"} }, nil),
		// missing subject
		"no sub": sign(func(c map[string]any) { delete(c, "sub") }, nil),
		// time claim as a string
		"string exp": sign(func(c map[string]any) { c["exp"] = "9999999999" }, nil),
		// lifetime longer than Stytch's five minutes
		"long lifetime": sign(func(c map[string]any) { c["exp"] = c["iat"].(float64) + 3600 }, nil),
		// unknown kid
		"unknown kid": sign(nil, map[string]any{"kid": "jwk-test-unknown"}),
		// kid removed
		"no kid": sign(nil, map[string]any{"kid": nil}),
		// key URL injection
		"jku header": sign(nil, map[string]any{"jku": "https://evil.example/jwks"}),
		// embedded key
		"jwk header": sign(nil, map[string]any{"jwk": map[string]any{"kty": "RSA"}}),
		// critical extension
		"crit header": sign(nil, map[string]any{"crit": []string{"exp"}}),
		// RS384 claimed
		"RS384 header": sign(nil, map[string]any{"alg": "RS384"}),
		// garbage
		"garbage": "not-a-jwt-at-all!",
		// oversized credential
		"oversized": strings.Repeat("a", 9000) + "." + parts[1] + "." + parts[2],
	}
}

func TestAttackTableOverHTTPIsRefusedWithoutRemoteCalls(t *testing.T) {
	e := newEnv(t, nil)
	_, valid := e.session(orgAcme, "", "admin")
	e.warm(valid)
	h := e.g.Require("documents", "read")(okHandler())
	for name, tok := range attackTokens(t, e.srv, valid) {
		for _, via := range []string{"header", "cookie"} {
			t.Run(name+"/"+via, func(t *testing.T) {
				var r *http.Request
				if via == "header" {
					r = req("GET", "/", bearer(tok))
				} else {
					r = req("GET", "/")
					r.Header.Set("Cookie", middleware.DefaultJWTCookie+"="+tok)
				}
				rec := do(h, r)
				if rec.Code != http.StatusUnauthorized {
					t.Fatalf("status = %d, want 401; body %s", rec.Code, rec.Body.String())
				}
				noSecretIn(t, "body", rec.Body.String(), tok)
				noSecretIn(t, "headers", strings.Join(rec.Header().Values("WWW-Authenticate"), ";"), tok)
			})
		}
	}
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 0 {
		t.Fatalf("authenticate calls = %d, want 0", n)
	}
}

func TestExtractionEdgeCases(t *testing.T) {
	e := newEnv(t, nil)
	tok, valid := e.session(orgAcme, "", "viewer")
	e.warm(valid)
	h := e.g.Authenticate(okHandler())
	cases := []struct {
		name   string
		opts   []reqOpt
		status int
	}{
		// two Authorization headers: which one would a proxy check?
		{"two authorization headers", []reqOpt{header("Authorization", "Bearer "+valid), header("Authorization", "Bearer "+valid)}, 401},
		// lower-case scheme is legal
		{"lowercase scheme", []reqOpt{header("Authorization", "bearer "+valid)}, 200},
		// several spaces are still a space separator
		{"several spaces", []reqOpt{header("Authorization", "Bearer    "+valid)}, 200},
		// a tab is not a space
		{"tab separator", []reqOpt{header("Authorization", "Bearer\t"+valid)}, 401},
		// credential with an embedded space
		{"embedded space", []reqOpt{header("Authorization", "Bearer "+valid[:20]+" "+valid[20:])}, 401},
		// empty bearer
		{"empty bearer", []reqOpt{header("Authorization", "Bearer")}, 401},
		// another scheme is not ours: no credential
		{"basic scheme", []reqOpt{header("Authorization", "Basic dXNlcjpwYXNz")}, 401},
		// a planted duplicate cookie from a sibling domain
		{"duplicate jwt cookie", []reqOpt{header("Cookie", "stytch_session_jwt="+valid+"; stytch_session_jwt="+valid)}, 401},
		// duplicate token cookie
		{"duplicate token cookie", []reqOpt{header("Cookie", "stytch_session="+tok+"; stytch_session="+tok)}, 401},
		// a token too short to be Stytch's
		{"short opaque token", []reqOpt{bearer("abc")}, 401},
		// JWT-shaped cookie value that is not a JWT
		{"malformed jwt cookie", []reqOpt{header("Cookie", "stytch_session_jwt=a.b")}, 401},
		// NUL in a cookie is dropped by the parser: no credential
		{"nul in cookie", []reqOpt{header("Cookie", "stytch_session_jwt=a\x00b")}, 401},
		{"valid cookie", []reqOpt{cookies(valid, "")}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(h, req("GET", "/", tc.opts...))
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.status, rec.Body.String())
			}
		})
	}
	if n := e.srv.Calls(stytchtest.EndpointAuthenticate); n != 0 {
		t.Fatalf("authenticate calls = %d, want 0", n)
	}
}
