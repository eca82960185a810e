package sender

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/smtpconn"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/sender/smtptest"
)

// hostileToken is the token hostile.sender gives its Sender.
const hostileToken = "secret-token-0123456789"

// upToMail plays an honest server up to a successful AUTH, offering ext
// (extension lines, such as "SMTPUTF8") after STARTTLS, and returns the
// next command (MAIL, or QUIT when the client gave up).
func (hc *hostileConn) upToMail(ext ...string) (string, bool) {
	if !hc.upToTLS() {
		return "", false
	}
	if _, ok := hc.readLine(); !ok { // EHLO
		return "", false
	}
	lines := append([]string{"hostile.example", "AUTH XOAUTH2"}, ext...)
	var b strings.Builder
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		b.WriteString("250" + sep + l + "\r\n")
	}
	if !hc.write(b.String()) {
		return "", false
	}
	if _, ok := hc.readLine(); !ok { // AUTH
		return "", false
	}
	if !hc.write("235 2.7.0 Authentication successful\r\n") {
		return "", false
	}
	return hc.readLine()
}

// answerRest answers RSET and QUIT (and nothing else) until the client
// hangs up or quits.
func (hc *hostileConn) answerRest() {
	for {
		l, ok := hc.readLine()
		switch {
		case !ok:
			return
		case strings.EqualFold(l, "QUIT"):
			hc.write("221 2.0.0 Service closing transmission channel\r\n")
			return
		case strings.EqualFold(l, "RSET"):
			hc.write("250 2.0.0 OK\r\n")
		}
	}
}

// checkSafe fails when s holds what must never reach an error, a hint, a
// trace or JSON from the server: the token or a control character.
func checkSafe(t *testing.T, where, s string) {
	t.Helper()
	if strings.Contains(s, hostileToken) {
		t.Errorf("%s holds the token: %q", where, s)
	}
	for _, c := range s {
		if c < 0x20 && c != '\n' || c == 0x7f || c >= 0x80 && c <= 0x9f {
			t.Errorf("%s holds control character %U: %q", where, c, s)
			return
		}
	}
}

// A server that echoes the token outside AUTH, and sends escape and bell
// sequences and a lone CR, gets none of them into what the caller sees.
func TestServerTextIsSafe(t *testing.T) {
	b64 := smtpconn.XOAuth2Secrets(testMailbox, hostileToken)[0]
	reply := "550-5.7.1 your token " + hostileToken + " is \x1b]0;pwned\x07 no good\r\n" +
		"550 5.7.1 nor " + b64 + " \x1b[2J\x1b[31mred\x07 lone\rCR \u009b31m\r\n"
	h := startHostile(t, func(hc *hostileConn) {
		if l, ok := hc.upToMail(); !ok || !strings.HasPrefix(l, "MAIL") {
			return
		}
		hc.write(reply)
		hc.answerRest()
	})
	var trace bytes.Buffer
	s := h.sender(t, func(c *Config) { c.Trace = &trace })
	_, err := s.Send(testCtx(t), &Message{To: []string{"a@example.com"}, Text: "x"})
	var e *Error
	if !errors.As(err, &e) || e.Code != 550 || e.EnhancedCode != "5.7.1" {
		t.Fatalf("err = %v", err)
	}
	checkSafe(t, "Error()", e.Error())
	checkSafe(t, "Text", e.Text)
	checkSafe(t, "Hint()", e.Hint())
	checkSafe(t, "the wrapped error", e.Err.Error())
	checkSafe(t, "the trace", trace.String())
	checkSafe(t, "%+v", fmt.Sprintf("%+v", e))
	j, jerr := json.Marshal(e)
	if jerr != nil {
		t.Fatal(jerr)
	}
	checkSafe(t, "JSON", string(j))
	if strings.Contains(e.Error(), b64) || strings.Contains(trace.String(), b64) {
		t.Error("the XOAUTH2 form of the token is shown")
	}
	if !strings.Contains(e.Error(), "[redacted]") || !strings.Contains(e.Error(), "red") {
		t.Errorf("Error() = %q: want the text kept, the token redacted", e.Error())
	}
}

// The fuzzers' first find: a lone CR survived into Error().
func TestReplyWithLoneCR(t *testing.T) {
	e := replyError("h:587", StageData, 612, "0\r0", nil)
	if strings.ContainsAny(e.Error(), "\r\n") || strings.ContainsAny(e.Text, "\r\n") {
		t.Errorf("Error() = %q", e.Error())
	}
	e = &Error{Server: "h:587", Stage: StageMail, Code: 550, Text: "set \x1b[31m by hand\r"}
	checkSafe(t, "Error() of a hand-made Error", e.Error())
}

// A non-ASCII address goes only to a server that offers SMTPUTF8; to one
// that does not, nothing is sent and the address is refused (permanent,
// BadAddress).
func TestUTF8AddressNeedsSMTPUTF8(t *testing.T) {
	msg := func() *Message { return &Message{To: []string{"Jörg <jörg@bücher.example>"}, Text: "x"} }
	h := startHostile(t, func(hc *hostileConn) {
		l, ok := hc.upToMail("8BITMIME")
		if !ok || strings.EqualFold(l, "QUIT") {
			hc.write("221 2.0.0 bye\r\n")
			return
		}
		hc.answerRest()
	})
	s := h.sender(t, nil)
	_, err := s.Send(testCtx(t), msg())
	var e *Error
	if !errors.As(err, &e) || e.Temporary || failure.KindOf(err) != failure.BadAddress || !strings.Contains(e.Hint(), "SMTPUTF8") {
		t.Fatalf("err = %v (kind %v)", err, failure.KindOf(err))
	}
	for _, l := range h.received() {
		if strings.HasPrefix(l, "MAIL") || strings.HasPrefix(l, "RCPT") {
			t.Errorf("the client sent %q to a server without SMTPUTF8", l)
		}
	}

	// Exchange Online (and smtptest) offer it: the message goes, with
	// SMTPUTF8 on MAIL FROM.
	srv := startSMTP(t, smtptest.Options{})
	var trace bytes.Buffer
	s2, _ := newTestSender(t, srv, &tokens{current: "t"}, func(c *Config) { c.Trace = &trace })
	if _, err := s2.Send(testCtx(t), msg()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(trace.String(), "SMTPUTF8") || len(srv.Messages()) != 1 || srv.Messages()[0].To[0] != "jörg@bücher.example" {
		t.Errorf("messages %+v\n%s", srv.Messages(), trace.String())
	}
}

// Addresses past SMTP's limits are refused before connecting.
func TestAddressLimits(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, nil)
	for _, addr := range []string{
		strings.Repeat("a", 65) + "@example.com",
		"a@" + strings.Repeat("d", 250) + ".example",
		strings.Repeat("a", 10000) + "@example.com",
	} {
		_, err := s.Send(testCtx(t), &Message{To: []string{addr}, Text: "x"})
		if !errors.Is(err, ErrInvalidMessage) || failure.KindOf(err) != failure.BadAddress {
			t.Errorf("%.20s...: %v (kind %v)", addr, err, failure.KindOf(err))
		}
		if len(err.Error()) > 300 {
			t.Errorf("the error quotes the whole address: %d octets", len(err.Error()))
		}
	}
	if n := srv.Count(smtptest.StageGreeting); n != 0 {
		t.Errorf("%d connections for messages refused before connecting", n)
	}
}
