package sender

import (
	"bytes"
	"errors"
	"mime"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/mimetest"
	"github.com/m365send/m365send/sender/smtptest"
)

func TestSendComposedMessageArrivesIntact(t *testing.T) {
	v := newVerifier("tok-1")
	srv := startSMTP(t, smtptest.Options{Verify: v.Verify})
	s, _ := newTestSender(t, srv, &tokens{current: "tok-1"}, nil)

	dir := t.TempDir()
	pdf := filepath.Join(dir, "report.pdf")
	pdfBytes := append([]byte("%PDF-1.4\n"), randomBytes(t, 100_000)...)
	writeFile(t, pdf, pdfBytes)
	png := filepath.Join(dir, "logo.png")
	pngBytes := append([]byte("\x89PNG\r\n\x1a\n"), randomBytes(t, 3000)...)
	writeFile(t, png, pngBytes)

	msg := &Message{
		FromName:    "Contoso Alerts",
		To:          []string{"Ann <ann@example.com>"},
		Cc:          []string{"bob@example.com"},
		Bcc:         []string{"hidden@example.com"},
		ReplyTo:     "ops@contoso.com",
		Subject:     "Disk full on db1 – ünïcode",
		Text:        "Plain body.\n.leading dot line\nend",
		HTML:        `<p>HTML body <img src="cid:logo.png"></p>`,
		Attachments: []string{pdf},
		Inline:      []string{png},
		Headers:     []string{"X-Ticket: 4711"},
	}
	res, err := s.Send(testCtx(t), msg)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(res) != 1 || res[0].Err != nil || res[0].MessageID == "" {
		t.Fatalf("results = %+v", res)
	}
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("server got %d messages, want 1", len(got))
	}
	m := got[0]
	if m.User != testMailbox || m.From != testMailbox {
		t.Errorf("user/from = %q/%q, want %q", m.User, m.From, testMailbox)
	}
	wantRcpts := []string{"ann@example.com", "bob@example.com", "hidden@example.com"}
	if !slices.Equal(m.To, wantRcpts) {
		t.Errorf("RCPT TO = %v, want %v", m.To, wantRcpts)
	}
	if !slices.Equal(res[0].Recipients, wantRcpts) {
		t.Errorf("Result.Recipients = %v", res[0].Recipients)
	}
	if bytes.Contains(m.Data, []byte("hidden@example.com")) {
		t.Error("Bcc address appears in the message text")
	}
	if bytes.Contains(bytes.ReplaceAll(m.Data, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("message has a bare LF")
	}

	p := mimetest.Parse(t, m.Data)
	checks := map[string]string{
		"From":       `"Contoso Alerts" <alerts@contoso.com>`,
		"To":         `"Ann" <ann@example.com>`,
		"Cc":         `<bob@example.com>`,
		"Reply-To":   `<ops@contoso.com>`,
		"X-Ticket":   "4711",
		"Message-Id": res[0].MessageID,
	}
	for k, want := range checks {
		if got := p.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if subj, err := new(mime.WordDecoder).DecodeHeader(p.Header.Get("Subject")); err != nil || subj != msg.Subject {
		t.Errorf("Subject = %q (%v), want %q", subj, err, msg.Subject)
	}
	if !strings.HasSuffix(res[0].MessageID, "@contoso.com>") {
		t.Errorf("Message-ID %q is not in the sender's domain", res[0].MessageID)
	}

	var text, html, att, inl *mimetest.Part
	for i := range p.Parts {
		pt := &p.Parts[i]
		switch {
		case pt.Type == "text/plain":
			text = pt
		case pt.Type == "text/html":
			html = pt
		case pt.Type == "application/pdf":
			att = pt
		case pt.Type == "image/png":
			inl = pt
		}
	}
	if text == nil || html == nil || att == nil || inl == nil {
		t.Fatalf("parts = %v", mimetest.Types(p.Parts))
	}
	if got := strings.ReplaceAll(string(text.Body), "\r\n", "\n"); got != msg.Text {
		t.Errorf("text body = %q, want %q", got, msg.Text)
	}
	if string(html.Body) != msg.HTML {
		t.Errorf("html body = %q", html.Body)
	}
	if !bytes.Equal(att.Body, pdfBytes) {
		t.Errorf("attachment differs: %d bytes, want %d", len(att.Body), len(pdfBytes))
	}
	if !strings.HasPrefix(att.Header["Content-Disposition"][0], "attachment") {
		t.Errorf("attachment disposition %q", att.Header["Content-Disposition"])
	}
	if !bytes.Equal(inl.Body, pngBytes) {
		t.Errorf("inline image differs")
	}
	if cid := inl.Header["Content-Id"]; len(cid) == 0 || cid[0] != "<logo.png>" {
		t.Errorf("inline Content-ID = %v", cid)
	}
}

func TestSendManyOverOneConnection(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, nil)
	var msgs []*Message
	for i := range 5 {
		msgs = append(msgs, &Message{To: []string{"x@example.com"}, Subject: "n" + string(rune('0'+i)), Text: "hi"})
	}
	if _, err := s.Send(testCtx(t), msgs...); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 5 {
		t.Fatalf("got %d messages", len(got))
	}
	for _, m := range got {
		if m.Conn != 1 {
			t.Errorf("message %d came over connection %d, want 1", m.Seq, m.Conn)
		}
	}
	if n := srv.Count(smtptest.StageGreeting); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

func TestSendRawIsByteExact(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, nil)
	raw := "From: Alerts <alerts@contoso.com>\nTo: ann@example.com\nSubject: raw\nMessage-ID: <abc@contoso.com>\n\n" +
		".starts with a dot\n..two dots\n.\nCRLF already\r\nbare CR\rstays\nno final newline"
	res, err := s.Send(testCtx(t), &Message{Raw: []byte(raw), To: []string{"ann@example.com"}, Bcc: []string{"b@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].MessageID != "<abc@contoso.com>" {
		t.Errorf("MessageID = %q", res[0].MessageID)
	}
	m := srv.Messages()[0]
	want := "From: Alerts <alerts@contoso.com>\r\nTo: ann@example.com\r\nSubject: raw\r\nMessage-ID: <abc@contoso.com>\r\n\r\n" +
		".starts with a dot\r\n..two dots\r\n.\r\nCRLF already\r\nbare CR\rstays\r\nno final newline\r\n"
	if string(m.Data) != want {
		t.Errorf("server got\n%q\nwant\n%q", m.Data, want)
	}
	if !slices.Equal(m.To, []string{"ann@example.com", "b@example.com"}) || m.From != testMailbox {
		t.Errorf("envelope %s → %v", m.From, m.To)
	}
}

func TestSendDoesNotSendInvalidMessage(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, nil)
	res, err := s.Send(testCtx(t),
		&Message{To: []string{"a@example.com"}, Subject: "x\r\nBcc: evil@example.com"},
		&Message{To: []string{"a@example.com"}, Subject: "ok"})
	if !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("Send error = %v", err)
	}
	if res[0].Err == nil || res[1].Err != nil {
		t.Errorf("results = %+v", res)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("server got %d messages, want 1", n)
	}
}

func TestSendEachReportsEveryMessageBeforeTheNextGoesOut(t *testing.T) {
	// The third message is refused: each hears of every message in
	// order, with its Result, while smtptest has seen no MAIL FROM of a
	// later one; all go over one connection.
	srv := startSMTP(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageEndOfData, N: 3, Reply: "550 5.7.1 refused (fake)"}}})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, nil)
	var msgs []*Message
	for i := range 4 {
		msgs = append(msgs, &Message{To: []string{"x@example.com"}, Subject: "n" + string(rune('0'+i)), Text: "hi"})
	}
	var seen []int
	results, err := s.SendEach(testCtx(t), func(i int, r Result) {
		seen = append(seen, i)
		if mails := srv.Count(smtptest.StageMail); mails != i+1 {
			t.Errorf("message %d reported after %d MAIL FROMs, want %d", i, mails, i+1)
		}
		if (r.Err != nil) != (i == 2) {
			t.Errorf("message %d reported with error %v", i, r.Err)
		}
	}, msgs...)
	if err == nil || results[2].Err == nil {
		t.Fatalf("SendEach: %v, want the third message's refusal", err)
	}
	if want := []int{0, 1, 2, 3}; !slices.Equal(seen, want) {
		t.Errorf("each called for %v, want %v", seen, want)
	}
	if n := srv.Count(smtptest.StageGreeting); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}
