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
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/m365send/m365send/internal/message"
	"github.com/m365send/m365send/internal/rfc5322"
	"github.com/m365send/m365send/internal/smtpconn"

	"golang.org/x/oauth2"

	"github.com/m365send/m365send/internal/cloud"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/wait"
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
	DefaultPort           = cloud.SMTPPort
	DefaultDialTimeout    = 30 * time.Second
	DefaultCommandTimeout = 60 * time.Second
	DefaultMaxConns       = 3  // Exchange Online's concurrent connections per mailbox
	DefaultRatePerMinute  = 30 // Exchange Online's messages per minute per mailbox
	DefaultMaxAttempts    = 5
	// DefaultSendTimeout bounds one message's submission (see
	// Config.SendTimeout).
	DefaultSendTimeout = 5 * time.Minute
	// DefaultFinalDotTimeout is how long the reply to the final dot is
	// waited for: RFC 5321 section 4.5.3.2.6 asks for 10 minutes, because
	// the server may be processing the message (scanning it, storing a
	// copy) before it answers.
	DefaultFinalDotTimeout = 10 * time.Minute
	// MaxRecipients is the most envelope recipients one transaction
	// carries: Exchange Online's limit per message (see
	// docs/microsoft.md). A message with more goes as several
	// transactions with the same text.
	MaxRecipients = 500
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

	DialTimeout time.Duration // default 30s
	// CommandTimeout bounds each SMTP command: its reply must arrive in
	// full within it (a reply dribbled byte by byte does not extend it),
	// as must each write (default 60s).
	CommandTimeout time.Duration
	// FinalDotTimeout bounds the wait for the reply to the final dot
	// (default 10 minutes, RFC 5321's figure).
	FinalDotTimeout time.Duration
	// SendTimeout is the overall deadline of one message: from the moment
	// its turn comes (a connection slot is free) through dialing, the
	// token, every try, backoff and pacing wait, up to the end of its
	// text; only the wait for the final-dot reply may go past it, by at
	// most FinalDotTimeout. So one message takes at most SendTimeout +
	// FinalDotTimeout (default 5 minutes + 10 minutes), whatever the
	// server does. Check is bounded by SendTimeout as well.
	SendTimeout time.Duration

	// MaxConns caps concurrent connections for this mailbox (default and
	// maximum 3, Exchange Online's limit).
	MaxConns int
	// RatePerMinute paces submissions (default 30, Exchange Online's limit;
	// negative: no pacing).
	RatePerMinute int
	// MaxAttempts bounds tries per message for transient failures (default 5).
	MaxAttempts int
	// Shared, when set, holds the mailbox's limits across processes as
	// well (internal/pacing): a connection slot of its own for every
	// connection, and its rate for every message, besides this Sender's.
	Shared SharedLimits

	// Trace receives the SMTP exchange with AUTH redacted (-v), or nil.
	Trace io.Writer
	// Logger receives diagnostics (nil: discard).
	Logger *slog.Logger
}

// SharedLimits are a mailbox's limits held across processes.
type SharedLimits interface {
	// Slot takes a connection slot, waiting while all are held; release
	// gives it back.
	Slot(ctx context.Context) (release func(), err error)
	// Message waits until one more message fits the rate, and counts it.
	Message(ctx context.Context) error
}

// Sender submits messages for one mailbox. Safe for concurrent use.
type Sender struct {
	cfg     Config
	server  string        // host:port
	mailbox *mail.Address // Mailbox, parsed: the default From
	dialer  smtpconn.Dialer
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
	a, err := rfc5322.ParseAddress(cfg.Mailbox)
	if err != nil || a.Name != "" || strings.ContainsAny(cfg.Mailbox, "\r\n") {
		return bad(fmt.Sprintf("mailbox %q is not an address", cfg.Mailbox), "set the mailbox as a bare address, e.g. alerts@contoso.com")
	}
	if cfg.Host == "" {
		// The global cloud's submission host: internal/cloud is the one
		// place a Microsoft host is written.
		global, _ := cloud.Lookup("")
		cfg.Host = global.SMTPHost
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
	if cfg.FinalDotTimeout <= 0 {
		cfg.FinalDotTimeout = DefaultFinalDotTimeout
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = DefaultSendTimeout
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
		dialer: smtpconn.Dialer{Server: net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), Host: cfg.Host, EHLO: smtpconn.LocalName(),
			RootCAs: cfg.RootCAs, DialTimeout: cfg.DialTimeout, CommandTimeout: cfg.CommandTimeout, FinalDotTimeout: cfg.FinalDotTimeout},
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

// Message is one message to send: composed from parts (From, To,
// Subject, Text, HTML, Attachments, ...), or Raw or RawFile, a complete
// message sent byte for byte. Validate checks it; WriteTo writes it as it
// would be sent. Its fields are documented in internal/message.
type Message = message.Message

// Result is the outcome for one message of a Send call.
type Result struct {
	// MessageID is the message's Message-ID header ("<...>"; for a Raw
	// message the one it carries, or "").
	MessageID string
	// Recipients are the envelope recipients: To, Cc and Bcc addresses.
	Recipients []string
	// Accepted are the recipients the server accepted the message for:
	// all of Recipients when Err is nil. A message with more than
	// MaxRecipients recipients goes as several transactions, in order;
	// when one fails, Accepted holds those of the transactions before it
	// (which are never sent again).
	Accepted []string
	// MaybeDuplicate reports that the message may have arrived twice:
	// the server's reply to the final dot was lost (the connection
	// dropped, or no reply came within FinalDotTimeout), so SMTP cannot
	// tell whether the server had accepted it, and the sender sent the
	// whole message once more. It does that at most once per transaction,
	// so a message never goes out in full more than twice. With Err nil,
	// the message arrived at least once and perhaps twice (the copies have
	// the same Message-ID, by which mail clients and Exchange recognise
	// them).
	MaybeDuplicate bool
	// MaybeDelivered reports, with Err not nil, that a reply to the final
	// dot was lost, so the server may have accepted the message even so.
	// When it was sent in full twice without an answer (MaybeDuplicate
	// too), Err is not Temporary: sending it again could make a third
	// copy. A caller that sends it again later (a queue after a Temporary
	// Err) sets Message.SentBefore, so the at-most-twice rule holds over
	// both calls.
	MaybeDelivered bool
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
// Each message is bounded by Config.SendTimeout (plus the wait for the
// final-dot reply).
//
// If the reply to the final dot is lost (the connection breaks, or no
// reply within FinalDotTimeout), the message is sent once more, with the
// same Message-ID, and its Result says it may have arrived twice
// (MaybeDuplicate); it is not sent a third time.
func (s *Sender) Send(ctx context.Context, msgs ...*Message) ([]Result, error) {
	return s.SendEach(ctx, nil, msgs...)
}

// SendEach is Send that also calls each (if not nil) with a message's
// index in msgs and its Result as soon as that message's outcome is known
// (the reply to its final dot, or its refusal), before the next message
// goes out on the connection. A caller that records deliveries (a queue)
// records them there, so that a crash mid-batch resends only the message
// whose result it had not recorded yet. Messages failed without being
// tried (invalid, or after the connection was lost) may not be passed to
// each: their Results are in the returned slice, as with Send. each runs
// on the caller's goroutine; the next message waits for it to return.
func (s *Sender) SendEach(ctx context.Context, each func(i int, r Result), msgs ...*Message) ([]Result, error) {
	results := make([]Result, len(msgs))
	preps := make([]*prepared, len(msgs))
	pending := 0
	for i, m := range msgs {
		mp, err := message.Prepare(m, s.mailbox)
		if err != nil {
			results[i].Err = err
			continue
		}
		p := &prepared{Prepared: mp, sentBefore: m.SentBefore}
		if p.size, err = measure(p); err != nil {
			results[i].Err = err
			continue
		}
		preps[i] = p
		results[i].MessageID = p.MessageID
		results[i].Recipients = p.Rcpts
		pending++
	}
	if pending > 0 {
		s.sendAll(ctx, preps, results, each)
	}
	for _, r := range results {
		if r.Err != nil {
			return results, r.Err
		}
	}
	return results, nil
}

// measure returns the size of p's text, for SIZE=, by writing it to
// nowhere: attachments are read twice (once here), which costs far less
// than sending a message the server then refuses for its size.
func measure(p *prepared) (int64, error) {
	n, err := p.WriteTo(io.Discard)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	return n, nil
}

// prepared is a message of a Send call ready for the wire, with what the
// sender keeps about it.
type prepared struct {
	*message.Prepared
	size       int64 // the length of its text (SIZE=), or 0 when unknown
	sentBefore bool  // Message.SentBefore
	// paced: Config.Shared has already counted its next try (sendAll
	// waits for the first message's turn before it takes a connection).
	paced bool
}

// sendAll sends the prepared messages over one connection, calling each
// (if not nil) after every message tried.
func (s *Sender) sendAll(ctx context.Context, preps []*prepared, results []Result, each func(int, Result)) {
	failRest := func(from int, err error) {
		for j := from; j < len(preps); j++ {
			if preps[j] != nil && results[j].Err == nil {
				results[j].Err = err
			}
		}
	}
	// Wait for the mailbox's rate across processes before taking one of
	// its connections, so that no connection sits idle while others wait.
	if first := firstPrepared(preps); first != nil && s.cfg.Shared != nil {
		if err := s.cfg.Shared.Message(ctx); err != nil {
			failRest(0, classify(s.server, StageConnect, err))
			return
		}
		first.paced = true
	}
	release, err := s.acquireSlot(ctx)
	if err != nil {
		failRest(0, classify(s.server, StageConnect, err))
		return
	}
	defer release()

	var c *smtpconn.Conn
	defer func() { c.Quit() }()
	for i, p := range preps {
		if p == nil {
			continue
		}
		if e := s.sendOne(ctx, &c, p, &results[i]); e != nil {
			results[i].Err = e
			if each != nil {
				each(i, results[i])
			}
			if ctx.Err() != nil || connStage(e.Stage) {
				failRest(i+1, e)
				return
			}
			s.logger.Warn("message not accepted", "message_id", p.MessageID, "error", e)
			continue
		}
		s.logger.Debug("message accepted", "message_id", p.MessageID, "recipients", len(p.Rcpts))
		if each != nil {
			each(i, results[i])
		}
	}
}

// firstPrepared is the first message of preps to send, or nil.
func firstPrepared(preps []*prepared) *prepared {
	for _, p := range preps {
		if p != nil {
			return p
		}
	}
	return nil
}

// acquireSlot takes one of the MaxConns connection slots, and one of
// Config.Shared's when set, waiting while all are in use; it fails only
// when ctx ends first (or Shared fails). release gives them back.
func (s *Sender) acquireSlot(ctx context.Context) (release func(), err error) {
	if err := s.takeSlot(ctx); err != nil {
		return nil, err
	}
	if s.cfg.Shared == nil {
		return s.releaseSlot, nil
	}
	rel, err := s.cfg.Shared.Slot(ctx)
	if err != nil {
		s.releaseSlot()
		return nil, err
	}
	return func() { rel(); s.releaseSlot() }, nil
}

// takeSlot takes one of this process's MaxConns connection slots.
func (s *Sender) takeSlot(ctx context.Context) error {
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

// sendOne submits p within SendTimeout, as one transaction per
// MaxRecipients recipients, and records the outcome in res (but Err).
func (s *Sender) sendOne(ctx context.Context, cp **smtpconn.Conn, p *prepared, res *Result) *Error {
	until := time.Now().Add(s.cfg.SendTimeout)
	for rcpts := range slices.Chunk(p.Rcpts, MaxRecipients) {
		if e := s.sendTxn(ctx, cp, p, rcpts, until, res); e != nil {
			return e
		}
		res.Accepted = append(res.Accepted, rcpts...)
	}
	return nil
}

// sendTxn submits p to rcpts, retrying transient failures; after a lost
// final-dot reply it tries once more at most.
func (s *Sender) sendTxn(ctx context.Context, cp **smtpconn.Conn, p *prepared, rcpts []string, until time.Time, res *Result) *Error {
	lost, firstLost := 0, 0 // tries whose final-dot reply was lost; the first of them
	if p.sentBefore {
		// The caller's own earlier send counts as the lost one (try 0):
		// this call makes one try only.
		lost = 1
		res.MaybeDelivered = true
	}
	for attempt := 1; ; attempt++ {
		e, dot := s.tryOnce(ctx, cp, p, rcpts, until)
		if lost > 0 && dot {
			res.MaybeDuplicate = true
		}
		if e == nil {
			res.MaybeDelivered = false
			return nil
		}
		if dot && e.Code == 0 {
			lost++
			if firstLost == 0 {
				firstLost = attempt
			}
			res.MaybeDelivered = true
			e = lostReply(e, lost)
		}
		if firstLost > 0 && attempt > firstLost || p.sentBefore {
			// The one try after a lost reply is spent.
			return e
		}
		if ctx.Err() != nil || !e.Temporary || attempt >= s.cfg.MaxAttempts || !time.Now().Before(until) {
			return e
		}
		wait := s.backoff(attempt)
		s.logger.Warn("transient failure; retrying", "attempt", attempt, "wait", wait, "error", e)
		s.newTrace().Note("%v; retrying in %v (try %d of %d)", e, wait.Round(time.Millisecond), attempt+1, s.cfg.MaxAttempts)
		uctx, cancel := withUntil(ctx, until)
		err := s.sleep(uctx, wait)
		cancel()
		if err != nil {
			return e
		}
	}
}

// lostReply describes a try whose final-dot reply was lost; after the
// second such try the message may be on the server twice, and the error
// is no longer temporary, so that nobody sends it a third time.
func lostReply(e *Error, n int) *Error {
	cause := e.Text
	if cause == "" && e.Err != nil {
		cause = smtpconn.OneLine(e.Err.Error())
	}
	le := *e
	le.Text = "no reply to the end of the message (" + cause + "): the server may have accepted it"
	if n > 1 {
		le.Temporary = false
		le.Text = "no reply to the end of the message, twice (" + cause + "): the server may have accepted it, even twice"
		setHint(&le, failure.Unavailable, hintLostTwice)
	} else {
		setHint(&le, failure.Temporary, hintLostOnce)
	}
	return &le
}

// Hints for a lost final-dot reply.
const (
	hintLostOnce  = "the connection was lost after the whole message was sent: it may have arrived; sending it again may deliver it twice"
	hintLostTwice = "the message was sent twice and no reply came either time: it may have arrived, even twice; check with a recipient before sending it again"
)

// tryOnce makes one try: connect if needed, pace, submit. dot reports
// that the final dot was sent (so a failure without a reply means the
// message may have arrived).
func (s *Sender) tryOnce(ctx context.Context, cp **smtpconn.Conn, p *prepared, rcpts []string, until time.Time) (e *Error, dot bool) {
	if *cp == nil {
		c, e := s.connect(ctx, nil, until)
		if e != nil {
			return e, false
		}
		*cp = c
	}
	uctx, cancel := withUntil(ctx, until)
	err := s.pacer.wait(uctx, s.now, s.sleep)
	if err == nil && s.cfg.Shared != nil && !p.paced {
		err = s.cfg.Shared.Message(uctx)
	}
	p.paced = false
	cancel()
	if err != nil {
		return classify(s.server, StageMail, err), false
	}
	c := *cp
	dot, err = c.Send(smtpconn.Message{From: p.From, SMTPUTF8: p.SMTPUTF8, Size: p.size, Text: p}, rcpts, until)
	if err == nil {
		return nil, dot
	}
	if c.Broken {
		c.Close()
		*cp = nil
	}
	var st *smtpconn.StepError
	if errors.As(err, &st) {
		st.Err = c.Cause(st.Err)
	}
	return s.stepFail(ctx, err, c.Trace.Secrets...), dot
}

func (s *Sender) newTrace() *smtpconn.Trace {
	return &smtpconn.Trace{Mu: &s.traceMu, W: s.cfg.Trace}
}
