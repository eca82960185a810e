package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/m365send/m365send/internal/configenv"
	"github.com/m365send/m365send/internal/configfile"
	"github.com/m365send/m365send/internal/configkey"
	"github.com/m365send/m365send/internal/relpath"
)

// Globals are the configuration file's top-level settings that are not
// about one profile: where the queue is, and whether to use it always.
type Globals struct {
	// File is the configuration file read ("" when there is none).
	File string
	// Queue is where the queue is: a spool folder (the top-level queue
	// key, relative to the file's folder, "~/" the home folder) or a
	// PostgreSQL database (postgres://..., as written); $M365SEND_QUEUE
	// overrides the key; "" when neither names one.
	Queue string
	// QueueAlways hands every message of send and sendmail to the queue
	// rather than only those that meet a temporary failure.
	QueueAlways bool
	// StateDir is $M365SEND_STATE_DIR, else $XDG_STATE_HOME/m365send, else
	// ~/.local/state/m365send ("" when none of them is set).
	StateDir string
	// Aliases is the file's aliases table: local names (lower case, such
	// as root) and the addresses and names each stands for.
	Aliases map[string][]string
	// AliasesFile is a file in /etc/aliases syntax (aliases_file, relative
	// to the file's folder, "~/" the home folder), or "". The table's names win over the file's.
	AliasesFile string
	// Syslog is the syslog facility that sendmail logs one line per
	// message to (syslog = true: "mail"), or "" for none.
	Syslog string
	// SyslogSocket is $M365SEND_SYSLOG_SOCKET: a Unix datagram socket to
	// send the syslog lines to instead of the system's logger, or "".
	SyslogSocket string
	// Profiles are the names of the file's profiles, sorted.
	Profiles []string
}

// LoadGlobals reads the top-level settings of the file opts select (the
// profile is not loaded). A missing default file gives empty Globals.
func LoadGlobals(opts LoadOptions) (*Globals, error) {
	env := opts.Env
	if env == nil {
		env = configenv.Lookup(opts.Environ)
	}
	if err := configenv.Check(opts.Environ); err != nil {
		return nil, err
	}
	g := &Globals{StateDir: stateDir(env), SyslogSocket: env(configkey.EnvSyslogSocket)}
	file, _, err := configfile.Find(opts.File, env)
	if err != nil {
		return nil, err
	}
	if file != nil {
		g.File, g.QueueAlways = file.Path, file.QueueAlways
		g.Queue = file.Queue
		if !strings.HasPrefix(g.Queue, "postgres://") && !strings.HasPrefix(g.Queue, "postgresql://") {
			// A folder; a database URL stays as written.
			g.Queue = relpath.Resolve(file.Queue, filepath.Dir(file.Path), env("HOME"))
		}
		g.Aliases, g.Syslog = file.Aliases, file.Syslog
		g.AliasesFile = relpath.Resolve(file.AliasesFile, filepath.Dir(file.Path), env("HOME"))
		g.Profiles = file.ProfileNames()
	}
	if q := env(configkey.EnvQueue); q != "" {
		g.Queue = q
	}
	return g, nil
}

// stateDir is the state folder per $M365SEND_STATE_DIR, $XDG_STATE_HOME
// and $HOME.
func stateDir(env func(string) string) string {
	if d := env(configkey.EnvStateDir); d != "" {
		return d
	}
	if x := env("XDG_STATE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "m365send")
	}
	if h := env("HOME"); h != "" {
		return filepath.Join(h, ".local", "state", "m365send")
	}
	return ""
}

// DefaultSystemConfig is the system-wide configuration file, read when the
// user names none and has none of their own (docs/sendmail.md): what a
// system sendmail called by cron or PHP runs with.
const DefaultSystemConfig = configfile.DefaultSystem

// StateDir is the state folder: $M365SEND_STATE_DIR, else
// $XDG_STATE_HOME/m365send, else ~/.local/state/m365send ("" when none
// is set).
func StateDir(env func(string) string) string { return stateDir(env) }

// PacingWindow is $M365SEND_PACING_WINDOW (a Go duration such as "2s"),
// or 0 (a minute) when it is not set.
func PacingWindow(env func(string) string) (time.Duration, error) {
	v := env(configkey.EnvPacingWindow)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, &Error{Key: configkey.EnvPacingWindow, Msg: fmt.Sprintf("%s is not a duration such as 1m or 5s", shown(v)),
			Advice: "unset it: the window of the mailbox's rate is a minute"}
	}
	return d, nil
}
