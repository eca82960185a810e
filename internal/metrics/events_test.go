package metrics_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/metrics"
)

// eventSources are the packages whose log messages are counted, and the
// prefix of the names of their event constants.
var eventSources = map[string]string{
	"../../queue": "Event",
	"../../relay": "Event",
	"../../token": "Log",
}

// eventConstants parses the non-test files of dir and returns its string
// constants named prefix..., by value, and how many times each value is
// written as a literal in those files.
func eventConstants(t *testing.T, dir, prefix string) (consts map[string]string, literals map[string]int) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	consts, literals = map[string]string{}, map[string]int{}
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if v, err := strconv.Unquote(n.Value); err == nil && n.Kind == token.STRING {
					literals[v]++
				}
			case *ast.GenDecl:
				if n.Tok != token.CONST {
					return true
				}
				for _, spec := range n.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, name := range vs.Names {
						if !strings.HasPrefix(name.Name, prefix) || vs.Type != nil || i >= len(vs.Values) {
							continue
						}
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							v, _ := strconv.Unquote(lit.Value)
							consts[v] = name.Name
						}
					}
				}
			}
			return true
		})
	}
	return consts, literals
}

// counted logs one record with msg (at Warn, as most events are) through a
// fresh Metrics and returns the counter samples that moved.
func counted(t *testing.T, msg string) []string {
	t.Helper()
	m := metrics.New(nil, nil)
	slog.New(m.Handler(slog.DiscardHandler)).Warn(msg, "code", "421 4.7.0")
	var moved []string
	for k, v := range Scrape(t, scrapeBody(t, m)) {
		name, _, _ := strings.Cut(k, "{")
		if strings.HasSuffix(name, "_total") && v != "0" {
			moved = append(moved, k+" "+v)
		}
	}
	return moved
}

func scrapeBody(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	code, body := get(t, serve(t, m)+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	return body
}

// TestEveryEventConstantHasOneCounter: each event message constant of
// queue, relay and token moves exactly one counter by one, and is the only
// place its text is written in its package (a log call writing the text
// instead of the constant would keep counting after a rename of the
// constant's value only by luck).
func TestEveryEventConstantHasOneCounter(t *testing.T) {
	all := map[string]bool{}
	for dir, prefix := range eventSources {
		consts, literals := eventConstants(t, dir, prefix)
		if len(consts) == 0 {
			t.Errorf("%s: no %s... constants found", dir, prefix)
		}
		for msg, name := range consts {
			all[msg] = true
			if n := literals[msg]; n != 1 {
				t.Errorf("%s: %q (%s) is written %d times; log it as %s", dir, msg, name, n, name)
			}
			if moved := counted(t, msg); len(moved) != 1 || !strings.HasSuffix(moved[0], " 1") {
				t.Errorf("%s.%s (%q) moved %q, want exactly one counter by one", filepath.Base(dir), name, msg, moved)
			}
		}
	}
	// Every message metrics counts is one of those constants: the tables
	// name the constants, never the text.
	_, mine := eventConstants(t, ".", "-")
	for lit := range mine {
		if all[lit] || strings.HasPrefix(lit, "queue: ") || strings.HasPrefix(lit, "relay: ") || strings.HasPrefix(lit, "token: ") {
			t.Errorf("metrics writes the message %q itself; use the logging package's constant", lit)
		}
	}
	if moved := counted(t, "relay: authenticated"); len(moved) != 0 {
		t.Errorf("a message that is no event moved %q", moved)
	}
}
