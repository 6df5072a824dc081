package verifier

import (
	"encoding/json"
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

// header is what verify reads from a JOSE header: the raw values of alg and
// kid (the last of each, should a name repeat), and the first breach of the
// header rules, which verify reports only after the payload and the alg,
// in the order its checks run.
type header struct {
	alg, kid []byte
	rule     error
}

// readHeader walks the decoded header, which json.Valid has accepted. A
// header that is not a JSON object is malformed; JSON null carries no alg.
func readHeader(data []byte) (header, error) {
	var h header
	if null(data[skipSpace(data, 0):]) {
		return h, nil
	}
	var seen [8][]byte
	names := seen[:0]
	err := walkObject(data, func(name, value []byte) error {
		if value[0] != '"' && !decodable(value) {
			return errNotObject
		}
		switch string(name) {
		case "alg":
			h.alg = value
		case "kid":
			h.kid = value
		}
		if h.rule != nil {
			return nil
		}
		switch {
		case slices.Contains(forbiddenHeaders[:], string(name)):
			h.rule = tokenErr(ErrForbiddenHeader, "forbidden header parameter")
		case len(names) == maxHeaderParams:
			h.rule = tokenErr(ErrForbiddenHeader, "too many header parameters")
		case slices.ContainsFunc(names, func(s []byte) bool { return string(s) == string(name) }):
			h.rule = tokenErr(ErrForbiddenHeader, "duplicated header parameter")
		default:
			names = append(names, name)
		}
		return nil
	})
	if err != nil {
		return h, tokenErr(ErrMalformed, "header is not a JSON object")
	}
	return h, nil
}

// decodable reports whether a header value that is not a string decodes
// into a Go value: a number beyond float64 (1e400) does not, and the header
// is malformed, as when it is decoded into a map. Stytch's header values
// are all strings, so this costs nothing on their tokens.
func decodable(value []byte) bool {
	var v any
	return json.Unmarshal(value, &v) == nil
}

// keyID applies the header rules and returns the kid.
func (h *header) keyID() (string, error) {
	if h.rule != nil {
		return "", h.rule
	}
	if len(h.kid) == 0 || h.kid[0] != '"' {
		return "", tokenErr(ErrForbiddenHeader, "kid missing or not a string")
	}
	kid, err := jsonString(h.kid)
	if err != nil || kid == "" {
		return "", tokenErr(ErrForbiddenHeader, "kid missing or not a string")
	}
	if len(kid) > maxKIDLength {
		return "", tokenErr(ErrUnknownKey, "kid too long")
	}
	return kid, nil
}
