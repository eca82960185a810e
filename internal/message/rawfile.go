package message

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/rfc5322"
)

// prepareRawFile makes p send the message in path (Message.RawFile),
// streamed: the file is opened each time the text is written, and only
// its header section is read to find the Message-ID.
func prepareRawFile(p *Prepared, path string) (*Prepared, error) {
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
	p.MessageID = rawMessageID(head)
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
