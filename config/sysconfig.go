package config

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/m365send/m365send/internal/safefile"
)

// envSystemConfig names the system-wide configuration file read when the
// user has none (default DefaultSystemConfig): for tests, and for systems
// that keep it elsewhere.
const envSystemConfig = "M365SEND_SYSTEM_CONFIG"

// envSyslogSocket names the Unix datagram socket sendmail's syslog lines
// go to instead of the system's logger (tests, containers).
const envSyslogSocket = "M365SEND_SYSLOG_SOCKET"

// DefaultSystemConfig is the system-wide configuration file, read when the
// user names none and has none of their own (docs/sendmail.md): what a
// system sendmail called by cron or PHP runs with.
const DefaultSystemConfig = "/etc/m365send/config.toml"

// systemConfigPath is $M365SEND_SYSTEM_CONFIG, else DefaultSystemConfig.
func systemConfigPath(env func(string) string) string {
	if p := env(envSystemConfig); p != "" {
		return p
	}
	return DefaultSystemConfig
}

// loadSystemFile reads the system-wide file; nil when there is none.
func loadSystemFile(env func(string) string) (*loaded, error) {
	path := systemConfigPath(env)
	if !filepath.IsAbs(path) {
		return nil, &Error{Key: envSystemConfig, Msg: fmt.Sprintf("%s is not an absolute path", shownPath(path)),
			Advice: "name the system-wide configuration file by its full path"}
	}
	return readFile(path, false)
}

// readConfigFile reads a configuration file as safefile opens files (the
// user's or root's, in folders others cannot write), at most
// maxConfigSize bytes, and checks its mode with checkConfigMode.
func readConfigFile(path string) ([]byte, error) {
	const what = "configuration file"
	f, err := openChecked(path, what, false)
	if err != nil {
		return nil, err
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
		return nil, &Error{File: shownPath(path), Msg: fmt.Sprintf("%s is larger than %d bytes", what, maxConfigSize),
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
		return &Error{File: path, Msg: fmt.Sprintf("configuration file is accessible by others (mode %04o)", perm), Advice: advice}
	case perm&0o020 != 0:
		return &Error{File: path, Msg: fmt.Sprintf("configuration file can be written by its group (mode %04o)", perm),
			Advice: "chmod 640 " + safefile.ShellQuote(path) + " (the group may read it, not change it)"}
	case perm&0o070 != 0 && secret:
		return &Error{File: path, Msg: fmt.Sprintf("configuration file holds the relay's password hashes (password_hash) and its group can read it (mode %04o)", perm),
			Advice: "chmod 600 " + safefile.ShellQuote(path) + " (group read is allowed only for a file without secrets)"}
	}
	return nil
}

// sysSettings are the top-level keys of the sendmail interface.
type sysSettings struct {
	aliases     map[string][]string
	aliasesFile string
	syslog      string
}

// syslogFacilities are the facilities the syslog key takes.
var syslogFacilities = []string{"mail", "user", "daemon", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}

// addSys records aliases.NAME, aliases_file or syslog.
func (l *loaded) addSys(k toml.Key, typ string, v any) error {
	o := l.origin(k...)
	switch {
	case len(k) == 1 && k[0] == "aliases":
		if typ != "Hash" {
			return errorf(o, `aliases is a table: [aliases] with lines such as root = "ops@contoso.com"`, "not a table")
		}
		return nil
	case k[0] == "aliases" && len(k) == 2:
		var targets []string
		switch t := v.(type) {
		case string:
			targets = strings.Split(t, ",")
		case []any:
			for _, e := range t {
				s, ok := e.(string)
				if !ok {
					return wrongType(o, TypeString, typ)
				}
				targets = append(targets, s)
			}
		default:
			return errorf(o, `an alias is an address or a list: root = "ops@contoso.com" or root = ["a@x", "b@x"]`, "wrong type: want a string or an array of strings, not %s", tomlTypeName(typ))
		}
		var clean []string
		for _, t := range targets {
			if t = strings.TrimSpace(t); t != "" {
				clean = append(clean, t)
			}
		}
		if l.sys.aliases == nil {
			l.sys.aliases = map[string][]string{}
		}
		l.sys.aliases[strings.ToLower(k[1])] = clean
		return nil
	case k[0] == "aliases_file":
		s, ok := v.(string)
		if !ok {
			return wrongType(o, TypeString, typ)
		}
		if s != "" && !filepath.IsAbs(s) {
			s = filepath.Join(filepath.Dir(l.path), s)
		}
		l.sys.aliasesFile = s
		return nil
	case k[0] == "syslog":
		switch t := v.(type) {
		case bool:
			if t {
				l.sys.syslog = "mail"
			}
			return nil
		case string:
			if !slices.Contains(syslogFacilities, t) {
				return errorf(o, "syslog is true, false or a facility: "+strings.Join(syslogFacilities, ", "), "unknown syslog facility %s", shown(t))
			}
			l.sys.syslog = t
			return nil
		}
		return errorf(o, "syslog is true, false or a facility: "+strings.Join(syslogFacilities, ", "), "wrong type: not %s", tomlTypeName(typ))
	}
	return l.unknownKey(k)
}

// envPacingWindow names the window of the mailbox's rate (default a
// minute): tests shorten it so that they need not wait a minute.
const envPacingWindow = "M365SEND_PACING_WINDOW"

// StateDir is the state folder: $M365SEND_STATE_DIR, else
// $XDG_STATE_HOME/m365send, else ~/.local/state/m365send ("" when none
// is set).
func StateDir(env func(string) string) string { return stateDir(env) }

// PacingWindow is $M365SEND_PACING_WINDOW (a Go duration such as "2s"),
// or 0 (a minute) when it is not set.
func PacingWindow(env func(string) string) (time.Duration, error) {
	v := env(envPacingWindow)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, &Error{Key: envPacingWindow, Msg: fmt.Sprintf("%s is not a duration such as 1m or 5s", shown(v)),
			Advice: "unset it: the window of the mailbox's rate is a minute"}
	}
	return d, nil
}
