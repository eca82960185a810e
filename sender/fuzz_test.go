package sender

import (
	"bufio"
	"bytes"
	"errors"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/m365send/m365send/internal/smtpconn"

	"github.com/wneessen/go-mail/log"

	"github.com/m365send/m365send/internal/failure"
)

// fuzzSecret is the token the classification and trace fuzzers hide.
const fuzzSecret = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.fuzz-secret"

// unsafeRune reports a character that must not reach a terminal.
func unsafeRune(r rune) bool {
	return r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f
}

func checkShown(t *testing.T, where, s string, secrets ...string) {
	t.Helper()
	for _, r := range s {
		if unsafeRune(r) {
			t.Fatalf("%s holds %U: %q", where, r, s)
		}
	}
	for _, sec := range secrets {
		if len(sec) >= smtpconn.MinSecret && strings.Contains(s, sec) {
			t.Fatalf("%s holds the secret %q: %q", where, sec, s)
		}
	}
}

// FuzzReply parses a server reply as the SMTP client does (net/textproto)
// and classifies it: Error(), Text and the hint are one line without
// control characters or the token, every reply has a kind and a hint, and
// a 4xx reply is temporary.
func FuzzReply(f *testing.F) {
	f.Add([]byte("612 0\r0\r\n")) // a lone CR survived into Error()
	f.Add([]byte("535 5.7.3 Authentication unsuccessful [SN4PR0601CA0002.namprd06.prod.outlook.com]\r\n"))
	f.Add([]byte("550-5.7.1 first\r\n550 5.7.1 token " + fuzzSecret + "\r\n"))
	f.Add([]byte("421 4.3.2 Service not available, closing transmission channel\r\n"))
	f.Add([]byte("250 \x1b]0;title\x07 \x1b[2J\r\n"))
	f.Add([]byte("432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded\r\n"))
	for _, r := range ReplyHints() {
		f.Add([]byte(strings.TrimSpace(strings.Join([]string{strconv.Itoa(r.Code), r.EnhancedCode, r.Text}, " ")) + "\r\n"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr := textproto.NewReader(bufio.NewReader(bytes.NewReader(data)))
		code, msg, err := tr.ReadResponse(0)
		var te *textproto.Error
		switch {
		case errors.As(err, &te):
		case err == nil && code > 0:
			te = &textproto.Error{Code: code, Msg: msg}
		default:
			return
		}
		e := classify("h:587", StageData, te, smtpconn.XOAuth2Secrets(testMailbox, fuzzSecret)...)
		line := e.Error()
		checkShown(t, "Error()", line, fuzzSecret)
		checkShown(t, "Text", e.Text, fuzzSecret)
		checkShown(t, "Hint()", e.Hint())
		checkShown(t, "Err", e.Err.Error(), fuzzSecret)
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("Error() is not one line: %q", line)
		}
		if e.Hint() == "" {
			t.Fatalf("reply %d %q has no hint", e.Code, e.Text)
		}
		known := false
		for _, k := range failure.Kinds() {
			known = known || k == e.Kind()
		}
		if !known || e.Kind() == failure.Internal {
			t.Fatalf("reply %d %q: kind %v", e.Code, e.Text, e.Kind())
		}
		if e.Code >= 400 && e.Code < 500 && (!e.Temporary || e.Kind() != failure.Temporary) {
			t.Fatalf("4xx reply %d %q: temporary %v, kind %v", e.Code, e.Text, e.Temporary, e.Kind())
		}
	})
}

// FuzzTraceRedaction feeds the trace lines of an exchange in both
// directions: neither the token (a JWT-like string, from the input) nor
// its XOAUTH2 form, nor a control character, reaches the trace; an AUTH
// command keeps only its mechanism.
func FuzzTraceRedaction(f *testing.F) {
	b64 := smtpconn.XOAuth2Secrets(testMailbox, fuzzSecret)[0]
	f.Add(fuzzSecret, "AUTH XOAUTH2 "+b64, "535 5.7.3 Authentication unsuccessful "+fuzzSecret)
	f.Add(fuzzSecret, b64, "334 eyJzdGF0dXMiOiI0MDAifQ==")
	f.Add("abcdefgh.ijk", "MAIL FROM:<a@b.example>", "250 2.1.0 Sender OK \x1b[31m\x07")
	f.Add("tok.tok.tok", "AUTH XOAUTH2", "250 ok tok.tok\rtok.tok.tok\n250 x")
	f.Fuzz(func(t *testing.T, token, client, server string) {
		// Tokens are JWTs: base64url and dots.
		token = strings.Map(func(r rune) rune {
			if r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.", r)) {
				return r
			}
			return -1
		}, token)
		if len(token) < smtpconn.MinSecret {
			return
		}
		secrets := smtpconn.XOAuth2Secrets(testMailbox, token)
		var out bytes.Buffer
		tl := &smtpconn.Trace{Mu: &sync.Mutex{}, W: &out, Secrets: secrets}
		tl.Debugf(log.Log{Direction: log.DirClientToServer, Format: "%s", Messages: []any{client}})
		tl.Debugf(log.Log{Direction: log.DirServerToClient, Format: "%s", Messages: []any{server}})
		tl.Debugf(log.Log{Direction: log.DirClientToServer, Format: "AUTH XOAUTH2 %s", Messages: []any{secrets[0]}})
		tl.Debugf(log.Log{Direction: log.DirServerToClient, Format: "%s", Messages: []any{server}})
		tl.Debugf(log.Log{Direction: log.DirClientToServer, Format: "%s", Messages: []any{client}})
		tl.Note("%s", server)
		got := out.String()
		for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
			checkShown(t, "trace line", l, secrets...)
		}
		if !strings.Contains(got, "C: AUTH XOAUTH2 [redacted]\n") {
			t.Fatalf("the AUTH line is not redacted:\n%s", got)
		}
	})
}
