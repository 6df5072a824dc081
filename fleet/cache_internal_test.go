package fleet

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/internal/redistest"
)

func newInternal(t *testing.T) (*Redis, *redis.Client) {
	t.Helper()
	url, _ := redistest.Start(t)
	r, err := NewRedis(RedisConfig{URL: url, ProjectID: "project-test-1", OpTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	opt, _ := redis.ParseURL(url)
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return r, c
}

// TestSealedButNotAnAnswer: values sealed with the right key (so only the
// credential's holder could have written them) that do not decode into a
// valid answer are misses.
func TestSealedButNotAnAnswer(t *testing.T) {
	r, c := newInternal(t)
	const cred = "credential-1"
	key, aead, err := r.derive(cred, "")
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).UnixMilli()
	for name, plain := range map[string]string{
		"not JSON":               "hello",
		"another shape":          `{"foo": 1}`,
		"no answer":              `{"exp": ` + itoa(exp) + `}`,
		"answer without session": `{"exp": ` + itoa(exp) + `, "resp": {"member": {"member_id": "m"}}}`,
		"trailing data":          `{"exp": ` + itoa(exp) + `, "resp": {"member_session": {"member_session_id": "s"}}} {}`,
		"unknown field":          `{"exp": ` + itoa(exp) + `, "resp": {"member_session": {"member_session_id": "s"}}, "x": 1}`,
		"expired":                `{"exp": 1, "resp": {"member_session": {"member_session_id": "s"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			c.Set(t.Context(), key, seal(aead, key, []byte(plain)), time.Minute)
			if got, err := r.LoadAuthenticate(t.Context(), cred, ""); got != nil || err != nil {
				t.Fatalf("Load = %v, %v; want a miss", got, err)
			}
		})
	}
	// The control: the same path with a valid envelope is a hit.
	ok := `{"exp": ` + itoa(exp) + `, "resp": {"member_session": {"member_session_id": "s"}}}`
	c.Set(t.Context(), key, seal(aead, key, []byte(ok)), time.Minute)
	if got, err := r.LoadAuthenticate(t.Context(), cred, ""); got == nil || err != nil {
		t.Fatalf("Load of a valid envelope = %v, %v", got, err)
	}
}

// TestForgetSessionDeletesOnlyCacheKeys: an index into which someone wrote
// other key names makes ForgetSession delete none of them.
func TestForgetSessionDeletesOnlyCacheKeys(t *testing.T) {
	r, c := newInternal(t)
	const sid = "member-session-1"
	resp := &client.AuthenticateResponse{MemberSession: client.MemberSession{MemberSessionID: sid}}
	if err := r.StoreAuthenticate(t.Context(), "credential-1", "", resp, time.Minute); err != nil {
		t.Fatal(err)
	}
	idx := r.sessionIndex(sid)
	victims := []string{
		"app:users",                              // the application's own data
		r.stream,                                 // the revocation log
		r.prefix + cacheKeyPart + "not-a-digest", // lookalike of a cache key
		r.prefix + indexKeyPart + "0123",         // another index
	}
	for _, v := range victims {
		c.Set(t.Context(), v, "keep", 0)
		c.SAdd(t.Context(), idx, v)
	}
	if err := r.ForgetSession(t.Context(), sid); err != nil {
		t.Fatal(err)
	}
	for _, v := range victims {
		if c.Exists(t.Context(), v).Val() != 1 {
			t.Errorf("ForgetSession deleted %q", v)
		}
	}
	if got, _ := r.LoadAuthenticate(t.Context(), "credential-1", ""); got != nil {
		t.Fatal("the session's own entry survived")
	}
}

// TestKeysAreDigests: the key of an entry depends on the credential, the
// variant and the project, and contains none of them.
func TestKeysAreDigests(t *testing.T) {
	r, _ := newInternal(t)
	other, err := NewRedis(RedisConfig{URL: "unix:///nonexistent", ProjectID: "project-test-2"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	k1, _, _ := r.derive("credential-1", "")
	k2, _, _ := r.derive("credential-2", "")
	k3, _, _ := r.derive("credential-1", "v")
	k4, _, _ := other.derive("credential-1", "")
	seen := map[string]bool{}
	for _, rest := range []string{k1[len(r.prefix):], k2[len(r.prefix):], k3[len(r.prefix):], k4[len(other.prefix):]} {
		if seen[rest] || !r.isCacheKey(r.prefix+rest) || strings.Contains(rest, "credential") {
			t.Fatalf("key part %q repeated, malformed or revealing", rest)
		}
		seen[rest] = true
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
