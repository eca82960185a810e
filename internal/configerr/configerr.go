// Package configerr is the error of a configuration problem (package
// config's Error): the file, line and key where it is, what is wrong and
// what to do. Its kind is failure.Config: the configuration must change
// before anything can work.
package configerr

import (
	"errors"
	"io/fs"
	"strconv"
	"strings"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/masked"
	"github.com/m365send/m365send/internal/safefile"
)

// ErrNoFile is wrapped by an *Error when the configuration file named
// (config.LoadOptions.File, $M365SEND_CONFIG) cannot be read, or when none
// was found and the environment lacks a setting: a command adds how its
// own callers name the file.
var ErrNoFile = errors.New("no configuration file")

// ErrNoProfile is wrapped by an *Error when the profile used was picked
// for want of a selection and is not in the file: a command adds how its
// own callers choose a profile.
var ErrNoProfile = errors.New("no profile selected")

// Error is a configuration problem, naming the file, line and key where
// known, and what to do.
type Error struct {
	// File is the configuration (or secret, certificate) file, or "".
	File string
	// Line is the 1-based line in File, or 0.
	Line int
	// Key is the configuration key (profiles.NAME.KEY), the environment
	// variable, or --profile, that the bad value came from, or "".
	Key string
	// Msg says what is wrong.
	Msg string
	// Advice is one line saying what to do, or "" (see Hint).
	Advice string
	// Err is the underlying error, if any (never holds a secret).
	Err error
}

// Kind is failure.Config: the configuration must change before anything
// can work. A --config file or --profile that names nothing is a
// configuration error too (exit 78, as sendmail and msmtp treat a missing
// configuration file), not a usage error.
func (e *Error) Kind() failure.Kind { return failure.Config }

// Hint returns Advice: one line saying what to do, or "".
func (e *Error) Hint() string { return e.Advice }

// Error formats the problem as "FILE:LINE: KEY: MSG"; the hint (Advice) is separate
// so a command can print it on its own line.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// UnwrapPath drops the *fs.PathError wrapping (whose path the caller
// already names) so messages do not repeat the path.
func UnwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// FromFile makes a refusal of internal/safefile an *Error, its path
// masked (package masked) unless safefile says to show it as given; other
// errors (a file that is not there) are returned as they are.
func FromFile(err error) error {
	var fe *safefile.Error
	if !errors.As(err, &fe) {
		return err
	}
	file := fe.Path
	if !fe.AsGiven {
		file = masked.Path(file)
	}
	return &Error{File: file, Msg: fe.Msg, Advice: fe.Advice, Err: fe.Err}
}
