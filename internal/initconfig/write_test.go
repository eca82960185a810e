package initconfig

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/BurntSushi/toml"
)

// TestComposeRoundTrips checks that what compose writes reads back as
// the values given, whatever characters they hold, and that a profile
// added to a file leaves what was there.
func TestComposeRoundTrips(t *testing.T) {
	values := map[string]string{
		"tenant":    "contoso.onmicrosoft.com",
		"from_name": "Ops \"Team\" \\ back\tslash\x01 é \x7f",
		"smtp_port": "587",
		"mailbox":   "",
	}
	for _, name := range []string{"default", "my alerts", `we"ird`} {
		existing := []byte("[profiles.other]\ntenant = \"x\"") // no final newline
		var doc struct {
			DefaultProfile string                            `toml:"default_profile"`
			Profiles       map[string]map[string]interface{} `toml:"profiles"`
		}
		for _, ex := range [][]byte{nil, existing} {
			text := compose(ex, name, values)
			if _, err := toml.Decode(string(text), &doc); err != nil {
				t.Fatalf("%q: %v\n%s", name, err, text)
			}
			p := doc.Profiles[name]
			if p["from_name"] != values["from_name"] || p["tenant"] != values["tenant"] || p["smtp_port"] != int64(587) {
				t.Errorf("%q: read back %#v", name, p)
			}
			if _, ok := p["mailbox"]; ok {
				t.Errorf("%q: an empty value was written", name)
			}
			if ex != nil && doc.Profiles["other"]["tenant"] != "x" {
				t.Errorf("%q: the existing profile was lost:\n%s", name, text)
			}
			if ex == nil && name != "default" && doc.DefaultProfile != name {
				t.Errorf("%q: default_profile = %q in a new file", name, doc.DefaultProfile)
			}
		}
	}
}

// TestWriteFileIsPrivate checks the mode of a file written, also when
// one was there before with a wider mode, and that no temporary file is
// left behind.
func TestWriteFileIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "folder")
	path := filepath.Join(dir, "config.toml")
	if err := writeFile(path, []byte("a = 1\n")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(path, []byte("a = 2\n")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %o, want 600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Errorf("folder mode %o, want 700", di.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the folder holds %d entries, want only the file", len(entries))
	}
	if b, _ := os.ReadFile(path); string(b) != "a = 2\n" {
		t.Errorf("content %q", b)
	}
}
