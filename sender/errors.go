package sender

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"regexp"
	"strings"
)

// Stage names the step of the SMTP exchange where an error happened.
type Stage string

// Stages of an SMTP exchange.
const (
	StageConfig   Stage = "config"
	StageDNS      Stage = "dns"
	StageConnect  Stage = "connect"
	StageGreeting Stage = "greeting"
	StageStartTLS Stage = "starttls"
	StageToken    Stage = "token"
	StageAuth     Stage = "auth"
	StageMail     Stage = "mail"
	StageRcpt     Stage = "rcpt"
	StageData     Stage = "data"
)

// ErrInvalidMessage is wrapped by every error of Message.Validate: the
// message itself is unsendable or unsafe (exit 65 in the CLI).
var ErrInvalidMessage = errors.New("invalid message")

// Error is a failure to submit, with what the server said and what to do.
type Error struct {
	// Server is "host:port" of the submission server.
	Server string
	// Stage is the step of the exchange that failed.
	Stage Stage
	// Recipient is the refused address, for StageRcpt.
	Recipient string
	// Code is the SMTP reply code, or 0 for network and local failures.
	Code int
	// EnhancedCode is the enhanced status code, such as "5.7.3", or "".
	EnhancedCode string
	// Text is the server's reply text after the codes, or a description
	// of the failure (tokens never appear here).
	Text string
	// Temporary reports whether trying again later may succeed (4xx
	// replies, network failures).
	Temporary bool
	// Hint is one line saying what to do, or "".
	Hint string
	// Err is the underlying error (secrets removed), or nil; Unwrap
	// returns it.
	Err error
}

// Error returns one line: "host:port: stage: 535 5.7.3 text" for a server
// reply ("host:port: rcpt <addr>: ..." for a refused recipient),
// "host:port: stage: cause" otherwise. The hint is not included.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Server != "" {
		b.WriteString(e.Server)
		b.WriteString(": ")
	}
	if e.Stage != "" {
		b.WriteString(string(e.Stage))
		if e.Recipient != "" {
			b.WriteString(" <" + e.Recipient + ">")
		}
		b.WriteString(": ")
	}
	switch {
	case e.Code != 0:
		fmt.Fprintf(&b, "%d", e.Code)
		if e.EnhancedCode != "" {
			b.WriteString(" " + e.EnhancedCode)
		}
		if e.Text != "" {
			b.WriteString(" " + e.Text)
		}
	case e.Text != "":
		b.WriteString(e.Text)
	case e.Err != nil:
		b.WriteString(oneLine(e.Err.Error()))
	default:
		b.WriteString("failed")
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

var enhancedRe = regexp.MustCompile(`^([245])\.(\d{1,3})\.(\d{1,3})(\s+|$)`)

// replyError builds an *Error from a server reply.
func replyError(server string, stage Stage, code int, msg string, err error) *Error {
	msg = oneLine(msg)
	enh := ""
	if m := enhancedRe.FindStringSubmatch(msg); m != nil {
		enh = m[1] + "." + m[2] + "." + m[3]
		msg = strings.TrimSpace(msg[len(m[0]):])
	}
	e := &Error{
		Server:       server,
		Stage:        stage,
		Code:         code,
		EnhancedCode: enh,
		Text:         msg,
		Temporary:    code >= 400 && code < 500,
		Err:          err,
	}
	e.Hint = hintFor(e)
	return e
}

// classify turns any error from an SMTP step into an *Error. secrets are
// removed from every text that could carry them.
func classify(server string, stage Stage, err error, secrets ...string) *Error {
	if err == nil {
		return nil
	}
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		e := replyError(server, stage, te.Code, redact(te.Msg, secrets), redactedErr(err, secrets))
		return e
	}
	e := &Error{Server: server, Stage: stage, Err: redactedErr(err, secrets)}
	var (
		uae  x509.UnknownAuthorityError
		hne  x509.HostnameError
		cie  x509.CertificateInvalidError
		alrt tls.AlertError
		ne   net.Error
		dnse *net.DNSError
	)
	switch {
	case errors.Is(err, context.Canceled):
		e.Text = "canceled"
	case errors.As(err, &uae):
		e.Hint = "the server's certificate is not signed by a trusted authority: behind a TLS-inspecting proxy or in a private cloud, set ca_file (M365SEND_CA_FILE) to its root certificate"
	case errors.As(err, &hne):
		e.Hint = "the server's certificate does not match the host name: check smtp_host"
	case errors.As(err, &cie):
		e.Hint = "the server's certificate is invalid or expired: check the system clock and ca_file"
	case errors.As(err, &alrt):
		e.Hint = "the TLS handshake failed: Office 365 requires TLS 1.2 or later; a proxy may be interfering"
	case errors.As(err, &dnse):
		e.Temporary = dnse.IsTemporary || dnse.IsTimeout
		e.Hint = "the SMTP host name does not resolve: check smtp_host and the network's DNS"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne):
		e.Temporary = true
	default:
		// Connection resets, EOF from a dropped connection and the like.
		e.Temporary = isNetworkish(err)
	}
	return e
}

func isNetworkish(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	s := err.Error()
	for _, w := range []string{"EOF", "connection reset", "broken pipe", "use of closed network connection", "connection refused"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// minSecret is the shortest string treated as a secret: real tokens are
// long JWTs, and replacing a one-letter test token would mangle every text.
const minSecret = 8

// redact removes every secret from s.
func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= minSecret {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// redactedErr keeps err unless its text carries a secret.
func redactedErr(err error, secrets []string) error {
	msg := err.Error()
	if clean := redact(msg, secrets); clean != msg {
		return errors.New(clean)
	}
	return err
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "; ")
}
