package readme

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// snippets returns the ```go blocks of the README.
func snippets(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile("(?s)```go\n(.*?)```").FindAllSubmatch(b, -1) {
		out = append(out, string(m[1]))
	}
	return out
}

// TestREADMESnippetsCompileAndRun vets every Go snippet of the README as a
// package of its own and runs the tests among them.
func TestREADMESnippetsCompileAndRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every README snippet with the go command")
	}
	snips := snippets(t)
	if len(snips) < 5 {
		t.Fatalf("found %d Go snippets in the README", len(snips))
	}
	goBin := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	for i, src := range snips {
		t.Run(fmt.Sprintf("snippet%d", i+1), func(t *testing.T) {
			if !strings.HasPrefix(src, "package ") {
				t.Fatalf("a README Go snippet must be a whole file starting with its package clause:\n%s", src)
			}
			dir, err := os.MkdirTemp("testdata", fmt.Sprintf("snippet%d-", i+1))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			name := "snippet.go"
			isTest := strings.Contains(src, "*testing.T")
			if isTest {
				name = "snippet_test.go"
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			pkg := "./" + filepath.ToSlash(dir)
			run := func(args ...string) {
				cmd := exec.Command(goBin, args...)
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Run(); err != nil {
					t.Fatalf("go %s: %v\n%s\nsnippet:\n%s", strings.Join(args, " "), err, out.String(), src)
				}
			}
			run("vet", pkg)
			if isTest {
				run("test", "-count=1", pkg)
			}
		})
	}
}
