// Package safefile opens the files m365send reads configuration, secrets
// and certificates from so that no other user can have put them there or
// read them: no symbolic link followed at the last step, no blocking on a
// FIFO, regular files only, the user's (or root's) file in the user's (or
// root's) folder, no folder on the way that others can write without the
// sticky bit, a size limit, and for private files no access by group or
// others. Its refusals are *Error, which say what is wrong and what to do;
// package config reports them as its own errors.
package safefile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Error is a file refused by Open or Read.
type Error struct {
	// Path is the file (or folder) at fault.
	Path string
	// AsGiven marks a Path to show as it is (the caller may otherwise
	// mask a path that looks like a secret).
	AsGiven bool
	// Msg says what is wrong.
	Msg string
	// Advice is one line saying what to do, or "".
	Advice string
	// Err is the underlying error, if any.
	Err error
}

// Error returns the path and Msg.
func (e *Error) Error() string { return e.Path + ": " + e.Msg }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Read reads the file path as Open opens it, refusing one of more than
// limit bytes.
func Read(path, what string, limit int64, private bool) ([]byte, error) {
	f, err := Open(path, what, private)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, io.LimitReader(f, limit+1)); err != nil {
		return nil, &Error{Path: path, Msg: fmt.Sprintf("cannot read %s: %v", what, unwrapPathError(err)), Err: err}
	}
	if int64(b.Len()) > limit {
		return nil, &Error{Path: path, Msg: fmt.Sprintf("%s is larger than %d bytes", what, limit),
			Advice: "point it at the right file: a " + what + " is a few kilobytes"}
	}
	return b.Bytes(), nil
}

// Open opens a file m365send reads configuration or a secret from,
// so that no other user can have put it there or read it:
//   - the file, after symlinks are resolved, is opened without following
//     a symlink and without blocking (a FIFO must not hang the program),
//     and must be a regular file;
//   - it must belong to the user or to root, and so must its folder;
//   - no folder on its way may be writable by others without the sticky
//     bit (CheckDirs);
//   - when private, neither group nor others may access it.
//
// A file that is not there gives its *fs.PathError; anything else wrong
// gives an *Error naming the file, what is wrong and what to do.
func Open(path, what string, private bool) (*os.File, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, err
	}
	if err := CheckDirs(path, what); err != nil {
		return nil, err
	}
	f, err := OpenNoFollow(real)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, &Error{Path: path, Msg: fmt.Sprintf("cannot open %s: %v", what, unwrapPathError(err)), Err: err}
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkOpened(path, what, fi, private)
	}
	if err == nil {
		err = checkOwner(filepath.Dir(real), "folder of the "+what)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkOpened checks the open file path's FileInfo fi.
func checkOpened(path, what string, fi fs.FileInfo, private bool) error {
	switch {
	case fi.IsDir():
		return &Error{Path: path, Msg: what + " is a directory", Advice: "name the file itself, not its folder"}
	case !fi.Mode().IsRegular():
		return &Error{Path: path, Msg: fmt.Sprintf("%s is not a regular file (%s)", what, TypeName(fi.Mode())),
			Advice: "point it at a regular file (not a pipe, a device or a socket)"}
	}
	if uid, ok := Owner(fi); ok && uid != os.Getuid() && uid != 0 {
		return &Error{Path: path, Msg: fmt.Sprintf("%s belongs to user %d, not to you (user %d) or root", what, uid, os.Getuid()),
			Advice: "use a file of your own: copy it into a folder only you can write, and make it mode 0600"}
	}
	if private {
		return checkPrivate(path, fi, what)
	}
	return nil
}

// checkOwner refuses a folder that belongs to another user (not root):
// its owner could replace the file in it.
func checkOwner(dir, what string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil // the file was opened: its folder is there
	}
	if uid, ok := Owner(fi); ok && uid != os.Getuid() && uid != 0 {
		return &Error{Path: dir, Msg: fmt.Sprintf("the %s belongs to user %d, not to you (user %d) or root: they could replace the file", what, uid, os.Getuid()),
			Advice: "move the file into a folder of your own that only you can write, such as ~/.config/m365send"}
	}
	return nil
}

// TypeName names the kind of a file that is not a regular one.
func TypeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a regular file"
}

// checkPrivate refuses a file that group or others can access.
func checkPrivate(path string, fi fs.FileInfo, what string) error {
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	return &Error{Path: path, AsGiven: true,
		Msg:    fmt.Sprintf("%s is accessible by group or others (mode %04o)", what, fi.Mode().Perm()),
		Advice: "chmod 600 " + ShellQuote(path)}
}

// CheckDirs refuses a file under a directory that others can write
// without the sticky bit: anyone could replace the file (or a directory
// on its way) with their own. It checks every directory from the file's
// up to the root, for the path as given and with symlinks resolved.
func CheckDirs(path, what string) error {
	paths := []string{path}
	if abs, err := filepath.Abs(path); err == nil {
		paths[0] = abs
	}
	if real, err := filepath.EvalSymlinks(paths[0]); err == nil && real != paths[0] {
		paths = append(paths, real)
	}
	for _, p := range paths {
		for dir := filepath.Dir(p); ; dir = filepath.Dir(dir) {
			fi, err := os.Stat(dir)
			if err == nil && fi.Mode().Perm()&0o002 != 0 && fi.Mode()&fs.ModeSticky == 0 {
				return &Error{Path: path, AsGiven: true,
					Msg:    fmt.Sprintf("%s is in %s, a directory others can write (mode %04o): they could replace the file", what, dir, fi.Mode().Perm()),
					Advice: DirAdvice(dir, fi)}
			}
			if parent := filepath.Dir(dir); parent == dir {
				break
			}
		}
	}
	return nil
}

// DirAdvice says what to do about dir, a directory others can write: take
// write access away from others when it is the user's own, else (a shared
// folder such as /tmp, or someone else's) use a private folder; never to
// change a shared folder's mode.
func DirAdvice(dir string, fi fs.FileInfo) string {
	uid, ok := Owner(fi)
	shared := !ok || uid != os.Getuid() || dir == "/" || dir == filepath.Clean(os.TempDir())
	for _, d := range []string{"/tmp", "/var/tmp", "/dev/shm"} {
		shared = shared || dir == d
	}
	if shared {
		return "use a private folder instead: move the file into a folder only you can write, such as ~/.config/m365send"
	}
	return "chmod o-w " + ShellQuote(dir)
}

// ShellQuote quotes s for a POSIX shell when it needs it (for commands
// shown in hints): s itself when it is only letters, digits and
// /._-+:@%,=, else s in single quotes.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@%,=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// unwrapPathError drops the *fs.PathError around err: the message names
// the file already.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
