// Package message is the message model of package sender, which exports
// it as sender.Message: what a message is (its fields), what makes one
// unsendable (Validate, the one place its addresses and headers are
// checked and parsed), and how it becomes the text that goes on the wire
// (Prepare, WriteTo): go-mail composes it, attachments are streamed from
// their files (internal/mimesplice), a raw message goes byte for byte.
// The graph package sends the same messages.
package message

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/rfc5322"
)

// ErrInvalidMessage is wrapped by every error of Message.Validate: the
// message itself is unsendable or unsafe (exit 65 in the CLI). Package
// sender exports it as sender.ErrInvalidMessage.
var ErrInvalidMessage = errors.New("invalid message")

// Message is one message to send: composed from parts, or Raw.
type Message struct {
	// From is the header and envelope sender; "" means the mailbox.
	From string
	// FromName is the display name shown with From (UTF-8, no CR or LF;
	// an ASCII name is folded at its spaces, so no word of it may be
	// longer than a header line allows).
	FromName string
	// To are the primary recipients ("a@b" or "Name <a@b>"), in the To
	// header and the envelope.
	To []string
	// Cc are copy recipients, in the Cc header and the envelope.
	Cc []string
	// Bcc are blind copy recipients: envelope only, never in the headers.
	Bcc []string
	// ReplyTo, when set, is the Reply-To address.
	ReplyTo string
	// Subject is the subject line (UTF-8, no CR or LF; non-ASCII is
	// encoded, ASCII is folded at its spaces, as for FromName).
	Subject string
	// Text is the text/plain body. It must be valid UTF-8; the part is
	// labelled charset=us-ascii when the text is ASCII, else UTF-8. (Text
	// in another charset is refused rather than mislabelled: convert it,
	// or send it as an attachment.)
	Text string
	// HTML is the text/html body, labelled as Text is; with Text too, the
	// message is multipart/alternative.
	HTML string
	// Attachments are file paths, streamed when sent; the MIME type comes
	// from the content.
	Attachments []string
	// Inline are image file paths referenced from HTML as cid:<base name>.
	// Base names with control characters are refused; in the Content-ID and
	// the name/filename parameters, go-mail replaces each of "/:<>?\| with
	// '_' (so "a:b.png" is cid:a_b.png).
	Inline []string
	// Headers are extra "Name: value" header lines.
	Headers []string

	// Raw, when set, is a complete RFC 5322 message sent byte for byte
	// (bare LFs made CRLF on the wire, a final CRLF added); envelope
	// recipients are To, Cc and Bcc above, and the envelope sender is From
	// (or the mailbox). Unlike sendmail mode, nothing else is repaired:
	// the caller who gives a whole message gets exactly it.
	Raw []byte
	// SentBefore tells sender.Sender.Send that the caller already sent
	// this message once without learning whether it arrived (an earlier
	// sender.Result had MaybeDelivered set): Send then makes one try
	// only, so that even if this reply is lost too the message never
	// goes out in full more than twice in all (see
	// sender.Result.MaybeDuplicate). A queue that retries messages sets
	// it for such a message.
	SentBefore bool

	// RawFile, when set, is the path of a file holding a complete RFC
	// 5322 message, sent as Raw is but streamed from the file each time
	// it is needed (to measure it for SIZE=, and once per try), so that a
	// large message is never held in memory; package sender/input reads
	// standard input into such a file. The file must stay unchanged until
	// Send returns. It excludes Raw and the composed fields, as Raw does.
	RawFile string
}

// reservedHeader reports whether the header named lower (in lower case) is
// set from a Message field or by the MIME structure, so that Headers may
// not override it; field is the Message field that sets it, or "" for the
// MIME structure.
func reservedHeader(lower string) (field string, reserved bool) {
	switch lower {
	case "from":
		return "From", true
	case "to":
		return "To", true
	case "cc":
		return "Cc", true
	case "bcc":
		return "Bcc", true
	case "reply-to":
		return "ReplyTo", true
	case "subject":
		return "Subject", true
	case "mime-version", "content-type", "content-transfer-encoding":
		return "", true
	}
	return "", false
}

// Validate reports problems that would make the message unsendable or
// unsafe (no recipient, malformed address, CR/LF in a header value, a
// control character in an attachment's file name). Every error wraps
// ErrInvalidMessage. It checks that attachment files exist but does not
// read them.
func (m *Message) Validate() error {
	_, err := m.check()
	return err
}

// envelope is what check parsed: the addresses and extra headers of a
// valid Message, so that Prepare need not parse them again.
type envelope struct {
	from    *mail.Address // nil when From is ""
	replyTo *mail.Address // nil when ReplyTo is ""
	to      []*mail.Address
	cc      []*mail.Address
	bcc     []*mail.Address
	headers [][2]string // Headers as name, value
}

// check is Validate, returning what it parsed. It is the one place a
// Message's addresses and headers are checked and parsed.
func (m *Message) check() (*envelope, error) {
	if m == nil {
		return nil, badMessage("", "nil message")
	}
	env := &envelope{}
	if m.From != "" {
		a, err := parseAddr("From", m.From)
		if err != nil {
			return nil, err
		}
		env.from = a
	}
	if m.ReplyTo != "" {
		a, err := parseAddr("Reply-To", m.ReplyTo)
		if err != nil {
			return nil, err
		}
		env.replyTo = a
	}
	for _, f := range [...]struct{ name, header, v string }{{"FromName", "From", m.FromName}, {"Subject", "Subject", m.Subject}} {
		if strings.ContainsAny(f.v, "\r\n") {
			return nil, badMessage(hintOneLine, "%s contains CR or LF (header injection)", f.name)
		}
		if err := checkHeaderValue(f.name, f.header, f.v); err != nil {
			return nil, err
		}
	}
	n := 0
	for _, l := range [...]struct {
		name  string
		addrs []string
		out   *[]*mail.Address
	}{{"To", m.To, &env.to}, {"Cc", m.Cc, &env.cc}, {"Bcc", m.Bcc, &env.bcc}} {
		for _, s := range l.addrs {
			a, err := parseAddr(l.name, s)
			if err != nil {
				return nil, err
			}
			*l.out = append(*l.out, a)
			n++
		}
	}
	if n == 0 {
		return nil, badAddress("name at least one recipient in To, Cc or Bcc", "no recipient (To, Cc or Bcc)")
	}
	for _, h := range m.Headers {
		name, value, err := splitHeader(h)
		if err != nil {
			return nil, err
		}
		if err := checkHeaderValue("header "+name, name, value); err != nil {
			return nil, err
		}
		env.headers = append(env.headers, [2]string{name, value})
	}
	if m.RawFile != "" {
		if m.Raw != nil || m.Text != "" || m.HTML != "" || len(m.Attachments) > 0 || len(m.Inline) > 0 || len(m.Headers) > 0 || m.Subject != "" {
			return nil, badMessage("put those headers and the body into the raw message", "RawFile excludes Raw, Subject, Text, HTML, Attachments, Inline and Headers")
		}
		fi, err := os.Stat(m.RawFile)
		if err != nil {
			return nil, badMessage("give the path of a readable file holding the whole message", "raw message file: %w", err)
		}
		if !fi.Mode().IsRegular() || fi.Size() == 0 {
			return nil, badMessage("give the path of a regular, non-empty file holding the whole message", "raw message file %s is not a regular, non-empty file", m.RawFile)
		}
		return env, nil
	}
	if m.Raw != nil {
		if m.Text != "" || m.HTML != "" || len(m.Attachments) > 0 || len(m.Inline) > 0 || len(m.Headers) > 0 || m.Subject != "" {
			return nil, badMessage("put those headers and the body into the raw message", "Raw excludes Subject, Text, HTML, Attachments, Inline and Headers")
		}
		if len(bytes.TrimSpace(m.Raw)) == 0 {
			return nil, badMessage("give the whole message: headers, a blank line, the body", "Raw is empty")
		}
		return env, nil
	}
	for _, b := range [...]struct{ name, v string }{{"Text", m.Text}, {"HTML", m.HTML}} {
		if !utf8.ValidString(b.v) {
			return nil, badMessage("convert the text to UTF-8 (e.g. with iconv), or send it as an attachment", "%s is not valid UTF-8", b.name)
		}
	}
	for _, p := range append(append([]string(nil), m.Attachments...), m.Inline...) {
		if err := checkFileName(p); err != nil {
			return nil, err
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, badMessage(hintAttachment, "attachment: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return nil, badMessage(hintAttachment, "attachment %s is not a regular file", p)
		}
	}
	return env, nil
}

// Hints of Validate's errors.
const (
	hintOneLine    = "a header value is one line: remove the line break"
	hintAddress    = "write an address as user@example.com or Name <user@example.com>, on one line"
	hintHeader     = "write each extra header as \"Name: value\", the name in printable ASCII without spaces or colons"
	hintAttachment = "check the attachment's path: it must name a readable regular file"
)

// badMessage and badAddress make the errors of Validate: each wraps
// ErrInvalidMessage and carries its kind (failure.BadMessage or
// failure.BadAddress) and hint.
func badMessage(hint, format string, args ...any) error {
	return invalid(failure.BadMessage, hint, format, args...)
}

func badAddress(hint, format string, args ...any) error {
	return invalid(failure.BadAddress, hint, format, args...)
}

func invalid(kind failure.Kind, hint, format string, args ...any) error {
	return failure.Wrap(kind, fmt.Errorf("%w: "+format, append([]any{ErrInvalidMessage}, args...)...), hint)
}

// checkHeaderValue refuses a header value that cannot go out as the
// line rules ask (RFC 5322 section 2.1.1 and 2.2): text that is not UTF-8
// (it is labelled UTF-8 when encoded), or an ASCII word too long for a
// line of 998 octets. go-mail folds an ASCII value only at its spaces and
// encodes a non-ASCII one into short encoded words, so an ASCII run
// without a space is the one thing that cannot be folded. what names the
// value in the error, header the field it goes into.
func checkHeaderValue(what, header, v string) error {
	if !utf8.ValidString(v) {
		return badMessage("write it in UTF-8", "%s is not valid UTF-8", what)
	}
	if !rfc5322.IsASCII(v) {
		return nil
	}
	// "Name: " before the first word, and quotes around a display name.
	limit := rfc5322.MaxLine - len(header) - 4
	for w := range strings.SplitSeq(v, " ") {
		if len(w) > limit {
			return badMessage("a header line holds at most 998 octets: put spaces into the value or shorten it",
				"%s has a %d-octet word, too long for a header line (folding needs a space)", what, len(w))
		}
	}
	return nil
}

// checkFileName refuses a file whose base name holds a control character:
// the name goes into the part's Content-Type, Content-Disposition and
// Content-ID header fields.
func checkFileName(path string) error {
	base := filepath.Base(path)
	for _, c := range []byte(base) {
		if c < 0x20 || c == 0x7f {
			return badMessage("rename the file: its name goes into the part's header fields", "attachment file name %q contains a control character (header injection)", base)
		}
	}
	return nil
}

// parseAddr parses one address ("a@b" or "Name <a@b>") with the one
// address parser, internal/rfc5322, which also keeps to SMTP's limits.
func parseAddr(field, s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, badAddress(hintAddress, "%s address contains CR or LF (header injection)", field)
	}
	a, err := rfc5322.ParseAddress(s)
	if err != nil {
		return nil, badAddress(hintAddress, "%s address %q: %w", field, rfc5322.Truncate(s, 80), err)
	}
	return a, nil
}

// splitHeader checks one "Name: value" line.
func splitHeader(h string) (name, value string, err error) {
	if strings.ContainsAny(h, "\r\n") {
		return "", "", badMessage(hintOneLine, "header %q contains CR or LF (header injection)", firstLine(h))
	}
	name, value, ok := strings.Cut(h, ":")
	if !ok || name == "" {
		return "", "", badMessage(hintHeader, "header %q is not \"Name: value\"", h)
	}
	for _, c := range []byte(name) {
		if c < 33 || c > 126 {
			return "", "", badMessage(hintHeader, "header name %q has a character not allowed in a field name", name)
		}
	}
	if field, ok := reservedHeader(strings.ToLower(name)); ok {
		if field != "" {
			return "", "", badMessage("set it through the message's "+field+" field", "header %s: use the message's %s field", name, field)
		}
		return "", "", badMessage("leave it out: the sender writes it from the message's parts", "header %s is set by the MIME structure", name)
	}
	return name, strings.TrimSpace(value), nil
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// WriteTo writes the message exactly as it would be sent (for --dry-run):
// CRLF line endings, without SMTP dot-stuffing. Attachments are streamed.
// Each call composes anew, so Date, Message-ID and MIME boundaries differ
// from those of a later Send. WriteTo does not know the Sender's mailbox:
// with From "" the From header is left out, so set From for a faithful
// dry run.
func (m *Message) WriteTo(w io.Writer) (int64, error) {
	p, err := Prepare(m, nil)
	if err != nil {
		return 0, err
	}
	cw := &countWriter{w: w}
	bw := bufio.NewWriter(cw)
	if _, err := p.WriteTo(bw); err != nil {
		return cw.n, err
	}
	err = bw.Flush()
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
