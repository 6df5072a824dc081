package verifier

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/stytchtest"
)

// referenceVerify is the verification pipeline built on golang-jwt's own
// parser (ParseWithClaims with RS256 only, strict base64url, claim checks
// left to this package), kept as an oracle: verify splits and decodes the
// token itself, and must decide every token the same way. The oracle reads
// the header's syntax with jsontext first (a duplicated name, at any depth,
// is a forbidden header; invalid UTF-8 is malformed, where golang-jwt's
// encoding/json would replace it), and decodes the payload with
// decodePayload, as golang-jwt hands it a Claims whose UnmarshalJSON calls
// it.
func (v *Verifier) referenceVerify(ctx context.Context, tok string, now time.Time) error {
	if err := checkCharset(tok); err != nil {
		return err
	}
	if err := referenceHeaderSyntax(tok); err != nil {
		return err
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithStrictDecoding(),
		jwt.WithoutClaimsValidation(),
	)
	rc := new(refClaims)
	token, err := parser.ParseWithClaims(tok, rc, func(t *jwt.Token) (any, error) {
		id, err := referenceHeader(t.Header)
		if err != nil {
			return nil, err
		}
		if rc.p == nil { // a null payload: golang-jwt never called UnmarshalJSON
			rc.p = new(payload)
		}
		if _, err := v.checkStatic(rc.p, kindSession); err != nil {
			return nil, err
		}
		return v.lookupKey(ctx, id, now)
	})
	if err != nil {
		var te *TokenError
		switch {
		case errors.As(err, &te):
			return te
		case errors.Is(err, jwt.ErrTokenMalformed):
			return tokenErr(ErrMalformed, "")
		case errors.Is(err, jwt.ErrTokenSignatureInvalid):
			if token != nil && token.Method != nil && token.Method.Alg() != jwt.SigningMethodRS256.Alg() {
				return tokenErr(ErrAlgorithm, "")
			}
			return tokenErr(ErrBadSignature, "")
		case errors.Is(err, jwt.ErrTokenUnverifiable):
			return tokenErr(ErrAlgorithm, "")
		}
		return tokenErr(ErrMalformed, "")
	}
	if err := v.validateTime(rc.p, now); err != nil {
		return err
	}
	return memberSession(rc.p, new(cacheEntry))
}

// refClaims is the Claims golang-jwt decodes the payload into.
type refClaims struct {
	jwt.RegisteredClaims // the interface's methods; unused without claims validation
	p                    *payload
}

func (c *refClaims) UnmarshalJSON(data []byte) error {
	p, err := decodePayload(data)
	c.p = p
	return err
}

// referenceHeaderSyntax reads the first JSON value of a three-segment
// token's header with jsontext.
func referenceHeaderSyntax(tok string) error {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil // golang-jwt refuses it
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(parts[0])
	if err != nil {
		return nil // golang-jwt refuses it
	}
	_, err = jsontext.NewDecoder(bytes.NewReader(raw)).ReadValue()
	switch {
	case errors.Is(err, jsontext.ErrDuplicateName):
		return tokenErr(ErrForbiddenHeader, "")
	case err != nil:
		return tokenErr(ErrMalformed, "")
	}
	return nil
}

// referenceHeader applies the header rules to golang-jwt's header map.
func referenceHeader(header map[string]any) (string, error) {
	for name := range header {
		if slices.Contains(forbiddenHeaders[:], name) {
			return "", tokenErr(ErrForbiddenHeader, "")
		}
	}
	if len(header) > maxHeaderParams {
		return "", tokenErr(ErrForbiddenHeader, "")
	}
	kid, ok := header["kid"].(string)
	if !ok || kid == "" {
		return "", tokenErr(ErrForbiddenHeader, "")
	}
	if len(kid) > maxKIDLength {
		return "", tokenErr(ErrUnknownKey, "")
	}
	return kid, nil
}

// sameDecision compares verify with the reference on one token: both accept,
// or both refuse for the same reason. A payload that is JSON null is the one
// known difference: golang-jwt lets it through as empty claims, which then
// fail the claim rules, while verify calls it malformed.
func sameDecision(t *testing.T, e *env, tok string) {
	t.Helper()
	ctx := context.Background()
	now := e.clock.Now()
	_, got := e.v.verify(ctx, tok, kindSession, now)
	want := e.v.referenceVerify(ctx, tok, now)
	if (got == nil) != (want == nil) {
		t.Fatalf("verify = %v, reference = %v for %q", got, want, tok)
	}
	if got == nil {
		return
	}
	var g, w *TokenError
	if !errors.As(got, &g) || !errors.As(want, &w) {
		t.Fatalf("errors are not *TokenError: %v, %v", got, want)
	}
	if g.Reason != w.Reason && !nullPayload(tok) {
		t.Fatalf("verify refuses with %v, reference with %v, for %q", g.Reason, w.Reason, tok)
	}
}

func nullPayload(tok string) bool {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return false
	}
	p, err := base64.RawURLEncoding.Strict().DecodeString(parts[1])
	return err == nil && strings.TrimSpace(string(p)) == "null"
}

// TestVerifyMatchesReference replays the attack table through both
// pipelines.
func TestVerifyMatchesReference(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range attackTable() {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.token(t, e)
			if !tc.at.IsZero() {
				return // time-dependent rows run in the attack table itself
			}
			sameDecision(t, e, tok)
		})
	}
}

// FuzzVerifyMatchesReference: on any input, verify decides as the pipeline
// built on golang-jwt's parser would.
func FuzzVerifyMatchesReference(f *testing.F) {
	e := newEnv(f, nil)
	for _, tc := range append(attackTable(), m2mAttackTable()...) {
		f.Add(tc.token(f, e))
	}
	_, tok, err := e.srv.NewSession(stytchtest.SessionSpec{CustomClaims: map[string]any{"plan": "pro"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Fuzz(func(t *testing.T, tok string) {
		if len(tok) > DefaultMaxTokenBytes {
			return
		}
		sameDecision(t, e, tok)
	})
}

// FuzzSignedJSONMatchesReference varies the header and payload JSON and
// signs each pair with the emulator's key, so that the comparison with the
// golang-jwt based pipeline reaches every check after the signature.
func FuzzSignedJSONMatchesReference(f *testing.F) {
	e := newEnv(f, nil)
	good := rawPayload(f, e, nil, "")
	for _, h := range []string{
		`{"alg":"RS256","kid":"jwk-test-primary","typ":"JWT"}`,
		`{"alg":"RS256","kid":"jwk-test-primary","x":1e400}`,
		`{"alg":"RS256","kid":"jwk-test-primary","p":[1,{"q":null}]}`,
		`{"alg":"RS\u0032\u0035\u0036","\u006bid":"jwk-test-primary"}`,
		`{"alg":"none","kid":"jwk-test-primary"}`,
		`null`,
	} {
		f.Add(h, good)
	}
	f.Add(`{"alg":"RS256","kid":"jwk-test-primary"}`, `null`)
	f.Add(`{"alg":"RS256","kid":"jwk-test-primary"}`, `{"sub":1e999}`)
	key, _, _ := keys(f)
	f.Fuzz(func(t *testing.T, header, payload string) {
		if len(header)+len(payload) > DefaultMaxTokenBytes/2 {
			return
		}
		sameDecision(t, e, signRaw(t, key, header, payload))
	})
}
