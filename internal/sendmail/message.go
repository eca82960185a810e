package sendmail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/m365send/m365send/internal/aliases"
	"github.com/m365send/m365send/internal/rfc5322"
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
	// bodyAt is where the body starts in the text after a leading
	// "From " line, or -1 when the input ended inside the header block.
	bodyAt int64
	// bodyFile, for a Message made by Spool, is the file that holds the
	// body already repaired (and, for a headerless message, the blank
	// line before it); body is then nil.
	bodyFile string

	hasDate, hasMessageID, hasFrom bool
	// msgID is the Message-ID header's value: the message's own, or the
	// one finish added.
	msgID string
}

// MessageID returns the message's Message-ID (angle brackets included):
// its own header's, or after FinishFile or Bytes the one they added.
func (m *Message) MessageID() string { return m.msgID }

// Parse checks raw (as returned by ReadMessage) and works out the
// envelope from it and opts: recipients from the arguments and, with -t,
// from the To, Cc and Bcc headers. An empty message, a header line without
// a colon, a malformed address or no recipient at all return a
// *MessageError.
func Parse(raw []byte, opts *Options) (*Message, error) {
	if opts == nil {
		opts = &Options{}
	}
	// One reading of a message, Spool's; here the body is not copied
	// but kept as the part of raw after the header block.
	m, err := parseStream(bytes.NewReader(raw), opts, func(bool) io.Writer { return io.Discard })
	if err != nil {
		return nil, err
	}
	if m.bodyAt >= 0 {
		rest := raw
		if bytes.HasPrefix(rest, []byte("From ")) {
			if i := bytes.IndexByte(rest, '\n'); i >= 0 {
				rest = rest[i+1:]
			} else {
				rest = nil
			}
		}
		m.body = rest[m.bodyAt:]
	}
	return m, nil
}

// envelope works out the recipients and the sender from the header
// fields and opts, and drops a From without a domain.
func (m *Message) envelope(opts *Options) error {
	rcpts := recipientSet{localNames: opts.LocalNames}
	for _, arg := range opts.Recipients {
		if err := rcpts.addList(arg, "recipient argument"); err != nil {
			return err
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
			m.msgID = strings.TrimSpace(value)
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
					return err
				}
			}
		}
		kept = append(kept, f)
	}
	m.fields = kept
	for _, v := range m.bccValues() {
		if opts.ExtractRecipients {
			if err := rcpts.addList(v, "Bcc header"); err != nil {
				return err
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
		return &MessageError{Msg: msg, Advice: hint, address: true}
	}
	m.Recipients = rcpts.list

	if opts.Sender != "" && !aliases.IsLocal(opts.Sender) {
		// A bare local name (-f root, as cron and scripts give) is no
		// address Microsoft 365 takes: the profile's mailbox sends.
		a, err := parseAddress(opts.Sender)
		if err != nil {
			return &MessageError{Msg: fmt.Sprintf("malformed sender address %q (-f/-r): %v", rfc5322.Truncate(opts.Sender, 80), err), Err: err, address: true}
		}
		m.Sender = a
	}
	return nil
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
				Msg:    fmt.Sprintf("bad message: line %d is in the header block but is not a header (no colon): %q", lineNo, truncate(string(content), 60)),
				Line:   lineNo,
				Advice: "headers are \"Name: value\" lines; a blank line must separate them from the body",
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

func truncate(s string, n int) string { return rfc5322.Truncate(s, n) }

// recipientSet collects bare addresses in order, each once (compared
// without regard to case).
type recipientSet struct {
	list []string
	seen map[string]bool
	// localNames keeps bare local names (Options.LocalNames).
	localNames bool
}

func (s *recipientSet) addList(value, where string) error {
	if strings.TrimSpace(value) == "" {
		return nil
	}
	addrs, err := rfc5322.ParseAddressList(value)
	if err != nil && s.localNames {
		// "root" or "root, ops@contoso.com": the local names are kept
		// for ExpandAliases, the rest must parse.
		var rest []string
		for _, part := range strings.Split(value, ",") {
			if aliases.IsLocal(part) {
				s.add(strings.TrimSpace(part))
			} else if strings.TrimSpace(part) != "" {
				rest = append(rest, part)
			}
		}
		addrs, err = nil, nil
		if len(rest) > 0 {
			addrs, err = rfc5322.ParseAddressList(strings.Join(rest, ","))
		}
	}
	if err != nil {
		e := &MessageError{Msg: fmt.Sprintf("malformed address in %s %q: %v", where, truncate(value, 80), err), Err: err, address: true}
		if !strings.Contains(value, "@") {
			e.Advice = "Microsoft 365 needs full addresses such as user@example.com (for cron, set MAILTO to one)"
		}
		return e
	}
	for _, a := range addrs {
		s.add(a.Address)
	}
	return nil
}

// add appends addr unless it is there already.
func (s *recipientSet) add(addr string) {
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	key := strings.ToLower(addr)
	if s.seen[key] {
		return
	}
	s.seen[key] = true
	s.list = append(s.list, addr)
}

// ExpandAliases replaces each recipient that is a bare local name (kept
// with Options.LocalNames) by the addresses lookup gives for it (aliases
// of aliases already followed), each address once. A local name lookup
// does not know, or one that leads to another local name without an
// alias, is a *MessageError (exit 65) saying to define an alias.
func (m *Message) ExpandAliases(lookup func(name string) (addrs []string, ok bool, err error)) error {
	var out recipientSet
	for _, r := range m.Recipients {
		if !aliases.IsLocal(r) {
			out.add(r)
			continue
		}
		var addrs []string
		ok := false
		if lookup != nil {
			var err error
			if addrs, ok, err = lookup(r); err != nil {
				return &MessageError{Msg: fmt.Sprintf("recipient %s: %v", r, err), Err: err, address: true}
			}
		}
		if !ok {
			return &MessageError{Msg: fmt.Sprintf("recipient %q is a local name, not an address, and no alias maps it", r), address: true,
				Advice: "add it to the configuration's [aliases] table (" + r + ` = "ops@example.com") or to its aliases_file, or give a full address (for cron, set MAILTO)`}
		}
		for _, a := range addrs {
			if aliases.IsLocal(a) {
				return &MessageError{Msg: fmt.Sprintf("recipient %q: its alias leads to the local name %q, which no alias maps", r, a), address: true,
					Advice: "map " + a + " to an address in [aliases] or the aliases_file"}
			}
			parsed, err := parseAddress(a)
			if err != nil {
				return &MessageError{Msg: fmt.Sprintf("recipient %q: its alias gives the malformed address %q: %v", r, truncate(a, 80), err), Err: err, address: true}
			}
			out.add(parsed)
		}
	}
	m.Recipients = out.list
	return nil
}

func parseAddress(s string) (string, error) {
	a, err := rfc5322.ParseAddress(s)
	if err != nil {
		return "", err
	}
	return a.Address, nil
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
// added when missing (an added From is folded), then the body as read.
// The text is written through rfc5322's repairing writer, so it keeps the
// line rules of RFC 5322 and 5321 whatever the caller piped in:
//
//   - every line ends with CRLF (a bare LF becomes CRLF);
//   - a lone CR ends its line in the body, as a terminal shows it (progress
//     output under cron), and becomes a space in a header;
//   - a line longer than 998 octets is folded at its last blank in the
//     header block, and otherwise broken after 998 octets with CRLF and a
//     space, as Postfix does;
//   - a NUL octet was already refused by Parse (no repair is faithful).
func (m *Message) Bytes(opts FinishOptions) ([]byte, error) {
	var out bytes.Buffer
	if m.bodyFile == "" {
		// One copy, made CRLF as it goes.
		lf := []byte{'\n'}
		size := len(m.body) + bytes.Count(m.body, lf) + 300
		for _, f := range m.fields {
			size += len(f) + bytes.Count(f, lf)
		}
		out.Grow(size)
	}
	if err := m.finish(&out, opts); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// finish writes what Bytes returns to w.
func (m *Message) finish(w io.Writer, opts FinishOptions) error {
	var added []string
	if !m.hasFrom {
		addr := m.EnvelopeSender(opts.Mailbox)
		if addr == "" {
			return errors.New("sendmail: the message has no From header and no mailbox is configured")
		}
		name := m.fullName
		if name == "" {
			name = opts.FromName
		}
		from := "From: " + (&mail.Address{Name: name, Address: addr}).String()
		if folded, err := rfc5322.Fold(from); err == nil {
			// A name too long to fold is broken by the writer instead.
			from = folded
		}
		added = append(added, from)
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
			return err
		}
		added = append(added, "Message-ID: "+id)
		m.msgID = id
	}

	lf := []byte{'\n'}
	rw := rfc5322.NewRepairWriter(w)
	for _, f := range m.fields {
		_, _ = rw.Write(f)
	}
	if n := len(m.fields); n > 0 {
		if f := m.fields[n-1]; len(f) > 0 && f[len(f)-1] != '\n' {
			_, _ = rw.Write(lf)
		}
	}
	for _, h := range added {
		_, _ = rw.Write([]byte(h))
		_, _ = rw.Write(lf)
	}
	if m.bodyFile != "" {
		// The header block ends with a whole line and holds no empty
		// line, so the writer stands as a new one does: the body,
		// repaired by such a writer when it was spooled, follows as it is.
		if err := rw.Close(); err != nil {
			return fmt.Errorf("sendmail: %w", err)
		}
		f, err := os.Open(m.bodyFile)
		if err != nil {
			return fmt.Errorf("sendmail: read the spooled body: %w", err)
		}
		defer f.Close()
		if _, err := io.Copy(w, f); err != nil {
			return fmt.Errorf("sendmail: %w", err)
		}
		return nil
	}
	if m.headerless {
		_, _ = rw.Write(lf)
	}
	_, _ = rw.Write(m.body)
	// Only a NUL fails the writer (bytes.Buffer does not), and Parse
	// refused those.
	if err := rw.Close(); err != nil {
		return fmt.Errorf("sendmail: %w", err)
	}
	return nil
}

// messageID makes <random@domain> with the envelope sender's domain.
func (m *Message) messageID(opts FinishOptions) (string, error) {
	domain := rfc5322.Domain(m.EnvelopeSender(opts.Mailbox))
	if domain == "" {
		domain = "localhost"
	}
	id, err := rfc5322.NewMessageID(opts.Rand, domain)
	if err != nil {
		return "", fmt.Errorf("sendmail: %w", err)
	}
	return id, nil
}
