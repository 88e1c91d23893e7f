package pdf

import (
	"context"
	"go/ast"
	goparser "go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSilentSource checks that the package has no way to print or log: the
// text of the documents is personal data.
func TestSilentSource(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := map[string]bool{"fmt.Print": true, "fmt.Println": true, "fmt.Printf": true,
		"os.Stdout": true, "os.Stderr": true, "print": true, "println": true}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		fset := token.NewFileSet()
		file, err := goparser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range file.Imports {
			switch strings.Trim(imp.Path.Value, `"`) {
			case "log", "log/slog", "os", "runtime/debug":
				t.Errorf("%s imports %s", f, imp.Path.Value)
			}
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok && forbidden[x.Name+"."+n.Sel.Name] {
					t.Errorf("%s: %s.%s", fset.Position(n.Pos()), x.Name, n.Sel.Name)
				}
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && forbidden[id.Name] {
					t.Errorf("%s: %s", fset.Position(n.Pos()), id.Name)
				}
			}
			return true
		})
	}
	if checked < 10 {
		t.Errorf("only %d files checked", checked)
	}
}

// TestSilentRun reads good and hostile documents with standard output and
// standard error going to a file: nothing may reach it.
func TestSilentRun(t *testing.T) {
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = out, out
	for _, data := range seeds(t) {
		Text(context.Background(), data, fuzzLimits)
		ExtractPages(context.Background(), data, []int{1, 2}, fuzzLimits)
	}
	os.Stdout, os.Stderr = stdout, stderr
	if fi, err := out.Stat(); err != nil || fi.Size() != 0 {
		t.Errorf("%d bytes written to standard output or error (%v)", fi.Size(), err)
	}
}
