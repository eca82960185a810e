package sender

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/smtpconn"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/testnet"

	"github.com/m365send/m365send/sender/smtptest"
)

// TestRepliesFromMicrosoft drives every reply row of docs/microsoft.md's
// "Replies and what they mean" through the fake server and checks what the
// caller gets.
func TestRepliesFromMicrosoft(t *testing.T) {
	type row struct {
		name      string
		opts      smtptest.Options
		msg       *Message
		stage     Stage
		code      int
		enh       string
		temporary bool
		hint      string // a phrase the hint must contain
		kind      failure.Kind
	}
	fault := func(st smtptest.Stage, reply string) smtptest.Options {
		return smtptest.Options{Faults: []smtptest.Fault{{Stage: st, Reply: reply}}}
	}
	refuse := func(string, string) error { return errors.New("refused") }
	rows := []row{
		{name: "535 5.7.3 token refused", opts: smtptest.Options{Verify: refuse},
			stage: StageAuth, code: 535, enh: "5.7.3", hint: "New-ServicePrincipal", kind: failure.Permission},
		{name: "535 5.7.139 SMTP AUTH disabled", opts: smtptest.Options{AuthReply: "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information."},
			stage: StageAuth, code: 535, enh: "5.7.139", hint: "Set-CASMailbox", kind: failure.Permission},
		{name: "535 5.7.139 security defaults", opts: smtptest.Options{AuthReply: "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator."},
			stage: StageAuth, code: 535, enh: "5.7.139", hint: "Conditional Access", kind: failure.Permission},
		{name: "530 5.7.57 not authenticated", opts: fault(smtptest.StageMail, "530 5.7.57 Client was not authenticated to send anonymous mail during MAIL FROM"),
			stage: StageMail, code: 530, enh: "5.7.57", hint: "without a successful AUTH", kind: failure.Permission},
		{name: "550 5.7.60 send as", opts: smtptest.Options{},
			msg:   &Message{From: "ceo@contoso.com", To: []string{"a@example.com"}, Text: "x"},
			stage: StageMail, code: 550, enh: "5.7.60", hint: "SendAs", kind: failure.Permission},
		{name: "554 5.2.252 SendAsDenied", opts: fault(smtptest.StageEndOfData, "554 5.2.252 SendAsDenied; alerts@contoso.com not allowed to send as ceo@contoso.com; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied"),
			stage: StageData, code: 554, enh: "5.2.252", hint: "SendAs", kind: failure.Permission},
		{name: "554 5.2.0 SendAsDeniedException (older)", opts: fault(smtptest.StageEndOfData, "554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception"),
			stage: StageData, code: 554, enh: "5.2.0", hint: "SendAs", kind: failure.Permission},
		{name: "432 4.3.2 concurrency", opts: fault(smtptest.StageAuth, "432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information."),
			stage: StageAuth, code: 432, enh: "4.3.2", temporary: true, hint: "Exchange allows 3", kind: failure.Temporary},
		{name: "432 4.3.2 older wording", opts: fault(smtptest.StageEndOfData, "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded"),
			stage: StageData, code: 432, enh: "4.3.2", temporary: true, hint: "retry later", kind: failure.Temporary},
		{name: "554 5.2.0 daily quota", opts: fault(smtptest.StageEndOfData, "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception with message"),
			stage: StageData, code: 554, enh: "5.2.0", hint: "daily sending quota", kind: failure.Quota},
		{name: "554 5.2.2 mailbox full", opts: fault(smtptest.StageEndOfData, "554 5.2.2 mailbox full; STOREDRV.Submission.Exception:QuotaExceededException.MapiExceptionQuotaExceeded"),
			stage: StageData, code: 554, enh: "5.2.2", hint: "mailbox is full", kind: failure.Unavailable},
		{name: "550 5.7.30 basic auth", opts: smtptest.Options{AuthReply: "550 5.7.30 Basic authentication is not supported for Client Submission."},
			stage: StageAuth, code: 550, enh: "5.7.30", hint: "OAuth", kind: failure.Permission},
		{name: "421 4.7.66 TLS", opts: fault(smtptest.StageMail, "421 4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2."),
			stage: StageMail, code: 421, enh: "4.7.66", temporary: true, hint: "TLS 1.2", kind: failure.Temporary},
		{name: "5.7.67 TLS", opts: fault(smtptest.StageMail, "554 5.7.67 TLS 1.0 and 1.1 are not supported."),
			stage: StageMail, code: 554, enh: "5.7.67", hint: "TLS 1.2", kind: failure.Permission},
		{name: "550 5.1.8 bad outbound sender", opts: fault(smtptest.StageMail, "550 5.1.8 Access denied, bad outbound sender"),
			stage: StageMail, code: 550, enh: "5.1.8", hint: "restricted", kind: failure.Permission},
		{name: "550 5.7.501 spam abuse", opts: fault(smtptest.StageEndOfData, "550 5.7.501 Service unavailable. Spam abuse detected from IP range."),
			stage: StageData, code: 550, enh: "5.7.501", hint: "restricted", kind: failure.Permission},
		{name: "550 5.7.511 banned sender", opts: fault(smtptest.StageEndOfData, "550 5.7.511 Access denied, banned sender"),
			stage: StageData, code: 550, enh: "5.7.511", hint: "restricted", kind: failure.Permission},
		{name: "451 4.7.500 server busy", opts: fault(smtptest.StageEndOfData, "451 4.7.500 Server busy. Please try again later from [1.2.3.4]."),
			stage: StageData, code: 451, enh: "4.7.500", temporary: true, hint: "restricted", kind: failure.Temporary},
		{name: "550 5.7.705 tenant blocked", opts: fault(smtptest.StageEndOfData, "550 5.7.705 Access denied, tenant has exceeded threshold"),
			stage: StageData, code: 550, enh: "5.7.705", hint: "Microsoft support", kind: failure.Permission},
		{name: "550 5.7.708 tenant blocked", opts: fault(smtptest.StageEndOfData, "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP."),
			stage: StageData, code: 550, enh: "5.7.708", hint: "Microsoft support", kind: failure.Permission},
		{name: "550 5.7.750 tenant blocked", opts: fault(smtptest.StageEndOfData, "550 5.7.750 Service unavailable. Client blocked from sending from unregistered domains."),
			stage: StageData, code: 550, enh: "5.7.750", hint: "Microsoft support", kind: failure.Permission},
		{name: "451 4.7.0 temporary", opts: fault(smtptest.StageEndOfData, "451 4.7.0 Temporary server error. Please try again later. PRX4"),
			stage: StageData, code: 451, enh: "4.7.0", temporary: true, hint: "retry later", kind: failure.Temporary},
		{name: "430 4.2.0 MapiExceptionLogonFailed", opts: fault(smtptest.StageEndOfData, "430 4.2.0 STOREDRV.Submit; mailbox database offline; MapiExceptionLogonFailed"),
			stage: StageData, code: 430, enh: "4.2.0", temporary: true, hint: "Add-MailboxPermission", kind: failure.Temporary},
		{name: "501 5.5.127 token expires soon", opts: smtptest.Options{AuthReply: "501 5.5.127 Token will expire soon. Please use a token with a longer lifetime."},
			stage: StageAuth, code: 501, enh: "5.5.127", hint: "10 minutes", kind: failure.Unavailable},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			srv := startSMTP(t, r.opts)
			s, _ := newTestSender(t, srv, &tokens{current: "tok"}, func(c *Config) { c.MaxAttempts = 2 })
			msg := r.msg
			if msg == nil {
				msg = &Message{To: []string{"a@example.com"}, Subject: "s", Text: "x"}
			}
			_, err := s.Send(testCtx(t), msg)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Send error = %v (%T), want *Error", err, err)
			}
			if e.Stage != r.stage || e.Code != r.code || e.EnhancedCode != r.enh || e.Temporary != r.temporary {
				t.Errorf("got stage %s code %d enh %q temporary %v; want %s %d %q %v",
					e.Stage, e.Code, e.EnhancedCode, e.Temporary, r.stage, r.code, r.enh, r.temporary)
			}
			if !strings.Contains(e.Hint(), r.hint) {
				t.Errorf("hint %q does not contain %q", e.Hint(), r.hint)
			}
			if e.Kind() != r.kind || failure.KindOf(err) != r.kind {
				t.Errorf("kind %v (KindOf %v), want %v", e.Kind(), failure.KindOf(err), r.kind)
			}
			line := e.Error()
			wantPrefix := srv.Addr() + ": " + string(r.stage) + ": "
			if !strings.HasPrefix(line, wantPrefix) || strings.Contains(line, "\n") {
				t.Errorf("Error() = %q, want one line starting %q", line, wantPrefix)
			}
			if !strings.Contains(line, " "+r.enh+" ") {
				t.Errorf("Error() = %q lacks the enhanced code", line)
			}
			wantTries := 1
			if r.temporary {
				wantTries = 2
			}
			if r.stage != StageAuth {
				if n := srv.Count(smtptest.StageMail); n != wantTries {
					t.Errorf("server saw %d MAIL commands, want %d (retry only temporary failures)", n, wantTries)
				}
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	e := replyError("smtp.office365.com:587", StageAuth, 535, "5.7.3 Authentication unsuccessful [SN4PR0601CA0002.namprd06.prod.outlook.com]", nil)
	want := "smtp.office365.com:587: auth: 535 5.7.3 Authentication unsuccessful [SN4PR0601CA0002.namprd06.prod.outlook.com]"
	if e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
	multi := replyError("h:587", StageData, 554, "5.2.0 first line\nsecond line", nil)
	if strings.Contains(multi.Error(), "\n") {
		t.Errorf("multi-line reply not folded: %q", multi.Error())
	}
}

// TestHeaderFromSendAsDenied sends a raw message whose From header names an
// address the mailbox may not send as: the envelope is the mailbox, so
// Exchange only refuses it after the final dot.
func TestHeaderFromSendAsDenied(t *testing.T) {
	raw := []byte("From: The CEO <CEO@contoso.com>\r\nTo: a@example.com\r\nSubject: s\r\n\r\nbody\r\n")
	msg := &Message{To: []string{"a@example.com"}, Raw: raw}

	srv := startSMTP(t, smtptest.Options{})
	s, _ := newTestSender(t, srv, &tokens{current: "tok"}, nil)
	_, err := s.Send(testCtx(t), msg)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Send error = %v, want *Error", err)
	}
	if e.Stage != StageData || e.Code != 554 || e.EnhancedCode != "5.2.252" || e.Temporary {
		t.Errorf("got %s %d %s temporary %v, want data 554 5.2.252 permanent", e.Stage, e.Code, e.EnhancedCode, e.Temporary)
	}
	if !strings.Contains(e.Text, "SendAsDenied; "+testMailbox+" not allowed to send as ceo@contoso.com") {
		t.Errorf("text %q", e.Text)
	}
	if !strings.Contains(e.Hint(), "SendAs") {
		t.Errorf("hint %q does not name SendAs", e.Hint())
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server recorded %d messages, want none", n)
	}
	if n := srv.Count(smtptest.StageMail); n != 1 {
		t.Errorf("%d MAIL commands, want 1 (no retry)", n)
	}

	// With the SendAs right granted the same message goes through.
	srv2 := startSMTP(t, smtptest.Options{SendAs: map[string][]string{testMailbox: {"ceo@contoso.com"}}})
	s2, _ := newTestSender(t, srv2, &tokens{current: "tok"}, nil)
	if _, err := s2.Send(testCtx(t), msg); err != nil {
		t.Fatalf("Send with SendAs granted: %v", err)
	}
	if got := srv2.Messages(); len(got) != 1 || got[0].From != testMailbox {
		t.Errorf("messages %+v", got)
	}
}

// TestReplyHintsTable feeds each row's example reply through the real
// classifier (replyError, as classify builds it from the server's text)
// and checks that the row itself picks it, with its kind and hint.
func TestReplyHintsTable(t *testing.T) {
	rows := ReplyHints()
	if len(rows) == 0 || !rows[len(rows)-1].Default {
		t.Fatal("the table must end with a default row that catches everything")
	}
	seen := map[string]bool{}
	for _, r := range rows {
		t.Run(r.Match, func(t *testing.T) {
			if seen[r.Match] {
				t.Errorf("two rows match %q", r.Match)
			}
			seen[r.Match] = true
			if r.Hint == "" || strings.Contains(r.Hint, "m365send") || strings.Contains(r.Hint, "--") {
				t.Errorf("hint %q: want a hint in the library's terms", r.Hint)
			}
			reply := r.EnhancedCode + " " + r.Text
			e := replyError("smtp.office365.com:587", StageData, r.Code, reply, nil)
			if e.Code != r.Code || e.EnhancedCode != r.EnhancedCode {
				t.Errorf("parsed %d %q, want %d %q", e.Code, e.EnhancedCode, r.Code, r.EnhancedCode)
			}
			if e.Kind() != r.Kind || e.Hint() != r.Hint {
				t.Errorf("kind %v hint %q,\nwant %v %q", e.Kind(), e.Hint(), r.Kind, r.Hint)
			}
			if got := replyHint(e.Code, e.EnhancedCode, e.Text); got.Match != r.Match {
				t.Errorf("example picked row %q, not its own", got.Match)
			}
			if temp := r.Code >= 400 && r.Code < 500; e.Temporary != temp || (temp && r.Kind != failure.Temporary) {
				t.Errorf("temporary %v with kind %v for code %d", e.Temporary, r.Kind, r.Code)
			}
		})
	}
}

// Replies no specific row knows still get a kind and a hint from their
// class.
func TestReplyClassDefaults(t *testing.T) {
	for _, c := range []struct {
		reply string
		code  int
		kind  failure.Kind
		hint  string // a phrase the hint must contain
	}{
		{"5.7.8 Error: authentication failed: UGFzc3dvcmQ6", 535, failure.Permission, "audience"},
		{"Authentication credentials invalid", 535, failure.Permission, "audience"},
		{"5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found", 550, failure.BadAddress, "spelling"},
		{"5.1.1 User unknown", 550, failure.BadAddress, "spelling"},
		{"5.7.1 Relaying denied", 550, failure.Permission, "permission"},
		{"5.6.0 Corrupt message content", 554, failure.BadMessage, "content"},
		{"5.2.3 Message too big", 552, failure.BadMessage, "larger"},
		{"4.4.1 Connection timed out", 451, failure.Temporary, "try again later"},
		{"Greylisted", 450, failure.Temporary, "try again later"},
		{"4.3.2 Service not available, closing transmission channel", 421, failure.Temporary, "closing the connection"},
		{"5.5.1 Unrecognized command", 500, failure.Unavailable, "reply text says why"},
		{"weird", 612, failure.Unavailable, "smtp_host"},
	} {
		e := replyError("h:587", StageRcpt, c.code, c.reply, nil)
		if e.Kind() != c.kind || !strings.Contains(e.Hint(), c.hint) {
			t.Errorf("%d %s: kind %v hint %q; want %v and %q", c.code, c.reply, e.Kind(), e.Hint(), c.kind, c.hint)
		}
	}
	// 421 4.3.2 is not the concurrency limit; 432 4.3.2 is.
	if h := replyError("h:587", StageMail, 421, "4.3.2 Service not available", nil).Hint(); strings.Contains(h, "too many connections") {
		t.Errorf("421 4.3.2 hint %q speaks of the connection limit", h)
	}
}

// Failures that are not replies: the network, TLS, the server's
// extensions, the token source, the configuration, the message.
func TestLocalFailureKinds(t *testing.T) {
	closedPort := testnet.RefusingPort(t)
	cases := []struct {
		name     string
		opts     smtptest.Options
		tokens   *tokens
		mod      func(*Config)
		msg      *Message
		kind     failure.Kind
		temp     bool
		hint     string
		wantType bool // the error is a *Error
	}{
		{name: "connection refused", mod: func(c *Config) { c.Port = closedPort; c.MaxAttempts = 1 },
			kind: failure.Temporary, temp: true, hint: "outbound TCP", wantType: true},
		{name: "no STARTTLS", opts: smtptest.Options{NoStartTLS: true},
			kind: failure.Unavailable, hint: "never authenticates without TLS", wantType: true},
		{name: "token source with its own kind", tokens: &tokens{err: failure.New(failure.SignIn, "sign-in required", "sign in again")},
			kind: failure.SignIn, hint: "sign in again", wantType: true},
		{name: "bad address", msg: &Message{To: []string{"not an address"}, Text: "x"},
			kind: failure.BadAddress, hint: "user@example.com"},
		{name: "header injection", msg: &Message{To: []string{"a@example.com"}, Subject: "a\r\nBcc: b@example.com", Text: "x"},
			kind: failure.BadMessage, hint: "one line"},
		{name: "no recipient", msg: &Message{Text: "x"},
			kind: failure.BadAddress, hint: "at least one recipient"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := startSMTP(t, c.opts)
			ts := c.tokens
			if ts == nil {
				ts = &tokens{current: "t"}
			}
			s, _ := newTestSender(t, srv, ts, c.mod)
			msg := c.msg
			if msg == nil {
				msg = &Message{To: []string{"a@example.com"}, Text: "x"}
			}
			_, err := s.Send(testCtx(t), msg)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			var e *Error
			if isErr := errors.As(err, &e); isErr != c.wantType {
				t.Fatalf("err %v (%T): *Error %v, want %v", err, err, isErr, c.wantType)
			}
			if e != nil && e.Temporary != c.temp {
				t.Errorf("Temporary %v, want %v", e.Temporary, c.temp)
			}
			if k := failure.KindOf(err); k != c.kind {
				t.Errorf("kind %v, want %v (%v)", k, c.kind, err)
			}
			if h := failure.HintOf(err); !strings.Contains(h, c.hint) {
				t.Errorf("hint %q lacks %q", h, c.hint)
			}
		})
	}
	for _, err := range []error{smtpconn.ErrNoXOAuth2, smtpconn.ErrNotEncrypted} {
		e := classify("h:587", StageAuth, fmt.Errorf("smtp: %w", err))
		if e.Temporary || e.Kind() != failure.Unavailable || !strings.Contains(e.Hint(), "smtp_host") {
			t.Errorf("%v: temporary %v kind %v hint %q; want permanent, unavailable, smtp_host", err, e.Temporary, e.Kind(), e.Hint())
		}
	}
	if _, err := New(Config{Tokens: &tokens{}, Mailbox: "no-at-sign"}); failure.KindOf(err) != failure.Config || failure.HintOf(err) == "" {
		t.Errorf("New with a bad mailbox: %v, kind %v", err, failure.KindOf(err))
	}
}

// The session's steps become the stages of the same names.
func TestStagesAreTheSessionSteps(t *testing.T) {
	for step, stage := range map[smtpconn.Step]Stage{
		smtpconn.StepDNS: StageDNS, smtpconn.StepConnect: StageConnect, smtpconn.StepGreeting: StageGreeting,
		smtpconn.StepStartTLS: StageStartTLS, smtpconn.StepAuth: StageAuth, smtpconn.StepMail: StageMail,
		smtpconn.StepRcpt: StageRcpt, smtpconn.StepData: StageData,
	} {
		if Stage(step) != stage {
			t.Errorf("step %q is not stage %q", step, stage)
		}
	}
}
