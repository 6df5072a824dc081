package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/internal/testkit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const seedFile = "testdata/seed.json"

// waitBound is how long a step may take before the test gives up; it only
// ends a hung test, it decides nothing.
const waitBound = 60 * time.Second

// running is an emulator started by run in this process.
type running struct {
	info   startup
	lines  []string // the text output, up to the last line read
	stderr *testkit.SyncBuffer
	cancel context.CancelFunc
	errc   chan error
}

// start runs the command with args and reads its start-up output: one JSON
// line with -json, else the text block up to its health-check curl line.
func start(t *testing.T, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	r := &running{stderr: &testkit.SyncBuffer{}, cancel: cancel, errc: make(chan error, 1)}
	go func() {
		err := run(ctx, args, pw, r.stderr)
		pw.Close()
		r.errc <- err
	}()
	t.Cleanup(func() { r.stop(t); pr.Close() })
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	isJSON := strings.Contains(strings.Join(args, " "), "-json")
	for sc.Scan() {
		line := sc.Text()
		r.lines = append(r.lines, line)
		if isJSON {
			if err := json.Unmarshal([]byte(line), &r.info); err != nil {
				t.Fatalf("start-up line is not JSON: %v: %s", err, line)
			}
			break
		}
		if strings.HasPrefix(line, "  curl") && strings.HasSuffix(line, "/healthz") {
			break
		}
	}
	if len(r.lines) == 0 {
		t.Fatalf("no start-up output; run returned %v, stderr %q", <-r.errc, r.stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	return r
}

// stop cancels the run and waits for it to return; it must return nil.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.errc:
		if err != nil {
			t.Errorf("run returned %v", err)
		}
	case <-time.After(waitBound):
		t.Fatal("run did not return after its context ended")
	}
}

// httpClient trusts the PEM file caFile when it is not empty.
func httpClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			t.Fatal("the CA file holds no certificate")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// authenticate posts a session token to the emulator as curl would, with
// the project's Basic credentials, and returns the status and body.
func authenticate(t *testing.T, hc *http.Client, info startup, token string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, info.BaseURL+client.PathAuthenticate,
		strings.NewReader(`{"session_token":"`+token+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(info.ProjectID, info.Secret)
	req.Header.Set("Content-Type", "application/json")
	return do(t, hc, req)
}

func do(t *testing.T, hc *http.Client, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v", req.Method, req.URL.Path, err)
	}
	return resp.StatusCode, body
}

func get(t *testing.T, hc *http.Client, u string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, hc, req)
}

func TestRunWithSeed(t *testing.T) {
	r := start(t, "-seed", seedFile, "-json", "-project-id", "project-test-local", "-secret", "secret-test-local")
	info := r.info
	if info.ProjectID != "project-test-local" || info.Secret != "secret-test-local" || !strings.HasPrefix(info.BaseURL, "http://127.0.0.1:") ||
		info.JWKSURL != info.BaseURL+"/v1/b2b/sessions/jwks/project-test-local" || info.CAFile != "" {
		t.Fatalf("start-up info = %+v", info)
	}
	if len(info.Sessions) != 5 || len(info.M2MClients) != 1 {
		t.Fatalf("%d sessions and %d M2M clients, want 5 and 1", len(info.Sessions), len(info.M2MClients))
	}
	hc := httpClient(t, "")

	for _, s := range info.Sessions {
		t.Run("authenticate_"+s.MemberID, func(t *testing.T) {
			status, body := authenticate(t, hc, info, s.SessionToken)
			if status != http.StatusOK {
				t.Fatalf("status %d: %v", status, body)
			}
			ms, _ := body["member_session"].(map[string]any)
			if ms["member_id"] != s.MemberID || ms["organization_id"] != s.OrganizationID {
				t.Errorf("member_session = %v", ms)
			}
		})
	}
	// The seeded policy decides: an editor writes, a viewer does not.
	check := func(token, action string) int {
		req, _ := http.NewRequest(http.MethodPost, info.BaseURL+client.PathAuthenticate, strings.NewReader(
			`{"session_token":"`+token+`","authorization_check":{"organization_id":"organization-test-acme","resource_id":"documents","action":"`+action+`"}}`))
		req.SetBasicAuth(info.ProjectID, info.Secret)
		status, _ := do(t, hc, req)
		return status
	}
	byID := map[string]string{}
	for _, s := range info.Sessions {
		byID[s.MemberID] = s.SessionToken
	}
	if check(byID["member-test-eve"], "write") != 200 || check(byID["member-test-vic"], "write") != 403 || check(byID["member-test-ada"], "delete") != 200 {
		t.Error("the seeded roles do not decide as the policy says")
	}

	// The wrong secret is refused, as by Stytch.
	status, body := authenticate(t, hc, startup{BaseURL: info.BaseURL, ProjectID: info.ProjectID, Secret: "wrong"}, info.Sessions[0].SessionToken)
	if status != http.StatusUnauthorized || body["error_type"] != "unauthorized_credentials" {
		t.Errorf("wrong secret: %d %v", status, body)
	}

	m := info.M2MClients[0]
	req, _ := http.NewRequest(http.MethodPost, info.BaseURL+client.M2MTokenPath(info.ProjectID), strings.NewReader("grant_type=client_credentials"))
	req.SetBasicAuth(m.ClientID, m.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if status, body := do(t, hc, req); status != http.StatusOK || body["token_type"] != "bearer" {
		t.Errorf("M2M token: %d %v", status, body)
	}

	if status, body := get(t, hc, info.HealthURL); status != http.StatusOK || body["status"] != "ok" {
		t.Errorf("healthz: %d %v", status, body)
	}
	if status, _ := get(t, hc, info.JWKSURL); status != http.StatusOK {
		t.Errorf("JWKS: %d", status)
	}

	// A cancelled run (what SIGINT and SIGTERM do) returns nil and stops
	// serving.
	r.stop(t)
	if _, err := hc.Get(info.HealthURL); err == nil {
		t.Error("the emulator still answers after shutdown")
	}
}

func TestRunTLS(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	r := start(t, "-tls", "-ca-file", caFile, "-seed", seedFile, "-json")
	info := r.info
	if !strings.HasPrefix(info.BaseURL, "https://127.0.0.1:") || info.CAFile != caFile {
		t.Fatalf("start-up info = %+v", info)
	}
	status, body := authenticate(t, httpClient(t, caFile), info, info.Sessions[0].SessionToken)
	if status != http.StatusOK {
		t.Fatalf("authenticate over TLS: %d %v", status, body)
	}
	// The certificate names localhost too.
	u, _ := url.Parse(info.BaseURL)
	_, port, _ := net.SplitHostPort(u.Host)
	if status, _ := get(t, httpClient(t, caFile), "https://localhost:"+port+"/healthz"); status != http.StatusOK {
		t.Errorf("healthz via localhost: %d", status)
	}
	// Without the CA the certificate is not trusted.
	var unknown x509.UnknownAuthorityError
	if _, err := httpClient(t, "").Get(info.HealthURL); !errors.As(err, &unknown) {
		t.Errorf("a client without the CA got %v, want an unknown authority error", err)
	}
}

func TestRunTLSTemporaryCA(t *testing.T) {
	r := start(t, "-tls", "-json")
	ca := r.info.CAFile
	if _, err := os.Stat(ca); err != nil {
		t.Fatalf("CA file %q: %v", ca, err)
	}
	if status, _ := get(t, httpClient(t, ca), r.info.HealthURL); status != http.StatusOK {
		t.Errorf("healthz: %d", status)
	}
	r.stop(t)
	if _, err := os.Stat(ca); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary CA file outlives the run: %v", err)
	}
}

func TestRunTextOutput(t *testing.T) {
	r := start(t, "-seed", seedFile)
	out := strings.Join(r.lines, "\n")
	var base, project, secret, token string
	for _, l := range r.lines {
		f := strings.Fields(l)
		switch {
		case len(f) == 3 && f[0] == "base" && f[1] == "URL":
			base = f[2]
		case len(f) == 3 && f[0] == "project" && f[1] == "id":
			project = f[2]
		case len(f) == 2 && f[0] == "secret":
			secret = f[1]
		case len(f) == 2 && f[0] == "session_token" && token == "":
			token = f[1]
		}
	}
	if base == "" || project == "" || secret == "" || token == "" {
		t.Fatalf("the text output lacks the base URL, project, secret or a session token:\n%s", out)
	}
	for _, want := range []string{"ada@acme.test", "m2m-client-test-indexer", "client_secret  indexer-secret-change-me",
		"/v1/b2b/sessions/authenticate", "/oauth2/token", "session_jwt    ey"} {
		if !strings.Contains(out, want) {
			t.Errorf("the text output lacks %q", want)
		}
	}
	if status, body := authenticate(t, httpClient(t, ""), startup{BaseURL: base, ProjectID: project, Secret: secret}, token); status != http.StatusOK {
		t.Errorf("the printed credentials do not authenticate: %d %v", status, body)
	}
}

func TestRunFails(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"organizations":[{"members":[{"roles":["owner"]}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	typo := filepath.Join(t.TempDir(), "typo.json")
	if err := os.WriteFile(typo, []byte(`{"organisations":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown_flag", []string{"-port", "1"}, ""},
		{"extra_argument", []string{"serve"}, ""},
		{"ca_file_without_tls", []string{"-ca-file", "x.pem"}, ""},
		{"missing_seed", []string{"-seed", "testdata/none.json"}, "none.json"},
		{"unknown_seed_key", []string{"-seed", typo}, "organisations"},
		{"unknown_role", []string{"-seed", bad}, "owner"},
		{"address_in_use", []string{"-addr", busy.Addr().String()}, "address already in use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout strings.Builder
			var stderr testkit.SyncBuffer
			err := run(context.Background(), tc.args, &stdout, &stderr)
			if err == nil {
				t.Fatal("run succeeded")
			}
			if tc.want != "" && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
			if tc.want == "" && !errors.Is(err, errUsage) {
				t.Errorf("err = %v, want a usage error", err)
			}
			if stdout.Len() != 0 {
				t.Errorf("a failed start printed %q", stdout.String())
			}
		})
	}
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// build compiles the command once per test binary.
func build(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "stytchtest-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "stytchtest")
		out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v", buildErr)
	}
	return binary
}

// TestBinarySignals builds the command, runs it as a user would, and stops
// it with each shutdown signal: it must exit 0 with nothing on stderr.
func TestBinarySignals(t *testing.T) {
	bin := build(t)
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(bin)) })
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "-seed", seedFile, "-json")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				_ = cmd.Process.Kill()
				t.Fatalf("no start-up line: %v (stderr %q)", err, stderr.String())
			}
			go func() { done <- cmd.Wait() }()
			var info startup
			if err := json.Unmarshal([]byte(line), &info); err != nil {
				t.Fatal(err)
			}
			hc := httpClient(t, "")
			if status, _ := authenticate(t, hc, info, info.Sessions[0].SessionToken); status != http.StatusOK {
				t.Errorf("authenticate: %d", status)
			}
			hc.Transport.(*http.Transport).CloseIdleConnections()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("exit after %v: %v (stderr %q)", sig, err, stderr.String())
				}
			case <-time.After(waitBound):
				_ = cmd.Process.Kill()
				t.Fatalf("still running %v after %v", waitBound, sig)
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr = %q", stderr.String())
			}
		})
	}
}
