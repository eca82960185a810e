// Package fromheader replaces a message's From header field, for the
// relay's rewrite_from (docs/relay.md).
package fromheader

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/mail"
	"strings"
)

// Rewrite returns r with its From header fields replaced by one with
// mailbox (keeping the first one's display name), or one added at the top
// when there is none. The header is read into memory; its size is bounded
// by the message size limit.
func Rewrite(r io.Reader, mailbox string) io.Reader {
	br := bufio.NewReader(r)
	var lines [][]byte
	var err error
	for {
		var line []byte
		line, err = br.ReadBytes('\n')
		if len(line) > 0 {
			lines = append(lines, line)
		}
		if err != nil || len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
	}
	isFrom := func(t []byte) bool { return len(t) >= 5 && strings.EqualFold(string(t[:5]), "from:") }
	isCont := func(t []byte) bool { return len(t) > 0 && (t[0] == ' ' || t[0] == '\t') }
	// The first From field's value, unfolded.
	var old []byte
	for i, line := range lines {
		t := bytes.TrimRight(line, "\r\n")
		if !isFrom(t) {
			continue
		}
		old = append([]byte{}, t[5:]...)
		for _, c := range lines[i+1:] {
			ct := bytes.TrimRight(c, "\r\n")
			if !isCont(ct) {
				break
			}
			old = append(old, ct...)
		}
		break
	}
	var out bytes.Buffer
	if old == nil {
		out.WriteString(fromField(nil, mailbox))
	}
	inFrom, put := false, false
	for _, line := range lines {
		t := bytes.TrimRight(line, "\r\n")
		switch {
		case inFrom && isCont(t):
			continue
		case isFrom(t):
			inFrom = true
			if !put {
				out.WriteString(fromField(old, mailbox))
				put = true
			}
			continue
		}
		inFrom = false
		out.Write(line)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return io.MultiReader(&out, errReader{err})
	}
	return io.MultiReader(&out, br)
}

// fromField is "From: " with mailbox and old's display name, if any.
func fromField(old []byte, mailbox string) string {
	a := mail.Address{Address: mailbox}
	if old != nil {
		if p, err := mail.ParseAddress(strings.TrimSpace(string(old))); err == nil {
			a.Name = p.Name
		}
	}
	return "From: " + a.String() + "\r\n"
}

// errReader fails with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
