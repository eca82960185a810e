package config

import (
	"errors"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/failure"
)

func TestErrorsSpeakTheFailureVocabulary(t *testing.T) {
	f := newFixture(t)
	f.config("[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\nsmtp_port = 465\n")
	for _, tc := range []struct {
		name string
		opts LoadOptions
		kind failure.Kind
		hint string
	}{
		{"bad value in the file", LoadOptions{Profile: "p"}, failure.Config, "587"},
		{"--profile names no profile", LoadOptions{Profile: "nosuch"}, failure.Config, "profiles in"},
		{"--config names no file", LoadOptions{File: filepath.Join(f.dir, "nosuch.toml")}, failure.Config, "create the file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.load(tc.opts)
			var fe failure.Error
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v (%T), want a failure.Error", err, err)
			}
			if got := failure.KindOf(err); got != tc.kind {
				t.Errorf("KindOf = %v, want %v (%v)", got, tc.kind, err)
			}
			if got := failure.HintOf(err); !strings.Contains(got, tc.hint) {
				t.Errorf("HintOf = %q, want it to contain %q", got, tc.hint)
			}
		})
	}
	// The same missing file named by the environment is a configuration
	// matter, not a command-line one.
	f.env["M365SEND_CONFIG"] = filepath.Join(f.dir, "nosuch.toml")
	if _, err := f.load(LoadOptions{}); failure.KindOf(err) != failure.Config {
		t.Errorf("M365SEND_CONFIG names no file: kind %v, want config (%v)", failure.KindOf(err), err)
	}
}

// TestImports keeps config a leaf of the token package: config says what a
// profile is, token uses it.
func TestImports(t *testing.T) {
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path == "github.com/m365send/m365send/token" || strings.HasPrefix(path, "github.com/m365send/m365send/sender") {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}
