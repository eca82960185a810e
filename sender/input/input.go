// Package input reads a message, or a body, from a stream such as standard
// input, with a bound on its size: into memory (Read), or into a private
// temporary file that is then sent streamed (Spool, with
// sender.Message.RawFile), so that memory stays flat.
package input

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/sender"
)

// DefaultMax is the most Spool and Read take unless told otherwise: 150
// MB, the largest message Exchange Online can be set to accept (see
// docs/microsoft.md, Limits). The server's own SIZE is not known while
// standard input is read (no connection is made before the message is
// known to be valid), so this is the bound; the server's SIZE is checked
// against the message's size before it is sent.
const DefaultMax int64 = 157286400

// File is a message (or a body) read from a stream into a private
// temporary file: its size is then known, for SIZE= and the checks before
// sending, and it is streamed from the file when sent rather than held in
// memory. Remove deletes the file.
type File struct {
	// Path is the file: created by os.CreateTemp, so readable and
	// writable by its owner only (0600).
	Path string
	// Size is its length in bytes.
	Size int64
}

// Spool copies r into a new private file in dir (the system's temporary
// folder when dir is ""), reading at most limit bytes (limit ≤ 0 means
// DefaultMax). A stream longer than limit is refused with a
// failure.BadMessage error (wrapping sender.ErrInvalidMessage) and the
// file is removed; so is it on any other failure. The caller removes the
// file with File.Remove when the message has been sent.
func Spool(r io.Reader, dir string, limit int64) (*File, error) {
	if limit <= 0 {
		limit = DefaultMax
	}
	f, err := os.CreateTemp(dir, "m365send-input-*")
	if err != nil {
		return nil, fmt.Errorf("spool the input: %w", err)
	}
	s := &File{Path: f.Name()}
	n, err := io.Copy(f, io.LimitReader(r, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		_ = s.Remove()
		return nil, fmt.Errorf("spool the input: %w", err)
	case n > limit:
		_ = s.Remove()
		return nil, tooLarge(limit)
	}
	s.Size = n
	return s, nil
}

// Read reads all of r into memory, at most limit bytes (limit ≤ 0 means
// DefaultMax); a longer stream is refused with the same failure.BadMessage
// error as Spool's, once limit+1 bytes have been read. For a message that
// need not be parsed in memory, Spool with sender.Message.RawFile keeps
// memory flat instead.
func Read(r io.Reader, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMax
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, tooLarge(limit)
	}
	return b, nil
}

// tooLarge is the error for input over limit bytes.
func tooLarge(limit int64) error {
	return failure.Wrap(failure.BadMessage,
		fmt.Errorf("%w: the input is larger than %d bytes (%d MB), the most accepted", sender.ErrInvalidMessage, limit, limit>>20),
		"Exchange Online takes at most 150 MB a message (35 MB unless an admin raised it): send large files another way, such as a link to shared storage")
}

// Remove deletes the file; removing it twice is not an error.
func (s *File) Remove() error {
	if s == nil || s.Path == "" {
		return nil
	}
	if err := os.Remove(s.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the spooled input: %w", err)
	}
	return nil
}
