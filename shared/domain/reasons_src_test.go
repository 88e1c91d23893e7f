package domain

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"
)

// declaredReasonCodes returns the values of the ReasonCode constants of reasons.go.
func declaredReasonCodes(t *testing.T) []ReasonCode {
	t.Helper()
	var out []ReasonCode
	for _, s := range declaredConstants(t, "reasons.go", "ReasonCode") {
		out = append(out, ReasonCode(s))
	}
	return out
}

// declaredConstants returns the string constants of type typ declared in file.
func declaredConstants(t *testing.T, file, typ string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != typ {
				continue
			}
			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok {
					s, _ := strconv.Unquote(lit.Value)
					out = append(out, s)
				}
			}
		}
	}
	return out
}
