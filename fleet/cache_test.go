package fleet_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/fleet"
	"github.com/stytchguard/stytchguard/internal/redistest"
)

// newClient returns a go-redis client of the test's own on url.
func newClient(t testing.TB, url string, ctxTimeouts bool) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.ContextTimeoutEnabled = ctxTimeouts
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// Secrets of the answer used below: none may be readable in Redis.
const (
	sessionToken = "mZAYn5aLEqKUlZ_Ad9U_fWr38GaAQ1oFAhT8ds245v7Q"
	sessionID    = "member-session-test-51861cbc-d3b9-428b-9761-227f5fb12be9"
	memberID     = "member-test-32fc5024-9c09-4da3-bd2e-c9ce4da9375f"
	email        = "ada.lovelace@example.com"
	orgID        = "organization-test-07971b06-ac8b-4cdb-9c15-63b17e653931"
)

// answer is an Authenticate answer as the client decodes it from the wire.
func answer(t testing.TB, sid string) *client.AuthenticateResponse {
	t.Helper()
	raw := `{
	  "request_id": "request-id-test-1",
	  "status_code": 200,
	  "session_token": "` + sessionToken + `",
	  "session_jwt": "eyJhbGciOiJSUzI1NiIsImtpZCI6Imp3ay10ZXN0In0.eyJzdWIiOiJtZW1iZXIifQ.c2lnbmF0dXJl",
	  "member_session": {
	    "member_session_id": "` + sid + `",
	    "member_id": "` + memberID + `",
	    "organization_id": "` + orgID + `",
	    "started_at": "2024-05-01T10:00:00Z",
	    "last_accessed_at": "2024-05-01T10:01:00Z",
	    "expires_at": "2024-05-01T11:00:00Z",
	    "authentication_factors": [{"type": "magic_link", "delivery_method": "email", "last_authenticated_at": "2024-05-01T10:00:00Z", "email_factor": {"email_id": "email-test-1", "email_address": "` + email + `"}}],
	    "custom_claims": {"plan": "gold", "seats": 12},
	    "roles": ["stytch_member", "editor"]
	  },
	  "member": {"member_id": "` + memberID + `", "email_address": "` + email + `", "name": "Ada Lovelace", "organization_id": "` + orgID + `", "status": "active"},
	  "organization": {"organization_id": "` + orgID + `", "organization_name": "Analytical Engines", "organization_slug": "engines"}
	}`
	var resp client.AuthenticateResponse
	if err := json.Unmarshal([]byte(raw), &resp); err != nil {
		t.Fatal(err)
	}
	return &resp
}

// TestSharedAnswerRoundTrip: one replica stores, another loads the same
// answer; another variant or credential is a miss.
func TestSharedAnswerRoundTrip(t *testing.T) {
	url, _ := redistest.Start(t)
	a, b := newFleet(t, url), newFleet(t, url)
	want := answer(t, sessionID)
	if err := a.StoreAuthenticate(ctx(t), sessionToken, "authz:documents:read", want, time.Minute); err != nil {
		t.Fatalf("Store: %v", err)
	}
	got, err := b.LoadAuthenticate(ctx(t), sessionToken, "authz:documents:read")
	if err != nil || got == nil {
		t.Fatalf("Load = %v, %v; want the answer", got, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Load = %+v\nwant %+v", got, want)
	}
	got.Member.Name = "changed" // the caller owns it
	if again, _ := b.LoadAuthenticate(ctx(t), sessionToken, "authz:documents:read"); again.Member.Name != want.Member.Name {
		t.Fatal("a loaded answer is shared between callers")
	}
	for name, cv := range map[string][2]string{
		"other variant":    {sessionToken, "authz:documents:write"},
		"no variant":       {sessionToken, ""},
		"other credential": {sessionToken + "x", "authz:documents:read"},
	} {
		if got, err := b.LoadAuthenticate(ctx(t), cv[0], cv[1]); got != nil || err != nil {
			t.Errorf("%s: Load = %v, %v; want a miss", name, got, err)
		}
	}
	// Another project on the same Redis sees nothing.
	other := newFleet(t, url, func(c *fleet.RedisConfig) { c.ProjectID = "project-test-2" })
	if got, err := other.LoadAuthenticate(ctx(t), sessionToken, "authz:documents:read"); got != nil || err != nil {
		t.Fatalf("other project: Load = %v, %v; want a miss", got, err)
	}
}

// dump returns every key of the server with its value(s) and TTL, as a
// Redis reader would see them.
func dump(t testing.TB, c *redis.Client) string {
	t.Helper()
	keys, err := c.Keys(ctx(t), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "\n")
		switch typ := c.Type(ctx(t), k).Val(); typ {
		case "string":
			b.WriteString(c.Get(ctx(t), k).Val() + "\n")
		case "set":
			b.WriteString(strings.Join(c.SMembers(ctx(t), k).Val(), "\n") + "\n")
		case "stream":
			for _, m := range c.XRange(ctx(t), k, "-", "+").Val() {
				for f, v := range m.Values {
					b.WriteString(f + "=" + v.(string) + "\n")
				}
			}
		default:
			t.Fatalf("unexpected key type %s", typ)
		}
	}
	return b.String()
}

// TestRedisReaderLearnsNothing: after answers are stored, nothing in the
// server reveals the credential or the session content.
func TestRedisReaderLearnsNothing(t *testing.T) {
	url, _ := redistest.Start(t)
	r := newFleet(t, url)
	resp := answer(t, sessionID)
	jwt := resp.SessionJWT
	if err := r.StoreAuthenticate(ctx(t), sessionToken, "", resp, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := r.StoreAuthenticate(ctx(t), jwt, "authz:documents:read", resp, time.Minute); err != nil {
		t.Fatal(err)
	}
	all := dump(t, newClient(t, url, true))
	if !strings.Contains(all, ":auth:") {
		t.Fatalf("no cache entry found in the dump:\n%s", all)
	}
	for name, secret := range map[string]string{
		"session token":     sessionToken,
		"session JWT":       jwt,
		"JWT signature":     "c2lnbmF0dXJl",
		"session id":        sessionID,
		"member id":         memberID,
		"email":             email,
		"organization id":   orgID,
		"organization name": "Analytical Engines",
		"custom claim":      "gold",
		"variant":           "documents",
	} {
		if strings.Contains(all, secret) {
			t.Errorf("the %s is readable in Redis", name)
		}
	}
}

// TestTamperedValuesAreMisses: a value that was not sealed for this
// credential and variant, or no longer valid, never becomes an answer.
func TestTamperedValuesAreMisses(t *testing.T) {
	url, _ := redistest.Start(t)
	clk := newClock()
	r := newFleet(t, url, func(c *fleet.RedisConfig) { c.Now = clk.Now })
	rc := newClient(t, url, true)
	const victim, attacker = "victim-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "attacker-token-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

	keyOf := func(credential, variant string) (string, []byte) {
		t.Helper()
		rc.FlushAll(ctx(t))
		if err := r.StoreAuthenticate(ctx(t), credential, variant, answer(t, sessionID), time.Minute); err != nil {
			t.Fatal(err)
		}
		keys := rc.Keys(ctx(t), "*:auth:*").Val()
		if len(keys) != 1 {
			t.Fatalf("keys = %v", keys)
		}
		v, _ := rc.Get(ctx(t), keys[0]).Bytes()
		return keys[0], v
	}
	victimKey, _ := keyOf(victim, "")
	victimWriteKey, _ := keyOf(victim, "authz:documents:write")
	_, attackerValue := keyOf(attacker, "")
	_, victimReadValue := keyOf(victim, "authz:documents:read")
	_, victimValue := keyOf(victim, "")

	flip := func(b []byte, i int) []byte { c := append([]byte(nil), b...); c[i] ^= 1; return c }
	cases := []struct {
		name    string
		key     string
		value   []byte
		variant string
	}{
		// the attacker's own valid answer planted under the victim's key.
		{"another credential's value", victimKey, attackerValue, ""},
		// an answer for a read permission replayed for a write check.
		{"another variant's value", victimWriteKey, victimReadValue, "authz:documents:write"},
		// a bit flipped in the ciphertext (the member's roles, say).
		{"ciphertext altered", victimKey, flip(victimValue, len(victimValue)-40), ""},
		// the authentication tag altered.
		{"tag altered", victimKey, flip(victimValue, len(victimValue)-1), ""},
		// the nonce altered.
		{"nonce altered", victimKey, flip(victimValue, 3), ""},
		// a future format version byte.
		{"version altered", victimKey, flip(victimValue, 0), ""},
		{"truncated", victimKey, victimValue[:20], ""},
		{"empty", victimKey, []byte{}, ""},
		// plaintext JSON of an answer, as a naive cache would store it.
		{"plaintext answer", victimKey, mustJSON(t, answer(t, sessionID)), ""},
		{"oversized", victimKey, make([]byte, 2<<20), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := rc.Set(ctx(t), tc.key, tc.value, time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
			got, err := r.LoadAuthenticate(ctx(t), victim, tc.variant)
			if got != nil || err != nil {
				t.Fatalf("Load = %v, %v; want a miss", got, err)
			}
		})
	}

	t.Run("replayed after its expiry", func(t *testing.T) {
		// A value copied while valid and written back, without a TTL,
		// after it expired (say, after the session was revoked).
		key, value := keyOf(victim, "")
		if got, _ := r.LoadAuthenticate(ctx(t), victim, ""); got == nil {
			t.Fatal("the fresh value does not load")
		}
		clk.Advance(time.Minute + time.Millisecond)
		rc.Set(ctx(t), key, value, 0)
		if got, err := r.LoadAuthenticate(ctx(t), victim, ""); got != nil || err != nil {
			t.Fatalf("Load = %v, %v; want a miss", got, err)
		}
	})
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTTLHonoured: the entry and its session index carry the TTL, read with
// the server's PTTL.
func TestTTLHonoured(t *testing.T) {
	url, _ := redistest.Start(t)
	r := newFleet(t, url)
	rc := newClient(t, url, true)
	const ttl = 90 * time.Second
	if err := r.StoreAuthenticate(ctx(t), sessionToken, "", answer(t, sessionID), ttl); err != nil {
		t.Fatal(err)
	}
	keys := rc.Keys(ctx(t), "stytchguard:project-test-1:*").Val()
	if len(keys) != 2 {
		t.Fatalf("keys = %v, want the entry and its session index", keys)
	}
	for _, k := range keys {
		pttl := rc.PTTL(ctx(t), k).Val()
		if pttl <= 0 || pttl > ttl {
			t.Errorf("PTTL %s = %v, want in (0, %v]", k, pttl, ttl)
		}
	}
}

// TestForgetSession drops every answer of one session and only those.
func TestForgetSession(t *testing.T) {
	url, _ := redistest.Start(t)
	a, b := newFleet(t, url), newFleet(t, url)
	const other = "member-session-test-other"
	store := func(cred, variant, sid string) {
		t.Helper()
		if err := a.StoreAuthenticate(ctx(t), cred, variant, answer(t, sid), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	store("token-1", "", sessionID)
	store("token-1", "authz:x:y", sessionID)
	store("jwt-1", "", sessionID)
	store("token-2", "", other)
	if err := b.ForgetSession(ctx(t), sessionID); err != nil {
		t.Fatalf("ForgetSession: %v", err)
	}
	for _, cv := range [][2]string{{"token-1", ""}, {"token-1", "authz:x:y"}, {"jwt-1", ""}} {
		if got, err := a.LoadAuthenticate(ctx(t), cv[0], cv[1]); got != nil || err != nil {
			t.Errorf("%v after ForgetSession: %v, %v; want a miss", cv, got, err)
		}
	}
	if got, err := a.LoadAuthenticate(ctx(t), "token-2", ""); got == nil || err != nil {
		t.Fatalf("another session's answer: %v, %v; want it kept", got, err)
	}
	// Forgetting a session with nothing stored is fine.
	if err := b.ForgetSession(ctx(t), "member-session-unknown"); err != nil {
		t.Fatal(err)
	}
}

func TestStoreInput(t *testing.T) {
	r := newFleet(t, "unix:///nonexistent/redis.sock")
	good := answer(t, sessionID)
	noSession := answer(t, sessionID)
	noSession.MemberSession.MemberSessionID = ""
	cases := []struct {
		name       string
		credential string
		variant    string
		resp       *client.AuthenticateResponse
		ttl        time.Duration
	}{
		{"empty credential", "", "", good, time.Minute},
		// a credential of megabytes would make every derivation costly.
		{"oversized credential", strings.Repeat("a", fleet.MaxCredentialLength+1), "", good, time.Minute},
		{"oversized variant", "t", strings.Repeat("v", fleet.MaxVariantLength+1), good, time.Minute},
		{"nil answer", "t", "", nil, time.Minute},
		// an answer that ForgetSession could never find.
		{"answer without session id", "t", "", noSession, time.Minute},
		{"zero ttl", "t", "", good, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := r.StoreAuthenticate(ctx(t), tc.credential, tc.variant, tc.resp, tc.ttl); !errors.Is(err, fleet.ErrInvalidInput) {
				t.Fatalf("Store = %v, want ErrInvalidInput", err)
			}
		})
	}
	if _, err := r.LoadAuthenticate(ctx(t), "", ""); !errors.Is(err, fleet.ErrInvalidInput) {
		t.Fatalf("Load of an empty credential = %v", err)
	}
}

// TestFrozenRedisFailsFast: with Redis frozen (SIGSTOP), cache operations
// fail within a bound, the breaker opens, Current reports the cut-off, and
// everything recovers after SIGCONT. Run for a client built from a URL and
// for a caller's client that does not honour context deadlines.
func TestFrozenRedisFailsFast(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client bool
	}{{"url", false}, {"client without context deadlines", true}} {
		t.Run(tc.name, func(t *testing.T) {
			url, srv := redistest.Start(t)
			mod := func(c *fleet.RedisConfig) {
				c.OpTimeout = 100 * time.Millisecond
				c.BreakerOpenFor = 300 * time.Millisecond
				if tc.client {
					c.URL, c.Client = "", newClient(t, url, false)
				}
			}
			r := newFleet(t, url, mod)
			waitCurrent(t, r)
			if err := r.StoreAuthenticate(ctx(t), sessionToken, "", answer(t, sessionID), time.Minute); err != nil {
				t.Fatal(err)
			}

			srv.Pause()
			var breakerOpen bool
			for i := range fleet.DefaultBreakerFailures + 1 {
				start := time.Now()
				got, err := r.LoadAuthenticate(ctx(t), sessionToken, "")
				took := time.Since(start)
				if got != nil || !errors.Is(err, fleet.ErrUnavailable) {
					t.Fatalf("Load %d with Redis frozen = %v, %v; want ErrUnavailable", i, got, err)
				}
				if took > 2*time.Second {
					t.Fatalf("Load %d with Redis frozen took %v", i, took)
				}
				breakerOpen = errors.Is(err, gobreaker.ErrOpenState)
				if strings.Contains(err.Error(), sessionToken) {
					t.Fatalf("error names the credential: %v", err)
				}
			}
			if !breakerOpen {
				t.Fatal("breaker not open after repeated timeouts")
			}
			if err := r.StoreAuthenticate(ctx(t), sessionToken, "", answer(t, sessionID), time.Minute); !errors.Is(err, gobreaker.ErrOpenState) {
				t.Fatalf("Store with the breaker open = %v", err)
			}
			eventually(t, "Current() not cut off with Redis frozen", func() bool { return errors.Is(r.Current(), fleet.ErrCutOff) })

			srv.Resume()
			waitCurrent(t, r)
			eventually(t, "Load does not recover after SIGCONT", func() bool {
				got, err := r.LoadAuthenticate(ctx(t), sessionToken, "")
				return got != nil && err == nil
			})
		})
	}
}

// TestCallerCancelDoesNotTrip: callers that give up do not open the
// breaker.
func TestCallerCancelDoesNotTrip(t *testing.T) {
	url, _ := redistest.Start(t)
	r := newFleet(t, url)
	cancelled, cancel := contextWithCancel(t)
	cancel()
	for range 2 * fleet.DefaultBreakerFailures {
		r.LoadAuthenticate(cancelled, sessionToken, "")
	}
	if _, err := r.LoadAuthenticate(ctx(t), sessionToken, ""); err != nil {
		t.Fatalf("Load after cancelled callers = %v; the breaker opened", err)
	}
}
