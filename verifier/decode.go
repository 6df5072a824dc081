package verifier

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/client"
)

// The header and the claims are decoded by github.com/go-json-experiment/json
// (the upstream of encoding/json/v2) with its default options: a member name
// that appears twice in any object, invalid UTF-8 and lone surrogate escapes
// are errors; names match exactly (no case folding); a value of the wrong
// type for its field is an error. Each segment is decoded once; only a
// failed decode is looked at again, to name the reason. No error keeps the
// decoder's text, which can quote the token.

// forbiddenHeaders are JOSE header parameters a Stytch JWT never carries and
// that change how a token must be processed (critical extensions, unencoded
// payloads, key references and embedded keys, compression). Their presence
// rejects the token.
var forbiddenHeaders = [...]string{"crit", "b64", "jku", "jwk", "x5u", "x5c", "zip"}

// Bounds on what a token may carry.
const (
	// maxHeaderParams bounds the header's members (Stytch sends three).
	maxHeaderParams = 16
	// maxKIDLength bounds the kid looked up in the key set; Stytch's are
	// about 45 bytes.
	maxKIDLength = 256
	// maxOtherStytchClaims bounds the https://stytch.com/ claims besides the
	// session and organization ones (Stytch sends none).
	maxOtherStytchClaims = 16
	// maxNumericDate bounds exp, iat and nbf (year 5138): anything larger is
	// not a time a Stytch token carries, and would overflow time arithmetic.
	maxNumericDate = 1e11
)

// decodeHeader decodes a JOSE header into its members. A header that is not
// a JSON object (or null), not JSON, not UTF-8, or holds a number no float64
// can represent is ErrMalformed; a name that appears twice, at any depth, is
// ErrForbiddenHeader.
func decodeHeader(data []byte) (map[string]any, error) {
	var h map[string]any
	if err := json.Unmarshal(data, &h); err != nil {
		if errors.Is(firstSyntaxError(data), jsontext.ErrDuplicateName) {
			return nil, tokenErr(ErrForbiddenHeader, "duplicated header parameter")
		}
		return nil, tokenErr(ErrMalformed, "header is not a JSON object")
	}
	return h, nil
}

// firstSyntaxError returns the first syntactic error of the JSON value in
// data (a duplicate name counts), in reading order, ignoring what a Go
// value would make of it.
func firstSyntaxError(data []byte) error {
	_, err := jsontext.NewDecoder(bytes.NewReader(data)).ReadValue()
	return err
}

// algorithm returns the header's alg: a string naming an algorithm
// golang-jwt knows, else ErrAlgorithm.
func algorithm(h map[string]any) (string, error) {
	if alg, ok := h["alg"].(string); ok && jwt.GetSigningMethod(alg) != nil {
		return alg, nil
	}
	return "", tokenErr(ErrAlgorithm, "alg missing or unsupported")
}

// keyID applies the header rules and returns the kid.
func keyID(h map[string]any) (string, error) {
	for _, name := range forbiddenHeaders {
		if _, ok := h[name]; ok {
			return "", tokenErr(ErrForbiddenHeader, "forbidden header parameter")
		}
	}
	if len(h) > maxHeaderParams {
		return "", tokenErr(ErrForbiddenHeader, "too many header parameters")
	}
	kid, ok := h["kid"].(string)
	if !ok || kid == "" {
		return "", tokenErr(ErrForbiddenHeader, "kid missing or not a string")
	}
	if len(kid) > maxKIDLength {
		return "", tokenErr(ErrUnknownKey, "kid too long")
	}
	return kid, nil
}

// payload is a token's claims as one json.Unmarshal decodes them: the
// registered claims and the Stytch claim objects in typed fields, every
// other top-level member in Others.
type payload struct {
	Issuer       string               `json:"iss"`
	Subject      string               `json:"sub"`
	Audience     audience             `json:"aud"`
	ExpiresAt    numericDate          `json:"exp"`
	IssuedAt     numericDate          `json:"iat"`
	NotBefore    numericDate          `json:"nbf"`
	Session      *client.SessionClaim `json:"https://stytch.com/session"`
	Organization *client.OrgClaim     `json:"https://stytch.com/organization"`
	Others       map[string]any       `json:",embed"`
}

// decodePayload decodes a token's claims. Text that is not a JSON object,
// not JSON, or not UTF-8 is ErrMalformed; a duplicated claim (at any depth),
// a mistyped claim or more than maxOtherStytchClaims other
// https://stytch.com/ claims is ErrClaims.
func decodePayload(data []byte) (*payload, error) {
	if jsontext.Value(data).Kind() != '{' {
		return nil, tokenErr(ErrMalformed, "payload is not a JSON object")
	}
	p := new(payload)
	if err := json.Unmarshal(data, p); err != nil {
		return nil, payloadError(data, err)
	}
	n := 0
	for name := range p.Others {
		if strings.HasPrefix(name, stytchClaimPrefix) {
			if n++; n > maxOtherStytchClaims {
				return nil, tokenErr(ErrClaims, "too many https://stytch.com/ claims")
			}
		}
	}
	return p, nil
}

// payloadError names the reason of a failed payload decode. Text that is
// not JSON by the grammar alone is malformed, wherever the decoder stopped;
// otherwise the decoder's own first error decides.
func payloadError(data []byte, err error) error {
	if !jsontext.Value(data).IsValid(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)) {
		return tokenErr(ErrMalformed, "payload is not JSON")
	}
	if errors.Is(err, jsontext.ErrDuplicateName) {
		return tokenErr(ErrClaims, "duplicated claim")
	}
	if _, ok := errors.AsType[*jsontext.SyntacticError](err); ok {
		return tokenErr(ErrMalformed, "payload is not UTF-8")
	}
	return tokenErr(ErrClaims, "mistyped claim")
}

// audience is the aud claim: a string or an array of strings (not null).
type audience []string

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (a *audience) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case '"':
		var s string
		err := json.UnmarshalDecode(dec, &s)
		*a = audience{s}
		return err
	case '[':
		return json.UnmarshalDecode(dec, (*[]string)(a))
	}
	return errors.New("aud is neither a string nor an array of strings")
}

// numericDate is exp, iat or nbf: a JSON number of seconds since the epoch,
// positive and at most maxNumericDate. Strings, null and booleans are
// errors. set records that the claim was present.
type numericDate struct {
	set bool
	t   time.Time
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (d *numericDate) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != '0' {
		return errors.New("time claim is not a JSON number")
	}
	f, err := tok.Float()
	if err != nil || f <= 0 || f > maxNumericDate {
		return errors.New("time claim out of range")
	}
	whole, frac := math.Modf(f)
	d.set, d.t = true, time.Unix(int64(whole), int64(math.Round(frac*1e9)))
	return nil
}

// ptr returns the date as golang-jwt's type, stored in dst; nil when absent.
func (d numericDate) ptr(dst *jwt.NumericDate) *jwt.NumericDate {
	if !d.set {
		return nil
	}
	dst.Time = d.t
	return dst
}

// sessionClaims fills c from the claims of a session token that passed
// checkStatic, with dates as the storage of its time pointers, and
// returns its custom claims: the top-level claims other than the registered
// names (jti included) and the https://stytch.com/ namespace, never nil. It
// consumes p.Others.
func (p *payload) sessionClaims(c *client.Claims, dates *[3]jwt.NumericDate) map[string]any {
	*c = client.Claims{
		Session:      *p.Session,
		Organization: *p.Organization,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    p.Issuer,
			Subject:   p.Subject,
			Audience:  jwt.ClaimStrings(p.Audience),
			ExpiresAt: p.ExpiresAt.ptr(&dates[0]),
			IssuedAt:  p.IssuedAt.ptr(&dates[1]),
			NotBefore: p.NotBefore.ptr(&dates[2]),
		},
	}
	custom := p.Others
	if custom == nil {
		return map[string]any{}
	}
	c.ID, _ = custom["jti"].(string)
	for name := range custom {
		if name == "jti" || strings.HasPrefix(name, stytchClaimPrefix) {
			delete(custom, name)
		}
	}
	return custom
}

// identity names the session of a payload that passed checkStatic as a
// session's.
func (p *payload) identity() Identity {
	return Identity{SessionID: p.Session.ID, MemberID: p.Subject, OrganizationID: p.Organization.ID}
}
