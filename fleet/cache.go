package fleet

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stytchguard/stytchguard/client"
)

const (
	// MaxCredentialLength is the longest credential the cache accepts.
	MaxCredentialLength = 16 << 10
	// MaxVariantLength is the longest variant the cache accepts.
	MaxVariantLength = 1 << 10

	// maxSealed bounds a stored value read back; anything larger is not
	// ours and is a miss.
	maxSealed = 1 << 20
	// sealVersion is the first byte of a sealed value.
	sealVersion  = 1
	nonceSize    = 12
	cacheKeyPart = "auth:"
	indexKeyPart = "sess:"
	digestHexLen = 2 * sha256.Size
)

// HKDF info labels; the variant follows the NUL.
const (
	infoKey  = "stytchguard/fleet/v1 cache key\x00"
	infoSeal = "stytchguard/fleet/v1 cache seal\x00"
)

// envelope is the plaintext of a sealed value.
type envelope struct {
	// Exp is when the entry stops being valid (Unix milliseconds), checked
	// on load so a value replayed into Redis after its TTL is a miss.
	Exp  int64                        `json:"exp"`
	Resp *client.AuthenticateResponse `json:"resp"`
}

// derive returns the Redis key of credential+variant and the AEAD that
// seals its value. Both come from HKDF-SHA256 of the credential, salted with
// the namespace and project: the key is a digest that reveals nothing of
// the credential, and the sealing key is known only to whoever holds the
// credential.
func (r *Redis) derive(credential, variant string) (string, cipher.AEAD, error) {
	if credential == "" || len(credential) > MaxCredentialLength {
		return "", nil, &inputError{"credential must be 1 to " + strconv.Itoa(MaxCredentialLength) + " bytes"}
	}
	if len(variant) > MaxVariantLength {
		return "", nil, &inputError{"variant longer than " + strconv.Itoa(MaxVariantLength) + " bytes"}
	}
	prk, err := hkdf.Extract(sha256.New, []byte(credential), r.salt)
	if err != nil {
		return "", nil, err
	}
	id, err := hkdf.Expand(sha256.New, prk, infoKey+variant, sha256.Size)
	if err != nil {
		return "", nil, err
	}
	k, err := hkdf.Expand(sha256.New, prk, infoSeal+variant, 32)
	if err != nil {
		return "", nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return "", nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return "", nil, err
	}
	return r.prefix + cacheKeyPart + hex.EncodeToString(id), aead, nil
}

// sessionIndex is the key of the set of cache keys stored for a session: a
// digest of the session id, never the id.
func (r *Redis) sessionIndex(sessionID string) string {
	sum := sha256.Sum256([]byte("stytchguard/fleet/v1 session\x00" + sessionID))
	return r.prefix + indexKeyPart + hex.EncodeToString(sum[:])
}

// isCacheKey reports whether k names one of our cache entries, so that an
// index holding anything else (written by someone else) deletes nothing
// else.
func (r *Redis) isCacheKey(k string) bool {
	rest, ok := strings.CutPrefix(k, r.prefix+cacheKeyPart)
	if !ok || len(rest) != digestHexLen {
		return false
	}
	_, err := hex.DecodeString(rest)
	return err == nil
}

func seal(aead cipher.AEAD, key string, plaintext []byte) []byte {
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plaintext)+aead.Overhead())
	out[0] = sealVersion
	rand.Read(out[1 : 1+nonceSize])
	return aead.Seal(out, out[1:1+nonceSize], plaintext, aad(key))
}

// aad binds a sealed value to its format version and its key.
func aad(key string) []byte {
	return append([]byte{sealVersion}, key...)
}

// open returns the answer sealed in raw, or false when raw is not a value
// this credential sealed, is malformed, or has expired.
func (r *Redis) open(aead cipher.AEAD, key string, raw []byte) (*client.AuthenticateResponse, bool) {
	if len(raw) < 1+nonceSize+aead.Overhead() || len(raw) > maxSealed || raw[0] != sealVersion {
		return nil, false
	}
	plain, err := aead.Open(nil, raw[1:1+nonceSize], raw[1+nonceSize:], aad(key))
	if err != nil {
		return nil, false
	}
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil || dec.More() {
		return nil, false
	}
	if env.Resp == nil || env.Resp.MemberSession.MemberSessionID == "" {
		return nil, false
	}
	if r.now().UnixMilli() >= env.Exp {
		return nil, false
	}
	return env.Resp, true
}

// LoadAuthenticate returns the Authenticate answer shared by the fleet for
// credential (a session token or JWT) and variant (whatever else
// distinguishes the request, such as an authorization check; may be
// empty), or (nil, nil) on a miss. A stored value that does not open with
// the key derived from this credential and variant (tampered with, or
// stored under another credential's key), that does not decode into an
// answer, or whose sealed expiry has passed, is a miss. The caller owns the
// result.
//
// Redis is asked within OpTimeout, through the breaker: when Redis is slow
// or down it returns (nil, err) with err a *[RedisError] matching
// [ErrUnavailable], fast once the breaker is open. An empty or oversized
// credential or variant returns an error matching [ErrInvalidInput].
func (r *Redis) LoadAuthenticate(ctx context.Context, credential, variant string) (*client.AuthenticateResponse, error) {
	if r.closed.Load() {
		return nil, ErrClosed
	}
	key, aead, err := r.derive(credential, variant)
	if err != nil {
		return nil, err
	}
	raw, err := cacheOp(r, ctx, "load", func(ctx context.Context) ([]byte, error) {
		b, err := r.c.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		return b, err
	})
	if err != nil || raw == nil {
		return nil, err
	}
	resp, ok := r.open(aead, key, raw)
	if !ok {
		r.log.Debug("fleet: shared answer does not open for this credential; a miss")
		return nil, nil
	}
	return resp, nil
}

// StoreAuthenticate shares resp for credential and variant for ttl: it
// stores resp sealed with AES-256-GCM under a key derived from the
// credential (with the Redis key as additional data, and the expiry inside
// the seal), and adds the entry to its session's index, a set keyed by a
// digest of resp's member session id, so that [Redis.ForgetSession] finds
// it. Neither the credential nor anything of resp is readable in Redis.
//
// The index's TTL is set to ttl on each store, so it outlives its entries
// when every store uses the same ttl. Errors: ErrInvalidInput for an empty
// or oversized credential or variant, a nil resp, a resp without a valid
// member session id, or a ttl under a millisecond; a *[RedisError] matching
// [ErrUnavailable] as for LoadAuthenticate.
func (r *Redis) StoreAuthenticate(ctx context.Context, credential, variant string, resp *client.AuthenticateResponse, ttl time.Duration) error {
	if r.closed.Load() {
		return ErrClosed
	}
	if resp == nil || !validSessionID(resp.MemberSession.MemberSessionID) {
		return &inputError{"response without a valid member session id"}
	}
	if ttl < time.Millisecond {
		return &inputError{"ttl under a millisecond"}
	}
	key, aead, err := r.derive(credential, variant)
	if err != nil {
		return err
	}
	plain, err := json.Marshal(envelope{Exp: r.now().Add(ttl).UnixMilli(), Resp: resp})
	if err != nil {
		return &inputError{"response does not encode: " + err.Error()}
	}
	val := seal(aead, key, plain)
	idx := r.sessionIndex(resp.MemberSession.MemberSessionID)
	_, err = cacheOp(r, ctx, "store", func(ctx context.Context) (struct{}, error) {
		_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key, val, ttl)
			p.SAdd(ctx, idx, key)
			p.PExpire(ctx, idx, ttl)
			return nil
		})
		return struct{}{}, err
	})
	return err
}

// ForgetSession deletes, fleet-wide, every answer stored for sessionID, for
// example after its revocation. It reads the session's index, deletes the
// entries it names (only keys of this cache: an index holding other names
// deletes nothing else) and removes them from the index; an entry stored
// concurrently stays until its TTL. Errors as for LoadAuthenticate; an
// invalid session id returns an error matching ErrInvalidInput.
func (r *Redis) ForgetSession(ctx context.Context, sessionID string) error {
	if !validSessionID(sessionID) {
		return invalidSessionID()
	}
	if r.closed.Load() {
		return ErrClosed
	}
	idx := r.sessionIndex(sessionID)
	_, err := cacheOp(r, ctx, "forget", func(ctx context.Context) (struct{}, error) {
		keys, err := r.c.SMembers(ctx, idx).Result()
		if err != nil || len(keys) == 0 {
			return struct{}{}, err
		}
		_, err = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				// One key per command: in a cluster, keys live in
				// different slots.
				if r.isCacheKey(k) {
					p.Del(ctx, k)
				}
				p.SRem(ctx, idx, k)
			}
			return nil
		})
		return struct{}{}, err
	})
	return err
}
