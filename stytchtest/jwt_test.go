package stytchtest_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// jwks fetches the JWKS and returns its keys by kid.
func jwks(t *testing.T, srv *stytchtest.Server) map[string]*rsa.PublicKey {
	t.Helper()
	r := call(t, srv, http.MethodGet, jwksPath(srv), "", noAuth())
	wantOK(t, r)
	var resp client.GetJWKSResponse
	if err := json.Unmarshal(r.raw, &resp); err != nil {
		t.Fatal(err)
	}
	out := map[string]*rsa.PublicKey{}
	for _, k := range resp.Keys {
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil {
			t.Fatalf("key %s: n/e not base64url", k.KeyID)
		}
		out[k.KeyID] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return out
}

// verify checks a JWT's RS256 signature against the JWKS.
func verify(t *testing.T, srv *stytchtest.Server, token string) error {
	t.Helper()
	keys := jwks(t, srv)
	_, err := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation()).Parse(token,
		func(tok *jwt.Token) (any, error) {
			if k, ok := keys[tok.Header["kid"].(string)]; ok {
				return k, nil
			}
			return nil, errors.New("unknown kid")
		})
	return err
}

func TestJWTClaimsExactly(t *testing.T) {
	srv, clock := newServer(t, stytchtest.Options{})
	_, jwtStr := newSession(t, srv, stytchtest.SessionSpec{
		OrganizationID: "organization-test-acme", OrganizationSlug: "acme", MemberID: "member-test-ann",
		Email: "ann@example.com", Roles: []string{"editor"}, CustomClaims: map[string]any{"tenant_tier": "gold", "n": 7},
		IPAddress: "203.0.113.7", UserAgent: "agent/1",
	})
	clock.Advance(time.Hour) // minting happened at t0; the clock no longer matters
	if strings.Count(jwtStr, ".") != 2 {
		t.Fatal("not a compact JWT")
	}
	h, p := jwtParts(t, jwtStr)
	keysExactly(t, h, "header", "alg", "kid", "typ")
	if h["alg"] != "RS256" || h["kid"] != srv.KeyID() || h["typ"] != "JWT" {
		t.Errorf("header = %v", h)
	}
	keysExactly(t, p, "payload", "iss", "aud", "sub", "iat", "nbf", "exp",
		"https://stytch.com/session", "https://stytch.com/organization", "tenant_tier", "n")
	if p["iss"] != "stytch.com/"+srv.ProjectID {
		t.Errorf("iss = %v", p["iss"])
	}
	if !reflect.DeepEqual(p["aud"], []any{srv.ProjectID}) {
		t.Errorf("aud = %#v, want a one-element array", p["aud"])
	}
	if p["sub"] != "member-test-ann" {
		t.Errorf("sub = %v", p["sub"])
	}
	iat, nbf, exp := num(t, p["iat"], "iat"), num(t, p["nbf"], "nbf"), num(t, p["exp"], "exp")
	if iat != t0.Unix() || nbf != iat || exp != iat+300 {
		t.Errorf("iat %d nbf %d exp %d", iat, nbf, exp)
	}
	if p["tenant_tier"] != "gold" || p["n"] != json.Number("7") {
		t.Errorf("custom claims: %v %v", p["tenant_tier"], p["n"])
	}

	sc := obj(t, p["https://stytch.com/session"], "session claim")
	keysExactly(t, sc, "session claim", "id", "started_at", "last_accessed_at", "expires_at", "attributes",
		"authentication_factors", "roles")
	if !reID("session").MatchString(sc["id"].(string)) || sc["started_at"] != "2026-01-01T00:00:00Z" ||
		sc["last_accessed_at"] != "2026-01-01T00:00:00Z" || sc["expires_at"] != "2026-01-01T01:00:00Z" {
		t.Errorf("session claim = %v", sc)
	}
	attrs := obj(t, sc["attributes"], "attributes")
	keysExactly(t, attrs, "attributes", "ip_address", "user_agent")
	if attrs["ip_address"] != "203.0.113.7" || attrs["user_agent"] != "agent/1" {
		t.Errorf("attributes = %v", attrs)
	}
	if !reflect.DeepEqual(sc["roles"], []any{"stytch_member", "editor"}) {
		t.Errorf("roles = %v", sc["roles"])
	}
	factors := sc["authentication_factors"].([]any)
	if len(factors) != 1 || obj(t, factors[0], "factor")["type"] != "magic_link" {
		t.Errorf("factors = %v", factors)
	}
	oc := obj(t, p["https://stytch.com/organization"], "organization claim")
	keysExactly(t, oc, "organization claim", "organization_id", "slug")
	if oc["organization_id"] != "organization-test-acme" || oc["slug"] != "acme" {
		t.Errorf("organization claim = %v", oc)
	}

	// The claims decode into client.Claims and the signature verifies
	// against the published key.
	var claims client.Claims
	key := jwks(t, srv)[srv.KeyID()]
	if _, err := jwt.ParseWithClaims(jwtStr, &claims, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithTimeFunc(func() time.Time { return t0 }), jwt.WithAudience(srv.ProjectID),
		jwt.WithIssuer("stytch.com/"+srv.ProjectID), jwt.WithValidMethods([]string{"RS256"})); err != nil {
		t.Fatalf("verification with client.Claims: %v", err)
	}
	if claims.Session.ID != sc["id"] || claims.Organization.Slug != "acme" || claims.Subject != "member-test-ann" {
		t.Errorf("client.Claims = %+v", claims)
	}
}

func TestJWTExpCappedAtSessionExpiry(t *testing.T) {
	srv, clock := newServer(t, stytchtest.Options{})
	token, jwtStr := newSession(t, srv, stytchtest.SessionSpec{Duration: 2 * time.Minute})
	_, p := jwtParts(t, jwtStr)
	if exp := num(t, p["exp"], "exp"); exp != t0.Add(2*time.Minute).Unix() {
		t.Errorf("exp = %d, want the session expiry", exp)
	}
	clock.Advance(90 * time.Second)
	minted, err := srv.MintJWT(token)
	if err != nil {
		t.Fatal(err)
	}
	_, p = jwtParts(t, minted)
	if iat, exp := num(t, p["iat"], "iat"), num(t, p["exp"], "exp"); iat != t0.Add(90*time.Second).Unix() || exp != t0.Add(2*time.Minute).Unix() {
		t.Errorf("iat %d exp %d", iat, exp)
	}
	clock.Advance(30 * time.Second)
	if _, err := srv.MintJWT(token); !errors.Is(err, stytchtest.ErrSessionNotFound) {
		t.Errorf("MintJWT of an expired session: %v", err)
	}
}

func TestMintJWT(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	token, _ := newSession(t, srv, stytchtest.SessionSpec{})
	minted, err := srv.MintJWT(token)
	if err != nil || verify(t, srv, minted) != nil {
		t.Fatalf("MintJWT: %v", err)
	}
	if _, err := srv.MintJWT("nope"); !errors.Is(err, stytchtest.ErrSessionNotFound) {
		t.Errorf("unknown token: %v", err)
	}
	srv.RevokeSession(token)
	if _, err := srv.MintJWT(token); !errors.Is(err, stytchtest.ErrSessionNotFound) {
		t.Errorf("revoked token: %v", err)
	}
}

func TestCustomDomainIssuer(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{CustomDomainIssuer: "https://auth.example.com"})
	token, jwtStr := newSession(t, srv, stytchtest.SessionSpec{})
	if _, p := jwtParts(t, jwtStr); p["iss"] != "https://auth.example.com" {
		t.Errorf("iss = %v", p["iss"])
	}
	wantOK(t, authenticate(t, srv, map[string]any{"session_jwt": jwtStr}))
	// A token carrying the default issuer is foreign to this deployment.
	_, p := jwtParts(t, jwtStr)
	p["iss"] = "stytch.com/" + srv.ProjectID
	forged, _ := srv.SignClaims(p, nil)
	wantError(t, authenticate(t, srv, map[string]any{"session_jwt": forged}), 400, "jwt_invalid_issuer")
	_ = token
}

func TestJWKSShape(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	r := call(t, srv, http.MethodGet, jwksPath(srv), "", noAuth())
	wantOK(t, r)
	keys := r.body["keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("keys = %v", keys)
	}
	k := obj(t, keys[0], "key")
	keysExactly(t, k, "jwk", "kty", "use", "key_ops", "alg", "kid", "x5c", "x5tS256", "n", "e")
	if k["kty"] != "RSA" || k["use"] != "sig" || k["alg"] != "RS256" || k["kid"] != srv.KeyID() || k["e"] != "AQAB" ||
		mustJSON(t, k["key_ops"]) != `["verify"]` {
		t.Errorf("jwk = %v", k)
	}
	// x5c holds a certificate for the same key, and x5tS256 its SHA-256.
	der, err := base64.StdEncoding.DecodeString(k["x5c"].([]any)[0].(string))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.PublicKey.(*rsa.PublicKey).Equal(jwks(t, srv)[srv.KeyID()]) {
		t.Error("x5c certificate holds another key")
	}
	sum := sha256.Sum256(der)
	if k["x5tS256"] != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Error("x5tS256 is not the certificate's SHA-256")
	}
	if jwks(t, srv)[srv.KeyID()].N.BitLen() != 2048 {
		t.Error("default key is not RSA-2048")
	}
}

func TestSigningKeyOption(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := newServer(t, stytchtest.Options{SigningKey: key, KeyID: "kid-1"})
	_, jwtStr := newSession(t, srv, stytchtest.SessionSpec{})
	if _, err := jwt.Parse(jwtStr, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
		jwt.WithTimeFunc(func() time.Time { return t0 })); err != nil {
		t.Fatalf("not signed with Options.SigningKey: %v", err)
	}
	if !jwks(t, srv)["kid-1"].Equal(&key.PublicKey) {
		t.Error("Options.SigningKey not published under Options.KeyID")
	}
}

func TestKeyRotation(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	oldKID := srv.KeyID()
	token, oldJWT := newSession(t, srv, stytchtest.SessionSpec{})

	newKID, err := srv.RotateKey()
	if err != nil {
		t.Fatal(err)
	}
	if newKID == oldKID || srv.KeyID() != newKID || !reID("jwk").MatchString(newKID) {
		t.Fatalf("RotateKey kid %q (old %q, current %q)", newKID, oldKID, srv.KeyID())
	}
	keys := jwks(t, srv)
	if len(keys) != 2 || keys[oldKID] == nil || keys[newKID] == nil {
		t.Fatalf("after rotation the JWKS has %v", keys)
	}
	newJWT, err := srv.MintJWT(token)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := jwtParts(t, newJWT); h["kid"] != newKID {
		t.Errorf("new JWT kid = %v", h["kid"])
	}
	if verify(t, srv, newJWT) != nil || verify(t, srv, oldJWT) != nil {
		t.Fatal("JWTs of both keys should verify")
	}
	wantOK(t, authenticate(t, srv, map[string]any{"session_jwt": oldJWT}))
	r := authenticate(t, srv, map[string]any{"session_token": token})
	if h, _ := jwtParts(t, r.body["session_jwt"].(string)); h["kid"] != newKID {
		t.Error("Authenticate still signs with the old key")
	}

	srv.UnpublishKey(oldKID)
	if keys := jwks(t, srv); len(keys) != 1 || keys[newKID] == nil {
		t.Fatalf("after UnpublishKey: %v", keys)
	}
	// A JWT of a withdrawn key is no longer accepted.
	wantError(t, authenticate(t, srv, map[string]any{"session_jwt": oldJWT}), 400, "unable_to_parse_session_jwt")
	wantOK(t, authenticate(t, srv, map[string]any{"session_jwt": newJWT}))

	// Withdrawing the signing key itself yields tokens with an unknown kid.
	srv.UnpublishKey(newKID)
	unknown, _ := srv.MintJWT(token)
	if verify(t, srv, unknown) == nil {
		t.Error("a JWT of an unpublished key verified")
	}
}

func TestPublishKey(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	own, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, jwtStr := newSession(t, srv, stytchtest.SessionSpec{})
	_, payload := jwtParts(t, jwtStr)
	sign := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(payload))
		tok.Header["kid"] = "test-held"
		s, err := tok.SignedString(own)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// A key the server never published signs nothing it accepts.
	wantError(t, authenticate(t, srv, map[string]any{"session_jwt": sign()}), 400, "unable_to_parse_session_jwt")
	srv.PublishKey(&own.PublicKey, "test-held")
	if k := jwks(t, srv)["test-held"]; k == nil || !k.Equal(&own.PublicKey) {
		t.Fatal("PublishKey did not publish")
	}
	wantOK(t, authenticate(t, srv, map[string]any{"session_jwt": sign()}))
	if srv.KeyID() == "test-held" {
		t.Error("PublishKey changed the signing key")
	}
	srv.PublishKey(nil, "nil-key")
	if _, ok := jwks(t, srv)["nil-key"]; ok {
		t.Error("a nil key was published")
	}
}

func TestSignClaims(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	tok, err := srv.SignClaims(map[string]any{"sub": "x", "n": 1}, map[string]any{"typ": nil, "cty": "foo", "alg": "PS256"})
	if err != nil {
		t.Fatal(err)
	}
	h, p := jwtParts(t, tok)
	keysExactly(t, h, "header", "alg", "kid", "cty")
	if h["alg"] != "PS256" || h["kid"] != srv.KeyID() || h["cty"] != "foo" {
		t.Errorf("header = %v", h)
	}
	keysExactly(t, p, "payload", "sub", "n")
	// The signature is RS256 over the signing input whatever alg says.
	parts := strings.Split(tok, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if err := jwt.SigningMethodRS256.Verify(parts[0]+"."+parts[1], sig, jwks(t, srv)[srv.KeyID()]); err != nil {
		t.Errorf("signature: %v", err)
	}
	if _, err := srv.SignClaims(map[string]any{"bad": make(chan int)}, nil); err == nil {
		t.Error("unencodable claims signed")
	}
	if tok, err := srv.SignClaims(nil, nil); err != nil || verify(t, srv, tok) != nil {
		t.Errorf("nil claims: %v", err)
	}
}

func TestSetJWKSBody(t *testing.T) {
	srv, _ := newServer(t, stytchtest.Options{})
	srv.SetJWKSBody([]byte(`{"keys":[]}`))
	r := call(t, srv, http.MethodGet, jwksPath(srv), "", noAuth())
	if r.status != 200 || string(r.raw) != `{"keys":[]}` || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("override: %d %q", r.status, r.raw)
	}
	srv.SetJWKSBody(nil)
	wantOK(t, call(t, srv, http.MethodGet, jwksPath(srv), "", noAuth()))
}
