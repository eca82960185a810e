package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/configfile"
	"github.com/m365send/m365send/internal/tomlscan"
)

// fuzzSeeds are real configuration files from the tests and the docs.
func fuzzSeeds() []string {
	p := "[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\n"
	return []string{
		basic,
		p + "client_secret_env = \"S\"\nsmtp_port = 465\n",
		p + "client_secret_command = [\"pass\", \"show\", \"m365/alerts\"]\nmailbox = \"alerts@contoso.com\"\n",
		p + "flow = \"device_code\"\ncloud = \"usgov\"\nauthority_host = \"https://login.microsoftonline.us/\"\n",
		p + "\"" + entraSecret + "\" = \"x\"\n",
		"default_profile = \"alertz\"\n[profiles.alerts]\nclient_secret_env = \"S\"\n",
		`profiles = { p = { tenant = "` + tenantID + `", client_secret_command = ["echo", "x"] } }` + "\n",
		"# c\ndefault_profile = \"a\"\n\n[profiles.a]\ntenant = \"t\"\n  mailbox=\"m\"\nnote = \"\"\"\nx = 1\n\"\"\"\n[profiles.\"b.c\"]\nclient_id = \"x\"\n",
		"[profiles.p]\ntenant = \"x\nclient_id = 1\n",
		deepInline()[:200],
	}
}

// FuzzLoad loads arbitrary bytes as the configuration file. Load must
// return a profile or an *Error (never panic, never hang), and no error
// may show the Entra-shaped secret the input may hold.
func FuzzLoad(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "config.toml")
	env := map[string]string{"HOME": dir, "S": "s"}
	getenv := func(k string) string { return env[k] }
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, profile := range []string{"", "p"} {
			p, err := Load(LoadOptions{File: path, Profile: profile, Env: getenv})
			if err == nil {
				if p == nil {
					t.Fatal("no profile and no error")
				}
				continue
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Load error %v (%T) is not an *Error", err, err)
			}
			if bytes.Contains(data, []byte(entraSecret)) {
				if text := err.Error() + "\n" + ce.Hint(); strings.Contains(text, entraSecret[:8]) || strings.Contains(text, entraSecret[len(entraSecret)-8:]) {
					t.Fatalf("the error shows the secret: %s", text)
				}
			}
		}
	})
}

// FuzzKeyLines runs the scanners that read the file besides the TOML
// parser (keyLines, which places keys for messages, and tooDeep, which
// bounds nesting) on arbitrary input: no panic, and every line they name
// is in the document.
func FuzzKeyLines(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n := bytes.Count(data, []byte("\n")) + 1
		for k, line := range tomlscan.KeyLines(data) {
			if line < 1 || line > n {
				t.Fatalf("key %q on line %d of %d", k, line, n)
			}
		}
		if line, ok := tomlscan.TooDeep(data, configfile.MaxNesting); !ok && (line < 1 || line > n) {
			t.Fatalf("tooDeep names line %d of %d", line, n)
		}
		_ = tomlscan.JoinKey(string(data))
	})
}
