package sender

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/rfc5322"
)

// DefaultMaxInput is the most SpoolInput reads unless told otherwise: 150
// MB, the largest message Exchange Online can be set to accept (see
// docs/microsoft.md, Limits). The server's own SIZE is not known while
// standard input is read (no connection is made before the message is
// known to be valid), so this is the bound; the server's SIZE is checked
// against the message's size before it is sent.
const DefaultMaxInput int64 = 157286400

// Spool is a message (or a body) read from a stream, such as standard
// input, into a private temporary file: its size is then known, for SIZE=
// and the checks before sending, and it is streamed from the file when
// sent rather than held in memory. Remove deletes the file.
type Spool struct {
	// Path is the file: created by os.CreateTemp, so readable and
	// writable by its owner only (0600).
	Path string
	// Size is its length in bytes.
	Size int64
}

// SpoolInput copies r into a new private file in dir (the system's
// temporary folder when dir is ""), reading at most limit bytes (limit ≤
// 0 means DefaultMaxInput). A stream longer than limit is refused with a
// failure.BadMessage error (wrapping ErrInvalidMessage) and the file is
// removed; so is it on any other failure. The caller removes the file with
// Spool.Remove when the message has been sent.
func SpoolInput(r io.Reader, dir string, limit int64) (*Spool, error) {
	if limit <= 0 {
		limit = DefaultMaxInput
	}
	f, err := os.CreateTemp(dir, "m365send-input-*")
	if err != nil {
		return nil, fmt.Errorf("spool the input: %w", err)
	}
	s := &Spool{Path: f.Name()}
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
		return nil, tooLargeInput(limit)
	}
	s.Size = n
	return s, nil
}

// ReadInput reads all of r into memory, at most limit bytes (limit ≤ 0
// means DefaultMaxInput); a longer stream is refused with the same
// failure.BadMessage error as SpoolInput's, once limit+1 bytes have been
// read. For a message that need not be parsed in memory, SpoolInput with
// Message.RawFile keeps memory flat instead.
func ReadInput(r io.Reader, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxInput
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, tooLargeInput(limit)
	}
	return b, nil
}

// tooLargeInput is the error for input over limit bytes.
func tooLargeInput(limit int64) error {
	return failure.Wrap(failure.BadMessage,
		fmt.Errorf("%w: the input is larger than %d bytes (%d MB), the most accepted", ErrInvalidMessage, limit, limit>>20),
		"Exchange Online takes at most 150 MB a message (35 MB unless an admin raised it): send large files another way, such as a link to shared storage")
}

// Remove deletes the spool file; removing it twice is not an error.
func (s *Spool) Remove() error {
	if s == nil || s.Path == "" {
		return nil
	}
	if err := os.Remove(s.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the spooled input: %w", err)
	}
	return nil
}

// prepareRawFile makes p send the message in path (Message.RawFile),
// streamed: the file is opened each time the text is written, and only
// its header section is read to find the Message-ID.
func prepareRawFile(p *prepared, path string) (*prepared, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, failure.Wrap(failure.BadMessage, fmt.Errorf("%w: raw message file: %w", ErrInvalidMessage, err), "give the path of a readable file holding the whole message")
	}
	// The Message-ID is in the header section; a header section over
	// 1 MB is no header section (rawMessageID then finds none).
	head, err := io.ReadAll(io.LimitReader(f, 1<<20))
	_ = f.Close()
	if err != nil {
		return nil, fmt.Errorf("%w: raw message file: %w", ErrInvalidMessage, err)
	}
	if i := headerEnd(head); i >= 0 {
		head = head[:i]
	}
	p.messageID = rawMessageID(head)
	p.write = func(w io.Writer) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return writeCRLFStream(w, f)
	}
	return p, nil
}

// headerEnd returns the index just past the blank line that ends the
// header section of b, or -1.
func headerEnd(b []byte) int {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		line := b[i : i+j+1]
		i += j + 1
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return i
		}
	}
	return -1
}

// writeCRLFStream copies r to w as writeRaw writes a Raw message (bare
// LFs made CRLF, ended with CRLF), a piece at a time.
func writeCRLFStream(w io.Writer, r io.Reader) error {
	tw := rfc5322.NewWriter(w)
	if _, err := io.Copy(tw, r); err != nil {
		return err
	}
	return tw.Close()
}
