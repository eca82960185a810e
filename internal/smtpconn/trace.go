package smtpconn

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/m365send/m365send/internal/safetext"
	"github.com/wneessen/go-mail/log"
)

// Trace adapts go-mail's debug logger to package sender's Config.Trace. It does the
// redaction itself, at the source, so no go-mail setting can leak a token
// into a -v trace: any AUTH command keeps only its mechanism, every client
// line of the SASL exchange that follows (up to the server's final reply)
// is hidden unless it is empty, "*" or QUIT, and the token and its XOAUTH2
// base64 form are replaced wherever they appear. Every line is made safe
// for a terminal (internal/safetext): a server cannot send escape or bell
// sequences through the trace.
//
// go-mail's own hiding (on unless SetLogAuthData) is turned off by the
// sender because it also hides the QUIT that go-mail sends after a refused
// AUTH, showing it as "<SMTP auth data redacted>".
type Trace struct {
	// Mu serialises writes of concurrent connections.
	Mu *sync.Mutex
	// W receives the trace; nil: no trace.
	W io.Writer
	// Prefix starts every line.
	Prefix string
	// Secrets are replaced wherever they appear (XOAuth2Secrets).
	Secrets []string
	sasl    bool // an AUTH exchange is under way; guarded by Mu
}

var _ log.Logger = (*Trace)(nil)

func (t *Trace) Debugf(l log.Log) { t.write(l) }
func (t *Trace) Infof(l log.Log)  { t.write(l) }
func (t *Trace) Warnf(l log.Log)  { t.write(l) }
func (t *Trace) Errorf(l log.Log) { t.write(l) }

func (t *Trace) write(l log.Log) {
	dir := "S: "
	if l.Direction == log.DirClientToServer {
		dir = "C: "
	}
	t.Line(dir, fmt.Sprintf(l.Format, l.Messages...))
}

// Note writes a line of the sender's own (TLS established, reconnecting).
func (t *Trace) Note(format string, args ...any) {
	t.Line("-- ", fmt.Sprintf(format, args...))
}

// Line writes msg, one trace line per line, after dir ("C: ", "S: " or
// "-- "), redacted as the type says.
func (t *Trace) Line(dir, msg string) {
	if t == nil || t.W == nil {
		return
	}
	t.Mu.Lock()
	defer t.Mu.Unlock()
	var b strings.Builder
	for l := range strings.SplitSeq(strings.TrimRight(msg, "\r\n"), "\n") {
		b.WriteString(t.Prefix)
		b.WriteString(dir)
		l = strings.TrimRight(l, "\r")
		switch dir {
		case "C: ":
			l = safetext.OneLine(t.client(l))
		case "S: ":
			// Any reply but a 334 challenge ends a SASL exchange.
			if t.sasl && !strings.HasPrefix(l, "334") {
				t.sasl = false
			}
			l = ServerText(l, t.Secrets)
		default:
			l = ServerText(l, t.Secrets)
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	_, _ = io.WriteString(t.W, b.String())
}

// client redacts one client line, following the SASL exchange; t.Mu is
// held.
func (t *Trace) client(l string) string {
	if f := strings.Fields(l); len(f) > 0 && strings.EqualFold(f[0], "AUTH") {
		t.sasl = true
		return RedactAuthLine(l, t.Secrets)
	}
	if t.sasl {
		switch strings.TrimSpace(l) {
		case "", "*", "QUIT":
			return l
		}
		return "[redacted]"
	}
	return Redact(l, t.Secrets)
}

// RedactAuthLine hides AUTH payloads and known secrets in one client line.
// The mechanism it keeps is redacted too: FuzzTraceRedaction found that a
// secret standing where the mechanism stands survived ("AUTH <secret> x").
func RedactAuthLine(l string, secrets []string) string {
	if f := strings.Fields(l); len(f) > 0 && strings.EqualFold(f[0], "AUTH") && len(f) > 2 {
		return Redact(f[0]+" "+f[1], secrets) + " [redacted]"
	}
	return Redact(l, secrets)
}
