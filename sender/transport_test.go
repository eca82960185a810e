package sender

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/sender/smtptest"
)

func TestLostFinalDotReplyIsResentOnceAndSaysSo(t *testing.T) {
	// The server takes the message and drops the connection before its
	// 250, once: the sender cannot know, sends again, and says so.
	srv := startSMTP(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageEndOfData, N: 1, AcceptThenDrop: true}}})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, nil)
	res, err := s.Send(testCtx(t), batch(1)...)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("server has %d copies, want 2 (the lost reply's and the resent one)", n)
	}
	if !res[0].MaybeDuplicate || res[0].MaybeDelivered {
		t.Errorf("Result %+v: want MaybeDuplicate and not MaybeDelivered (it was accepted)", res[0])
	}
}

func TestLostFinalDotRepliesNeverMakeThreeCopies(t *testing.T) {
	// Every reply to the final dot is lost: at most two copies, and the
	// error does not invite a third.
	srv := startSMTP(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageEndOfData, AcceptThenDrop: true}}})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, func(c *Config) { c.MaxAttempts = 5 })
	res, err := s.Send(testCtx(t), batch(1)...)
	if err == nil {
		t.Fatal("Send succeeded without any reply")
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("server has %d copies, want 2", n)
	}
	if !res[0].MaybeDuplicate || !res[0].MaybeDelivered {
		t.Errorf("Result %+v: want MaybeDuplicate and MaybeDelivered", res[0])
	}
	var se *Error
	if !errors.As(err, &se) || se.Temporary {
		t.Errorf("error %v is temporary: a caller would send a third copy", err)
	}
	if k := failure.KindOf(err); k == failure.Temporary {
		t.Errorf("kind %v invites sending again", k)
	}
	if h := failure.HintOf(err); !strings.Contains(h, "twice") {
		t.Errorf("hint %q does not say the message may have arrived twice", h)
	}
}

func TestLostFinalDotReplyThenFailureSaysMaybeDelivered(t *testing.T) {
	// The reply is lost, and the one more try is refused: the message may
	// be there once; the error stays what the server said.
	srv := startSMTP(t, smtptest.Options{Faults: []smtptest.Fault{
		{Stage: smtptest.StageEndOfData, N: 1, AcceptThenDrop: true},
		{Stage: smtptest.StageMail, N: 2, Reply: "451 4.7.0 Temporary server error"},
	}})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, nil)
	res, err := s.Send(testCtx(t), batch(1)...)
	if err == nil {
		t.Fatal("Send succeeded")
	}
	if n := srv.Count(smtptest.StageMail); n != 2 {
		t.Errorf("%d MAIL FROM, want 2 (one try after the lost reply)", n)
	}
	if res[0].MaybeDuplicate || !res[0].MaybeDelivered {
		t.Errorf("Result %+v: want MaybeDelivered only", res[0])
	}
}

func TestFinalDotReplyGetsItsOwnTimeout(t *testing.T) {
	// The reply to the final dot comes later than CommandTimeout but
	// within FinalDotTimeout: one copy, no resend.
	srv := startSMTP(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageEndOfData, N: 1, Delay: 1500 * time.Millisecond}}})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, func(c *Config) {
		c.CommandTimeout = 500 * time.Millisecond
		c.FinalDotTimeout = time.Minute
	})
	res, err := s.Send(testCtx(t), batch(1)...)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if n := len(srv.Messages()); n != 1 || res[0].MaybeDuplicate {
		t.Errorf("%d copies, MaybeDuplicate %v; want 1 and false", n, res[0].MaybeDuplicate)
	}
}

func TestThousandRecipientsGoAsTwoTransactions(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, nil)
	m := &Message{Subject: "all hands", Text: "hello"}
	for i := range 1000 {
		m.Bcc = append(m.Bcc, fmt.Sprintf("u%04d@example.com", i))
	}
	res, err := s.Send(testCtx(t), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.Messages()
	if len(got) != 2 || len(got[0].To) != 500 || len(got[1].To) != 500 {
		t.Fatalf("server got %d transactions, want 2 of 500", len(got))
	}
	if !bytes.Equal(got[0].Data, got[1].Data) {
		t.Errorf("the two transactions carry different message text")
	}
	if got[0].To[0] != "u0000@example.com" || got[1].To[0] != "u0500@example.com" || got[1].To[499] != "u0999@example.com" {
		t.Errorf("recipients split as %s..., %s...%s", got[0].To[0], got[1].To[0], got[1].To[499])
	}
	if len(res[0].Accepted) != 1000 {
		t.Errorf("Accepted has %d recipients, want 1000", len(res[0].Accepted))
	}
}

func TestSecondTransactionFailureKeepsTheFirst(t *testing.T) {
	// The 2nd transaction is refused for good: the first is not sent
	// again, and Accepted says who has the message.
	srv := startSMTP(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageMail, N: 2, Reply: "550 5.7.1 refused"}}})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, nil)
	m := &Message{Subject: "all hands", Text: "hello"}
	for i := range 600 {
		m.Bcc = append(m.Bcc, fmt.Sprintf("u%04d@example.com", i))
	}
	res, err := s.Send(testCtx(t), m)
	if err == nil {
		t.Fatal("Send succeeded")
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d transactions accepted, want 1", n)
	}
	if len(res[0].Accepted) != 500 {
		t.Errorf("Accepted has %d recipients, want the first 500", len(res[0].Accepted))
	}
}

func TestMailFromCarriesSize(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{})
	var trace bytes.Buffer
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, func(c *Config) { c.Trace = &trace })
	raw := []byte("From: alerts@contoso.com\r\nSubject: x\r\n\r\nhello\r\n")
	if _, err := s.Send(testCtx(t), &Message{To: []string{"ops@example.com"}, Raw: raw}); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("SIZE=%d", len(raw)); !strings.Contains(trace.String(), want) {
		t.Errorf("trace has no %s in MAIL FROM:\n%s", want, trace.String())
	}
}

func TestServerRefusesBySizeBeforeData(t *testing.T) {
	// The server's limit (MaxSize) is below its advertised SIZE: it
	// refuses at MAIL FROM, from SIZE=, and no byte of the text is sent.
	srv := startSMTP(t, smtptest.Options{MaxSize: 1000})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, nil)
	_, err := s.Send(testCtx(t), &Message{To: []string{"ops@example.com"}, Text: strings.Repeat("big ", 1000)})
	var se *Error
	if !errors.As(err, &se) || se.Code != 552 || se.Stage != StageMail {
		t.Fatalf("Send error = %v, want 552 at MAIL FROM", err)
	}
	if n := srv.Count(smtptest.StageData); n != 0 {
		t.Errorf("DATA was sent %d times", n)
	}
}

func TestMessageOverAdvertisedSizeIsRefusedBeforeMail(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{AdvertisedSize: 1000})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, nil)
	_, err := s.Send(testCtx(t), &Message{To: []string{"ops@example.com"}, Text: strings.Repeat("big ", 1000)})
	var se *Error
	if !errors.As(err, &se) || se.Temporary {
		t.Fatalf("Send error = %v, want a permanent *Error", err)
	}
	if k := failure.KindOf(err); k != failure.BadMessage {
		t.Errorf("kind %v, want bad-message", k)
	}
	if failure.HintOf(err) == "" {
		t.Errorf("no hint for %v", err)
	}
	if n := srv.Count(smtptest.StageMail); n != 0 {
		t.Errorf("MAIL FROM was sent %d times", n)
	}
}

func TestSentBeforeMakesOneTryOnly(t *testing.T) {
	// A queue sent the message once and lost the reply; its next Send
	// says so: one try, and if that reply is lost too, an error that does
	// not invite a third copy.
	srv := startSMTP(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageEndOfData, AcceptThenDrop: true}}})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, nil)
	m := batch(1)[0]
	m.SentBefore = true
	res, err := s.Send(testCtx(t), m)
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("server has %d copies from this call, want 1", n)
	}
	var se *Error
	if !errors.As(err, &se) || se.Temporary || !res[0].MaybeDuplicate || !res[0].MaybeDelivered {
		t.Errorf("Send = %v, %+v; want a permanent error, MaybeDuplicate and MaybeDelivered", err, res[0])
	}

	ok := startSMTP(t, smtptest.Options{})
	s, _ = newTestSender(t, ok, &tokens{current: "t"}, nil)
	res, err = s.Send(testCtx(t), m)
	if err != nil || !res[0].MaybeDuplicate || res[0].MaybeDelivered || len(ok.Messages()) != 1 {
		t.Errorf("Send = %v, %+v, %d copies; want accepted once, MaybeDuplicate", err, res[0], len(ok.Messages()))
	}
}
