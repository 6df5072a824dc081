package stytchtest_test

// Wire fidelity of the emulator: its real responses, read over raw net/http,
// are compared key by key with the fixtures written by hand from the wire
// specification (../client/testdata/fixtures, see the README there). Keys,
// JSON types and formats must agree; values may differ. Names in this file
// start with "fid" to stay clear of the package's other tests.

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/internal/testkit"
	"github.com/stytchguard/stytchguard/stytchtest"
)

const fidFixtureDir = "../client/testdata/fixtures"

// fidStart has a fraction of a second so that a timestamp that is not
// truncated to whole seconds shows.
var fidStart = time.Date(2026, 1, 1, 0, 0, 0, 123456789, time.UTC)

// fidRead returns a fixture's bytes.
func fidRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fidFixtureDir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

// fidObject returns a fixture decoded as a JSON object.
func fidObject(t *testing.T, name string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(fidRead(t, name), &m); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return m
}

// fidResponse is one raw HTTP answer of the emulator.
type fidResponse struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// fidEnv is an emulator on a fake clock plus a raw HTTP client.
type fidEnv struct {
	t     *testing.T
	srv   *stytchtest.Server
	clock *stytchtest.Clock
}

func fidNewEnv(t *testing.T) *fidEnv {
	t.Helper()
	clock := stytchtest.NewClock(fidStart)
	srv := stytchtest.NewServer(stytchtest.Options{SigningKey: testkit.SigningKey(), Now: clock.Now})
	t.Cleanup(srv.Close)
	return &fidEnv{t: t, srv: srv, clock: clock}
}

// do sends one request with Basic auth and JSON headers; body is a string,
// []byte, nil or a value to marshal.
func (e *fidEnv) do(method, path string, body any, opts ...reqOption) fidResponse {
	t := e.t
	t.Helper()
	var text string
	switch b := body.(type) {
	case nil:
	case string:
		text = b
	case []byte:
		text = string(b)
	default:
		text = mustJSON(t, b)
	}
	r := call(t, e.srv, method, path, text, opts...)
	out := fidResponse{status: r.status, header: r.header, raw: r.raw}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	if err := json.Unmarshal(r.raw, &out.body); err != nil {
		t.Fatalf("%s %s: status %d, body is not a JSON object: %v: %.200s", method, path, r.status, err, r.raw)
	}
	return out
}

// fixtureBody returns a request fixture with some top-level values replaced.
func fidRequest(t *testing.T, name string, set map[string]any) map[string]any {
	t.Helper()
	m := fidObject(t, name)
	for k, v := range set {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return m
}

// --- shape comparison ------------------------------------------------------

var fidReJWT = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`)

// fidIDFormats are the id formats of §6/§7.1, by key name.
var fidIDFormats = map[string]*regexp.Regexp{
	"member_id":         reID("member"),
	"organization_id":   reID("organization"),
	"member_session_id": reID("session"),
	"email_id":          reID("email"),
	"kid":               reID("jwk"),
	"client_id":         reID("m2m-client"),
}

// fidSubjects are the kinds of JWT subject: a member (session JWTs) or an
// M2M client (access tokens, §8.3).
var fidSubjects = []*regexp.Regexp{reID("member"), reID("m2m-client")}

// fidIDKind returns the kind of an id ("member" of "member-test-…").
func fidIDKind(id string) string {
	kind, _, _ := strings.Cut(id, "-test-")
	return kind
}

// fidFreeForm are objects with arbitrary keys: only their JSON type is
// compared.
var fidFreeForm = map[string]bool{
	"custom_claims": true, "trusted_metadata": true, "untrusted_metadata": true,
	"details": true, "error_details": true, "session_custom_claims": true,
}

// fidNullable are keys whose nullness the specification leaves open: null
// or a value of the fixture's type are both accepted (README, "Choices").
var fidNullable = map[string]bool{
	"scim_registration":                     true,
	"sso_default_connection_id":             true,
	"member_device":                         true,
	"intermediate_session_token_expires_at": true,
}

// fidOptional are keys the emulator may omit or add: error_details is
// optional (§5.1).
var fidOptional = map[string]bool{"error_details": true}

// fidOptionalAt reports whether key k may be missing or extra at path. A
// factor's sequence_order is in every response fixture (the docs' sample,
// §1.9), but not in the signed JWT fixture, whose factors follow the Go
// SDK; the emulator's JWTs carry it too.
func fidOptionalAt(path, k string) bool {
	return fidOptional[k] || (k == "sequence_order" && strings.HasPrefix(path, "payload"))
}

func fidJSONType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// fidShape compares got with the fixture want. status is the HTTP status the
// body's status_code must equal.
type fidShape struct {
	status int
	errs   []string
}

func (c *fidShape) fail(path, format string, args ...any) {
	c.errs = append(c.errs, path+": "+fmt.Sprintf(format, args...))
}

// format checks a string value's format by key name, for fixture and
// emulator alike (side names which one).
func (c *fidShape) format(side, path, key string, v any) {
	s, ok := v.(string)
	if key == "status_code" {
		if n, ok := v.(float64); !ok || int(n) != c.status {
			c.fail(path, "%s status_code %v, want the HTTP status %d", side, v, c.status)
		}
		return
	}
	if key == "iat" || key == "nbf" || key == "exp" {
		if n, ok := v.(float64); !ok || n != math.Trunc(n) || n <= 0 {
			c.fail(path, "%s %s = %v, want integer epoch seconds", side, key, v)
		}
		return
	}
	if !ok {
		return
	}
	switch {
	case key == "id" && strings.HasSuffix(path, "https://stytch.com/session.id"):
		if !reID("session").MatchString(s) {
			c.fail(path, "%s session claim id %q, want session-test-<uuid>", side, s)
		}
	case key == "sub":
		if !fidSubjects[0].MatchString(s) && !fidSubjects[1].MatchString(s) {
			c.fail(path, "%s sub %q, want member-test-<uuid> or m2m-client-test-<uuid>", side, s)
		}
	case key == "access_token":
		if !fidReJWT.MatchString(s) {
			c.fail(path, "%s access_token is not three base64url segments", side)
		}
	case key == "request_id":
		if !reRequestID.MatchString(s) {
			c.fail(path, "%s request_id %q, want request-id-test-<uuid v4>", side, s)
		}
	case fidIDFormats[key] != nil:
		if !fidIDFormats[key].MatchString(s) {
			c.fail(path, "%s %s %q, want %s", side, key, s, fidIDFormats[key])
		}
	case strings.HasSuffix(key, "_at"):
		if !reTimestamp.MatchString(s) {
			c.fail(path, "%s %s %q, want RFC 3339 UTC whole seconds with Z", side, key, s)
		}
	case key == "session_token" || key == "intermediate_session_token":
		if s != "" && !reToken.MatchString(s) {
			c.fail(path, "%s %s %q, want 44 base64url characters", side, key, s)
		}
	case key == "session_jwt":
		if s != "" && !fidReJWT.MatchString(s) {
			c.fail(path, "%s session_jwt is not three base64url segments", side)
		}
	case key == "error_url" || key == "error_uri":
		if !strings.HasPrefix(s, "https://stytch.com/docs/") {
			c.fail(path, "%s error_url %q, want a https://stytch.com/docs/ URL", side, s)
		}
	}
}

// compare walks want and got together.
func (c *fidShape) compare(path, key string, want, got any) {
	c.format("fixture", path, key, want)
	c.format("emulator", path, key, got)
	wt, gt := fidJSONType(want), fidJSONType(got)
	if fidNullable[key] && (wt == "null" || gt == "null") {
		return
	}
	if wt != gt {
		c.fail(path, "JSON type %s, fixture has %s (%.80v)", gt, wt, got)
		return
	}
	switch w := want.(type) {
	case float64:
		if g := got.(float64); (w == math.Trunc(w)) != (g == math.Trunc(g)) {
			c.fail(path, "number %v, fixture has %v (integer vs fraction)", g, w)
		}
	case string:
		// Empty stays empty and set stays set for tokens, whose emptiness
		// carries meaning (Exchange with an intermediate session).
		if key == "session_token" || key == "session_jwt" || key == "intermediate_session_token" {
			if (w == "") != (got.(string) == "") {
				c.fail(path, "%s is %q, fixture has %q", key, fidShort(got.(string)), fidShort(w))
			}
		}
		// A subject is of the fixture's kind: a member stays a member.
		if key == "sub" && fidIDKind(w) != fidIDKind(got.(string)) {
			c.fail(path, "sub %q is not of the fixture's kind %q", fidShort(got.(string)), fidIDKind(w))
		}
	case map[string]any:
		if fidFreeForm[key] {
			return
		}
		g := got.(map[string]any)
		if strings.HasSuffix(path, "authentication_factors[]") {
			c.compareFactor(path, w, g)
			return
		}
		c.compareKeys(path, w, g)
	case []any:
		g := got.([]any)
		if len(w) == 0 || len(g) == 0 {
			return // nothing to compare element-wise; values may differ
		}
		for i, ge := range g {
			// Each element must have the shape of some fixture element.
			var best []string
			for _, we := range w {
				sub := &fidShape{status: c.status}
				sub.compare(path+"[]", key, we, ge)
				if best == nil || len(sub.errs) < len(best) {
					best = sub.errs
				}
				if len(sub.errs) == 0 {
					break
				}
			}
			for _, e := range best {
				c.errs = append(c.errs, fmt.Sprintf("element %d: %s", i, e))
			}
		}
	}
}

func (c *fidShape) compareKeys(path string, w, g map[string]any) {
	for _, k := range fidSortedKeys(w) {
		gv, ok := g[k]
		if !ok {
			if !fidOptionalAt(path, k) {
				c.fail(path+"."+k, "missing in the emulator's response")
			}
			continue
		}
		c.compare(path+"."+k, k, w[k], gv)
	}
	for _, k := range fidSortedKeys(g) {
		if _, ok := w[k]; !ok && !fidOptionalAt(path, k) {
			c.fail(path+"."+k, "not in the fixture (the specification has no such key)")
		}
	}
}

// compareFactor checks an AuthenticationFactor (§1.9): the common keys, and
// exactly one "<kind>_factor" object, whose kind may differ from the
// fixture's.
func (c *fidShape) compareFactor(path string, w, g map[string]any) {
	split := func(m map[string]any) (common map[string]any, kinds []string) {
		common = map[string]any{}
		for k, v := range m {
			if strings.HasSuffix(k, "_factor") {
				kinds = append(kinds, k)
				continue
			}
			common[k] = v
		}
		sort.Strings(kinds)
		return common, kinds
	}
	wc, wk := split(w)
	gc, gk := split(g)
	c.compareKeys(path, wc, gc)
	if len(wk) != 1 {
		c.fail(path, "fixture factor has %d <kind>_factor objects %v, want exactly one", len(wk), wk)
		return
	}
	if len(gk) != 1 {
		c.fail(path, "emulator factor (type %v) has %d <kind>_factor objects %v; §1.9 says exactly one", g["type"], len(gk), gk)
		return
	}
	wf, _ := w[wk[0]].(map[string]any)
	gf, ok := g[gk[0]].(map[string]any)
	if !ok {
		c.fail(path+"."+gk[0], "JSON type %s, want object", fidJSONType(g[gk[0]]))
		return
	}
	if wk[0] == gk[0] {
		c.compareKeys(path+"."+gk[0], wf, gf)
		return
	}
	for k, v := range gf { // another kind: string members with formats
		c.format("emulator", path+"."+gk[0]+"."+k, k, v)
		if _, ok := v.(string); !ok {
			c.fail(path+"."+gk[0]+"."+k, "JSON type %s, want string", fidJSONType(v))
		}
	}
}

func fidSortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func fidShort(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}

// fidMatch compares a response with a fixture (optionally edited) and
// reports every difference.
func fidMatch(t *testing.T, r fidResponse, fixture string, edit func(map[string]any)) {
	t.Helper()
	want := fidObject(t, fixture)
	if edit != nil {
		edit(want)
	}
	wantStatus := http.StatusOK
	if n, ok := want["status_code"].(float64); ok {
		wantStatus = int(n)
	}
	if r.status != wantStatus {
		t.Errorf("HTTP status %d, fixture %s has %d: %.300s", r.status, fixture, wantStatus, r.raw)
	}
	c := &fidShape{status: r.status}
	c.compareKeys("$", want, r.body)
	for _, e := range c.errs {
		t.Errorf("vs %s: %s", fixture, e)
	}
}

// fidMatchError compares an error answer with an error fixture, including
// the error_type value.
func fidMatchError(t *testing.T, r fidResponse, fixture string) {
	t.Helper()
	fidMatch(t, r, "errors/"+fixture, nil)
	want := fidObject(t, "errors/"+fixture)
	if r.body["error_type"] != want["error_type"] {
		t.Errorf("error_type %v, want %v", r.body["error_type"], want["error_type"])
	}
	if r.body["error"] != want["error"] { // the OAuth 2.0 shape (§8.2)
		t.Errorf("error %v, want %v", r.body["error"], want["error"])
	}
}

// --- the scenario ------------------------------------------------------------

// fidWorld is the fixtures' story replayed on the emulator: Ada is a member
// of acme (editor, viewer), globex and initech (SSO only).
type fidWorld struct {
	*fidEnv
	orgA, orgB, orgC string
	orgM             string // requires MFA
	memberA          string
	tokenA, jwtA     string
	policy           client.Policy
}

func fidNewID(kind string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := fmt.Sprintf("%x", b)
	return kind + "-test-" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func fidNewWorld(t *testing.T) *fidWorld {
	t.Helper()
	w := &fidWorld{fidEnv: fidNewEnv(t)}
	var pr client.PolicyResponse
	if err := json.Unmarshal(fidRead(t, "responses/rbac_policy.json"), &pr); err != nil || pr.Policy == nil {
		t.Fatalf("policy fixture: %v", err)
	}
	w.policy = *pr.Policy
	w.srv.SetPolicy(w.policy)

	var err error
	w.tokenA, w.jwtA, err = w.srv.NewSession(stytchtest.SessionSpec{
		Email: "ada@example.com", Roles: []string{"editor", "viewer"},
		CustomClaims: map[string]any{"tenant_tier": "gold"},
	})
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	// Learn the generated ids from the emulator itself.
	var claims client.Claims
	if _, _, err := jwt.NewParser().ParseUnverified(w.jwtA, &claims); err != nil {
		t.Fatalf("minted JWT: %v", err)
	}
	w.orgA, w.memberA = claims.Organization.ID, claims.Subject
	w.orgB, w.orgC = fidNewID("organization"), fidNewID("organization")
	for _, org := range []string{w.orgB, w.orgC} {
		if _, err := w.srv.AddMember(stytchtest.SessionSpec{OrganizationID: org, Email: "ada@example.com"}); err != nil {
			t.Fatalf("AddMember: %v", err)
		}
	}
	w.srv.SetOrganizationAuthMethods(w.orgC, []string{"sso"})
	w.orgM = fidNewID("organization")
	w.srv.SetOrganizationMFARequired(w.orgM, true)
	if _, err := w.srv.AddMember(stytchtest.SessionSpec{OrganizationID: w.orgM, Email: "ada@example.com", MFAPhoneNumber: "+15555550123"}); err != nil {
		t.Fatalf("AddMember: %v", err)
	}
	w.clock.Advance(30 * time.Minute)
	return w
}

// --- endpoints ---------------------------------------------------------------

func TestFidelityAuthenticate(t *testing.T) {
	w := fidNewWorld(t)
	r := w.do(http.MethodPost, client.PathAuthenticate, fidRequest(t, "requests/authenticate.json", map[string]any{
		"session_token":       w.tokenA,
		"authorization_check": map[string]any{"organization_id": w.orgA, "resource_id": "documents", "action": "read"},
	}))
	fidMatch(t, r, "responses/authenticate.json", nil)
	if !reflect.DeepEqual(r.body["verdict"], map[string]any{"authorized": true, "granting_roles": []any{"editor", "viewer"}}) {
		t.Errorf("verdict = %v, want every granting role (§1.1) as in the fixture", r.body["verdict"])
	}

	// With a JWT and no authorization_check: no verdict key (§1.1).
	r = w.do(http.MethodPost, client.PathAuthenticate, fidRequest(t, "requests/authenticate_jwt.json", map[string]any{"session_jwt": w.jwtA}))
	fidMatch(t, r, "responses/authenticate.json", func(m map[string]any) { delete(m, "verdict") })
}

func TestFidelityGet(t *testing.T) {
	w := fidNewWorld(t)
	if _, _, err := w.srv.NewSession(stytchtest.SessionSpec{OrganizationID: w.orgA, MemberID: w.memberA, AuthMethod: "google_oauth"}); err != nil {
		t.Fatal(err)
	}
	r := w.do(http.MethodGet, client.PathSessions+"?member_id="+w.memberA+"&organization_id="+w.orgA, nil)
	fidMatch(t, r, "responses/get.json", nil)
	if s, _ := r.body["member_sessions"].([]any); len(s) != 2 {
		t.Errorf("member_sessions has %d sessions, want 2", len(s))
	}
}

func TestFidelityExchange(t *testing.T) {
	w := fidNewWorld(t)
	t.Run("full_session", func(t *testing.T) {
		r := w.do(http.MethodPost, client.PathExchange, fidRequest(t, "requests/exchange.json", map[string]any{
			"organization_id": w.orgB, "session_token": w.tokenA,
		}))
		fidMatch(t, r, "responses/exchange.json", nil)
		if r.body["member_authenticated"] != true {
			t.Errorf("member_authenticated = %v, want true", r.body["member_authenticated"])
		}
	})
	t.Run("mfa_required", func(t *testing.T) {
		r := w.do(http.MethodPost, client.PathExchange, fidRequest(t, "requests/exchange.json", map[string]any{
			"organization_id": w.orgM, "session_token": w.tokenA,
		}))
		fidMatch(t, r, "responses/exchange_mfa_required.json", nil)
	})
	t.Run("primary_required", func(t *testing.T) {
		r := w.do(http.MethodPost, client.PathExchange, fidRequest(t, "requests/exchange.json", map[string]any{
			"organization_id": w.orgC, "session_token": w.tokenA,
		}))
		fidMatch(t, r, "responses/exchange_primary_required.json", nil)
		if r.body["member_authenticated"] != false || r.body["member_session"] != nil {
			t.Errorf("member_authenticated, member_session = %v, %v; want false, null", r.body["member_authenticated"], r.body["member_session"])
		}
		if !reflect.DeepEqual(r.body["primary_required"], map[string]any{"allowed_auth_methods": []any{"sso"}}) {
			t.Errorf("primary_required = %v, want the organization's methods", r.body["primary_required"])
		}
		// The intermediate session token lives 10 minutes (§1.4).
		exp, _ := r.body["intermediate_session_token_expires_at"].(string)
		if got, err := time.Parse(time.RFC3339, exp); err != nil || !got.Equal(w.clock.Now().Truncate(time.Second).Add(10*time.Minute)) {
			t.Errorf("intermediate_session_token_expires_at = %q, want now + 10 min", exp)
		}
	})
}

func TestFidelityMigrate(t *testing.T) {
	w := fidNewWorld(t)
	req := fidRequest(t, "requests/migrate.json", map[string]any{"organization_id": w.orgA})
	w.srv.RegisterExternalToken(req["session_token"].(string), w.orgA, w.memberA)
	r := w.do(http.MethodPost, client.PathMigrate, req)
	fidMatch(t, r, "responses/migrate.json", nil)
}

func TestFidelityRevoke(t *testing.T) {
	w := fidNewWorld(t)
	for _, tc := range []struct {
		name, fixture string
		set           func(token, jwtStr, sessionID string) map[string]any
		actingHeader  bool // send X-Stytch-Member-Session of another live session of the member (§1.3)
	}{
		{"member_session_id", "requests/revoke_member_session_id.json", func(_, _, id string) map[string]any { return map[string]any{"member_session_id": id} }, false},
		{"session_token", "requests/revoke_session_token.json", func(tok, _, _ string) map[string]any { return map[string]any{"session_token": tok} }, false},
		{"session_jwt", "requests/revoke_session_jwt.json", func(_, j, _ string) map[string]any { return map[string]any{"session_jwt": j} }, false},
		{"session_token_with_member_session_header", "requests/revoke_session_token.json", func(tok, _, _ string) map[string]any { return map[string]any{"session_token": tok} }, true},
		{"member_id", "requests/revoke_member_id.json", func(_, _, _ string) map[string]any { return map[string]any{"member_id": w.memberA} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newSession := func() (string, string, string) {
				tok, jwtStr, err := w.srv.NewSession(stytchtest.SessionSpec{OrganizationID: w.orgA, MemberID: w.memberA})
				if err != nil {
					t.Fatal(err)
				}
				var claims client.Claims
				if _, _, err := jwt.NewParser().ParseUnverified(jwtStr, &claims); err != nil {
					t.Fatal(err)
				}
				return tok, jwtStr, claims.Session.ID
			}
			tok, jwtStr, id := newSession()
			var opts []reqOption
			if tc.actingHeader {
				actor, _, _ := newSession()
				opts = append(opts, header("X-Stytch-Member-Session", actor))
			}
			r := w.do(http.MethodPost, client.PathRevoke, fidRequest(t, tc.fixture, tc.set(tok, jwtStr, id)), opts...)
			fidMatch(t, r, "responses/revoke.json", nil)
			// The revoked session is gone: the 404 of §1.1.
			r = w.do(http.MethodPost, client.PathAuthenticate, map[string]any{"session_token": tok})
			fidMatchError(t, r, "404_session_not_found.json")
		})
	}
}

func TestFidelityJWKS(t *testing.T) {
	w := fidNewWorld(t)
	path := client.PathJWKSPrefix + w.srv.ProjectID
	// The JWKS answers with and without Basic auth (§2.1).
	for name, opts := range map[string][]reqOption{"basic_auth": nil, "no_auth": {noAuth()}} {
		t.Run(name, func(t *testing.T) {
			fidMatch(t, w.do(http.MethodGet, path, nil, opts...), "responses/jwks.json", nil)
		})
	}
	t.Run("rotated", func(t *testing.T) {
		if _, err := w.srv.RotateKey(); err != nil {
			t.Fatal(err)
		}
		r := w.do(http.MethodGet, path, nil)
		fidMatch(t, r, "responses/jwks.json", nil)
		if keys, _ := r.body["keys"].([]any); len(keys) != 2 {
			t.Errorf("JWKS after rotation has %d keys, want 2 like the fixture", len(keys))
		}
	})
}

func TestFidelityRBAC(t *testing.T) {
	w := fidNewWorld(t)
	var op client.OrgPolicyResponse
	if err := json.Unmarshal(fidRead(t, "responses/rbac_org_policy.json"), &op); err != nil || op.OrgPolicy == nil {
		t.Fatalf("org policy fixture: %v", err)
	}
	w.srv.SetOrgPolicy(w.orgA, *op.OrgPolicy)

	r := w.do(http.MethodGet, client.PathPolicy, nil)
	fidMatch(t, r, "responses/rbac_policy.json", nil)
	// The policy set from the fixture comes back with the fixture's values.
	var got client.PolicyResponse
	if err := json.Unmarshal(r.raw, &got); err != nil || got.Policy == nil || !reflect.DeepEqual(*got.Policy, w.policy) {
		t.Errorf("policy = %+v, want the fixture's", got.Policy)
	}
	fidMatch(t, w.do(http.MethodGet, client.PathOrgPolicyPrefix+w.orgA, nil), "responses/rbac_org_policy.json", nil)
	// An organization without custom roles: {"roles": []} (§4.4).
	r = w.do(http.MethodGet, client.PathOrgPolicyPrefix+w.orgB, nil)
	fidMatch(t, r, "responses/rbac_org_policy_empty.json", nil)
	if !reflect.DeepEqual(r.body["org_policy"], map[string]any{"roles": []any{}}) {
		t.Errorf("org_policy = %v, want {\"roles\":[]}", r.body["org_policy"])
	}
}

// --- errors -------------------------------------------------------------------

func TestFidelityErrors(t *testing.T) {
	w := fidNewWorld(t)
	unknown := "Wq3vT8n0pL5xR2mK7cJ4hF1dS9aB6gE0yU3iO8tZqXk_"
	authz := func(org, action string) map[string]any {
		return map[string]any{"session_token": w.tokenA,
			"authorization_check": map[string]any{"organization_id": org, "resource_id": "documents", "action": action}}
	}
	// orgD has a member, but none with Ada's email address.
	orgD := fidNewID("organization")
	if _, err := w.srv.AddMember(stytchtest.SessionSpec{OrganizationID: orgD, Email: "grace@example.com"}); err != nil {
		t.Fatalf("AddMember: %v", err)
	}
	unknownOrg, unknownMember := fidNewID("organization"), fidNewID("member")
	getPath := func(org, member string) string {
		return client.PathSessions + "?" + url.Values{"organization_id": {org}, "member_id": {member}}.Encode()
	}
	exchange := func(set map[string]any) map[string]any {
		m := map[string]any{"organization_id": w.orgB, "session_token": w.tokenA}
		maps.Copy(m, set)
		return fidRequest(t, "requests/exchange.json", m)
	}
	// External identity-provider tokens for Migrate: Ada's (known member),
	// and one standing for a member the emulator does not know.
	adaExternal := "external-idp-token-ada-" + fidNewID("member")
	w.srv.RegisterExternalToken(adaExternal, w.orgA, w.memberA)
	ghostExternal := "external-idp-token-ghost-" + fidNewID("member")
	w.srv.RegisterExternalToken(ghostExternal, w.orgA, unknownMember)
	migrate := func(token, org string) map[string]any {
		return fidRequest(t, "requests/migrate.json", map[string]any{"session_token": token, "organization_id": org})
	}
	otherProject := fidNewID("project")
	// Grace, another member of acme, whose session Ada may not revoke.
	graceToken, _, err := w.srv.NewSession(stytchtest.SessionSpec{OrganizationID: w.orgA, Email: "grace@example.com"})
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	for _, tc := range []struct {
		name, fixture string
		method, path  string
		body          any
		opts          []reqOption
	}{
		{"unknown_token", "404_session_not_found.json", http.MethodPost, client.PathAuthenticate, map[string]any{"session_token": unknown}, nil},
		{"no_session_arguments", "400_no_session_arguments.json", http.MethodPost, client.PathAuthenticate, map[string]any{}, nil},
		{"empty_body", "400_no_session_arguments.json", http.MethodPost, client.PathAuthenticate, nil, nil},
		{"too_many_session_arguments", "400_too_many_session_arguments.json", http.MethodPost, client.PathAuthenticate,
			map[string]any{"session_token": w.tokenA, "session_jwt": w.jwtA}, nil},
		{"duration_4", "400_invalid_session_duration_minutes.json", http.MethodPost, client.PathAuthenticate,
			map[string]any{"session_token": w.tokenA, "session_duration_minutes": 4}, nil},
		{"duration_527041", "400_invalid_session_duration_minutes.json", http.MethodPost, client.PathAuthenticate,
			map[string]any{"session_token": w.tokenA, "session_duration_minutes": 527041}, nil},
		// An explicit 0 is out of range too (the SDK can never send it, §0).
		{"duration_0", "400_invalid_session_duration_minutes.json", http.MethodPost, client.PathAuthenticate,
			map[string]any{"session_token": w.tokenA, "session_duration_minutes": 0}, nil},
		{"exchange_too_many", "400_too_many_session_arguments.json", http.MethodPost, client.PathExchange,
			map[string]any{"organization_id": w.orgB, "session_token": w.tokenA, "session_jwt": w.jwtA}, nil},
		{"exchange_duration", "400_invalid_session_duration_minutes.json", http.MethodPost, client.PathExchange,
			map[string]any{"organization_id": w.orgB, "session_token": w.tokenA, "session_duration_minutes": 527041}, nil},
		{"permission_denied", "403_session_authorization_error.json", http.MethodPost, client.PathAuthenticate, authz(w.orgA, "delete"), nil},
		{"other_organization", "403_session_authorization_tenancy_error.json", http.MethodPost, client.PathAuthenticate, authz(w.orgB, "read"), nil},
		{"revoke_none", "400_no_session_revoke_arguments.json", http.MethodPost, client.PathRevoke, map[string]any{}, nil},
		{"revoke_two", "400_too_many_session_revoke_arguments.json", http.MethodPost, client.PathRevoke,
			map[string]any{"session_token": w.tokenA, "member_id": w.memberA}, nil},
		{"revoke_four", "400_too_many_session_revoke_arguments.json", http.MethodPost, client.PathRevoke,
			map[string]any{"session_token": w.tokenA, "member_id": w.memberA, "session_jwt": w.jwtA, "member_session_id": "session-test-00000000-0000-4000-8000-000000000000"}, nil},
		{"revoke_unknown_member", "revoke_404_member_not_found.json", http.MethodPost, client.PathRevoke,
			fidRequest(t, "requests/revoke_member_id.json", map[string]any{"member_id": unknownMember}), nil},
		{"revoke_unknown_session_id", "404_session_not_found.json", http.MethodPost, client.PathRevoke,
			fidRequest(t, "requests/revoke_member_session_id.json", map[string]any{"member_session_id": fidNewID("session")}), nil},
		// The acting member's roles lack revoke-sessions on stytch.member (§1.3).
		{"revoke_other_member_without_permission", "403_session_authorization_error.json", http.MethodPost, client.PathRevoke,
			fidRequest(t, "requests/revoke_session_token.json", map[string]any{"session_token": graceToken}),
			[]reqOption{header(client.HeaderMemberSession, w.tokenA)}},

		// Get (§1.2).
		{"get_unknown_member", "get_404_member_not_found.json", http.MethodGet, getPath(w.orgA, unknownMember), nil, nil},
		// Ada's member id of acme is no member of globex.
		{"get_member_of_other_organization", "get_404_member_not_found.json", http.MethodGet, getPath(w.orgB, w.memberA), nil, nil},
		{"get_unknown_organization", "get_404_organization_not_found.json", http.MethodGet, getPath(unknownOrg, w.memberA), nil, nil},

		// Exchange (§1.4).
		{"exchange_unknown_organization", "exchange_404_organization_not_found.json", http.MethodPost, client.PathExchange,
			exchange(map[string]any{"organization_id": unknownOrg}), nil},
		{"exchange_no_member_in_organization", "exchange_404_member_not_found.json", http.MethodPost, client.PathExchange,
			exchange(map[string]any{"organization_id": orgD}), nil},
		{"exchange_unsupported_locale", "exchange_400_invalid_locale.json", http.MethodPost, client.PathExchange,
			exchange(map[string]any{"locale": "xx-YY"}), nil},
		// Exchange switches to a different organization (§1.4).
		{"exchange_own_organization", "exchange_400_invalid_organization_id.json", http.MethodPost, client.PathExchange,
			exchange(map[string]any{"organization_id": w.orgA}), nil},
		{"exchange_no_organization", "exchange_400_invalid_organization_id.json", http.MethodPost, client.PathExchange,
			exchange(map[string]any{"organization_id": nil}), nil},
		{"exchange_unknown_token", "404_session_not_found.json", http.MethodPost, client.PathExchange,
			exchange(map[string]any{"session_token": unknown}), nil},

		// Migrate (§1.7).
		{"migrate_unregistered_token", "migrate_400_migrate_from_external_unexpected_response.json", http.MethodPost, client.PathMigrate,
			migrate("external-idp-token-nobody-knows", w.orgA), nil},
		{"migrate_unknown_member", "migrate_404_migrate_from_external_email_does_not_exist.json", http.MethodPost, client.PathMigrate,
			migrate(ghostExternal, w.orgA), nil},
		{"migrate_email_not_in_organization", "migrate_404_migrate_from_external_email_does_not_exist.json", http.MethodPost, client.PathMigrate,
			migrate(adaExternal, orgD), nil},
		{"migrate_unknown_organization", "migrate_404_organization_not_found.json", http.MethodPost, client.PathMigrate,
			migrate(adaExternal, unknownOrg), nil},

		// JWKS of another project, with and without Basic auth (§2.1).
		{"jwks_other_project", "jwks_404_project_not_found.json", http.MethodGet, client.PathJWKSPrefix + otherProject, nil, nil},
		{"jwks_other_project_no_auth", "jwks_404_project_not_found.json", http.MethodGet, client.PathJWKSPrefix + otherProject, nil,
			[]reqOption{noAuth()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fidMatchError(t, w.do(tc.method, tc.path, tc.body, tc.opts...), tc.fixture)
		})
	}

	// Every authenticated endpoint answers 401 unauthorized_credentials to a
	// missing or wrong Basic auth (§7.2).
	for _, ep := range []struct{ name, method, path, fixture string }{
		{"authenticate", http.MethodPost, client.PathAuthenticate, "401_unauthorized_credentials.json"},
		{"get", http.MethodGet, getPath(w.orgA, w.memberA), "401_unauthorized_credentials.json"},
		{"exchange", http.MethodPost, client.PathExchange, "401_unauthorized_credentials.json"},
		{"migrate", http.MethodPost, client.PathMigrate, "401_unauthorized_credentials.json"},
		{"revoke", http.MethodPost, client.PathRevoke, "401_unauthorized_credentials.json"},
		{"rbac_policy", http.MethodGet, client.PathPolicy, "rbac_policy_401_unauthorized_credentials.json"},
		{"rbac_org_policy", http.MethodGet, client.PathOrgPolicyPrefix + w.orgA, "rbac_org_policy_401_unauthorized_credentials.json"},
	} {
		for name, opt := range map[string]reqOption{
			"no_auth":         noAuth(),
			"wrong_secret":    basicAuth(w.srv.ProjectID, w.srv.Secret+"x"),
			"other_project":   basicAuth("project-test-00000000-0000-4000-8000-000000000000", w.srv.Secret),
			"project_as_user": basicAuth(w.srv.Secret, w.srv.ProjectID),
		} {
			t.Run("401_"+ep.name+"_"+name, func(t *testing.T) {
				body := any(nil)
				if ep.method == http.MethodPost {
					body = map[string]any{"session_token": w.tokenA}
				}
				fidMatchError(t, w.do(ep.method, ep.path, body, opt), ep.fixture)
			})
		}
	}

	// The session dies at expires_at: the 404 of §7.2.
	t.Run("expired_session", func(t *testing.T) {
		tok, jwtStr, err := w.srv.NewSession(stytchtest.SessionSpec{OrganizationID: w.orgA, MemberID: w.memberA, Duration: 5 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(5 * time.Minute)
		fidMatchError(t, w.do(http.MethodPost, client.PathAuthenticate, map[string]any{"session_token": tok}), "404_session_not_found.json")
		fidMatchError(t, w.do(http.MethodPost, client.PathAuthenticate, map[string]any{"session_jwt": jwtStr}), "404_session_not_found.json")
	})

	// Answers without a fixture of their own still have the §5.1 shape.
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"malformed_json", http.MethodPost, client.PathAuthenticate, `{"session_token":`, http.StatusBadRequest},
		{"wrong_json_type", http.MethodPost, client.PathAuthenticate, `{"session_token":42}`, http.StatusBadRequest},
		{"unknown_route", http.MethodGet, "/v1/b2b/sessions/nope", nil, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.do(tc.method, tc.path, tc.body)
			if r.status != tc.status {
				t.Errorf("status %d, want %d", r.status, tc.status)
			}
			c := &fidShape{status: r.status}
			want := fidObject(t, "errors/400_no_session_arguments.json")
			want["status_code"] = float64(r.status)
			c.compareKeys("$", want, r.body)
			for _, e := range c.errs {
				t.Errorf("vs the error shape: %s", e)
			}
		})
	}
}

func TestFidelityFaults(t *testing.T) {
	w := fidNewWorld(t)
	t.Run("429", func(t *testing.T) {
		w.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 7 * time.Second, Times: 1})
		r := w.do(http.MethodPost, client.PathAuthenticate, map[string]any{"session_token": w.tokenA})
		fidMatchError(t, r, "429_too_many_requests.json")
		if got := r.header.Get("Retry-After"); got != "7" {
			t.Errorf("Retry-After = %q, want \"7\"", got)
		}
	})
	t.Run("500", func(t *testing.T) {
		w.srv.SetFault(stytchtest.EndpointAuthenticate, stytchtest.Fault{Status: http.StatusInternalServerError, Times: 1})
		fidMatchError(t, w.do(http.MethodPost, client.PathAuthenticate, map[string]any{"session_token": w.tokenA}), "500_internal_server_error.json")
	})
	// Faults on every endpoint keep the error shape.
	for ep, path := range map[stytchtest.Endpoint]string{
		stytchtest.EndpointGet:       client.PathSessions,
		stytchtest.EndpointExchange:  client.PathExchange,
		stytchtest.EndpointMigrate:   client.PathMigrate,
		stytchtest.EndpointRevoke:    client.PathRevoke,
		stytchtest.EndpointJWKS:      client.PathJWKSPrefix + w.srv.ProjectID,
		stytchtest.EndpointPolicy:    client.PathPolicy,
		stytchtest.EndpointOrgPolicy: client.PathOrgPolicyPrefix + w.orgA,
	} {
		t.Run("429_"+string(ep), func(t *testing.T) {
			w.srv.SetFault(ep, stytchtest.Fault{Status: http.StatusTooManyRequests, Times: 1})
			method := http.MethodPost
			if strings.HasPrefix(path, client.PathJWKSPrefix) || path == client.PathSessions || strings.Contains(path, "rbac") {
				method = http.MethodGet
			}
			fidMatchError(t, w.do(method, path, nil), "429_too_many_requests.json")
		})
	}
}

// --- the session JWT -------------------------------------------------------------

func TestFidelityJWT(t *testing.T) {
	w := fidNewWorld(t)
	r := w.do(http.MethodPost, client.PathAuthenticate, map[string]any{"session_token": w.tokenA, "session_custom_claims": map[string]any{"tenant_tier": "gold"}})
	if r.status != http.StatusOK {
		t.Fatalf("authenticate: %d %s", r.status, r.raw)
	}
	jwts := map[string]string{"minted_by_NewSession": w.jwtA, "from_authenticate": r.body["session_jwt"].(string)}
	mint, err := w.srv.MintJWT(w.tokenA)
	if err != nil {
		t.Fatal(err)
	}
	jwts["MintJWT"] = mint

	jwks := w.do(http.MethodGet, client.PathJWKSPrefix+w.srv.ProjectID, nil, noAuth())
	var set client.GetJWKSResponse
	if err := json.Unmarshal(jwks.raw, &set); err != nil {
		t.Fatal(err)
	}
	for name, raw := range jwts {
		t.Run(name, func(t *testing.T) {
			parts := strings.Split(raw, ".")
			if len(parts) != 3 {
				t.Fatalf("JWT has %d segments", len(parts))
			}
			var header, payload map[string]any
			for i, dst := range []*map[string]any{&header, &payload} {
				seg, err := base64.RawURLEncoding.DecodeString(parts[i])
				if err != nil {
					t.Fatalf("segment %d is not unpadded base64url: %v", i, err)
				}
				if err := json.Unmarshal(seg, dst); err != nil {
					t.Fatalf("segment %d is not a JSON object: %v", i, err)
				}
			}
			c := &fidShape{status: http.StatusOK}
			c.compareKeys("header", fidObject(t, "jwt/header.json"), header)
			c.compareKeys("payload", fidObject(t, "jwt/payload.json"), payload)
			for _, e := range c.errs {
				t.Errorf("vs jwt fixtures: %s", e)
			}
			if header["alg"] != "RS256" || header["typ"] != "JWT" {
				t.Errorf("header alg, typ = %v, %v; want RS256, JWT (§3.1)", header["alg"], header["typ"])
			}
			pid := w.srv.ProjectID
			if payload["iss"] != "stytch.com/"+pid {
				t.Errorf("iss = %v, want stytch.com/%s without scheme (§3.2)", payload["iss"], pid)
			}
			if !reflect.DeepEqual(payload["aud"], []any{pid}) {
				t.Errorf("aud = %v, want [%q] (§3.2)", payload["aud"], pid)
			}
			iat, _ := payload["iat"].(float64)
			nbf, _ := payload["nbf"].(float64)
			exp, _ := payload["exp"].(float64)
			if nbf != iat || exp-iat != 300 {
				t.Errorf("iat, nbf, exp = %.0f, %.0f, %.0f; want nbf = iat and exp = iat + 300 (§3.2)", iat, nbf, exp)
			}
			if _, ok := payload["jti"]; ok {
				t.Error("payload has a jti; §3.2 recommends none")
			}
			if payload["tenant_tier"] != "gold" {
				t.Errorf("custom claim tenant_tier = %v, want \"gold\" at the top level (§3.3)", payload["tenant_tier"])
			}
			// The signature verifies with the published key of its kid.
			var claims client.Claims
			_, err := jwt.NewParser(
				jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(pid), jwt.WithIssuer("stytch.com/"+pid),
				jwt.WithTimeFunc(func() time.Time { return time.Unix(int64(iat), 0) }),
			).ParseWithClaims(raw, &claims, func(tok *jwt.Token) (any, error) {
				for _, k := range set.Keys {
					if k.KeyID == tok.Header["kid"] {
						n, err1 := base64.RawURLEncoding.DecodeString(k.N)
						e, err2 := base64.RawURLEncoding.DecodeString(k.E)
						if err1 != nil || err2 != nil {
							return nil, fmt.Errorf("kid %s: n or e is not base64url", k.KeyID)
						}
						var ei int
						for _, b := range e {
							ei = ei<<8 | int(b)
						}
						return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: ei}, nil
					}
				}
				return nil, fmt.Errorf("kid %v is not in the JWKS", tok.Header["kid"])
			})
			if err != nil {
				t.Errorf("JWT does not verify with the JWKS: %v", err)
			}
		})
	}
}

// --- the fixtures themselves ------------------------------------------------------

// TestFidelityFixturesSelfCheck applies the format rules to every fixture
// against itself, so a fixture with a wrong format cannot pass unnoticed.
func TestFidelityFixturesSelfCheck(t *testing.T) {
	var files []string
	for _, dir := range []string{"responses", "errors", "requests", "jwt"} {
		m, _ := filepath.Glob(filepath.Join(fidFixtureDir, dir, "*.json"))
		for _, f := range m {
			files = append(files, dir+"/"+filepath.Base(f))
		}
	}
	if len(files) < 30 {
		t.Fatalf("found %d fixtures, want at least 30", len(files))
	}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			m := fidObject(t, name)
			if name == "requests/migrate.json" {
				delete(m, "session_token") // the external identity provider's token: any format (§1.7)
			}
			status := http.StatusOK
			if n, ok := m["status_code"].(float64); ok {
				status = int(n)
			}
			c := &fidShape{status: status}
			c.compareKeys("$", m, m)
			for _, e := range c.errs {
				t.Error(e)
			}
		})
	}
}

// --- the same wire through our client -----------------------------------------------

// TestFidelityThroughClient runs every endpoint and error class through the
// client against the emulator: what the emulator sends, the client decodes
// into the right fields and error categories.
func TestFidelityThroughClient(t *testing.T) {
	w := fidNewWorld(t)
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	c, err := client.New(client.Config{ProjectID: w.srv.ProjectID, Secret: w.srv.Secret, BaseURL: w.srv.URL + "/",
		HTTPClient: &http.Client{Transport: tr, Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	now := w.clock.Now().Truncate(time.Second)

	auth, err := c.Sessions.Authenticate(ctx, &client.AuthenticateParams{SessionToken: w.tokenA, SessionDurationMinutes: 60,
		AuthorizationCheck: &client.AuthorizationCheck{OrganizationID: w.orgA, ResourceID: "documents", Action: "read"}})
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if auth.MemberSession.ExpiresAt == nil || !auth.MemberSession.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Errorf("MemberSession.ExpiresAt = %v, want now + 60 min", auth.MemberSession.ExpiresAt)
	}
	if auth.Verdict == nil || !reflect.DeepEqual(auth.Verdict.GrantingRoles, []string{"editor", "viewer"}) {
		t.Errorf("Verdict = %+v, want granting roles editor, viewer", auth.Verdict)
	}
	if auth.MemberSession.MemberID != w.memberA || auth.Member.MemberID != w.memberA || auth.Organization.OrganizationID != w.orgA {
		t.Errorf("ids = %s, %s, %s; want the world's", auth.MemberSession.MemberID, auth.Member.MemberID, auth.Organization.OrganizationID)
	}

	got, err := c.Sessions.Get(ctx, &client.GetParams{OrganizationID: w.orgA, MemberID: w.memberA})
	if err != nil || len(got.MemberSessions) != 1 {
		t.Errorf("Get = %+v, %v; want one session", got, err)
	}

	full, err := c.Sessions.Exchange(ctx, &client.ExchangeParams{OrganizationID: w.orgB, SessionToken: w.tokenA})
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if !full.MemberAuthenticated || full.MemberSession == nil || full.IntermediateSessionTokenExpiresAt != nil || full.PrimaryRequired != nil {
		t.Errorf("Exchange (full) = %+v; want a session and no IST", full)
	}
	ist, err := c.Sessions.Exchange(ctx, &client.ExchangeParams{OrganizationID: w.orgC, SessionToken: w.tokenA})
	if err != nil {
		t.Fatalf("Exchange (IST): %v", err)
	}
	if ist.MemberAuthenticated || ist.MemberSession != nil || ist.IntermediateSessionToken == "" ||
		ist.IntermediateSessionTokenExpiresAt == nil || !ist.IntermediateSessionTokenExpiresAt.Equal(now.Add(10*time.Minute)) ||
		ist.PrimaryRequired == nil || !reflect.DeepEqual(ist.PrimaryRequired.AllowedAuthMethods, []string{"sso"}) {
		t.Errorf("Exchange (IST) = %+v; want an IST for 10 min with primary_required [sso]", ist)
	}

	w.srv.RegisterExternalToken("legacy-idp-token", w.orgA, w.memberA)
	mig, err := c.Sessions.Migrate(ctx, &client.MigrateParams{SessionToken: "legacy-idp-token", OrganizationID: w.orgA})
	if err != nil || mig.MemberSession == nil || mig.MemberID != w.memberA {
		t.Errorf("Migrate = %+v, %v", mig, err)
	}
	jwks, err := c.Sessions.GetJWKS(ctx, nil)
	if err != nil || len(jwks.Keys) != 1 || jwks.Keys[0].KeyID == "" || jwks.Keys[0].X5TS256 == "" {
		t.Errorf("GetJWKS = %+v, %v", jwks, err)
	}
	pol, err := c.RBAC.Policy(ctx)
	if err != nil || len(pol.Policy.Roles) != 4 {
		t.Errorf("Policy = %+v, %v", pol, err)
	}
	op, err := c.RBAC.OrgPolicy(ctx, w.orgB)
	if err != nil || op.OrgPolicy == nil || len(op.OrgPolicy.Roles) != 0 {
		t.Errorf("OrgPolicy = %+v, %v", op, err)
	}

	wrong, err := client.New(client.Config{ProjectID: w.srv.ProjectID, Secret: "secret-test-wrong", BaseURL: w.srv.URL,
		HTTPClient: &http.Client{Transport: tr, Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	short := &http.Client{Transport: tr, Timeout: 100 * time.Millisecond}
	hanging, err := client.New(client.Config{ProjectID: w.srv.ProjectID, Secret: w.srv.Secret, BaseURL: w.srv.URL, HTTPClient: short})
	if err != nil {
		t.Fatal(err)
	}
	authn := func(cl *client.Client, p client.AuthenticateParams) func() error {
		return func() error { _, err := cl.Sessions.Authenticate(ctx, &p); return err }
	}
	for _, tc := range []struct {
		name       string
		fault      *stytchtest.Fault
		call       func() error
		want       error
		errorType  string
		retryAfter time.Duration
	}{
		{name: "404", call: authn(c, client.AuthenticateParams{SessionToken: "Wq3vT8n0pL5xR2mK7cJ4hF1dS9aB6gE0yU3iO8tZqXk_"}),
			want: client.ErrSessionInvalid, errorType: "session_not_found"},
		{name: "401_credentials", call: authn(wrong, client.AuthenticateParams{SessionToken: w.tokenA}),
			want: client.ErrUnauthorizedCredentials, errorType: "unauthorized_credentials"},
		{name: "403", call: authn(c, client.AuthenticateParams{SessionToken: w.tokenA,
			AuthorizationCheck: &client.AuthorizationCheck{OrganizationID: w.orgA, ResourceID: "documents", Action: "delete"}}),
			want: client.ErrForbidden, errorType: "session_authorization_error"},
		{name: "403_tenancy", call: authn(c, client.AuthenticateParams{SessionToken: w.tokenA,
			AuthorizationCheck: &client.AuthorizationCheck{OrganizationID: w.orgB, ResourceID: "documents", Action: "read"}}),
			want: client.ErrForbidden, errorType: "session_authorization_tenancy_error"},
		{name: "429", fault: &stytchtest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 3 * time.Second},
			call: authn(c, client.AuthenticateParams{SessionToken: w.tokenA}), want: client.ErrUnavailable, errorType: "too_many_requests", retryAfter: 3 * time.Second},
		{name: "500", fault: &stytchtest.Fault{Status: http.StatusInternalServerError},
			call: authn(c, client.AuthenticateParams{SessionToken: w.tokenA}), want: client.ErrUnavailable, errorType: "internal_server_error"},
		{name: "502_html", fault: &stytchtest.Fault{Status: http.StatusBadGateway, Body: []byte("<html>bad gateway</html>")},
			call: authn(c, client.AuthenticateParams{SessionToken: w.tokenA}), want: client.ErrUnavailable},
		{name: "200_garbage", fault: &stytchtest.Fault{Body: []byte(`{"member_session":`)},
			call: authn(c, client.AuthenticateParams{SessionToken: w.tokenA}), want: client.ErrUnavailable},
		{name: "200_over_1MiB", fault: &stytchtest.Fault{Body: bytes.Repeat([]byte(" "), client.MaxResponseBytes+1)},
			call: authn(c, client.AuthenticateParams{SessionToken: w.tokenA}), want: client.ErrUnavailable},
		{name: "drop", fault: &stytchtest.Fault{Drop: true},
			call: authn(c, client.AuthenticateParams{SessionToken: w.tokenA}), want: client.ErrUnavailable},
		{name: "hang_timeout", fault: &stytchtest.Fault{Hang: true},
			call: authn(hanging, client.AuthenticateParams{SessionToken: w.tokenA}), want: client.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fault != nil {
				f := *tc.fault
				f.Times = 1
				w.srv.SetFault(stytchtest.EndpointAuthenticate, f)
				defer w.srv.ClearFaults()
			}
			before := w.srv.Calls(stytchtest.EndpointAuthenticate)
			err := tc.call()
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if n := w.srv.Calls(stytchtest.EndpointAuthenticate) - before; n != 1 {
				t.Errorf("the emulator received %d requests, want 1", n)
			}
			if strings.Contains(err.Error(), w.srv.Secret) || strings.Contains(err.Error(), w.tokenA) {
				t.Errorf("error string %q contains the secret or the session token", err)
			}
			var e *client.Error
			if tc.errorType != "" {
				if !errors.As(err, &e) || e.ErrorType != tc.errorType || !reRequestID.MatchString(e.RequestID) {
					t.Errorf("error %#v, want a *client.Error of type %s with a request id", err, tc.errorType)
				}
			}
			if ra, _ := client.RetryAfter(err); ra != tc.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", ra, tc.retryAfter)
			}
		})
	}
}
