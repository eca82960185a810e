package queue

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/failure"
)

// parseDSN checks that b is a multipart/report of report-type
// delivery-status and returns its parts' types, the per-recipient field
// groups and the attached header.
func parseDSN(t *testing.T, b []byte) (h mail.Header, types []string, recipients []textproto.MIMEHeader, headers string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		types = append(types, ct)
		body, _ := io.ReadAll(p)
		switch ct {
		case "message/delivery-status":
			tr := textproto.NewReader(bufio.NewReader(bytes.NewReader(body)))
			perMessage, err := tr.ReadMIMEHeader()
			if err != nil || perMessage.Get("Reporting-MTA") == "" {
				t.Fatalf("per-message fields %v: %v", perMessage, err)
			}
			for {
				g, err := tr.ReadMIMEHeader()
				if len(g) > 0 {
					recipients = append(recipients, g)
				}
				if err != nil {
					break
				}
			}
		case "text/rfc822-headers":
			headers = string(body)
		}
	}
	return msg.Header, types, recipients, headers
}

func TestDSNIsAMultipartReport(t *testing.T) {
	queued := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	m := NewMessage("20261124-090000-abc", Envelope{From: "app@contoso.com", To: []string{"ok@example.com", "gone@example.com", "late@example.com"}, Profile: "p"}, 100, queued)
	m.Attempts = 7
	m.Recipients[0].Status = Delivered
	m.Recipients[1].Status = Failed
	m.Recipients[1].Error = &Failure{Category: failure.BadAddress, Code: 550, Enhanced: "5.1.10", Text: "RESOLVER.ADR.RecipientNotFound; Recipient not found", Advice: "check the address"}
	m.Recipients[2].Status = Failed
	m.Recipients[2].Error = &Failure{Category: failure.Temporary, Code: 451, Enhanced: "4.7.0", Text: "Temporary server error"}
	original := "Subject: =?utf-8?q?R=C3=A9sum=C3=A9?=\r\nMessage-ID: <orig@contoso.com>\r\nFrom: app@contoso.com\r\nX-Evil: a\x1bb\r\n\r\nsecret body\r\n"
	b, err := DSN(m, strings.NewReader(original), DSNInfo{Mailbox: "relay@contoso.com", ReportingMTA: "relay1.contoso.com", Now: queued.Add(5 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	h, types, rcpts, headers := parseDSN(t, b)
	if got := strings.Join(types, ","); got != "text/plain,message/delivery-status,text/rfc822-headers" {
		t.Errorf("parts = %s", got)
	}
	if h.Get("To") != "<app@contoso.com>" || h.Get("Auto-Submitted") != "auto-replied" || h.Get("In-Reply-To") != "<orig@contoso.com>" {
		t.Errorf("header = %v", h)
	}
	if subj, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); subj != "Undeliverable: Résumé" {
		t.Errorf("Subject = %q", subj)
	}
	if from, err := mail.ParseAddress(h.Get("From")); err != nil || from.Address != "relay@contoso.com" {
		t.Errorf("From = %q, %v", h.Get("From"), err)
	}
	if len(rcpts) != 2 {
		t.Fatalf("recipient groups = %v", rcpts)
	}
	for i, want := range []struct{ rcpt, status, diag string }{
		{"rfc822; gone@example.com", "5.1.10", "smtp; 550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found"},
		{"rfc822; late@example.com", "5.4.7", "smtp; 451 4.7.0 Temporary server error"},
	} {
		g := rcpts[i]
		if g.Get("Final-Recipient") != want.rcpt || g.Get("Action") != "failed" || g.Get("Status") != want.status || g.Get("Diagnostic-Code") != want.diag {
			t.Errorf("recipient %d = %v", i, g)
		}
	}
	if !strings.Contains(headers, "Message-ID: <orig@contoso.com>\r\n") || strings.Contains(headers, "secret body") || strings.Contains(headers, "\x1b") {
		t.Errorf("attached header = %q", headers)
	}
	if _, err := DSN(&Message{Envelope: Envelope{From: ""}, Recipients: m.Recipients}, strings.NewReader(original), DSNInfo{}); err == nil {
		t.Error("a notification for the null sender")
	}
}
