package sendmail

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ReadMessage reads a message as sendmail does: up to the end of r or,
// unless ignoreDots (-i), up to a line holding only "." (with LF or CRLF),
// which is not part of the message. It stops reading at that line, so an
// interactive caller need not close its end. All other bytes are returned
// exactly as read; lines starting with a dot are not unstuffed.
//
// A message larger than MaxMessageSize returns a *MessageError once that
// much has been read, so that a runaway pipe cannot exhaust memory.
func ReadMessage(r io.Reader, ignoreDots bool) ([]byte, error) {
	return readLimited(r, ignoreDots, MaxMessageSize)
}

func readLimited(r io.Reader, ignoreDots bool, limit int) ([]byte, error) {
	b, err := readMessage(io.LimitReader(r, int64(limit)+1), ignoreDots)
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, tooLarge(int64(limit))
	}
	return b, nil
}

// MaxMessageSize is the largest message ReadMessage accepts: 150 MB, the
// most Exchange Online can be set to accept (its default is 35 MB).
const MaxMessageSize = 157286400

func readMessage(r io.Reader, ignoreDots bool) ([]byte, error) {
	if ignoreDots {
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("read message: %w", err)
		}
		return b, nil
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var buf bytes.Buffer
	atLineStart := true
	for {
		chunk, err := br.ReadSlice('\n')
		if atLineStart && isDotLine(chunk) {
			return buf.Bytes(), nil
		}
		buf.Write(chunk)
		if len(chunk) > 0 {
			atLineStart = chunk[len(chunk)-1] == '\n'
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return buf.Bytes(), nil
		default:
			return nil, fmt.Errorf("read message: %w", err)
		}
	}
}

// isDotLine reports whether line is a lone dot: ".\n", ".\r\n", or "." or
// ".\r" at the end of the input.
func isDotLine(line []byte) bool {
	switch string(line) {
	case ".", ".\n", ".\r", ".\r\n":
		return true
	}
	return false
}
