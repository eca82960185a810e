package config

import (
	"github.com/m365send/m365send/internal/masked"
	"github.com/m365send/m365send/internal/safefile"
)

// How configuration values appear in error messages: one rule for every
// echoed value (package masked), because a secret pasted into the wrong
// key or variable must not end up in a terminal or a CI log.

// shown is masked.Value: a value that looks like a client secret shows
// only its length, a short plain one is quoted, anything else in part.
func shown(s string) string { return masked.Value(s) }

// shownPath is masked.Path: shown, but a plain path is shown as it is.
func shownPath(p string) string { return masked.Path(p) }

// isShownInFull is masked.InFull: whether shown(s) is s itself, quoted.
func isShownInFull(s string) bool { return masked.InFull(s) }

// ShellQuote quotes s for a POSIX shell when it needs it (for commands
// shown in hints): s itself when it is only letters, digits and
// /._-+:@%,=, else s in single quotes.
func ShellQuote(s string) string { return safefile.ShellQuote(s) }
