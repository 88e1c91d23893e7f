package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var varRE = regexp.MustCompile(`CASELLARIO_[A-Z0-9_]*[A-Z0-9]`)

// namesIn returns the CASELLARIO_ variables quoted in the Go files (tests
// excluded) under dir.
func namesIn(t *testing.T, dir string) map[string][]string {
	t.Helper()
	quoted := regexp.MustCompile(`"(CASELLARIO_[A-Z0-9_]+)"`)
	names := map[string][]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "cdk.out" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range quoted.FindAllStringSubmatch(string(b), -1) {
			names[m[1]] = append(names[m[1]], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// section returns the README's text from heading to the next heading of the same or a higher level.
func section(t *testing.T, readme, heading string) string {
	t.Helper()
	i := strings.Index(readme, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README has no %q", heading)
	}
	rest := readme[i+len(heading)+2:]
	level := strings.Repeat("#", strings.Count(strings.Fields(heading)[0], "#"))
	for _, l := range []string{"\n# ", "\n## ", "\n### "}[:len(level)] {
		if j := strings.Index(rest, l); j >= 0 {
			rest = rest[:j]
		}
	}
	return rest
}

// TestREADMEListsEveryVariable: every variable the code reads (quoted in a Go
// file that ships or runs the local stack) is in one of the README's two
// configuration tables, and each table names only variables the code reads.
// Variables that only tests read are left out of both.
func TestREADMEListsEveryVariable(t *testing.T) {
	root := filepath.Join("..", "..")
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	listed := map[string]bool{}
	for _, h := range []string{"### Configuration of the functions", "### Configuration of the CLI and the local run"} {
		for _, n := range varRE.FindAllString(section(t, readme, h), -1) {
			listed[n] = true
		}
	}
	read := map[string][]string{}
	for _, dir := range []string{"shared", "functions", "cmd"} {
		for n, files := range namesIn(t, filepath.Join(root, dir)) {
			read[n] = append(read[n], files...)
		}
	}
	var missing, stale []string
	for n, files := range read {
		if !listed[n] {
			missing = append(missing, n+" (read in "+files[0]+")")
		}
	}
	for n := range listed {
		if read[n] == nil {
			stale = append(stale, n)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("README configuration tables miss:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(stale) > 0 {
		t.Errorf("README configuration tables name variables no code reads: %s", strings.Join(stale, ", "))
	}

	// What the deployment sets, the functions read.
	for n, files := range namesIn(t, filepath.Join(root, "infra")) {
		if read[n] == nil {
			t.Errorf("infra sets %s (%s), which no function reads", n, files[0])
		}
	}
}
