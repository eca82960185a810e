package message

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/mail"
	"path/filepath"
	"strings"

	"github.com/m365send/m365send/internal/mimesplice"

	gomail "github.com/wneessen/go-mail"

	"github.com/m365send/m365send/internal/rfc5322"
)

// Prepared is a validated message ready to go on the wire any number of
// times (a retry sends the same Message-ID).
type Prepared struct {
	From      string   // envelope sender
	Rcpts     []string // envelope recipients: To, Cc, Bcc
	MessageID string
	// SMTPUTF8: an envelope address is not ASCII, so the server must
	// offer SMTPUTF8 (RFC 6531) to take it.
	SMTPUTF8 bool
	write    func(w io.Writer) error // the message text, CRLF line endings
}

// WriteTo writes the message text (CRLF line endings, no dot-stuffing);
// attachments and a RawFile are streamed from their files each time.
func (p *Prepared) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	err := p.write(cw)
	return cw.n, err
}

// Prepare validates m (as Validate does, parsing each address and header
// once) and builds the envelope and the writer. mailbox, when not nil, is
// the default From.
func Prepare(m *Message, mailbox *mail.Address) (*Prepared, error) {
	env, err := m.check()
	if err != nil {
		return nil, err
	}
	p := &Prepared{}
	fromAddr := env.from
	if fromAddr == nil {
		fromAddr = mailbox
	}
	if fromAddr != nil {
		p.From = fromAddr.Address
	}
	for _, l := range [...][]*mail.Address{env.to, env.cc, env.bcc} {
		for _, a := range l {
			p.Rcpts = append(p.Rcpts, a.Address)
		}
	}
	p.SMTPUTF8 = !rfc5322.IsASCII(p.From)
	for _, r := range p.Rcpts {
		p.SMTPUTF8 = p.SMTPUTF8 || !rfc5322.IsASCII(r)
	}

	if m.RawFile != "" {
		return prepareRawFile(p, m.RawFile)
	}
	if m.Raw != nil {
		p.MessageID = rawMessageID(m.Raw)
		raw := m.Raw
		p.write = func(w io.Writer) error { return writeRaw(w, raw) }
		return p, nil
	}

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if fromAddr != nil {
		a := *fromAddr
		if m.FromName != "" {
			a.Name = m.FromName
		}
		msg.FromMailAddress(&a)
	}
	if len(env.to) > 0 {
		msg.ToMailAddress(env.to...)
	}
	if len(env.cc) > 0 {
		msg.CcMailAddress(env.cc...)
	}
	if env.replyTo != nil {
		msg.ReplyToMailAddress(env.replyTo)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	p.MessageID = newMessageID(p.From)
	msg.SetMessageIDWithValue(strings.Trim(p.MessageID, "<>"))
	msg.SetUserAgent("m365send")
	for _, h := range env.headers {
		msg.SetGenHeader(gomail.Header(h[0]), h[1])
	}

	// Each text part says its charset truthfully: us-ascii when it is
	// ASCII, else UTF-8 (check refused text that is neither).
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text, charset(m.Text))
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML, charset(m.HTML))
	case m.HTML != "":
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML, charset(m.HTML))
	default:
		msg.SetBodyString(gomail.TypeTextPlain, m.Text, charset(m.Text))
	}

	splice := map[string]string{}
	var embeds, attachments []*gomail.File
	for _, path := range m.Inline {
		f, err := streamedFile(path, splice)
		if err != nil {
			return nil, err
		}
		// go-mail sets Content-ID to "<name>" with the characters that
		// could end it or the header ("<>, control characters, ...)
		// replaced by '_', as in the filename parameters.
		embeds = append(embeds, f)
	}
	for _, path := range m.Attachments {
		f, err := streamedFile(path, splice)
		if err != nil {
			return nil, err
		}
		attachments = append(attachments, f)
	}
	if len(embeds) > 0 {
		msg.SetEmbeds(embeds)
	}
	if len(attachments) > 0 {
		msg.SetAttachments(attachments)
	}
	p.write = func(w io.Writer) error {
		sw := mimesplice.NewWriter(w, splice)
		if _, err := msg.WriteTo(sw); err != nil {
			return err
		}
		return sw.Close()
	}
	return p, nil
}

// charset labels a text part: us-ascii for ASCII text, else UTF-8.
func charset(text string) gomail.PartOption {
	if rfc5322.IsASCII(text) {
		return gomail.WithPartCharset(gomail.CharsetASCII)
	}
	return gomail.WithPartCharset(gomail.CharsetUTF8)
}

// newMessageID makes "<random@domain of from>", as Outlook does.
func newMessageID(from string) string {
	domain := rfc5322.Domain(from)
	if domain == "" {
		domain = "m365send.invalid"
	}
	// crypto/rand's Reader does not fail (the runtime stops first).
	id, _ := rfc5322.NewMessageID(nil, domain)
	return id
}

// rawMessageID returns the Message-ID header of a raw message, or "".
func rawMessageID(raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(m.Header.Get("Message-Id"))
}

// writeRaw writes a raw message as it was given, its bare LFs made CRLF
// and ended with CRLF (see Message.Raw).
func writeRaw(w io.Writer, b []byte) error {
	tw := rfc5322.NewWriter(w)
	if _, err := tw.Write(b); err != nil {
		return err
	}
	return tw.Close()
}

// Streaming attachments.
//
// go-mail's msgWriter base64-encodes every attachment into a bytes.Buffer
// before copying it out (msgwriter.go, writeBody), so even AttachFile holds
// a whole attachment — a third larger — in memory. To stream through its
// public API, each attachment's File.Writer writes a random marker instead
// of the content; go-mail encodes the marker into one base64 line, and
// spliceWriter, sitting between go-mail and the connection, replaces that
// line with the file, base64-encoded on the fly in 76-character lines.
// go-mail still composes everything else (headers, MIME structure).

// streamedFile makes a go-mail File for path whose content is spliced in
// later, and records its marker in splice.
func streamedFile(path string, splice map[string]string) (*gomail.File, error) {
	ct, err := mimesplice.SniffType(path)
	if err != nil {
		return nil, badMessage(hintAttachment, "attachment: %w", err)
	}
	var marker [mimesplice.MarkerLen]byte
	_, _ = rand.Read(marker[:])
	splice[base64.StdEncoding.EncodeToString(marker[:])] = path
	return &gomail.File{
		Name:        filepath.Base(path),
		ContentType: gomail.ContentType(ct),
		Header:      make(map[string][]string),
		Writer: func(w io.Writer) (int64, error) {
			n, err := w.Write(marker[:])
			return int64(n), err
		},
	}, nil
}
