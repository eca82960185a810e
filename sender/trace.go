package sender

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/m365send/m365send/internal/safetext"
	"github.com/wneessen/go-mail/log"
)

// traceLogger adapts go-mail's debug logger to Config.Trace. It does the
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
type traceLogger struct {
	mu      *sync.Mutex // serialises writes of concurrent connections
	w       io.Writer
	prefix  string
	secrets []string
	sasl    bool // an AUTH exchange is under way; guarded by mu
}

var _ log.Logger = (*traceLogger)(nil)

func (t *traceLogger) Debugf(l log.Log) { t.write(l) }
func (t *traceLogger) Infof(l log.Log)  { t.write(l) }
func (t *traceLogger) Warnf(l log.Log)  { t.write(l) }
func (t *traceLogger) Errorf(l log.Log) { t.write(l) }

func (t *traceLogger) write(l log.Log) {
	dir := "S: "
	if l.Direction == log.DirClientToServer {
		dir = "C: "
	}
	t.line(dir, fmt.Sprintf(l.Format, l.Messages...))
}

// note writes a line of the sender's own (TLS established, reconnecting).
func (t *traceLogger) note(format string, args ...any) {
	t.line("-- ", fmt.Sprintf(format, args...))
}

func (t *traceLogger) line(dir, msg string) {
	if t == nil || t.w == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for l := range strings.SplitSeq(strings.TrimRight(msg, "\r\n"), "\n") {
		b.WriteString(t.prefix)
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
			l = serverText(l, t.secrets)
		default:
			l = serverText(l, t.secrets)
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	_, _ = io.WriteString(t.w, b.String())
}

// client redacts one client line, following the SASL exchange; t.mu is
// held.
func (t *traceLogger) client(l string) string {
	if f := strings.Fields(l); len(f) > 0 && strings.EqualFold(f[0], "AUTH") {
		t.sasl = true
		return redactLine(l, t.secrets)
	}
	if t.sasl {
		switch strings.TrimSpace(l) {
		case "", "*", "QUIT":
			return l
		}
		return "[redacted]"
	}
	return redact(l, t.secrets)
}

// redactLine hides AUTH payloads and known secrets in one client line.
func redactLine(l string, secrets []string) string {
	if f := strings.Fields(l); len(f) > 0 && strings.EqualFold(f[0], "AUTH") && len(f) > 2 {
		return f[0] + " " + f[1] + " [redacted]"
	}
	return redact(l, secrets)
}
