package verifier

import (
	"encoding/base64"
	"slices"
)

// forbiddenHeaders are JOSE header parameters a Stytch session JWT never
// carries and that change how a token must be processed (critical
// extensions, unencoded payloads, key references and embedded keys,
// compression). Their presence rejects the token.
var forbiddenHeaders = [...]string{"crit", "b64", "jku", "jwk", "x5u", "x5c", "zip"}

// maxHeaderParams bounds the header's members (Stytch sends three), which
// keeps the duplicate check cheap.
const maxHeaderParams = 16

// maxKIDLength bounds the kid looked up in the key set; Stytch's are about 45
// bytes.
const maxKIDLength = 256

// checkHeader re-reads the raw header segment (already decoded and validated
// by golang-jwt into a map, which silently keeps the last of duplicated
// names) to reject duplicated and forbidden parameters, and returns the kid.
func checkHeader(segment string, header map[string]any) (string, error) {
	var buf [512]byte
	var raw []byte
	enc := base64.RawURLEncoding.Strict()
	if n := enc.DecodedLen(len(segment)); n <= len(buf) {
		raw = buf[:n]
	} else {
		raw = make([]byte, n)
	}
	n, err := enc.Decode(raw, []byte(segment))
	if err != nil {
		return "", tokenErr(ErrMalformed, "header is not strict base64url")
	}
	raw = raw[:n]
	var seen [8][]byte
	names := seen[:0]
	err = walkObject(raw, func(name, _ []byte) error {
		for _, f := range forbiddenHeaders {
			if string(name) == f {
				return tokenErr(ErrForbiddenHeader, "forbidden header parameter")
			}
		}
		if len(names) == maxHeaderParams {
			return tokenErr(ErrForbiddenHeader, "too many header parameters")
		}
		if slices.ContainsFunc(names, func(s []byte) bool { return string(s) == string(name) }) {
			return tokenErr(ErrForbiddenHeader, "duplicated header parameter")
		}
		names = append(names, name)
		return nil
	})
	if err != nil {
		if _, ok := err.(*TokenError); ok {
			return "", err
		}
		return "", tokenErr(ErrMalformed, "header is not a JSON object")
	}
	kid, ok := header["kid"].(string)
	if !ok || kid == "" {
		return "", tokenErr(ErrForbiddenHeader, "kid missing or not a string")
	}
	if len(kid) > maxKIDLength {
		return "", tokenErr(ErrUnknownKey, "kid too long")
	}
	return kid, nil
}
