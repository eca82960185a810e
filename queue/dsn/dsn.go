// Package dsn builds the delivery status notification (RFC 3464) the
// queue sends back to a message's sender when recipients failed for good.
package dsn

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"
)

// maxDSNHeaders caps how much of the original header the notification
// carries: enough for any real header, not a way to send data back.
const maxDSNHeaders = 64 << 10

// Info is what a delivery status notification needs besides the
// message.
type Info struct {
	// Mailbox is the address the notification comes from (the mailbox
	// that delivers it, as Exchange requires).
	Mailbox string
	// ReportingMTA names the relay in the report (a host name; default
	// "m365send").
	ReportingMTA string
	// Now is the notification's date.
	Now time.Time
}

// Message is the queued message a notification reports on.
type Message struct {
	// ID is its queue ID.
	ID string
	// From is its envelope sender, whom the notification goes to.
	From string
	// Queued is when it was accepted; Attempts how often it was tried.
	Queued   time.Time
	Attempts int
	// Failed are the recipients that failed for good.
	Failed []Recipient
}

// Recipient is a recipient that failed, with its last failure.
type Recipient struct {
	Address string
	// Updated is its last try (zero: unknown).
	Updated time.Time
	// Error is its last failure, or nil.
	Error *Failure
}

// Failure is what a recipient's last try met.
type Failure struct {
	// Text is the failure as one line ("550 5.1.10 ..." for a reply).
	Text string
	// Advice is the hint for it, or "".
	Advice string
	// Code and Enhanced are the server's reply codes (0 and "": not a
	// reply).
	Code     int
	Enhanced string
}

// Build builds a delivery status notification (RFC 3464) telling m's
// envelope sender that its failed recipients were not delivered: a
// multipart/report with a text/plain explanation, a
// message/delivery-status with one field group per failed recipient
// (Final-Recipient, Action, Status, Diagnostic-Code), and the original
// header as text/rfc822-headers. original is the message's data; only
// its header is read. The result has CRLF line endings.
func Build(m *Message, original io.Reader, info Info) ([]byte, error) {
	if m.From == "" {
		return nil, fmt.Errorf("queue: no notification for a message from the null sender")
	}
	failed := m.Failed
	if len(failed) == 0 {
		return nil, fmt.Errorf("queue: no failed recipient to report")
	}
	hdr, subject, msgID, err := originalHeader(original)
	if err != nil {
		return nil, fmt.Errorf("queue: notification: read the original: %w", err)
	}
	mta := info.ReportingMTA
	if mta == "" {
		mta = "m365send"
	}
	now := info.Now
	if now.IsZero() {
		now = time.Now()
	}
	var rb [12]byte
	_, _ = rand.Read(rb[:])
	boundary := "dsn-" + hex.EncodeToString(rb[:])
	domain := "localhost"
	if i := strings.LastIndexByte(info.Mailbox, '@'); i >= 0 {
		domain = info.Mailbox[i+1:]
	}

	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	w("From: %s", mime.QEncoding.Encode("utf-8", "Mail Delivery System")+" <"+info.Mailbox+">")
	w("To: <%s>", m.From)
	w("Subject: %s", mime.QEncoding.Encode("utf-8", "Undeliverable: "+subject))
	w("Date: %s", now.Format(time.RFC1123Z))
	w("Message-ID: <dsn-%s@%s>", hex.EncodeToString(rb[:6]), domain)
	if msgID != "" {
		w("In-Reply-To: %s", msgID)
		w("References: %s", msgID)
	}
	w("Auto-Submitted: auto-replied")
	w("MIME-Version: 1.0")
	w("Content-Type: multipart/report; report-type=delivery-status;")
	w("\tboundary=\"%s\"", boundary)
	w("")
	w("This is a delivery status notification in MIME format.")
	w("")

	w("--%s", boundary)
	w("Content-Type: text/plain; charset=utf-8")
	w("Content-Transfer-Encoding: 8bit")
	w("")
	w("Your message could not be delivered to these recipients:")
	w("")
	for _, r := range failed {
		w("  %s", r.Address)
		if r.Error != nil {
			w("    %s", r.Error.Text)
			if r.Error.Advice != "" {
				w("    (%s)", r.Error.Advice)
			}
		}
	}
	w("")
	w("It was accepted at %s and tried %d time(s); it will not be tried again.", m.Queued.UTC().Format(time.RFC1123Z), m.Attempts)
	w("")

	w("--%s", boundary)
	w("Content-Type: message/delivery-status")
	w("")
	w("Reporting-MTA: dns; %s", mta)
	w("X-M365send-Queue-ID: %s", m.ID)
	w("Arrival-Date: %s", m.Queued.Format(time.RFC1123Z))
	for _, r := range failed {
		w("")
		w("Final-Recipient: rfc822; %s", r.Address)
		w("Action: failed")
		w("Status: %s", status(r.Error))
		if r.Error != nil {
			if r.Error.Code != 0 {
				w("Diagnostic-Code: smtp; %s", r.Error.Text)
			} else {
				w("Diagnostic-Code: x-m365send; %s", r.Error.Text)
			}
		}
		if !r.Updated.IsZero() {
			w("Last-Attempt-Date: %s", r.Updated.Format(time.RFC1123Z))
		}
	}
	w("")

	w("--%s", boundary)
	w("Content-Type: text/rfc822-headers")
	if isASCII(hdr) {
		w("Content-Transfer-Encoding: 7bit")
	} else {
		w("Content-Transfer-Encoding: 8bit")
	}
	w("")
	b.Write(hdr)
	w("")
	w("--%s--", boundary)
	return b.Bytes(), nil
}

// status is the Status field for a failed recipient: the enhanced
// code of a permanent refusal, 5.4.7 (delivery time expired) when the
// last failure was temporary, 5.0.0 otherwise.
func status(f *Failure) string {
	switch {
	case f == nil:
		return "5.0.0"
	case strings.HasPrefix(f.Enhanced, "5."):
		return f.Enhanced
	case strings.HasPrefix(f.Enhanced, "4.") || f.Code/100 == 4 || f.Code == 0:
		return "5.4.7"
	}
	return "5.0.0"
}

// originalHeader reads the header of a message (up to maxDSNHeaders),
// made CRLF and without control characters other than tab, and picks
// its Subject and Message-ID.
func originalHeader(r io.Reader) (hdr []byte, subject, msgID string, err error) {
	br := bufio.NewReader(io.LimitReader(r, maxDSNHeaders))
	var out bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		trimmed := strings.TrimRight(line, "\r\n")
		if trimmed == "" && (err == nil || line != "") {
			break
		}
		if line == "" && err != nil {
			if err == io.EOF {
				break
			}
			return nil, "", "", err
		}
		clean := strings.Map(func(c rune) rune {
			if c < 0x20 && c != '\t' || c == 0x7f {
				return -1
			}
			return c
		}, trimmed)
		out.WriteString(clean + "\r\n")
		name, value, ok := strings.Cut(clean, ":")
		switch {
		case ok && strings.EqualFold(name, "Subject") && subject == "":
			subject = strings.TrimSpace(value)
		case ok && strings.EqualFold(name, "Message-ID") && msgID == "":
			msgID = strings.TrimSpace(value)
		}
		if err != nil {
			break
		}
	}
	if s, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
		subject = s
	}
	if subject == "" {
		subject = "(no subject)"
	}
	if !strings.HasPrefix(msgID, "<") || strings.ContainsAny(msgID, " \t") {
		msgID = ""
	}
	return out.Bytes(), subject, msgID, nil
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
