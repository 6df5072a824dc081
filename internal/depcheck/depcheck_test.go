package depcheck

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/stytchguard/stytchguard"

// allowed lists, for each top-level package of the module, the packages of
// the module its non-test files may import.
var allowed = map[string][]string{
	"client":     {},
	"verifier":   {"client"},
	"rbac":       {"client"},
	"middleware": {"client", "verifier", "rbac"},
	"stytchtest": {"client", "rbac"},
	// fleet implements middleware.Fleet without importing middleware;
	// only tests and example import fleet.
	"fleet":   {"client", "internal"},
	"example": {"client", "verifier", "rbac", "middleware", "stytchtest", "fleet"},
	// cmd/ holds commands: the standalone emulator.
	"cmd": {"client", "stytchtest"},
	// internal/ holds test harnesses and the load driver: leaves like
	// example, which no package imports except fleet (checked below).
	"internal": {"client", "verifier", "rbac", "middleware", "stytchtest", "fleet"},
}

// noChi lists the packages that must not import chi: route-aware inputs reach
// them as func(*http.Request) string hooks.
var noChi = []string{"client", "verifier", "rbac", "middleware", "stytchtest"}

// violations returns one line per import that goes against the table, given
// each package's import path and its imports.
func violations(imports map[string][]string) []string {
	var bad []string
	for full, imps := range imports {
		rel := strings.TrimPrefix(strings.TrimPrefix(full, module), "/")
		top := strings.SplitN(rel, "/", 2)[0]
		if top == "" {
			continue
		}
		ok, known := allowed[top]
		if !known {
			bad = append(bad, rel+" is not in the dependency table")
			continue
		}
		for _, imp := range imps {
			if strings.HasPrefix(imp, module+"/") {
				dep := strings.SplitN(strings.TrimPrefix(imp, module+"/"), "/", 2)[0]
				if dep == "internal" && top != "internal" && !slices.Contains(ok, "internal") {
					bad = append(bad, rel+" imports "+imp)
					continue
				}
				if dep != top && !slices.Contains(ok, dep) {
					bad = append(bad, rel+" imports "+imp)
				}
			}
			if strings.HasPrefix(imp, "github.com/go-chi/chi") && slices.Contains(noChi, top) {
				bad = append(bad, rel+" imports "+imp)
			}
		}
	}
	slices.Sort(bad)
	return bad
}

func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		imports[f[0]] = f[1:]
	}
	if len(imports) < 2 {
		t.Fatalf("go list found %d packages; expected the whole module", len(imports))
	}
	for _, v := range violations(imports) {
		t.Errorf("against the direction of DESIGN.md: %s", v)
	}
}

func TestViolationsCatchesBadImports(t *testing.T) {
	cases := []struct {
		name    string
		imports map[string][]string
		want    int
	}{
		// client must stay a leaf: anything of ours is a cycle risk.
		{"client imports verifier", map[string][]string{module + "/client": {module + "/verifier"}}, 1},
		// rbac and verifier never import each other.
		{"rbac imports verifier", map[string][]string{module + "/rbac": {module + "/verifier"}}, 1},
		// nothing but example imports middleware.
		{"verifier imports middleware", map[string][]string{module + "/verifier": {module + "/middleware"}}, 1},
		// core packages take route hooks, not chi.
		{"middleware imports chi", map[string][]string{module + "/middleware": {"github.com/go-chi/chi/v5"}}, 1},
		// the internal harnesses are leaves too.
		{"verifier imports internal", map[string][]string{module + "/verifier": {module + "/internal/reliability"}}, 1},
		// fleet is consumed through middleware's interface, never imported.
		{"middleware imports fleet", map[string][]string{module + "/middleware": {module + "/fleet"}}, 1},
		// fleet depends on client's types only.
		{"fleet imports middleware", map[string][]string{module + "/fleet": {module + "/middleware"}}, 1},
		{"fleet imports verifier", map[string][]string{module + "/fleet": {module + "/verifier"}}, 1},
		// a new top-level package must be placed in the table first.
		{"unknown package", map[string][]string{module + "/util": {}}, 1},
		{"allowed imports", map[string][]string{
			module + "/middleware": {module + "/client", module + "/verifier", module + "/rbac", "net/http"},
			module + "/example":    {module + "/middleware", module + "/fleet", "github.com/go-chi/chi/v5"},
			module + "/fleet":      {module + "/client", "github.com/redis/go-redis/v9"},
		}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := violations(tc.imports); len(got) != tc.want {
				t.Fatalf("violations = %q, want %d", got, tc.want)
			}
		})
	}
}
