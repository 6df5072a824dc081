package verifier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/internal/attacks"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// rewriter is a reverse proxy in front of the emulator that hands every 200
// answer of the sessions Authenticate endpoint to rewrite, as decoded JSON,
// before passing it on: a misbehaving gateway between the verifier and
// Stytch.
type rewriter struct {
	mu      sync.Mutex
	rewrite func(body map[string]any)
}

func (rw *rewriter) set(f func(body map[string]any)) {
	rw.mu.Lock()
	rw.rewrite = f
	rw.mu.Unlock()
}

func (rw *rewriter) modify(resp *http.Response) error {
	rw.mu.Lock()
	f := rw.rewrite
	rw.mu.Unlock()
	if f == nil || resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/v1/b2b/sessions/authenticate" {
		return nil
	}
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return err
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		return err
	}
	f(body)
	if raw, err = json.Marshal(body); err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	resp.ContentLength = int64(len(raw))
	resp.Header.Set("Content-Length", strconv.Itoa(len(raw)))
	return nil
}

// bindEnv is an emulator behind a rewriting proxy, and a Verifier whose
// every call (JWKS and Authenticate) goes through the proxy.
type bindEnv struct {
	*env
	rw *rewriter
}

func newBindEnv(t *testing.T) *bindEnv {
	key, _, _ := keys(t)
	clock := stytchtest.NewClock(t0)
	srv := stytchtest.NewServer(stytchtest.Options{SigningKey: key, KeyID: "jwk-test-primary", Now: clock.Now})
	t.Cleanup(srv.Close)
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	rw := &rewriter{}
	proxy := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite:        func(r *httputil.ProxyRequest) { r.SetURL(target) },
		ModifyResponse: rw.modify,
	})
	t.Cleanup(proxy.Close)
	v, err := New(context.Background(), Config{
		ProjectID: srv.ProjectID, BaseURL: proxy.URL, Secret: srv.Secret, Now: clock.Now, JWKSFetchTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return &bindEnv{env: &env{srv: srv, clock: clock, v: v, kid: "jwk-test-primary"}, rw: rw}
}

// honest returns the emulator's own answer for a session token, as JSON.
func (e *bindEnv) honest(t *testing.T, token string) map[string]any {
	t.Helper()
	c, err := client.New(client.Config{ProjectID: e.srv.ProjectID, Secret: e.srv.Secret, BaseURL: e.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Sessions.Authenticate(context.Background(), &client.AuthenticateParams{SessionToken: token})
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(mustJSON(t, resp)), &body); err != nil {
		t.Fatal(err)
	}
	return body
}

// TestBindAnswer replays, over loopback, Authenticate answers rewritten by
// a proxy: each must be refused as an upstream fault (ErrUnboundAnswer,
// client.ErrUnavailable, never ErrInvalidToken), with no answer returned and
// nothing of the answer in the error, while the honest answers pass.
func TestBindAnswer(t *testing.T) {
	ctx := context.Background()
	e := newBindEnv(t)
	e.srv.SetPolicy(client.Policy{
		Roles:     []client.Role{{RoleID: "editor", Permissions: []client.Permission{{ResourceID: "documents", Actions: []string{"read"}}}}},
		Resources: []client.Resource{{ResourceID: "documents", Actions: []string{"read"}}},
	})
	const org, otherOrg = "organization-test-acme", "organization-test-other"
	aliceTok, aliceJWT, err := e.srv.NewSession(stytchtest.SessionSpec{OrganizationID: org, MemberID: "member-test-alice", Roles: []string{"editor"}, Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	bobTok, _, err := e.srv.NewSession(stytchtest.SessionSpec{OrganizationID: org, MemberID: "member-test-bob", Roles: []string{"editor"}, Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.srv.NewSession(stytchtest.SessionSpec{OrganizationID: otherOrg, MemberID: "member-test-carol", Duration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	// Alice's JWT is refreshed remotely once it has expired; her session lives an hour.
	e.clock.Advance(MaxTokenLifetime + time.Minute)
	bob := e.honest(t, bobTok) // with a fresh session_jwt
	_, other, _ := keys(t)
	// Alice's session claims re-signed by an attacker's key under the real kid.
	forgedJWT := func() string {
		parts := strings.Split(aliceJWT, ".")
		return parts[0] + "." + parts[1] + "." + attacks.RSASign(t, other, parts[0]+"."+parts[1])
	}()
	m2mJWT := e.sign(t, e.m2mClaims(t0), nil)
	check := &client.AuthorizationCheck{OrganizationID: org, ResourceID: "documents", Action: "read"}

	ms := func(b map[string]any) map[string]any { return b["member_session"].(map[string]any) }
	cases := []struct {
		name    string
		rule    string // the failed rule the error names
		send    string // "jwt" (alice's expired JWT), "token" (her opaque token), "check" (token with an authorization check)
		rewrite func(b map[string]any)
		ok      bool
	}{
		// The honest answers pass.
		{name: "honest_jwt", send: "jwt", ok: true},
		{name: "honest_token", send: "token", ok: true},
		{name: "honest_check", send: "check", ok: true},
		// Another member's whole answer for alice's JWT: bob would run as alice.
		{name: "another_members_answer_jwt", rule: "member_session is not the session of the credential sent", send: "jwt", rewrite: func(b map[string]any) { clear(b); maps.Copy(b, bob) }},
		// Another member's whole answer for alice's opaque token.
		{name: "another_members_answer_token", rule: "session_token is not the one sent", send: "token", rewrite: func(b map[string]any) { clear(b); maps.Copy(b, bob) }},
		// Another member's member_session and member, alice's own session_jwt kept.
		{name: "another_members_session_jwt", rule: "member_session is not the session of the credential sent", send: "jwt", rewrite: func(b map[string]any) {
			b["member_session"], b["member"] = bob["member_session"], bob["member"]
		}},
		// No member_session at all: an empty principal.
		{name: "member_session_missing", rule: "member_session missing or incomplete", send: "token", rewrite: func(b map[string]any) { delete(b, "member_session") }},
		// A member_session without its member id.
		{name: "member_session_without_member", rule: "member_session missing or incomplete", send: "token", rewrite: func(b map[string]any) { delete(ms(b), "member_id") }},
		// The session moved to another organization.
		{name: "member_session_wrong_org", rule: "member is not in the session", send: "jwt", rewrite: func(b map[string]any) { ms(b)["organization_id"] = otherOrg }},
		// The member object is someone else.
		{name: "member_object_other_member", rule: "member is not the session", send: "token", rewrite: func(b map[string]any) { b["member"] = bob["member"] }},
		// The member object sits in another organization.
		{name: "member_object_wrong_org", rule: "member is not in the session", send: "token", rewrite: func(b map[string]any) { b["member"].(map[string]any)["organization_id"] = otherOrg }},
		// The organization object is another organization.
		{name: "organization_object_wrong_org", rule: "organization is not the session", send: "token", rewrite: func(b map[string]any) { b["organization"].(map[string]any)["organization_id"] = otherOrg }},
		// No session_token echoed for the opaque token sent: another
		// member's answer with the echo stripped would pass as alice's.
		{name: "echo_missing_token", rule: "session_token is not the one sent", send: "token", rewrite: func(b map[string]any) { clear(b); maps.Copy(b, bob); delete(b, "session_token") }},
		// The echoed session_token is another session's: cookies would switch users.
		{name: "echoed_other_token", rule: "session_token is not the one sent", send: "token", rewrite: func(b map[string]any) { b["session_token"] = bobTok }},
		// A fresh session_jwt for another session.
		{name: "session_jwt_for_another_session", rule: "session_jwt is not about member_session", send: "token", rewrite: func(b map[string]any) { b["session_jwt"] = bob["session_jwt"] }},
		// A session_jwt signed by an attacker's key.
		{name: "session_jwt_attacker_key", rule: "session_jwt does not verify", send: "jwt", rewrite: func(b map[string]any) { b["session_jwt"] = forgedJWT }},
		// An M2M access token in place of the session_jwt.
		{name: "session_jwt_m2m_token", rule: "session_jwt does not verify", send: "token", rewrite: func(b map[string]any) { b["session_jwt"] = m2mJWT }},
		// A session_jwt that is not a JWT.
		{name: "session_jwt_malformed", rule: "session_jwt does not verify", send: "token", rewrite: func(b map[string]any) { b["session_jwt"] = "not.a.jwt" }},
		// An old session_jwt of the same session, expired.
		{name: "session_jwt_expired", rule: "session_jwt does not verify", send: "token", rewrite: func(b map[string]any) { b["session_jwt"] = aliceJWT }},
		// The verdict is gone: the check was never made.
		{name: "verdict_missing", rule: "no authorized verdict", send: "check", rewrite: func(b map[string]any) { delete(b, "verdict") }},
		// The verdict says no, yet the answer is a 200.
		{name: "verdict_false", rule: "no authorized verdict", send: "check", rewrite: func(b map[string]any) { b["verdict"].(map[string]any)["authorized"] = false }},
		// The verdict is granted by a role alice does not hold.
		{name: "verdict_foreign_role", rule: "role the session does not hold", send: "check", rewrite: func(b map[string]any) {
			b["verdict"].(map[string]any)["granting_roles"] = []any{"stytch_admin"}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.rw.set(tc.rewrite)
			defer e.rw.set(nil)
			body := &client.AuthenticateParams{SessionToken: aliceTok}
			switch tc.send {
			case "jwt":
				body = &client.AuthenticateParams{SessionJWT: aliceJWT}
			case "check":
				body.AuthorizationCheck = check
			}
			resp, err := e.v.AuthenticateJWT(ctx, &client.AuthenticateJWTParams{MaxTokenAge: time.Hour, Body: body})
			if tc.ok {
				if err != nil || resp.MemberSession.MemberID != "member-test-alice" {
					t.Fatalf("honest answer refused: %v", err)
				}
				return
			}
			if resp != nil {
				t.Fatal("an unbound answer was returned")
			}
			if !errors.Is(err, ErrUnboundAnswer) || !errors.Is(err, client.ErrUnavailable) || errors.Is(err, ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrUnboundAnswer matching client.ErrUnavailable and not ErrInvalidToken", err)
			}
			if !strings.Contains(err.Error(), tc.rule) {
				t.Fatalf("err = %v, want the rule %q", err, tc.rule)
			}
			for _, secret := range []string{aliceTok, bobTok, aliceJWT[len(aliceJWT)-20:], "member-test-bob", otherOrg, "stytch_admin"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error text quotes the answer or a credential: %v", err)
				}
			}
		})
	}
}

// TestBindAnswerRules checks the rules a proxy cannot reach through the
// emulator, on answers built in the test.
func TestBindAnswerRules(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	_, aliceJWT, err := e.srv.NewSession(stytchtest.SessionSpec{OrganizationID: "organization-test-acme", MemberID: "member-test-alice", Roles: []string{"editor"}, Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.v.VerifyShared(ctx, aliceJWT, 0, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	alice := res.Identity
	answer := func() *client.AuthenticateResponse {
		return &client.AuthenticateResponse{
			MemberSession: client.MemberSession{MemberSessionID: alice.SessionID, MemberID: alice.MemberID, OrganizationID: alice.OrganizationID, Roles: []string{"editor"}},
			SessionJWT:    aliceJWT,
			Verdict:       &client.AuthorizationVerdict{Authorized: true, GrantingRoles: []string{"editor"}},
		}
	}
	check := &client.AuthorizationCheck{OrganizationID: alice.OrganizationID, ResourceID: "documents", Action: "read"}
	for _, tc := range []struct {
		name string
		resp *client.AuthenticateResponse
		sent Sent
		ok   bool
	}{
		// The answer about the JWT sent, its identity given.
		{name: "bound", resp: answer(), sent: Sent{SessionJWT: aliceJWT, Identity: alice, Check: check}, ok: true},
		// The identity left zero is decoded from the JWT sent.
		{name: "identity_decoded", resp: answer(), sent: Sent{SessionJWT: aliceJWT}, ok: true},
		// No answer at all.
		{name: "nil_answer", resp: nil, sent: Sent{SessionJWT: aliceJWT, Identity: alice}},
		// Nothing sent: nothing to bind to.
		{name: "nothing_sent", resp: answer(), sent: Sent{}},
		// The identity claimed for the JWT sent is another session's.
		{name: "identity_mismatch", resp: answer(), sent: Sent{SessionJWT: aliceJWT, Identity: Identity{SessionID: "member-session-test-other", MemberID: alice.MemberID, OrganizationID: alice.OrganizationID}}},
		// An opaque token already decided as alice's, answered with another
		// session (echo and all): the verdict of a remote check is bound too.
		{name: "identity_mismatch_token", resp: func() *client.AuthenticateResponse { r := answer(); r.SessionToken = "tok"; return r }(), sent: Sent{SessionToken: "tok", Identity: Identity{SessionID: "member-session-test-other", MemberID: alice.MemberID, OrganizationID: alice.OrganizationID}, Check: check}},
		// The same answer for the identity that was decided passes.
		{name: "identity_token_bound", resp: func() *client.AuthenticateResponse { r := answer(); r.SessionToken = "tok"; return r }(), sent: Sent{SessionToken: "tok", Identity: alice, Check: check}, ok: true},
		// A JWT sent that names no session cannot be bound.
		{name: "jwt_sent_without_session", resp: answer(), sent: Sent{SessionJWT: "a.b.c"}},
		// An authorized verdict for a check on another organization.
		{name: "verdict_other_organization", resp: answer(), sent: Sent{SessionJWT: aliceJWT, Identity: alice, Check: &client.AuthorizationCheck{OrganizationID: "organization-test-other", ResourceID: "documents", Action: "read"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.v.BindAnswer(ctx, tc.resp, tc.sent, time.Time{})
			if tc.ok != (err == nil) || !tc.ok && (!errors.Is(err, ErrUnboundAnswer) || errors.Is(err, ErrInvalidToken)) {
				t.Fatalf("BindAnswer = %v, want ok %v", err, tc.ok)
			}
		})
	}

	// Without usable keys the returned session_jwt's claims are still
	// compared, decoded without the signature check.
	cold, err := newColdEnv(t, stytchtest.Fault{Status: 503}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := cold.claims(iat0)
	unverified := cold.sign(t, c, nil)
	ms := client.MemberSession{MemberSessionID: "member-session-test-1", MemberID: "member-test-1", OrganizationID: "organization-test-1"}
	sent := Sent{SessionToken: strings.Repeat("t", 44)}
	if err := cold.v.BindAnswer(ctx, &client.AuthenticateResponse{MemberSession: ms, SessionToken: sent.SessionToken, SessionJWT: unverified}, sent, time.Time{}); err != nil {
		t.Fatalf("keys unavailable, matching claims: %v", err)
	}
	ms.MemberID = "member-test-2"
	if err := cold.v.BindAnswer(ctx, &client.AuthenticateResponse{MemberSession: ms, SessionToken: sent.SessionToken, SessionJWT: unverified}, sent, time.Time{}); !errors.Is(err, ErrUnboundAnswer) {
		t.Fatalf("keys unavailable, another member's session_jwt: %v, want ErrUnboundAnswer", err)
	}
}
