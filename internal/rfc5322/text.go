package rfc5322

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrNUL reports a NUL octet in message text: RFC 5322 does not allow it
// and there is no faithful repair.
var ErrNUL = errors.New("the message holds a NUL octet, which mail cannot carry")

// CheckText refuses message text that Writer cannot repair: a NUL octet.
func CheckText(b []byte) error {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return fmt.Errorf("%w (at octet %d)", ErrNUL, i)
	}
	return nil
}

// Writer writes message text with CRLF line endings. Made by NewWriter it
// changes nothing else; made by NewRepairWriter it also keeps the line
// rules of RFC 5322 (sections 2.1.1 and 2.3) and RFC 5321 (section
// 4.5.3.1.6), repairing what breaks them:
//
//   - every line ends with CRLF: a bare LF becomes CRLF; a lone CR (which
//     may not appear in a message) ends the line in the body, as a
//     terminal would show it, and becomes a space in the header block;
//   - no line is longer than MaxLine octets: in the header block (up to
//     the first empty line) a longer line is folded before its last space
//     or tab that leaves a non-blank first part; elsewhere, or when the
//     line has no such blank, CRLF and a space are put after MaxLine
//     octets, as Postfix does (smtp_line_length_limit), which keeps MIME
//     boundaries and header syntax intact;
//   - a NUL octet is refused with ErrNUL, since nothing can repair it.
//
// Close ends non-empty text with CRLF. Writes may split the text
// anywhere; the result is the same as one Write.
type Writer struct {
	w      io.Writer
	repair bool
	err    error

	// Without repair:
	last  byte // the last byte written
	wrote bool // something was written

	// With repair:
	line   []byte // the current line, without its end
	cr     bool   // a CR was seen and its LF may follow
	inBody bool   // past the first empty line
}

// NewWriter returns a Writer that makes every bare LF (one not after a
// CR) a CRLF and keeps every other byte, lone CRs and long lines
// included: for a message that is to go as it was given.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// NewRepairWriter returns a Writer that makes the text keep the line
// rules, as the Writer doc says.
func NewRepairWriter(w io.Writer) *Writer {
	return &Writer{w: w, repair: true, line: make([]byte, 0, 256)}
}

// Write writes p, its line endings made CRLF (and repaired, for a
// repairing Writer).
func (t *Writer) Write(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	if !t.repair {
		return t.writeCRLF(p)
	}
	for i := 0; i < len(p); {
		c := p[i]
		if c == 0 {
			t.err = ErrNUL
			return i, t.err
		}
		if t.cr {
			t.cr = false
			if c == '\n' {
				if err := t.endLine(); err != nil {
					return i, err
				}
				i++
				continue
			}
			if err := t.loneCR(); err != nil {
				return i, err
			}
		}
		switch c {
		case '\r':
			t.cr = true
			i++
			continue
		case '\n':
			if err := t.endLine(); err != nil {
				return i, err
			}
			i++
			continue
		}
		// A run of ordinary bytes, as much as the line has room for.
		if len(t.line) == MaxLine {
			if err := t.breakLine(); err != nil {
				return i, err
			}
		}
		n := bytes.IndexAny(p[i:], "\r\n\x00")
		if n < 0 {
			n = len(p) - i
		}
		n = min(n, MaxLine-len(t.line))
		t.line = append(t.line, p[i:i+n]...)
		i += n
	}
	return len(p), nil
}

// writeCRLF writes p making each bare LF a CRLF.
func (t *Writer) writeCRLF(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		rest := p[done:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			if _, t.err = t.w.Write(rest); t.err != nil {
				return done, t.err
			}
			t.last, t.wrote = rest[len(rest)-1], true
			return len(p), nil
		}
		prev := byte(0)
		if t.wrote {
			prev = t.last
		}
		if i > 0 {
			prev = rest[i-1]
		}
		seg := rest[:i]
		if prev == '\r' {
			seg = rest[:i+1]
		}
		if len(seg) > 0 {
			if _, t.err = t.w.Write(seg); t.err != nil {
				return done, t.err
			}
		}
		if prev != '\r' {
			if _, t.err = io.WriteString(t.w, "\r\n"); t.err != nil {
				return done, t.err
			}
		}
		t.last, t.wrote = '\n', true
		done += i + 1
	}
	return len(p), nil
}

// loneCR repairs a CR not followed by LF: in the body it ends the line;
// in the header block it becomes a space, so that it can neither end the
// header block nor start a line that is not a header.
func (t *Writer) loneCR() error {
	if t.inBody {
		return t.endLine()
	}
	return t.put(' ')
}

// put adds c to the current line, breaking the line first when it is full.
func (t *Writer) put(c byte) error {
	if len(t.line) == MaxLine {
		if err := t.breakLine(); err != nil {
			return err
		}
	}
	t.line = append(t.line, c)
	return nil
}

// endLine writes the current line and CRLF.
func (t *Writer) endLine() error {
	if len(t.line) == 0 {
		t.inBody = true
	}
	t.line = append(t.line, '\r', '\n')
	_, t.err = t.w.Write(t.line)
	t.line = t.line[:0]
	return t.err
}

// breakLine splits a full line: folds a header line at its last blank,
// else breaks it with CRLF SP.
func (t *Writer) breakLine() error {
	if !t.inBody {
		if i := bytes.LastIndexAny(t.line, " \t"); i > 0 && len(bytes.TrimLeft(t.line[:i], " \t")) > 0 {
			rest := append([]byte(nil), t.line[i:]...)
			t.line = append(t.line[:i], '\r', '\n')
			if _, t.err = t.w.Write(t.line); t.err != nil {
				return t.err
			}
			t.line = append(t.line[:0], rest...)
			return nil
		}
	}
	t.line = append(t.line, '\r', '\n')
	_, t.err = t.w.Write(t.line)
	t.line = append(t.line[:0], ' ')
	return t.err
}

// Close writes what is left and ends non-empty text with CRLF when it
// does not end so (a final lone CR gets its LF). It does not close the
// underlying writer.
func (t *Writer) Close() error {
	if t.err != nil {
		return t.err
	}
	if !t.repair {
		switch {
		case !t.wrote || t.last == '\n':
		case t.last == '\r':
			_, t.err = io.WriteString(t.w, "\n")
		default:
			_, t.err = io.WriteString(t.w, "\r\n")
		}
		t.last = '\n'
		return t.err
	}
	if t.cr {
		t.cr = false
		return t.endLine()
	}
	if len(t.line) > 0 {
		return t.endLine()
	}
	return nil
}

// ErrLineTooLong reports a header field that cannot be folded into lines
// of at most MaxLine octets: a run of MaxLine octets without a space or
// tab.
var ErrLineTooLong = errors.New("a header line would be longer than 998 octets and has no space to fold it at")

// Fold folds one unfolded header field, "Name: value" without CR or LF,
// into lines of at most FoldAt octets where it can and MaxLine always, by
// putting CRLF before a space or tab (RFC 5322 section 2.2.3). The result
// has no final CRLF. A word too long for MaxLine returns ErrLineTooLong.
func Fold(field string) (string, error) {
	if len(field) <= FoldAt {
		return field, nil
	}
	var b strings.Builder
	line := 0 // octets on the current output line
	rest := field
	for len(rest) > 0 {
		// The next piece: blanks, then a word up to the next blank.
		i := 0
		for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t') {
			i++
		}
		if j := strings.IndexAny(rest[i:], " \t"); j >= 0 {
			i += j
		} else {
			i = len(rest)
		}
		piece := rest[:i]
		rest = rest[i:]
		if line > 0 && line+len(piece) > FoldAt && strings.TrimLeft(piece, " \t") != "" {
			b.WriteString("\r\n")
			if piece[0] != ' ' && piece[0] != '\t' {
				piece = " " + piece
			}
			line = 0
		}
		if line+len(piece) > MaxLine {
			return "", fmt.Errorf("%w: %q", ErrLineTooLong, Truncate(field, 60))
		}
		b.WriteString(piece)
		line += len(piece)
	}
	return b.String(), nil
}
