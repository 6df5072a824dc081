package middleware_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stytchguard/stytchguard/middleware"
)

// FuzzExtract feeds arbitrary Authorization and Cookie headers to the default
// extractors: they must never panic, and whatever they return must have the
// shape of a session JWT or token within the size cap.
func FuzzExtract(f *testing.F) {
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
	tok := strings.Repeat("A", 44)
	for _, s := range []struct{ auth, cookie string }{
		{"Bearer " + jwt, ""},
		{"bearer    " + tok, ""},
		{"Bearer\t" + jwt, ""},
		{"Basic dXNlcjpwYXNz", "stytch_session_jwt=" + jwt},
		{"", "stytch_session_jwt=" + jwt + "; stytch_session=" + tok},
		{"", "stytch_session_jwt=" + jwt + "; stytch_session_jwt=" + jwt},
		{"Bearer a.b.c.d", "stytch_session=a\x00b"},
		{"Bearer " + strings.Repeat(".", 100), "stytch_session=\r\n"},
		{"Bearer", ""},
		{"Bearer " + jwt + "=", "stytch_session_jwt=\xff\xfe"},
	} {
		f.Add(s.auth, s.cookie)
	}
	bearer := middleware.BearerExtractor(0)
	cookie := middleware.CookieExtractor("", "", 0)
	f.Fuzz(func(t *testing.T, auth, cookieHeader string) {
		r, _ := http.NewRequest("GET", "http://example.test/", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if cookieHeader != "" {
			r.Header.Set("Cookie", cookieHeader)
		}
		for _, ex := range []middleware.Extractor{bearer, cookie} {
			cred, err := ex(r)
			if err != nil {
				if cred != (middleware.Credential{}) {
					t.Fatalf("credential returned with an error")
				}
				continue
			}
			if len(cred.SessionJWT)+len(cred.SessionToken) > 2*middleware.DefaultMaxCredentialBytes {
				t.Fatalf("credential over the size cap")
			}
			if cred.SessionJWT != "" && !jwtShape.MatchString(cred.SessionJWT) {
				t.Fatalf("SessionJWT %q fails the independent shape oracle", cred.SessionJWT)
			}
			if cred.SessionToken != "" && !tokenShape.MatchString(cred.SessionToken) {
				t.Fatalf("SessionToken %q fails the independent shape oracle", cred.SessionToken)
			}
			if cred.SessionJWT != "" && middleware.Classify(cred.SessionJWT, 0) != middleware.KindJWT {
				t.Fatalf("SessionJWT %q is not JWT-shaped", cred.SessionJWT)
			}
			if cred.SessionToken != "" && middleware.Classify(cred.SessionToken, 0) != middleware.KindSessionToken {
				t.Fatalf("SessionToken %q is not token-shaped", cred.SessionToken)
			}
		}
	})
}
