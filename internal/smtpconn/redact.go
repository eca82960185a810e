package smtpconn

import (
	"errors"
	"strings"

	"github.com/m365send/m365send/internal/safetext"
)

// MinSecret is the shortest string treated as a secret: real tokens are
// long JWTs, and replacing a one-letter test token would mangle every text.
const MinSecret = 8

// Redact removes every secret from s.
func Redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= MinSecret {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// RedactedErr keeps err unless its text carries a secret.
func RedactedErr(err error, secrets []string) error {
	msg := err.Error()
	if clean := Redact(msg, secrets); clean != msg {
		return errors.New(clean)
	}
	return err
}

// OneLine puts text on one line that is safe for a terminal: the lines of
// a multi-line reply are joined with "; ", then internal/safetext turns
// every control character (a lone CR, ESC, BEL, DEL, C1 controls) into a
// space.
func OneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\n", "; ")
	return safetext.OneLine(s)
}

// ServerText makes text the server sent fit for an error, a hint, a trace
// or JSON: on one line, without control characters and without any of
// the secrets (redacted before and after, so that no cleaning can join a
// secret back together).
func ServerText(s string, secrets []string) string {
	return Redact(OneLine(Redact(s, secrets)), secrets)
}
