package stytchtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"time"
)

// newUUID returns a random (version 4, RFC 9562) UUID in its canonical
// 36-character form.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// newOpaqueToken returns 44 characters of the base64url alphabet drawn from
// 33 random bytes: the shape of a Stytch session token or intermediate
// session token. It never contains a '.', so it cannot be mistaken for a JWT.
func newOpaqueToken() string {
	var b [33]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// newID returns "<kind>-<env>-<uuid>", e.g. "member-test-1b2c...".
func (s *Server) newID(kind string) string {
	return kind + "-" + s.env + "-" + newUUID()
}

// formatTime renders t as RFC 3339 in UTC with whole seconds and a "Z"
// suffix, the timestamp format of every Stytch response.
func formatTime(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}
