package stytchtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// maxCustomClaimsBytes is the limit on a session's serialized custom claims.
const maxCustomClaimsBytes = 4096

// reservedClaims are the registered JWT claim names a session's custom
// claims may not use.
var reservedClaims = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}

// stytchClaimPrefix starts the claim names Stytch keeps for itself.
const stytchClaimPrefix = "https://stytch.com/"

// checkClaimKeys rejects custom claims that name a registered claim or one
// under https://stytch.com/.
func checkClaimKeys(claims map[string]any) *apiError {
	for k := range claims {
		for _, r := range reservedClaims {
			if k == r {
				return &apiError{http.StatusBadRequest, "reserved_claims_in_custom_claims",
					"Custom claims may not use the reserved claim " + r + "."}
			}
		}
		if strings.HasPrefix(k, stytchClaimPrefix) {
			return &apiError{http.StatusBadRequest, "stytch_claims_in_custom_claims",
				"Custom claims may not use names under " + stytchClaimPrefix + "."}
		}
	}
	return nil
}

// mergeClaims merges update into a deep copy of base and returns it: a key
// set in update overwrites, a null deletes, and two objects merge
// recursively.
func mergeClaims(base, update map[string]any) map[string]any {
	out := deepCopyMap(base)
	for k, v := range update {
		switch nv := v.(type) {
		case nil:
			delete(out, k)
		case map[string]any:
			if old, ok := out[k].(map[string]any); ok {
				out[k] = mergeClaims(old, nv)
			} else {
				out[k] = mergeClaims(nil, nv)
			}
		default:
			out[k] = deepCopyValue(v)
		}
	}
	return out
}

// newSessionClaims checks the custom claims of a new session and returns
// them without their nulls.
func newSessionClaims(claims map[string]any) (map[string]any, *apiError) {
	if e := checkClaimKeys(claims); e != nil {
		return nil, e
	}
	claims = mergeClaims(nil, claims)
	if e := finishClaims(claims); e != nil {
		return nil, e
	}
	return claims, nil
}

// finishClaims checks the size of merged claims.
func finishClaims(claims map[string]any) *apiError {
	b, err := json.Marshal(claims)
	if err != nil {
		return &apiError{http.StatusBadRequest, "unable_to_represent_custom_claims_json",
			"Custom claims could not be represented as JSON."}
	}
	if len(b) > maxCustomClaimsBytes {
		return &apiError{http.StatusBadRequest, "custom_claims_too_large",
			"Custom claims may not exceed 4 KB once serialized."}
	}
	return nil
}

func deepCopyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopyValue(v)
	}
	return out
}

func deepCopyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return deepCopyMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopyValue(e)
		}
		return out
	default:
		return v
	}
}

// normalizeClaims turns caller-supplied Go values into the JSON-decoded form
// the emulator keeps (maps, slices, json.Number, strings, bools, nil).
func normalizeClaims(m map[string]any) (map[string]any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := decodeJSON(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// decodeJSON decodes b into v keeping numbers as json.Number, so custom
// claims come back out exactly as they went in.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if err := dec.Decode(new(json.RawMessage)); err != io.EOF {
		return errTrailingData
	}
	return nil
}

var errTrailingData = errors.New("stytchtest: data after the JSON value")
