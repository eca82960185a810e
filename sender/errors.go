package sender

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"regexp"
	"strings"

	"github.com/m365send/m365send/internal/connhints"
	"github.com/m365send/m365send/internal/message"
	"github.com/m365send/m365send/internal/smtpconn"

	"github.com/m365send/m365send/internal/failure"
)

// Stage names the step of the SMTP exchange where an error happened.
type Stage string

// Stages of an SMTP exchange; those of the SMTP session are named as
// internal/smtpconn's steps, which stepFail turns into them.
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
var ErrInvalidMessage = message.ErrInvalidMessage

// Error is a failure to submit, with what the server said. Kind and Hint
// say what the failure calls for; cmd maps the kind to an exit status.
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
	// Temporary reports whether the sender may try again (4xx replies,
	// network failures); Send retries only these.
	Temporary bool
	// Err is the underlying error (secrets removed), or nil; Unwrap
	// returns it.
	Err error

	// kind and hint, when set, override what Kind and Hint derive from
	// the fields above.
	kind failure.Kind
	hint string
}

var _ failure.Error = (*Error)(nil)

// Kind says what the failure calls for. A server reply takes the kind of
// its row in ReplyHints; a failure to get a token (StageToken) keeps the
// token error's own kind; StageConfig is failure.Config; network failures
// and timeouts are failure.Temporary; a server certificate that is not
// trusted, is for another host or is invalid, and an SMTP host name that
// does not exist, are failure.Config (the fix is ca_file or smtp_host); a
// server that offers no STARTTLS or no AUTH XOAUTH2 is
// failure.Unavailable; a refused message (ErrInvalidMessage) is
// failure.BadMessage or failure.BadAddress.
func (e *Error) Kind() failure.Kind {
	k, _ := e.describe()
	return k
}

// Hint returns one line saying what to check or do, or "". It is written
// in terms of the library and its configuration (smtp_host, ca_file, ...).
func (e *Error) Hint() string {
	_, h := e.describe()
	return h
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
			b.WriteString(" <" + smtpconn.OneLine(e.Recipient) + ">")
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
			b.WriteString(" " + smtpconn.OneLine(e.Text))
		}
	case e.Text != "":
		b.WriteString(smtpconn.OneLine(e.Text))
	case e.Err != nil:
		b.WriteString(smtpconn.OneLine(e.Err.Error()))
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
	msg = smtpconn.OneLine(msg)
	enh := ""
	if m := enhancedRe.FindStringSubmatch(msg); m != nil {
		enh = m[1] + "." + m[2] + "." + m[3]
		msg = strings.TrimSpace(msg[len(m[0]):])
	}
	return &Error{
		Server:       server,
		Stage:        stage,
		Code:         code,
		EnhancedCode: enh,
		Text:         msg,
		Temporary:    code >= 400 && code < 500,
		Err:          err,
	}
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
		// What the server said, made safe: the token removed wherever it
		// appears, control characters gone; Err carries the same text.
		msg := smtpconn.ServerText(te.Msg, secrets)
		return replyError(server, stage, te.Code, msg, &textproto.Error{Code: te.Code, Msg: msg})
	}
	e := &Error{Server: server, Stage: stage, Err: smtpconn.RedactedErr(err, secrets)}
	var (
		ne   net.Error
		alrt tls.AlertError
		dnse *net.DNSError
	)
	switch {
	case errors.Is(err, context.Canceled):
		e.Text = "canceled"
	case errors.Is(err, smtpconn.ErrNotEncrypted), errors.Is(err, smtpconn.ErrBadChallenge), errors.Is(err, smtpconn.ErrNoXOAuth2),
		errors.Is(err, smtpconn.ErrNoSMTPUTF8),
		connhints.IsCertificateError(err), errors.As(err, &alrt):
		// Permanent: the server would do the same again.
	case errors.As(err, &dnse):
		e.Temporary = dnse.IsTemporary || dnse.IsTimeout
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne):
		e.Temporary = true
	default:
		// Connection resets, EOF from a dropped connection and the like.
		e.Temporary = connhints.IsNetworkish(err)
	}
	return e
}

// Hints for the failures this package finds itself (the others are
// internal/connhints's and internal/replyhints's).
const (
	hintNoStartTLS = "the sender never authenticates without TLS: check smtp_host and smtp_port (Office 365: port 587)"
	hintNoTLS12    = "Office 365 requires TLS 1.2 or later: check for a proxy that downgrades TLS, and smtp_host"
)

// describe returns e's kind and hint: the overrides when set, else what
// the fields say.
func (e *Error) describe() (failure.Kind, string) {
	var k failure.Kind
	var h string
	switch {
	case e.Stage == StageToken:
		// The token error knows its own kind and hint; the sender's are
		// only a fallback.
		if e.Err != nil {
			k, h = failure.KindOf(e.Err), failure.HintOf(e.Err)
		}
		if k == failure.Internal && e.kind != failure.Internal {
			k = e.kind
		}
		if h == "" {
			h = e.hint
		}
		return k, h
	case e.Stage == StageConfig:
		k = failure.Config
	case e.Code != 0:
		r := replyHint(e.Code, e.EnhancedCode, e.Text)
		k, h = r.Kind, r.Hint
	default:
		k, h = e.describeLocal()
	}
	if e.kind != failure.Internal {
		k = e.kind
	}
	if e.hint != "" {
		h = e.hint
	}
	return k, h
}

// describeLocal classifies a failure that is not a server reply: a
// refused message here, the rest (the network, TLS, the server's
// extensions) by internal/connhints.
func (e *Error) describeLocal() (failure.Kind, string) {
	if e.Err != nil && errors.Is(e.Err, ErrInvalidMessage) {
		k := failure.KindOf(e.Err)
		if k == failure.Internal {
			k = failure.BadMessage
		}
		return k, failure.HintOf(e.Err)
	}
	return connhints.Describe(e.Err, string(e.Stage), e.Server, e.Temporary)
}

// noStartTLSError is a server that does not offer STARTTLS: permanent,
// since the sender never authenticates without TLS.
func noStartTLSError(server string) *Error {
	return &Error{Server: server, Stage: StageStartTLS, Text: "server does not offer STARTTLS",
		kind: failure.Unavailable, hint: hintNoStartTLS}
}

// noTLS12Error is a TLS handshake that ended below TLS 1.2.
func noTLS12Error(server string) *Error {
	return &Error{Server: server, Stage: StageStartTLS, Text: "TLS 1.2 or later was not negotiated",
		kind: failure.Unavailable, hint: hintNoTLS12}
}
