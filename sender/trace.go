package sender

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/wneessen/go-mail/log"
)

// traceLogger adapts go-mail's debug logger to Config.Trace. go-mail
// already hides AUTH data unless told otherwise; this wrapper redacts again
// at the source so no setting can leak a token into a -v trace: any AUTH
// command keeps only its mechanism, and the token and its XOAUTH2 base64
// form are replaced wherever they appear.
type traceLogger struct {
	mu      *sync.Mutex // serialises writes of concurrent connections
	w       io.Writer
	prefix  string
	secrets []string
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
	var b strings.Builder
	for l := range strings.SplitSeq(strings.TrimRight(msg, "\r\n"), "\n") {
		b.WriteString(t.prefix)
		b.WriteString(dir)
		l = strings.TrimRight(l, "\r")
		if dir == "C: " {
			l = redactLine(l, t.secrets)
		} else {
			l = redact(l, t.secrets)
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	_, _ = io.WriteString(t.w, b.String())
}

// redactLine hides AUTH payloads and known secrets in one client line.
func redactLine(l string, secrets []string) string {
	if f := strings.Fields(l); len(f) > 0 && strings.EqualFold(f[0], "AUTH") && len(f) > 2 {
		return f[0] + " " + f[1] + " [redacted]"
	}
	return redact(l, secrets)
}
