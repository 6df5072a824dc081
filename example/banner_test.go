package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stytchguard/stytchguard/internal/testkit"
)

// startRun runs main's server on a free port until the test ends and
// returns its start-up output.
func startRun(t *testing.T) (string, started) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testkit.SyncBuffer
	up := make(chan started, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, noEnv, &stdout, &stderr, func(a *app, u string) { up <- started{a, u} })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case s := <-up:
		return stdout.String(), s
	case err := <-done:
		done <- err
		t.Fatalf("run returned before serving: %v\n%s", err, stderr.String())
	}
	panic("unreachable")
}

// Lines of the start-up output.
var (
	varLine    = regexp.MustCompile(`^([A-Z][A-Z0-9_]*)='([^']*)'$`)
	expectLine = regexp.MustCompile(`^  .+: (\d{3})(?: ([a-z_]+))?$`)
	// NAME=$(curl ... | sed ...): a curl whose access_token is kept.
	captureLine = regexp.MustCompile(`^  ([A-Z][A-Z0-9_]*)=\$\((curl .*?) \| sed .*\)$`)
	// anyCurl finds every line that runs curl, however it is written.
	anyCurl = regexp.MustCompile(`(?m)^\s*(\S+=\$\()?curl\s`)
)

// command is one shell line of the output with the status it says.
type command struct {
	full   string // as printed, without the indent
	line   string // the curl command in it
	status int
	code   string
	assign string // the variable a capture line sets
}

// parseBanner returns the shell variables and the example commands of the
// start-up output, checking that every line holding "curl" is one of them.
func parseBanner(t *testing.T, out string) (vars map[string]string, cmds []command) {
	t.Helper()
	vars = map[string]string{}
	lines := strings.Split(out, "\n")
	seen := 0
	for i, l := range lines {
		if m := varLine.FindStringSubmatch(l); m != nil {
			vars[m[1]] = m[2]
			continue
		}
		isCurl := strings.HasPrefix(l, "  curl ")
		m := captureLine.FindStringSubmatch(l)
		if !isCurl && m == nil {
			continue
		}
		seen++
		e := expectLine.FindStringSubmatch(lines[i-1])
		if e == nil {
			t.Fatalf("line %d has no expectation before it: %q", i, lines[i-1])
		}
		c := command{full: strings.TrimPrefix(l, "  "), code: e[2]}
		c.line = c.full
		fmt.Sscan(e[1], &c.status)
		if m != nil {
			c.assign, c.line = m[1], m[2]
		}
		cmds = append(cmds, c)
	}
	if n := len(anyCurl.FindAllString(out, -1)); n != seen {
		t.Fatalf("%d lines run curl, %d were understood", n, seen)
	}
	return vars, cmds
}

// shellWords splits line into words as a POSIX shell does for the quoting
// the output uses: single quotes, double quotes with $NAME expansion, and
// bare words with $NAME expansion. Anything else (globs, escapes,
// substitutions) is an error: the output must not need it.
func shellWords(line string, vars map[string]string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	expand := func(s string) (string, error) {
		return regexp.MustCompile(`\$([A-Z][A-Z0-9_]*)`).ReplaceAllStringFunc(s, func(v string) string {
			return vars[v[1:]]
		}), nil
	}
	for i := 0; i < len(line); i++ {
		switch c := line[i]; c {
		case ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unclosed single quote in %q", line)
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case '"':
			j := strings.IndexByte(line[i+1:], '"')
			if j < 0 {
				return nil, fmt.Errorf("unclosed double quote in %q", line)
			}
			s := line[i+1 : i+1+j]
			if strings.ContainsAny(s, "`\\") || strings.Contains(s, "$(") {
				return nil, fmt.Errorf("unsupported double-quoted text %q", s)
			}
			e, _ := expand(s)
			cur.WriteString(e)
			i += j + 1
			inWord = true
		case '*', '?', '[', '\\', '`', '&', ';', '|', '<', '>', '(', ')', '#', '~':
			// Unquoted, these mean something to a shell (globs in zsh).
			return nil, fmt.Errorf("unquoted %q in %q", c, line)
		default:
			j := i
			for j < len(line) && !strings.ContainsRune(" '\"*?[\\`&;|<>()#~", rune(line[j])) {
				j++
			}
			e, _ := expand(line[i:j])
			cur.WriteString(e)
			i = j - 1
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// curlRunner makes the requests of curl command lines with net/http, with
// curl's defaults: no redirects followed, -d posts a form unless a
// Content-Type is given, -c and -b name cookie jars.
type curlRunner struct {
	client *http.Client
	jars   map[string]http.CookieJar
}

func newCurlRunner() *curlRunner {
	return &curlRunner{
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		jars:   map[string]http.CookieJar{},
	}
}

func (cr *curlRunner) jar(name string) http.CookieJar {
	if cr.jars[name] == nil {
		cr.jars[name], _ = cookiejar.New(nil)
	}
	return cr.jars[name]
}

// do runs curl with args (args[0] == "curl") and returns the status and
// body.
func (cr *curlRunner) do(args []string) (int, []byte, error) {
	if len(args) == 0 || args[0] != "curl" {
		return 0, nil, fmt.Errorf("not a curl command: %q", args)
	}
	method, data, user, saveJar, sendJar, target := "", "", "", "", "", ""
	header := http.Header{}
	for i := 1; i < len(args); i++ {
		a := args[i]
		next := func() string {
			i++
			if i >= len(args) {
				return ""
			}
			return args[i]
		}
		switch a {
		case "-s", "-i":
		case "-X":
			method = next()
		case "-H":
			k, v, ok := strings.Cut(next(), ":")
			if !ok {
				return 0, nil, fmt.Errorf("bad header in %q", args)
			}
			header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		case "-d":
			data = next()
		case "-u":
			user = next()
		case "-o", "-w":
			next() // output options: no effect on the request
		case "-c":
			saveJar = next()
		case "-b":
			sendJar = next()
		default:
			if strings.HasPrefix(a, "-") || target != "" {
				return 0, nil, fmt.Errorf("unsupported curl argument %q", a)
			}
			target = a
		}
	}
	if method == "" {
		method = "GET"
		if data != "" {
			method = "POST"
		}
	}
	var body io.Reader
	if data != "" {
		body = strings.NewReader(data)
		if header.Get("Content-Type") == "" {
			header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header = header
	if user != "" {
		u, p, _ := strings.Cut(user, ":")
		req.SetBasicAuth(u, p)
	}
	u, _ := url.Parse(target)
	if sendJar != "" {
		for _, c := range cr.jar(sendJar).Cookies(u) {
			req.AddCookie(c)
		}
	}
	resp, err := cr.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if saveJar != "" {
		cr.jar(saveJar).SetCookies(u, resp.Cookies())
	}
	return resp.StatusCode, b, err
}

// TestBannerCurlLines parses the start-up output and makes every request it
// prints, in order, with net/http as curl would: each must answer the
// status (and error code) the line before it says.
func TestBannerCurlLines(t *testing.T) {
	out, s := startRun(t)
	vars, cmds := parseBanner(t, out)
	for _, m := range s.app.Members {
		if vars[shellVar(&m, "JWT")] != m.SessionJWT || vars[shellVar(&m, "TOKEN")] != m.SessionToken {
			t.Errorf("the output lacks the credentials of %s", m.Name)
		}
	}
	if len(cmds) < 10 {
		t.Fatalf("only %d commands in:\n%s", len(cmds), out)
	}
	cr := newCurlRunner()
	for i, c := range cmds {
		args, err := shellWords(c.line, vars)
		if err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
		status, body, err := cr.do(args)
		if err != nil {
			t.Fatalf("command %d %q: %v", i, c.line, err)
		}
		var e struct {
			Error       string `json:"error"`
			AccessToken string `json:"access_token"`
		}
		_ = json.Unmarshal(body, &e)
		if status != c.status || e.Error != c.code {
			t.Errorf("command %d %s\n  answered %d %q, the output says %d %q; body %.300s", i, c.line, status, e.Error, c.status, c.code, body)
		}
		if c.assign != "" {
			if e.AccessToken == "" {
				t.Fatalf("command %d: no access_token to keep in %s: %s", i, c.assign, body)
			}
			vars[c.assign] = e.AccessToken
		}
	}
}

// TestBannerInBash pastes the start-up output's shell lines into bash with
// the real curl, in order, and checks the statuses they answer. It catches
// quoting that only this package's parser would accept.
func TestBannerInBash(t *testing.T) {
	bash, err1 := exec.LookPath("bash")
	_, err2 := exec.LookPath("curl")
	if err1 != nil || err2 != nil {
		t.Skip("bash or curl not found: the net/http replay (TestBannerCurlLines) still runs")
	}
	out, _ := startRun(t)
	_, cmds := parseBanner(t, out)
	var script strings.Builder
	for _, l := range strings.Split(out, "\n") {
		if varLine.MatchString(l) {
			script.WriteString(l + "\n")
		}
	}
	for _, c := range cmds {
		if c.assign != "" {
			// The line as printed, then whether it kept a token.
			script.WriteString(c.full + "\n")
			fmt.Fprintf(&script, "if [ -n \"$%s\" ]; then echo 200; else echo 000; fi\n", c.assign)
			continue
		}
		// The line as printed, with curl told to print only the status.
		script.WriteString(c.line + " -s -o /dev/null -w '%{http_code}\\n'\n")
	}
	cmd := exec.Command(bash, "--noprofile", "--norc", "-c", script.String())
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, got)
	}
	statuses := strings.Fields(string(got))
	if len(statuses) != len(cmds) {
		t.Fatalf("bash printed %d statuses for %d commands: %q", len(statuses), len(cmds), statuses)
	}
	for i, c := range cmds {
		if statuses[i] != fmt.Sprint(c.status) {
			t.Errorf("command %d %s: bash and curl got %s, the output says %d", i, c.line, statuses[i], c.status)
		}
	}
}

func TestShellWords(t *testing.T) {
	vars := map[string]string{"JWT": "a.b.c"}
	for _, tc := range []struct {
		line string
		want []string // nil: an error
	}{
		{`curl -H "Authorization: Bearer $JWT" http://x/y`, []string{"curl", "-H", "Authorization: Bearer a.b.c", "http://x/y"}},
		{`curl -d '{"title":"a b"}' 'http://x/?a=1&b=2'`, []string{"curl", "-d", `{"title":"a b"}`, "http://x/?a=1&b=2"}},
		{`curl  $JWT`, []string{"curl", "a.b.c"}},
		{`curl '$JWT'`, []string{"curl", "$JWT"}},
		// zsh expands an unquoted ? as a glob: the output must quote it.
		{`curl http://x/?a=1`, nil},
		{`curl 'unclosed`, nil},
		{`curl "$(id)"`, nil},
		{`curl a # comment`, nil},
	} {
		got, err := shellWords(tc.line, vars)
		if tc.want == nil {
			if err == nil {
				t.Errorf("shellWords(%q) = %q, want an error", tc.line, got)
			}
			continue
		}
		if err != nil || strings.Join(got, "\x00") != strings.Join(tc.want, "\x00") {
			t.Errorf("shellWords(%q) = %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
}
