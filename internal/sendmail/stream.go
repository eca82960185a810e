package sendmail

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode"
	"unicode/utf8"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/rfc5322"
)

// MaxHeaderSize is the largest header block Spool holds in memory: 1 MB,
// far more than any real message has (the body is what grows). A longer
// header block is refused.
const MaxHeaderSize = 1 << 20

// Spool reads a message from r as ReadMessage does (a lone "." line ends
// it unless opts.IgnoreDots; at most MaxMessageSize bytes) and checks it
// as Parse does, holding in memory only its header block (at most
// MaxHeaderSize): the body is written, repaired as Bytes repairs it, to a
// private (0600) temporary file in dir (the system's temporary folder
// when dir is ""). Memory stays flat whatever the size of the message.
// The refusals are Parse's and ReadMessage's, in the same order. The
// caller calls Remove when done with the message (Spool removes the file
// itself when it fails).
func Spool(r io.Reader, opts *Options, dir string) (*Message, error) {
	return spool(r, opts, dir, MaxMessageSize)
}

func spool(r io.Reader, opts *Options, dir string, limit int64) (*Message, error) {
	if opts == nil {
		opts = &Options{}
	}
	f, err := os.CreateTemp(dir, "m365send-body-*")
	if err != nil {
		return nil, spoolError(err)
	}
	src := &countReader{r: io.LimitReader(r, limit+1)}
	var in io.Reader = src
	if !opts.IgnoreDots {
		in = &dotReader{br: bufio.NewReaderSize(src, 64<<10), atStart: true}
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	rw := rfc5322.NewRepairWriter(bw)
	m, perr := parseStream(in, opts, func(headerless bool) io.Writer {
		if headerless {
			// The blank line that Bytes puts after the added headers.
			_, _ = rw.Write([]byte{'\n'})
		}
		return rw
	})
	fail := func(err error) (*Message, error) {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, err
	}
	// ReadMessage's refusals come first, as when the message was read
	// whole before it was parsed.
	var re *readError
	if errors.As(perr, &re) {
		return fail(re.err)
	}
	if src.n > limit {
		return fail(tooLarge(limit))
	}
	if perr != nil {
		return fail(perr)
	}
	// Parse refused NUL octets, the only failure of the repairing writer.
	err = rw.Close()
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return nil, spoolError(err)
	}
	m.bodyFile = f.Name()
	return m, nil
}

// Remove deletes the file that Spool wrote the body to; it does nothing
// for a Message made by Parse, and removing twice is not an error.
func (m *Message) Remove() error {
	if m == nil || m.bodyFile == "" {
		return nil
	}
	if err := os.Remove(m.bodyFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the spooled message: %w", err)
	}
	return nil
}

// FinishFile writes the message as Bytes returns it into a new private
// (0600) temporary file in dir ("" for the system's temporary folder), a
// piece at a time, and returns its path, for sender.Message.RawFile. The
// caller removes the file.
func (m *Message) FinishFile(dir string, opts FinishOptions) (string, error) {
	f, err := os.CreateTemp(dir, "m365send-message-*")
	if err != nil {
		return "", spoolError(err)
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	err = m.finish(bw, opts)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		if errors.Is(err, rfc5322.ErrNUL) {
			return "", fmt.Errorf("sendmail: %w", err)
		}
		return "", spoolError(err)
	}
	return f.Name(), nil
}

// spoolError is a failure to write a temporary file: a full or
// unwritable temporary folder, which may be put right, so
// failure.Temporary (exit 75: a caller such as cron's MTA tries again).
func spoolError(err error) error {
	return failure.Wrap(failure.Temporary, fmt.Errorf("spool the message to a temporary file: %w", err),
		"the temporary folder ($TMPDIR, else /tmp) must be writable, with room for twice the message")
}

// readError is a failure to read the input (not a refusal of it).
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// tooLarge is ReadMessage's refusal of a message over limit bytes.
func tooLarge(limit int64) error {
	return &MessageError{
		Msg:    fmt.Sprintf("message too large: larger than %d bytes, the most Exchange Online accepts (150 MB)", limit),
		Advice: "send large files another way (a link to shared storage)",
	}
}

// countReader counts what is read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// dotReader returns what br holds up to a line holding only "." (which
// it leaves out), as ReadMessage reads without -i.
type dotReader struct {
	br      *bufio.Reader
	pend    []byte
	atStart bool
	eof     bool
	err     error
}

func (d *dotReader) Read(p []byte) (int, error) {
	for len(d.pend) == 0 {
		if d.eof {
			return 0, d.err
		}
		chunk, err := d.br.ReadSlice('\n')
		if d.atStart && isDotLine(chunk) {
			d.eof, d.err = true, io.EOF
			return 0, io.EOF
		}
		d.pend = chunk
		if len(chunk) > 0 {
			d.atStart = chunk[len(chunk)-1] == '\n'
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			d.eof, d.err = true, io.EOF
		default:
			d.eof, d.err = true, err
		}
	}
	n := copy(p, d.pend)
	d.pend = d.pend[n:]
	return n, nil
}

// textCheck watches the text after a leading "From " line for what Parse
// refuses before anything else: text that is all white space (empty) and
// a NUL octet.
type textCheck struct {
	n        int64 // octets seen
	nul      int64 // offset of the first NUL, or -1
	nonSpace bool  // a rune other than white space was seen
	carry    []byte
}

func (c *textCheck) observe(p []byte) {
	if c.nul < 0 {
		if i := bytes.IndexByte(p, 0); i >= 0 {
			c.nul = c.n + int64(i)
		}
	}
	c.n += int64(len(p))
	if c.nonSpace {
		return
	}
	// As bytes.TrimSpace sees it: runes, a rune split across writes
	// joined again.
	b := p
	if len(c.carry) > 0 {
		b = append(c.carry, p...)
		c.carry = nil
	}
	for len(b) > 0 {
		if !utf8.FullRune(b) {
			c.carry = append([]byte(nil), b...)
			return
		}
		r, size := utf8.DecodeRune(b)
		if !unicode.IsSpace(r) {
			c.nonSpace = true
			return
		}
		b = b[size:]
	}
}

// empty reports whether the text was all white space.
func (c *textCheck) empty() bool { return !c.nonSpace && len(c.carry) == 0 }

// lineReader reads lines, checking each octet with check.
type lineReader struct {
	br    *bufio.Reader
	check *textCheck
	err   error // the read error that ended the input, io.EOF at its end
}

// line returns the next line, its LF included; when it has more than max
// octets, long is true and line is what was read of it, the rest of the
// line left to read. line is nil at the end of the input.
func (l *lineReader) line(max int) (line []byte, long bool) {
	for l.err == nil {
		chunk, err := l.br.ReadSlice('\n')
		line = append(line, chunk...)
		l.check.observe(chunk)
		switch {
		case err == nil:
			return line, len(line) > max
		case errors.Is(err, bufio.ErrBufferFull):
			if len(line) > max {
				return line, true
			}
		default:
			l.err = err
		}
	}
	return line, len(line) > max
}

// parseStream is Parse's reading and checking of a message from r,
// holding only the header block in memory. The rest of the text, from
// the blank line that ends the header block (or all of it, when it has
// none), is written to the writer that body returns, unless a refusal
// is certain; a write error is kept and returned at the end.
func parseStream(r io.Reader, opts *Options, body func(headerless bool) io.Writer) (*Message, error) {
	m := &Message{fullName: opts.FullName, bodyAt: -1}
	check := &textCheck{nul: -1}
	br := bufio.NewReaderSize(r, 64<<10)
	lineNo := 1
	// A leading Unix "From " line is an mbox separator, not a header.
	if p, _ := br.Peek(5); string(p) == "From " {
		for {
			_, err := br.ReadSlice('\n')
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		lineNo++
	}
	lr := &lineReader{br: br, check: check}

	var head []byte
	var first []byte // the first line of the body
	headerless := false
	var headErr error
	seen := 0
header:
	for {
		line, long := lr.line(MaxHeaderSize + 1 - len(head))
		if len(line) == 0 {
			break
		}
		content := bytes.TrimRight(line, "\r\n")
		switch {
		case long && seen > 0, long && fieldName(content) != "":
			headErr = &MessageError{Msg: fmt.Sprintf("bad message: the header block is larger than %d MB", MaxHeaderSize>>20),
				Advice: "end the header block with a blank line: the text after it is the body, which may be large"}
			break header
		case len(content) == 0:
			first = line
			m.bodyAt = check.n - int64(len(line))
			break header
		case content[0] == ' ' || content[0] == '\t':
			if seen == 0 {
				first, headerless = line, true
				m.bodyAt = 0
				break header
			}
			head = append(head, line...)
		case fieldName(content) != "":
			seen++
			head = append(head, line...)
		default:
			if seen == 0 {
				first, headerless = line, true
				m.bodyAt = 0
				break header
			}
			// splitHeader reports the line.
			head = append(head, line...)
			headErr = m.splitHeader(head, lineNo)
			break header
		}
	}

	// The body, or the rest of the text when the message is refused: it
	// is read to its end so that a larger message, an empty one and a
	// NUL are refused first, as when the whole text was read first.
	sink := &stickyWriter{}
	if headErr == nil && (first != nil || headerless) {
		sink.w = body(headerless)
	}
	if first != nil {
		_, _ = sink.Write(first)
	}
	buf := make([]byte, 32<<10)
	for lr.err == nil {
		n, err := br.Read(buf)
		if n > 0 {
			check.observe(buf[:n])
			if check.nul >= 0 {
				sink.w = nil
			}
			_, _ = sink.Write(buf[:n])
		}
		if err != nil {
			lr.err = err
		}
	}
	if !errors.Is(lr.err, io.EOF) {
		return nil, &readError{fmt.Errorf("read message: %w", lr.err)}
	}
	if check.empty() {
		return nil, &MessageError{Msg: "empty message: nothing was read on standard input", Advice: "pipe the message (headers, a blank line, the body) into sendmail"}
	}
	if check.nul >= 0 {
		err := fmt.Errorf("%w (at octet %d)", rfc5322.ErrNUL, check.nul)
		return nil, &MessageError{Msg: "bad message: " + err.Error(), Err: err,
			Advice: "send binary data as a MIME attachment (base64), not as message text"}
	}
	if headErr != nil {
		return nil, headErr
	}
	if sink.err != nil {
		return nil, spoolError(sink.err)
	}
	if headerless {
		m.headerless = true
	} else if err := m.splitHeader(head, lineNo); err != nil {
		return nil, err
	}
	if err := m.envelope(opts); err != nil {
		return nil, err
	}
	return m, nil
}

// stickyWriter writes to w, when set, until a write fails; it keeps the
// first error.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.w == nil || s.err != nil {
		return len(p), nil
	}
	if _, err := s.w.Write(p); err != nil {
		s.err = err
	}
	return len(p), nil
}
