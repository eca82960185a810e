package token

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// Every exported field of an exported struct in the package (and in
// entratest) has a doc comment (the house rule: a doc comment on every
// exported name).
func TestExportedFieldsAreDocumented(t *testing.T) {
	fset := token.NewFileSet()
	var files []*ast.File
	for _, dir := range []string{".", "entratest"} {
		names, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	checked := 0
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || !ts.Name.IsExported() {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, field := range st.Fields.List {
				for _, name := range field.Names {
					if !name.IsExported() {
						continue
					}
					checked++
					if field.Doc == nil || strings.TrimSpace(field.Doc.Text()) == "" {
						t.Errorf("%s: %s.%s has no doc comment", fset.Position(name.Pos()), ts.Name.Name, name.Name)
					}
				}
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no exported fields found")
	}
}
