// Package version says which build of m365send is running, from the
// build information the Go toolchain embeds (`m365send version`).
package version

import "runtime/debug"

// String is "m365send VERSION (commit REV, TIME[, modified]) GOVERSION"
// from the build information the Go toolchain embeds.
func String() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "m365send (unknown version)"
	}
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var rev, when string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	out := "m365send " + version
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		out += " (commit " + rev
		if when != "" {
			out += ", " + when
		}
		if modified {
			out += ", modified"
		}
		out += ")"
	}
	return out + " " + bi.GoVersion
}
