package config

import (
	"path/filepath"
	"strings"

	"github.com/m365send/m365send/internal/relpath"
)

// envStateDir names the folder where m365send keeps its state (the relay's
// generated certificate, the queue's spool by default).
const envStateDir = "M365SEND_STATE_DIR"

// envQueue names the queue (a spool folder or a postgres:// URL) over the
// file's queue key.
const envQueue = "M365SEND_QUEUE"

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
	// to the file's folder), or "". The table's names win over the file's.
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
		env = environLookup(opts.Environ)
	}
	if err := checkEnviron(opts.Environ); err != nil {
		return nil, err
	}
	g := &Globals{StateDir: stateDir(env), SyslogSocket: env(envSyslogSocket)}
	file, _, err := loadFile(opts.File, env)
	if err != nil {
		return nil, err
	}
	if file != nil {
		g.File, g.QueueAlways = file.path, file.queueAlways
		g.Queue = file.queue
		if !strings.HasPrefix(g.Queue, "postgres://") && !strings.HasPrefix(g.Queue, "postgresql://") {
			// A folder; a database URL stays as written.
			g.Queue = relpath.Resolve(file.queue, filepath.Dir(file.path), env("HOME"))
		}
		g.Aliases, g.AliasesFile, g.Syslog = file.sys.aliases, file.sys.aliasesFile, file.sys.syslog
		g.Profiles = file.profileNames()
	}
	if q := env(envQueue); q != "" {
		g.Queue = q
	}
	return g, nil
}

// stateDir is the state folder per $M365SEND_STATE_DIR, $XDG_STATE_HOME
// and $HOME.
func stateDir(env func(string) string) string {
	if d := env(envStateDir); d != "" {
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
