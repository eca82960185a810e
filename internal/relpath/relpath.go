// Package relpath resolves a path written in a configuration file the way
// a person reading the file expects: "~" and "~/..." are the home folder,
// and a relative path is relative to the file's own folder, not to the
// working directory of whatever program (cron, systemd, PHP) runs
// m365send (see docs/configuration.md).
package relpath

import (
	"path/filepath"
	"strings"
)

// Resolve returns p as the configuration file in folder dir means it:
// "~" or "~/rest" under home (when home is set), an absolute path as it
// is, and any other path joined to dir. "" stays "". A "~user" path is
// not expanded (it is then relative to dir, and fails to be found with
// its full name in the message).
func Resolve(p, dir, home string) string {
	switch {
	case p == "":
		return ""
	case home != "" && (p == "~" || strings.HasPrefix(p, "~/")):
		return filepath.Join(home, p[1:])
	case filepath.IsAbs(p):
		return p
	}
	return filepath.Join(dir, p)
}

// Command resolves the program of a command (argv[0]) written in a
// configuration file: a name without a slash is looked up on $PATH when
// run, so it stays as it is; a path with a slash is resolved as Resolve
// does.
func Command(argv0, dir, home string) string {
	if !strings.Contains(argv0, "/") && argv0 != "~" {
		return argv0
	}
	return Resolve(argv0, dir, home)
}
