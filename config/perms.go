package config

import (
	"os"

	"github.com/m365send/m365send/internal/configerr"
	"github.com/m365send/m365send/internal/safefile"
)

// maxSecretFileSize bounds a client secret file, a certificate file and a
// ca_file: each is a few kilobytes at most.
const maxSecretFileSize = 1 << 20

// readPrivateFile reads a file that holds configuration or a secret: it
// must be private (see openChecked), and at most limit bytes long. An
// error is an *Error, or the *fs.PathError of a file that is not there.
func readPrivateFile(path, what string, limit int64) ([]byte, error) {
	return readChecked(path, what, limit, true)
}

// readChecked reads the file path as openChecked opens it, refusing one of
// more than limit bytes.
func readChecked(path, what string, limit int64, private bool) ([]byte, error) {
	b, err := safefile.Read(path, what, limit, private)
	return b, configerr.FromFile(err)
}

// openChecked opens a file m365send reads configuration or a secret from,
// as internal/safefile's Open does (no symbolic link at the last step, no
// blocking, a regular file of the user's or root's in a folder of theirs,
// no folder on the way others can write, and when private no access by
// group or others). A file that is not there gives its *fs.PathError;
// anything else wrong gives an *Error naming the file, what is wrong and
// what to do.
func openChecked(path, what string, private bool) (*os.File, error) {
	f, err := safefile.Open(path, what, private)
	return f, configerr.FromFile(err)
}

// ShellQuote quotes s for a POSIX shell when it needs it (for commands
// shown in hints): s itself when it is only letters, digits and
// /._-+:@%,=, else s in single quotes.
func ShellQuote(s string) string { return safefile.ShellQuote(s) }
