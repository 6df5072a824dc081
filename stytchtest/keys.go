package stytchtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// publishedKey is one key of the JWKS.
type publishedKey struct {
	kid string
	pub *rsa.PublicKey
	x5c []string // a self-signed certificate when the private key is known
	x5t string   // base64url SHA-256 of that certificate
}

func (s *Server) makePublishedKey(kid string, pub *rsa.PublicKey, priv *rsa.PrivateKey) publishedKey {
	k := publishedKey{kid: kid, pub: pub, x5c: []string{}}
	if priv == nil {
		return k
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return k
	}
	now := s.now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: kid},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return k
	}
	sum := sha256.Sum256(der)
	k.x5c = []string{base64.StdEncoding.EncodeToString(der)}
	k.x5t = base64.RawURLEncoding.EncodeToString(sum[:])
	return k
}

func (k publishedKey) jwk() wireJWK {
	return wireJWK{
		KeyType: "RSA",
		Use:     "sig",
		KeyOps:  []string{"verify"},
		Alg:     "RS256",
		KeyID:   k.kid,
		X5C:     slices.Clone(k.x5c),
		X5TS256: k.x5t,
		N:       base64.RawURLEncoding.EncodeToString(k.pub.N.Bytes()),
		E:       base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.pub.E)).Bytes()),
	}
}

// publishLocked adds k to the JWKS, replacing a key with the same kid.
// s.mu must be held.
func (s *Server) publishLocked(k publishedKey) {
	for i := range s.keys {
		if s.keys[i].kid == k.kid {
			s.keys[i] = k
			return
		}
	}
	s.keys = append(s.keys, k)
}

// KeyID returns the kid of the key the server currently signs with.
// It is safe for concurrent use.
func (s *Server) KeyID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signKID
}

// RotateKey generates a new RSA-2048 key with a fresh "jwk-test-<uuid>" kid,
// publishes it in the JWKS and signs every JWT minted from now on with it.
// The previous keys stay published until UnpublishKey removes them, as
// Stytch keeps serving an old key for a while after a rotation. It returns
// the new kid, or an error when key generation fails. It is safe for
// concurrent use.
func (s *Server) RotateKey() (kid string, err error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", fmt.Errorf("stytchtest: generate key: %w", err)
	}
	kid = s.newID("jwk")
	k := s.makePublishedKey(kid, &priv.PublicKey, priv)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publishLocked(k)
	s.signKey, s.signKID = priv, kid
	return kid, nil
}

// PublishKey adds pub to the JWKS under kid without signing with it (for
// example a key a test signs its own tokens with). A key already published
// under kid is replaced. A nil pub is ignored. It is safe for concurrent use.
func (s *Server) PublishKey(pub *rsa.PublicKey, kid string) {
	if pub == nil {
		return
	}
	k := publishedKey{kid: kid, pub: pub, x5c: []string{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publishLocked(k)
}

// UnpublishKey removes the key with kid from the JWKS. The server keeps
// signing with its current key even when that key is removed, which lets a
// test produce tokens whose kid the JWKS does not know. Session JWTs sent to
// the API endpoints are only accepted when their key is published. It is
// safe for concurrent use.
func (s *Server) UnpublishKey(kid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = slices.DeleteFunc(s.keys, func(k publishedKey) bool { return k.kid == kid })
}

// SetJWKSBody makes the JWKS endpoint answer 200 with body (as
// application/json) instead of the published keys, for testing malformed or
// unusual key sets. A nil body restores the normal answer. A fault set with
// SetFault for EndpointJWKS takes precedence. It is safe for concurrent use.
func (s *Server) SetJWKSBody(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if body == nil {
		s.jwksBody = nil
		return
	}
	s.jwksBody = slices.Clone(body)
}

// SignClaims signs claims with the server's current key and returns the
// compact JWT. The header is {"alg":"RS256","kid":<current kid>,"typ":"JWT"}
// with the entries of header applied over it; an entry whose value is nil
// removes that header key. The signature is always RS256 whatever "alg" the
// header claims, which is what attack tests need. Nothing is added to
// claims. It returns an error when the claims or header cannot be encoded as
// JSON. It is safe for concurrent use.
func (s *Server) SignClaims(claims map[string]any, header map[string]any) (string, error) {
	s.mu.Lock()
	key, kid := s.signKey, s.signKID
	s.mu.Unlock()
	h := map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT"}
	for k, v := range header {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	if claims == nil {
		claims = map[string]any{}
	}
	return signJWT(h, claims, key)
}

func signJWT(header, claims map[string]any, key *rsa.PrivateKey) (string, error) {
	hb, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("stytchtest: encode JWT header: %w", err)
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("stytchtest: encode JWT claims: %w", err)
	}
	signing := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	sig, err := jwt.SigningMethodRS256.Sign(signing, key)
	if err != nil {
		return "", fmt.Errorf("stytchtest: sign JWT: %w", err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// errBadJWT is returned for a session JWT the emulator cannot accept.
var errBadJWT = errors.New("stytchtest: session JWT not accepted")

// parseSessionJWT verifies raw's RS256 signature against the published keys
// and its issuer and audience, ignoring exp and nbf (Stytch authenticates an
// expired JWT of a live session). It returns the session id and subject.
func (s *Server) parseSessionJWT(raw string) (sessionID, subject string, apiErr *apiError) {
	bad := &apiError{400, "unable_to_parse_session_jwt", "The session JWT could not be parsed or verified."}
	if len(raw) > 64<<10 {
		return "", "", bad
	}
	s.mu.Lock()
	keys := slices.Clone(s.keys)
	s.mu.Unlock()
	p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation(), jwt.WithJSONNumber())
	claims := jwt.MapClaims{}
	_, err := p.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		for _, k := range keys {
			if k.kid == kid && kid != "" {
				return k.pub, nil
			}
		}
		return nil, errBadJWT
	})
	if err != nil {
		return "", "", bad
	}
	if iss, _ := claims["iss"].(string); iss != s.issuer {
		return "", "", &apiError{400, "jwt_invalid_issuer", "The session JWT has an unexpected issuer."}
	}
	aud, err := claims.GetAudience()
	if err != nil || !slices.Contains([]string(aud), s.ProjectID) {
		return "", "", &apiError{400, "jwt_invalid_audience", "The session JWT has an unexpected audience."}
	}
	sub, _ := claims["sub"].(string)
	sc, _ := claims[stytchClaimPrefix+"session"].(map[string]any)
	id, _ := sc["id"].(string)
	if sub == "" || id == "" {
		return "", "", &apiError{400, "jwt_invalid_claims", "The session JWT lacks its session claims."}
	}
	return id, sub, nil
}
