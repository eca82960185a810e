package sendmail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
	"time"
)

// Message is a message read on standard input, checked and with its
// envelope worked out; Bytes finishes it for sending.
type Message struct {
	// Recipients are the envelope recipients (bare addresses), each once,
	// in the order first named: arguments, then To, Cc, Bcc with -t.
	Recipients []string
	// Sender is the envelope sender from -f or -r (a bare address), or ""
	// for the profile's mailbox. EnvelopeSender applies the default.
	Sender string

	fullName string
	// fields are the header fields to send, each with its continuation
	// lines, exactly as read; Bcc fields are already gone.
	fields [][]byte
	// bcc are the Bcc and Resent-Bcc fields, removed from what is sent.
	bcc [][]byte
	// body is everything after the header block, starting with the blank
	// separator line, or nil when the input ended inside the header block.
	body []byte
	// headerless: the input had no header block, so a blank line must
	// follow the headers sendmail adds.
	headerless bool

	hasDate, hasMessageID, hasFrom bool
}

// Parse checks raw (as returned by ReadMessage) and works out the
// envelope from it and opts: recipients from the arguments and, with -t,
// from the To, Cc and Bcc headers. An empty message, a header line without
// a colon, a malformed address or no recipient at all return a
// *MessageError.
func Parse(raw []byte, opts *Options) (*Message, error) {
	if opts == nil {
		opts = &Options{}
	}
	m := &Message{fullName: opts.FullName}
	lineNo := 1
	// A leading Unix "From " line is an mbox separator, not a header.
	if bytes.HasPrefix(raw, []byte("From ")) {
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			raw = raw[i+1:]
		} else {
			raw = nil
		}
		lineNo++
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, &MessageError{Msg: "empty message: nothing was read on standard input", Hint: "pipe the message (headers, a blank line, the body) into sendmail"}
	}
	if err := m.splitHeader(raw, lineNo); err != nil {
		return nil, err
	}

	var rcpts recipientSet
	for _, arg := range opts.Recipients {
		if err := rcpts.addList(arg, "recipient argument"); err != nil {
			return nil, err
		}
	}
	kept := m.fields[:0]
	for _, f := range m.fields {
		name, value := splitField(f)
		switch strings.ToLower(name) {
		case "date":
			m.hasDate = true
		case "message-id":
			m.hasMessageID = true
		case "from":
			// cron writes "From: root (Cron Daemon)": a local name that a
			// local MTA would qualify with its own domain. Microsoft 365
			// refuses it (SendAsDenied), so it gives way to the From that
			// sendmail adds.
			if !strings.Contains(value, "@") {
				continue
			}
			m.hasFrom = true
		case "to", "cc":
			if opts.ExtractRecipients {
				if err := rcpts.addList(value, name+" header"); err != nil {
					return nil, err
				}
			}
		}
		kept = append(kept, f)
	}
	m.fields = kept
	for _, v := range m.bccValues() {
		if opts.ExtractRecipients {
			if err := rcpts.addList(v, "Bcc header"); err != nil {
				return nil, err
			}
		}
	}
	if len(rcpts.list) == 0 {
		msg := "no recipients: name them as arguments"
		if opts.ExtractRecipients {
			msg = "no recipients: the To, Cc and Bcc headers name nobody and no recipient was given as an argument"
		}
		hint := opts.NoRecipientsHint
		if hint == "" {
			hint = "give recipient addresses as arguments, or use -t with To/Cc/Bcc headers"
		}
		return nil, &MessageError{Msg: msg, Hint: hint}
	}
	m.Recipients = rcpts.list

	if opts.Sender != "" {
		a, err := parseAddress(opts.Sender)
		if err != nil {
			return nil, &MessageError{Msg: fmt.Sprintf("malformed sender address %q (-f/-r): %v", opts.Sender, err), Err: err}
		}
		m.Sender = a
	}
	return m, nil
}

// splitHeader divides raw into header fields and body.
func (m *Message) splitHeader(raw []byte, lineNo int) error {
	pos := 0
	seen := 0 // header fields so far, Bcc included
	var bcc []byte
	for pos < len(raw) {
		end := bytes.IndexByte(raw[pos:], '\n')
		if end < 0 {
			end = len(raw)
		} else {
			end += pos + 1
		}
		line := raw[pos:end]
		content := bytes.TrimRight(line, "\r\n")
		switch {
		case len(content) == 0:
			m.body = raw[pos:]
			m.keepBcc(bcc)
			return nil
		case content[0] == ' ' || content[0] == '\t':
			if seen == 0 {
				m.setHeaderless(raw)
				return nil
			}
			if bcc != nil {
				bcc = append(bcc, line...)
			} else {
				m.fields[len(m.fields)-1] = append(m.fields[len(m.fields)-1], line...)
			}
		case fieldName(content) != "":
			m.keepBcc(bcc)
			bcc = nil
			seen++
			if n := strings.ToLower(fieldName(content)); n == "bcc" || n == "resent-bcc" {
				bcc = append([]byte{}, line...)
			} else {
				m.fields = append(m.fields, append([]byte{}, line...))
			}
		default:
			if seen == 0 {
				m.setHeaderless(raw)
				return nil
			}
			return &MessageError{
				Msg:  fmt.Sprintf("bad message: line %d is in the header block but is not a header (no colon): %q", lineNo, truncate(string(content), 60)),
				Line: lineNo,
				Hint: "headers are \"Name: value\" lines; a blank line must separate them from the body",
			}
		}
		pos = end
		lineNo++
	}
	m.keepBcc(bcc)
	return nil
}

func (m *Message) setHeaderless(raw []byte) {
	m.fields = nil
	m.bcc = nil
	m.body = raw
	m.headerless = true
}

func (m *Message) keepBcc(f []byte) {
	if f != nil {
		m.bcc = append(m.bcc, f)
	}
}

// fieldName returns the name of a header line "Name: value" (RFC 5322
// ftext, with the obsolete blanks before the colon allowed), or "" when
// line is not a header.
func fieldName(line []byte) string {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return ""
	}
	name := bytes.TrimRight(line[:colon], " \t")
	if len(name) == 0 {
		return ""
	}
	for _, c := range name {
		if c < 33 || c > 126 {
			return ""
		}
	}
	return string(name)
}

// splitField returns a field's name and its unfolded value.
func splitField(f []byte) (name, value string) {
	colon := bytes.IndexByte(f, ':')
	name = string(bytes.TrimRight(f[:colon], " \t"))
	v := string(f[colon+1:])
	v = strings.ReplaceAll(v, "\r\n", "")
	v = strings.ReplaceAll(v, "\n", "")
	return name, strings.TrimSpace(v)
}

// bccValues returns the values of the removed Bcc fields (not Resent-Bcc).
func (m *Message) bccValues() []string {
	var vs []string
	for _, f := range m.bcc {
		name, value := splitField(f)
		if strings.EqualFold(name, "bcc") {
			vs = append(vs, value)
		}
	}
	return vs
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// recipientSet collects bare addresses in order, each once (compared
// without regard to case).
type recipientSet struct {
	list []string
	seen map[string]bool
}

func (s *recipientSet) addList(value, where string) error {
	if strings.TrimSpace(value) == "" {
		return nil
	}
	addrs, err := addressParser().ParseList(value)
	if err != nil {
		e := &MessageError{Msg: fmt.Sprintf("malformed address in %s %q: %v", where, truncate(value, 80), err), Err: err}
		if !strings.Contains(value, "@") {
			e.Hint = "Microsoft 365 needs full addresses such as user@example.com (for cron, set MAILTO to one)"
		}
		return e
	}
	for _, a := range addrs {
		if s.seen == nil {
			s.seen = map[string]bool{}
		}
		key := strings.ToLower(a.Address)
		if s.seen[key] {
			continue
		}
		s.seen[key] = true
		s.list = append(s.list, a.Address)
	}
	return nil
}

func parseAddress(s string) (string, error) {
	a, err := addressParser().Parse(s)
	if err != nil {
		return "", err
	}
	return a.Address, nil
}

// addressParser decodes RFC 2047 display names in any charset well enough
// to get at the address: the name is not used.
func addressParser() *mail.AddressParser {
	return &mail.AddressParser{WordDecoder: &mime.WordDecoder{
		CharsetReader: func(_ string, input io.Reader) (io.Reader, error) { return input, nil },
	}}
}

// EnvelopeSender returns the envelope sender (SMTP MAIL FROM) of m, given
// the profile's mailbox: the -f/-r address when there is one, else
// mailbox. As with sendmail, it never follows the message's From header:
// that is what recipients see, and Microsoft 365 checks it against the
// mailbox's SendAs rights whatever the envelope says.
func (m *Message) EnvelopeSender(mailbox string) string {
	if m.Sender != "" {
		return m.Sender
	}
	return mailbox
}

// FinishOptions supplies what Bytes adds to a message.
type FinishOptions struct {
	// Mailbox is the profile's mailbox: the From address when the message
	// has none and -f gave none, and the Message-ID domain when -f gave no
	// sender. Required when either header must be added.
	Mailbox string
	// FromName is the profile's from_name, the display name of an added
	// From header unless -F gave one.
	FromName string
	// Now returns the time for an added Date header; nil means time.Now.
	Now func() time.Time
	// Rand is the randomness for an added Message-ID; nil means
	// crypto/rand.
	Rand io.Reader
}

// Bytes returns the message to send: the header fields as read, Bcc (and
// a From without a domain) removed, a Date, Message-ID and From header
// added when missing, then the
// body as read; every bare LF is made CRLF and the message ends with CRLF.
func (m *Message) Bytes(opts FinishOptions) ([]byte, error) {
	var added []string
	if !m.hasFrom {
		addr := m.EnvelopeSender(opts.Mailbox)
		if addr == "" {
			return nil, errors.New("sendmail: the message has no From header and no mailbox is configured")
		}
		name := m.fullName
		if name == "" {
			name = opts.FromName
		}
		added = append(added, "From: "+(&mail.Address{Name: name, Address: addr}).String())
	}
	if !m.hasDate {
		now := time.Now
		if opts.Now != nil {
			now = opts.Now
		}
		added = append(added, "Date: "+now().Format(time.RFC1123Z))
	}
	if !m.hasMessageID {
		id, err := m.messageID(opts)
		if err != nil {
			return nil, err
		}
		added = append(added, "Message-ID: "+id)
	}

	// One copy, made CRLF as it goes: the body may be up to the 150 MB
	// ReadMessage accepts.
	lf := []byte{'\n'}
	size := len(m.body) + bytes.Count(m.body, lf) + 6
	for _, f := range m.fields {
		size += len(f) + bytes.Count(f, lf)
	}
	for _, h := range added {
		size += len(h) + 2
	}
	out := make([]byte, 0, size)
	for _, f := range m.fields {
		out = appendCRLF(out, f)
	}
	if n := len(out); n > 0 && out[n-1] != '\n' {
		out = appendCRLF(out, lf)
	}
	for _, h := range added {
		out = appendCRLF(appendCRLF(out, []byte(h)), lf)
	}
	if m.headerless {
		out = appendCRLF(out, lf)
	}
	return endCRLF(appendCRLF(out, m.body)), nil
}

// messageID makes <random@domain> with the envelope sender's domain.
func (m *Message) messageID(opts FinishOptions) (string, error) {
	addr := m.EnvelopeSender(opts.Mailbox)
	domain := "localhost"
	if i := strings.LastIndexByte(addr, '@'); i >= 0 && i < len(addr)-1 {
		domain = addr[i+1:]
	}
	r := opts.Rand
	if r == nil {
		r = rand.Reader
	}
	var buf [16]byte
	if _, err := io.ReadFull(r, buf[:]); err != nil {
		return "", fmt.Errorf("sendmail: make Message-ID: %w", err)
	}
	return "<" + hex.EncodeToString(buf[:]) + "@" + domain + ">", nil
}

// appendCRLF appends src to dst making every bare LF a CRLF: an LF is bare
// unless the byte before it (in src, or for src's first byte the last of
// dst) is a CR. Other bytes, a lone CR included, are kept. Appending a
// message piece by piece gives what converting it whole would.
func appendCRLF(dst, src []byte) []byte {
	for len(src) > 0 {
		i := bytes.IndexByte(src, '\n')
		if i < 0 {
			return append(dst, src...)
		}
		dst = append(dst, src[:i]...)
		if len(dst) == 0 || dst[len(dst)-1] != '\r' {
			dst = append(dst, '\r')
		}
		dst = append(dst, '\n')
		src = src[i+1:]
	}
	return dst
}

// endCRLF ends a non-empty b with CRLF (a final lone CR gets its LF).
func endCRLF(b []byte) []byte {
	switch {
	case len(b) == 0:
	case b[len(b)-1] == '\n':
	case b[len(b)-1] == '\r':
		b = append(b, '\n')
	default:
		b = append(b, '\r', '\n')
	}
	return b
}
