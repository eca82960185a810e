package graph

import (
	"bytes"
	"fmt"
	"net/mail"
	"slices"
	"strings"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/sender"
)

// prepared is a message ready for Graph: the very bytes the SMTP sender
// would send, and the same bytes with one Bcc header naming the envelope
// recipients the headers do not (see docs/graph.md).
type prepared struct {
	raw       []byte   // as sender writes it: CRLF line endings, no dot-stuffing
	mime      []byte   // raw with the Bcc header Graph needs, when needed
	rcpts     []string // envelope recipients: To, Cc, Bcc
	messageID string
}

// prepare validates m and builds what Graph is sent. mailbox is the
// default From, as for sender.Sender.
func prepare(m *sender.Message, mailbox string) (*prepared, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	c := *m
	if c.Raw == nil && c.RawFile == "" && c.From == "" {
		// The SMTP sender writes the mailbox as From; so does Graph's copy.
		c.From = mailbox
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, &Error{Mailbox: mailbox, Op: OpPrepare, Message: "compose the message", Err: err}
	}
	p := &prepared{raw: buf.Bytes()}
	for _, list := range [][]string{m.To, m.Cc, m.Bcc} {
		for _, s := range list {
			p.rcpts = append(p.rcpts, bareAddress(s))
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(p.raw))
	if err != nil {
		return nil, badMessage(mailbox, "the message's header cannot be read", err)
	}
	p.messageID = strings.TrimSpace(msg.Header.Get("Message-Id"))
	var inHeaders []string
	for _, field := range []string{"To", "Cc", "Bcc"} {
		if msg.Header.Get(field) == "" {
			continue
		}
		list, err := msg.Header.AddressList(field)
		if err != nil {
			return nil, badMessage(mailbox, fmt.Sprintf("the %s header cannot be read as addresses (Graph takes the recipients from it)", field), err)
		}
		for _, a := range list {
			inHeaders = append(inHeaders, a.Address)
		}
	}
	for _, a := range inHeaders {
		if !containsFold(p.rcpts, a) {
			return nil, &Error{Mailbox: mailbox, Op: OpPrepare, Err: failure.New(failure.BadMessage,
				fmt.Sprintf("%s is in the message's To, Cc or Bcc header but not among its recipients; Graph would deliver to it", a),
				"Graph delivers to every address in the To, Cc and Bcc headers: send it over SMTP, or make the headers and the recipients agree")}
		}
	}
	var extra []string
	for _, r := range p.rcpts {
		if !containsFold(inHeaders, r) && !containsFold(extra, r) {
			extra = append(extra, r)
		}
	}
	p.mime = p.raw
	if len(extra) > 0 {
		p.mime = withBcc(p.raw, extra, msg.Header.Get("Bcc") != "")
	}
	return p, nil
}

func badMessage(mailbox, text string, err error) error {
	return &Error{Mailbox: mailbox, Op: OpPrepare, Err: failure.Wrap(failure.BadMessage, fmt.Errorf("%s: %w", text, err), "")}
}

// bareAddress returns the address of "Name <a@b>" or "a@b"; Validate has
// checked it parses.
func bareAddress(s string) string {
	if a, err := mail.ParseAddress(s); err == nil {
		return a.Address
	}
	return strings.TrimSpace(s)
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(v string) bool { return strings.EqualFold(v, s) })
}

// withBcc returns raw with a Bcc header naming addrs in front of its
// header. A Bcc header raw already has is merged into the new one, as
// RFC 5322 allows one Bcc field only.
func withBcc(raw []byte, addrs []string, hasBcc bool) []byte {
	if hasBcc {
		var old string
		raw, old = cutHeader(raw, "Bcc")
		if s := strings.TrimSpace(old); s != "" {
			addrs = append([]string{s}, addrs...)
		}
	}
	out := make([]byte, 0, len(raw)+64)
	out = append(out, "Bcc: "...)
	out = append(out, strings.Join(addrs, ",\r\n ")...)
	out = append(out, "\r\n"...)
	return append(out, raw...)
}

// cutHeader removes the first header field named name (with its folded
// lines) from raw's header and returns the rest and the field's value,
// unfolded.
func cutHeader(raw []byte, name string) ([]byte, string) {
	end := headerEnd(raw)
	pos := 0
	for pos < end {
		nl := bytes.Index(raw[pos:end], []byte("\r\n"))
		if nl < 0 {
			break
		}
		line := raw[pos : pos+nl]
		if i := bytes.IndexByte(line, ':'); i > 0 && strings.EqualFold(string(bytes.TrimSpace(line[:i])), name) {
			stop := pos + nl + 2
			for stop < end && (raw[stop] == ' ' || raw[stop] == '\t') {
				n := bytes.Index(raw[stop:end], []byte("\r\n"))
				if n < 0 {
					stop = end
					break
				}
				stop += n + 2
			}
			value := strings.ReplaceAll(string(raw[pos+i+1:stop]), "\r\n", "")
			out := append(append([]byte(nil), raw[:pos]...), raw[stop:]...)
			return out, value
		}
		pos += nl + 2
	}
	return raw, ""
}

// headerEnd returns the offset just past the CRLF that ends the header's
// last line (the blank line follows), or len(raw).
func headerEnd(raw []byte) int {
	if bytes.HasPrefix(raw, []byte("\r\n")) {
		return 0
	}
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		return i + 2
	}
	return len(raw)
}
