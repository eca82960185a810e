package initconfig

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/m365send/m365send/config"
)

// compose is existing (nil for a new file) with the profile's table
// added: keys in config.Keys' order, empty values left out. A new file
// whose profile is not "default" names it in default_profile, so that the
// commands use it without --profile.
func compose(existing []byte, name string, values map[string]string) []byte {
	var b bytes.Buffer
	if existing == nil {
		b.WriteString("# Written by `m365send init`; `m365send --help` describes the keys.\n")
		b.WriteString("# Relative paths are relative to this file's folder.\n")
		if name != "default" {
			fmt.Fprintf(&b, "default_profile = %s\n", quote(name))
		}
	} else {
		b.Write(existing)
		if len(existing) > 0 && !bytes.HasSuffix(existing, []byte("\n")) {
			b.WriteByte('\n')
		}
	}
	fmt.Fprintf(&b, "\n[profiles.%s]\n", tableKey(name))
	for _, key := range config.Keys() {
		v, ok := values[key.Name]
		if !ok || v == "" {
			continue
		}
		if key.Type == config.TypeInteger {
			if _, err := strconv.Atoi(v); err == nil {
				fmt.Fprintf(&b, "%s = %s\n", key.Name, v)
				continue
			}
		}
		// A value that is not a number where one belongs is written as a
		// string, for config to refuse with its own words.
		fmt.Fprintf(&b, "%s = %s\n", key.Name, quote(v))
	}
	return b.Bytes()
}

// tableKey is name as a TOML key: bare when it may be, else quoted.
func tableKey(name string) string {
	if plainName.MatchString(name) {
		return name
	}
	return quote(name)
}

// quote is s as a TOML basic string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == utf8.RuneError:
			b.WriteString(`\uFFFD`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// writeFile writes data to path with mode 0600 through a temporary file
// in the same folder, renamed into place, so that no reader sees half a
// file and no other user ever can read it; the folder is made (0700) when
// missing.
func writeFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing to remove
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
