// Package sender submits mail to Office 365 (smtp.office365.com:587) over
// STARTTLS with SASL XOAUTH2, using github.com/wneessen/go-mail.
//
// It takes tokens from any oauth2.TokenSource; it does not know MSAL. See
// the token package for obtaining tokens.
//
// API CONTRACT (skeleton): the exported names below are what the CLI builds
// against. Bodies are filled in by the sender issue (#3).
package sender

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"time"

	"golang.org/x/oauth2"
)

// Refresher is implemented by token sources that can be forced to obtain a
// fresh token; the sender uses it once after 535 5.7.3.
type Refresher interface {
	Refresh(ctx context.Context) (*oauth2.Token, error)
}

// Config configures a Sender. Zero values of optional fields are safe
// defaults.
type Config struct {
	Tokens  oauth2.TokenSource // required; a Refresher too, ideally
	Mailbox string             // XOAUTH2 user= and default From; required

	Host string // default smtp.office365.com
	Port int    // default 587; 465 is refused with a hint

	RootCAs *x509.CertPool // nil: the system roots

	DialTimeout    time.Duration // default 30s
	CommandTimeout time.Duration // default 60s per SMTP command

	// MaxConns caps concurrent connections for this mailbox (default and
	// maximum 3, Exchange Online's limit).
	MaxConns int
	// RatePerMinute paces submissions (default 30, Exchange Online's limit;
	// negative: no pacing).
	RatePerMinute int
	// MaxAttempts bounds tries per message for transient failures (default 5).
	MaxAttempts int

	// Trace receives the SMTP exchange with AUTH redacted (-v), or nil.
	Trace io.Writer
	// Logger receives diagnostics (nil: discard).
	Logger *slog.Logger
}

// Sender submits messages for one mailbox. Safe for concurrent use.
type Sender struct{}

// New validates cfg and returns a Sender. It does no I/O.
func New(cfg Config) (*Sender, error) { return nil, errors.New("not implemented") }

// Message is one message to send: composed from parts, or Raw.
type Message struct {
	// From is the header and envelope sender; "" means the mailbox.
	From     string
	FromName string
	To       []string
	Cc       []string
	Bcc      []string // envelope only, never in the headers
	ReplyTo  string
	Subject  string
	Text     string
	HTML     string
	// Attachments are file paths, streamed when sent; the MIME type comes
	// from the content.
	Attachments []string
	// Inline are image file paths referenced from HTML as cid:<base name>.
	Inline []string
	// Headers are extra "Name: value" header lines.
	Headers []string

	// Raw, when set, is a complete RFC 5322 message sent byte for byte
	// (line endings made CRLF on the wire); envelope recipients are To, Cc
	// and Bcc above, and the envelope sender is From (or the mailbox).
	Raw []byte
}

// Validate reports problems that would make the message unsendable or
// unsafe (no recipient, malformed address, CR/LF in a header value).
func (m *Message) Validate() error { return errors.New("not implemented") }

// WriteTo writes the message exactly as it would be sent (for --dry-run).
func (m *Message) WriteTo(w io.Writer) (int64, error) { return 0, errors.New("not implemented") }

// Result is the outcome for one message of a Send call.
type Result struct {
	MessageID  string
	Recipients []string
	Err        error // nil when the server accepted the message
}

// Send submits msgs, reusing connections, retrying transient failures and
// never resending an accepted message. It returns one Result per message,
// and an error (a *Error where the server or network said why) if any
// message was not accepted.
func (s *Sender) Send(ctx context.Context, msgs ...*Message) ([]Result, error) {
	return nil, errors.New("not implemented")
}

// Probe is what Check learned about the server, for `m365send doctor`.
type Probe struct {
	Addrs         []string // resolved addresses
	TLSVersion    string   // negotiated by STARTTLS
	Mechanisms    []string // AUTH mechanisms advertised after STARTTLS
	Authenticated bool     // AUTH XOAUTH2 succeeded
}

// Check connects, upgrades with STARTTLS, reads the AUTH mechanisms and
// authenticates, without sending mail. On failure it returns what it
// learned so far and a *Error whose Stage names the failing step.
func (s *Sender) Check(ctx context.Context) (*Probe, error) {
	return nil, errors.New("not implemented")
}

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

// Error is a failure to submit, with what the server said and what to do.
type Error struct {
	Stage        Stage
	Code         int    // SMTP reply code, or 0 for network failures
	EnhancedCode string // such as 5.7.3
	Text         string // the server's text (tokens never appear here)
	Temporary    bool   // worth retrying later (4xx, network)
	Hint         string // one line saying what to do, or ""
	Err          error
}

func (e *Error) Error() string { return "not implemented" }
func (e *Error) Unwrap() error { return e.Err }
