package layout

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// maxLines is the most non-test lines a package may hold (issue 10): a
// package that grows past it is split along a seam a reader would name.
const maxLines = 1500

// ceilings are packages still over maxLines, each with the size it may
// not grow past; lower a ceiling (or drop the row) as the package is
// split. A package not listed here may not exceed maxLines.
var ceilings = map[string]int{}

// tooBig returns a line for every package of sizes (non-test lines by
// package folder) over its limit: its ceiling when listed, else max.
func tooBig(sizes map[string]int, max int, ceilings map[string]int) []string {
	var out []string
	for pkg, n := range sizes {
		limit := max
		if c, ok := ceilings[pkg]; ok {
			limit = c
		}
		if n > limit {
			out = append(out, fmt.Sprintf("%s: %d non-test lines, over %d", pkg, n, limit))
		}
	}
	sort.Strings(out)
	return out
}

func TestTooBigReportsPackagesOverTheLimit(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sizes    map[string]int
		ceilings map[string]int
		want     int // packages reported
	}{
		{"at the limit", map[string]int{"a": 1500}, nil, 0},
		{"one over", map[string]int{"a": 1501, "b": 10}, nil, 1},
		{"every one over", map[string]int{"a": 1501, "b": 4000}, nil, 2},
		{"under its ceiling", map[string]int{"a": 1700}, map[string]int{"a": 1800}, 0},
		{"over its ceiling", map[string]int{"a": 1801}, map[string]int{"a": 1800}, 1},
		{"a ceiling below the limit binds", map[string]int{"a": 1400}, map[string]int{"a": 1300}, 1},
	} {
		if got := tooBig(tc.sizes, maxLines, tc.ceilings); len(got) != tc.want {
			t.Errorf("%s: reported %q, want %d package(s)", tc.name, got, tc.want)
		}
	}
}

// TestPackagesStayUnderTheLimit measures every package of the module as
// docs/development.md does (the lines of its .go files other than
// _test.go, build-constrained ones included) and fails when one is over
// its limit.
func TestPackagesStayUnderTheLimit(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found from %s: %v", root, err)
	}
	sizes := map[string]int{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		sizes[filepath.ToSlash(rel)] += bytes.Count(b, []byte("\n"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sizes["cmd/m365send"] == 0 || sizes["sender"] == 0 {
		t.Fatalf("measured %d packages without cmd/m365send or sender: the check would check nothing", len(sizes))
	}
	for pkg := range ceilings {
		if _, ok := sizes[pkg]; !ok {
			t.Errorf("ceilings names %s, which holds no Go code: drop its row", pkg)
		}
	}
	for _, line := range tooBig(sizes, maxLines, ceilings) {
		t.Error(line + " (split it; see docs/development.md, Package size)")
	}
}
