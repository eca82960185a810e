// Package sender submits mail to Office 365 (smtp.office365.com:587) over
// STARTTLS with SASL XOAUTH2, using github.com/wneessen/go-mail.
//
// It takes tokens from any oauth2.TokenSource; it does not know MSAL. See
// the token package for obtaining tokens.
//
// A Sender sends many messages over one connection, re-dials when the
// server drops it, retries transient failures (4xx replies, network
// errors) with capped exponential backoff and jitter, and never resends a
// message the server confirmed accepting (see Sender.Send for a reply lost
// after the final dot). It keeps to Exchange Online's per-mailbox
// limits: at most 3 connections and, by default, 30 messages a minute.
// Failures are *Error values carrying the SMTP reply and a one-line hint.
//
// Security: STARTTLS is mandatory (TLS 1.2 or later, certificates always
// verified), AUTH is never sent before it, only XOAUTH2 is used, and
// tokens never appear in errors, logs or the protocol trace.
//
// It is not a general-purpose SMTP client: it speaks to Office 365's
// submission endpoint (or a server that behaves like it, such as
// sender/smtptest).
package sender

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"sync"
	"time"

	"github.com/m365send/m365send/internal/wait"
	"golang.org/x/oauth2"
)

// Refresher is implemented by token sources that can be forced to obtain a
// fresh token; the sender uses it once after 535 5.7.3.
type Refresher interface {
	Refresh(ctx context.Context) (*oauth2.Token, error)
}

// ContextTokenSource is implemented by token sources that can be asked for
// a token under a context (*token.Source is one). The sender prefers it to
// oauth2.TokenSource.Token, so that Send's context also bounds the wait for
// a token.
type ContextTokenSource interface {
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// Defaults for Config.
const (
	DefaultHost           = "smtp.office365.com"
	DefaultPort           = 587
	DefaultDialTimeout    = 30 * time.Second
	DefaultCommandTimeout = 60 * time.Second
	DefaultMaxConns       = 3  // Exchange Online's concurrent connections per mailbox
	DefaultRatePerMinute  = 30 // Exchange Online's messages per minute per mailbox
	DefaultMaxAttempts    = 5
)

// Config configures a Sender. Zero values of optional fields are safe
// defaults.
type Config struct {
	// Tokens supplies access tokens; required. Ideally it is also a
	// ContextTokenSource (else Send's context cannot interrupt Token) and a
	// Refresher.
	Tokens  oauth2.TokenSource
	Mailbox string // XOAUTH2 user= and default From; required

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
type Sender struct {
	cfg     Config
	server  string        // host:port
	mailbox *mail.Address // Mailbox, parsed: the default From
	ehlo    string        // the EHLO name, from localName
	logger  *slog.Logger
	slots   chan struct{} // one per allowed connection
	pacer   *pacer
	traceMu sync.Mutex

	// Clock and backoff, replaced by tests so they never wait real time.
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
	backoff func(attempt int) time.Duration
	// slotWait, set by tests, is called when a Send or Check finds all
	// MaxConns connections in use, just before it waits for one.
	slotWait func()
}

// New validates cfg and returns a Sender. It does no network I/O. Errors are
// *Error with Stage StageConfig.
func New(cfg Config) (*Sender, error) {
	bad := func(text, hint string) (*Sender, error) {
		return nil, &Error{Stage: StageConfig, Text: text, hint: hint}
	}
	if cfg.Tokens == nil {
		return bad("no token source", "")
	}
	if cfg.Mailbox == "" {
		return bad("no mailbox", "set the mailbox the token may send as (M365SEND_MAILBOX)")
	}
	a, err := parseAddr("mailbox", cfg.Mailbox)
	if err != nil || a.Name != "" {
		return bad(fmt.Sprintf("mailbox %q is not an address", cfg.Mailbox), "set the mailbox as a bare address, e.g. alerts@contoso.com")
	}
	if cfg.Host == "" {
		cfg.Host = DefaultHost
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if cfg.Port == 465 {
		return bad("port 465 (implicit TLS) is not supported", portHint)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return bad(fmt.Sprintf("port %d is out of range", cfg.Port), "Office 365 listens on port 587")
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = DefaultCommandTimeout
	}
	if cfg.MaxConns <= 0 || cfg.MaxConns > DefaultMaxConns {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.RatePerMinute == 0 {
		cfg.RatePerMinute = DefaultRatePerMinute
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sender{
		cfg:     cfg,
		server:  net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)),
		mailbox: a,
		ehlo:    localName(),
		logger:  logger,
		slots:   make(chan struct{}, cfg.MaxConns),
		now:     time.Now,
		sleep:   wait.Sleep,
		backoff: backoff,
	}
	if cfg.RatePerMinute > 0 {
		s.pacer = &pacer{limit: cfg.RatePerMinute, window: time.Minute}
	}
	return s, nil
}

// Result is the outcome for one message of a Send call.
type Result struct {
	// MessageID is the message's Message-ID header ("<...>"; for a Raw
	// message the one it carries, or "").
	MessageID string
	// Recipients are the envelope recipients: To, Cc and Bcc addresses.
	Recipients []string
	// Err is nil when the server accepted the message.
	Err error
}

// Send submits msgs, reusing connections, retrying transient failures and
// never resending a message whose acceptance the server confirmed. It
// returns one Result per message, and an error (a *Error where the server
// or network said why) if any message was not accepted: the first failure
// in msgs order.
//
// Messages are validated first; one that fails Message.Validate gets an
// error wrapping ErrInvalidMessage and is not sent. The messages of one
// call go over one connection, in order, closed with QUIT at the end;
// concurrent calls use at most MaxConns connections. A 5xx reply fails
// that message at once and the batch goes on; a connection that cannot be
// made (TLS, AUTH refused, tries used up) fails the messages not yet sent.
//
// If the connection breaks after the final dot but before the server's
// reply, the message is sent again, with the same Message-ID: SMTP cannot
// tell whether it arrived, so when the server had accepted it, it arrives
// twice.
func (s *Sender) Send(ctx context.Context, msgs ...*Message) ([]Result, error) {
	results := make([]Result, len(msgs))
	preps := make([]*prepared, len(msgs))
	pending := 0
	for i, m := range msgs {
		p, err := m.prepare(s.mailbox)
		if err != nil {
			results[i].Err = err
			continue
		}
		preps[i] = p
		results[i].MessageID = p.messageID
		results[i].Recipients = p.rcpts
		pending++
	}
	if pending > 0 {
		s.sendAll(ctx, preps, results)
	}
	for _, r := range results {
		if r.Err != nil {
			return results, r.Err
		}
	}
	return results, nil
}

// sendAll sends the prepared messages over one connection.
func (s *Sender) sendAll(ctx context.Context, preps []*prepared, results []Result) {
	failRest := func(from int, err error) {
		for j := from; j < len(preps); j++ {
			if preps[j] != nil && results[j].Err == nil {
				results[j].Err = err
			}
		}
	}
	if err := s.acquireSlot(ctx); err != nil {
		failRest(0, classify(s.server, StageConnect, err))
		return
	}
	defer s.releaseSlot()

	var c *conn
	defer func() { c.quit() }()
	for i, p := range preps {
		if p == nil {
			continue
		}
		if e := s.sendOne(ctx, &c, p); e != nil {
			results[i].Err = e
			if ctx.Err() != nil || connStage(e.Stage) {
				failRest(i+1, e)
				return
			}
			s.logger.Warn("message not accepted", "message_id", p.messageID, "error", e)
			continue
		}
		s.logger.Debug("message accepted", "message_id", p.messageID, "recipients", len(p.rcpts))
	}
}

// acquireSlot takes one of the MaxConns connection slots, waiting while
// all are in use; it fails only when ctx ends first. releaseSlot gives the
// slot back.
func (s *Sender) acquireSlot(ctx context.Context) error {
	select {
	case s.slots <- struct{}{}:
		return nil
	default:
	}
	// Every connection is in use: wait for one to end.
	if s.slotWait != nil {
		s.slotWait()
	}
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Sender) releaseSlot() { <-s.slots }

// connStage reports whether a failure at stage concerns the connection
// rather than one message.
func connStage(st Stage) bool {
	switch st {
	case StageMail, StageRcpt, StageData:
		return false
	}
	return true
}

// sendOne submits p, retrying transient failures.
func (s *Sender) sendOne(ctx context.Context, cp **conn, p *prepared) *Error {
	for attempt := 1; ; attempt++ {
		e := s.tryOnce(ctx, cp, p)
		if e == nil {
			return nil
		}
		if ctx.Err() != nil || !e.Temporary || attempt >= s.cfg.MaxAttempts {
			return e
		}
		wait := s.backoff(attempt)
		s.logger.Warn("transient failure; retrying", "attempt", attempt, "wait", wait, "error", e)
		s.newTrace().note("%v; retrying in %v (try %d of %d)", e, wait.Round(time.Millisecond), attempt+1, s.cfg.MaxAttempts)
		if err := s.sleep(ctx, wait); err != nil {
			return e
		}
	}
}

// tryOnce makes one try: connect if needed, pace, submit.
func (s *Sender) tryOnce(ctx context.Context, cp **conn, p *prepared) *Error {
	if *cp == nil {
		c, e := s.connect(ctx, nil)
		if e != nil {
			return e
		}
		*cp = c
	}
	if err := s.pacer.wait(ctx, s.now, s.sleep); err != nil {
		return classify(s.server, StageMail, err)
	}
	c := *cp
	err := c.submit(p)
	if err == nil {
		return nil
	}
	if c.broken {
		c.close()
		*cp = nil
	}
	stage, rcpt := StageData, ""
	var st *stageErr
	if errors.As(err, &st) {
		stage, rcpt, err = st.stage, st.rcpt, st.err
	}
	e := s.fail(ctx, stage, err)
	e.Recipient = rcpt
	return e
}

func (s *Sender) newTrace() *traceLogger {
	return &traceLogger{mu: &s.traceMu, w: s.cfg.Trace}
}
