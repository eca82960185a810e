// Package configfile reads m365send's configuration file: where it is
// (--config, $M365SEND_CONFIG, the XDG default, else the system-wide
// file), the checks made before it is parsed (the file's owner and mode,
// its size, its nesting), and the TOML itself, each key placed by file and
// line so that every problem is a *configerr.Error naming where it is and
// what to do. A value that could be a pasted secret is never echoed.
//
// It reads the profiles' keys (internal/configkey) and the top-level
// ones, and picks the profile (SelectProfile); it does not merge, resolve
// or validate a profile (package config does), and the [relay] table is
// package relay's.
package configfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/m365send/m365send/internal/configerr"
	"github.com/m365send/m365send/internal/configkey"
	"github.com/m365send/m365send/internal/masked"
	"github.com/m365send/m365send/internal/safefile"
)

// maxConfigSize bounds the configuration file: a real one is a few
// kilobytes, and the TOML parser's time and memory grow faster than the
// input on some documents.
const maxConfigSize = 1 << 20

// MaxNesting is how deeply brackets and braces may nest in the file: the
// deepest the schema needs is an argv list in an inline profile table in
// an inline profiles table, profiles = { p = { client_secret_command =
// ["x"] } }. Deeper nesting is refused before parsing, because the parser
// takes time quadratic in it.
const MaxNesting = 3

// File is a parsed configuration file.
type File struct {
	// Path is the file's name, as given.
	Path string
	// Lines places each dotted key (tomlscan.KeyLines) on its line.
	Lines map[string]int
	// DefaultProfile is default_profile (Val "" when not set).
	DefaultProfile configkey.Setting
	// Queue is the top-level queue key as written (the spool folder or a
	// postgres:// URL), or "".
	Queue string
	// QueueAlways is queue_always.
	QueueAlways bool
	// Aliases is the sendmail interface's [aliases] table: local names
	// (lower case) and the addresses each stands for.
	Aliases map[string][]string
	// AliasesFile is aliases_file as written, or "".
	AliasesFile string
	// Syslog is the syslog facility (syslog = true: "mail"), or "".
	Syslog string
	// Profiles holds each [profiles.NAME] table's settings by key; a
	// table with no keys is there with an empty map.
	Profiles map[string]map[string]configkey.Setting
}

// Origin is where the file defines the dotted key parts.
func (l *File) Origin(parts ...string) configkey.Origin {
	k := strings.Join(parts, ".")
	return configkey.Origin{Layer: configkey.LayerFile, File: l.Path, Line: l.Lines[k], Key: ShownKey(parts)}
}

// ShownProfiles lists the file's profiles for messages, as ShownKey shows
// them (a pasted secret as a profile name is not shown).
func (l *File) ShownProfiles() string {
	names := l.ProfileNames()
	for i, n := range names {
		names[i] = ShownKey([]string{n})
	}
	return strings.Join(names, ", ")
}

// ProfileNames lists the file's profiles, sorted.
func (l *File) ProfileNames() []string {
	var names []string
	for n := range l.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Layer is the file's settings for profile name and their keys, in
// configkey.All's order.
func (l *File) Layer(name string) (map[string]configkey.Setting, []string) {
	set := l.Profiles[name]
	var keys []string
	for _, k := range configkey.All() {
		if _, ok := set[k.Name]; ok {
			keys = append(keys, k.Name)
		}
	}
	return set, keys
}

// Path returns the file to read and whether the user named it (a named
// file must exist; the default one may be absent): flag (--config) when
// not "", else $M365SEND_CONFIG, else $XDG_CONFIG_HOME/m365send/config.toml,
// else $HOME/.config/m365send/config.toml; "" when none of them is set.
func Path(flag string, env func(string) string) (string, bool) {
	if flag != "" {
		return flag, true
	}
	if p := env(configkey.EnvConfig); p != "" {
		return p, true
	}
	if x := env("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "m365send", "config.toml"), false
	}
	if h := env("HOME"); h != "" {
		return filepath.Join(h, ".config", "m365send", "config.toml"), false
	}
	return "", false
}

// Find reads the configuration file that flag (--config) or the
// environment names, or the default one, else the system-wide one; nil
// when there is none. looked is the file it looked for ("" when no
// default could be determined), for messages.
func Find(flag string, env func(string) string) (file *File, looked string, err error) {
	path, explicit := Path(flag, env)
	if path != "" {
		file, err = Read(path, explicit)
		if file != nil || err != nil || explicit {
			return file, path, err
		}
	}
	// No file of the user's: the system-wide one, when there is one.
	sys, err := readSystemFile(env)
	if sys != nil || err != nil {
		return sys, SystemPath(env), err
	}
	return nil, path, nil
}

// Read reads and decodes the configuration file. It returns nil, nil
// for an absent default file.
func Read(path string, explicit bool) (*File, error) {
	raw, err := readConfigFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return nil, nil
	}
	if err != nil {
		var ce *configerr.Error
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, &configerr.Error{File: masked.Path(path), Msg: fmt.Sprintf("cannot read configuration: %v", configerr.UnwrapPath(err)),
			Advice: "check the file's name (the one given, or $M365SEND_CONFIG), or create the file", Err: fmt.Errorf("%w: %w", configerr.ErrNoFile, err)}
	}
	return Parse(path, raw)
}

// DefaultSystem is the system-wide configuration file, read when the
// user names none and has none of their own (docs/sendmail.md): what a
// system sendmail called by cron or PHP runs with.
const DefaultSystem = "/etc/m365send/config.toml"

// SystemPath is $M365SEND_SYSTEM_CONFIG, else DefaultSystem.
func SystemPath(env func(string) string) string {
	if p := env(configkey.EnvSystemConfig); p != "" {
		return p
	}
	return DefaultSystem
}

// readSystemFile reads the system-wide file; nil when there is none.
func readSystemFile(env func(string) string) (*File, error) {
	path := SystemPath(env)
	if !filepath.IsAbs(path) {
		return nil, &configerr.Error{Key: configkey.EnvSystemConfig, Msg: fmt.Sprintf("%s is not an absolute path", masked.Path(path)),
			Advice: "name the system-wide configuration file by its full path"}
	}
	return Read(path, false)
}

// readConfigFile reads a configuration file as safefile opens files (the
// user's or root's, in folders others cannot write), at most
// maxConfigSize bytes, and checks its mode with checkConfigMode.
func readConfigFile(path string) ([]byte, error) {
	const what = "configuration file"
	f, err := safefile.Open(path, what, false)
	if err != nil {
		return nil, configerr.FromFile(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := io.Copy(&b, io.LimitReader(f, maxConfigSize+1)); err != nil {
		return nil, err
	}
	if b.Len() > maxConfigSize {
		return nil, &configerr.Error{File: masked.Path(path), Msg: fmt.Sprintf("%s is larger than %d bytes", what, maxConfigSize),
			Advice: "point it at the right file: a " + what + " is a few kilobytes"}
	}
	if err := checkConfigMode(path, fi.Mode(), b.Bytes()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// checkConfigMode refuses a configuration file others can access, or one
// its group can write. Its group may read it when it holds no secret: the
// file names where secrets are (a variable, a file, a command), never a
// secret itself, except the relay's password hashes (password_hash), which
// make it private. So one system-wide file (root:m365send, mode 0640)
// serves every member of the group.
func checkConfigMode(path string, mode fs.FileMode, raw []byte) error {
	perm := mode.Perm()
	secret := bytes.Contains(raw, []byte("password_hash"))
	switch {
	case perm&0o007 != 0:
		advice := "chmod 640 " + safefile.ShellQuote(path) + " (its group may read a file that holds no secret), or chmod 600"
		if secret {
			advice = "chmod 600 " + safefile.ShellQuote(path) + " (it holds the relay's password hashes)"
		}
		return &configerr.Error{File: path, Msg: fmt.Sprintf("configuration file is accessible by others (mode %04o)", perm), Advice: advice}
	case perm&0o020 != 0:
		return &configerr.Error{File: path, Msg: fmt.Sprintf("configuration file can be written by its group (mode %04o)", perm),
			Advice: "chmod 640 " + safefile.ShellQuote(path) + " (the group may read it, not change it)"}
	case perm&0o070 != 0 && secret:
		return &configerr.Error{File: path, Msg: fmt.Sprintf("configuration file holds the relay's password hashes (password_hash) and its group can read it (mode %04o)", perm),
			Advice: "chmod 600 " + safefile.ShellQuote(path) + " (group read is allowed only for a file without secrets)"}
	}
	return nil
}
