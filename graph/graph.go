// Package graph sends mail through Microsoft Graph's sendMail, the second
// transport beside package sender's SMTP AUTH, for tenants and mailboxes
// where SMTP AUTH is turned off or port 587 is blocked.
//
// It posts the very message sender would send, as MIME (base64, with
// Content-Type text/plain), so headers, multipart/alternative bodies and
// attachments arrive byte for byte; envelope recipients the headers do not
// name (Bcc) are written as one Bcc header, which Exchange removes from
// the delivered copies. A message whose request would pass Graph's 4 MB
// limit goes as a draft whose large attachments are uploaded through
// upload sessions, then sent; that needs Mail.ReadWrite as well as
// Mail.Send. Graph's throttling (429 and 503 with Retry-After) is
// honoured, and at most 4 requests per mailbox are in flight at once.
// Failures are *Error values whose Kind and Hint come from ErrorHints.
// docs/graph.md is the user's guide; docs/microsoft.md has the sources.
//
// It takes tokens from any oauth2.TokenSource whose tokens are for
// Microsoft Graph (token.Config.API = token.APIGraph); it does not use the
// Graph SDK, since two endpoints do not need it. It is not a Graph client:
// it only sends mail.
package graph

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365send/m365send/internal/cloud"
	"github.com/m365send/m365send/internal/wait"
	"github.com/m365send/m365send/sender"
)

// Defaults for Config.
const (
	// DefaultMaxConcurrent is Graph's limit of concurrent requests per
	// app and mailbox (docs/microsoft.md).
	DefaultMaxConcurrent = 4
	// DefaultMaxAttempts bounds tries per request for temporary failures.
	DefaultMaxAttempts = 5
	// DefaultMaxRetryWait is the longest Retry-After waited for; a longer
	// one is reported as a Temporary error carrying RetryAfter.
	DefaultMaxRetryWait = 5 * time.Minute
	// DefaultRequestTimeout bounds one HTTP request.
	DefaultRequestTimeout = 5 * time.Minute
	// MaxRequestBytes is Graph's request size limit: a sendMail body (the
	// message in base64) larger than it goes through a draft instead.
	MaxRequestBytes = 4 << 20
)

// Config configures a Sender. Zero values of optional fields are safe
// defaults.
type Config struct {
	// Tokens supplies access tokens for Microsoft Graph; required. Ideally
	// it is also a sender.ContextTokenSource and a sender.Refresher (one
	// fresh token is tried after a 401).
	Tokens oauth2.TokenSource
	// Mailbox is the mailbox sent from (/users/{Mailbox}/sendMail) and the
	// default From; required.
	Mailbox string
	// Endpoint is Graph's base URL (default https://graph.microsoft.com/v1.0;
	// another cloud's host comes from internal/cloud through Cloud).
	Endpoint string
	// Cloud names the cloud whose Graph host the default Endpoint uses
	// (global, usgov, usgovdod, china; "" is global).
	Cloud string
	// RootCAs verifies Graph's certificate (nil: the system roots); unused
	// when HTTPClient is set.
	RootCAs *x509.CertPool
	// HTTPClient makes the requests (nil: TLS 1.2 or later with RootCAs,
	// HTTPS_PROXY honoured, DefaultRequestTimeout per request).
	HTTPClient *http.Client
	// MaxConcurrent caps requests in flight for the mailbox (default and
	// maximum 4).
	MaxConcurrent int
	// MaxAttempts bounds tries per request for temporary failures
	// (default 5).
	MaxAttempts int
	// MaxRetryWait is the longest Retry-After honoured by waiting
	// (default 5 minutes).
	MaxRetryWait time.Duration
	// Sleep waits between tries (nil: a timer that ends early when ctx
	// does). Tests give a fake clock here.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives diagnostics (nil: discard). Never tokens.
	Logger *slog.Logger
}

// Sender sends messages for one mailbox through Graph. It is safe for
// concurrent use and satisfies queue.Transport.
type Sender struct {
	cfg      Config
	base     string // Endpoint + "/users/" + escaped mailbox
	client   *http.Client
	slots    chan struct{}
	log      *slog.Logger
	sleep    func(context.Context, time.Duration) error
	backoff  func(attempt int) time.Duration
	maxBytes int // MaxRequestBytes; tests lower it
}

// New validates cfg and returns a Sender. It does no network I/O.
func New(cfg Config) (*Sender, error) {
	if cfg.Tokens == nil {
		return nil, &Error{Op: OpPrepare, Message: "no token source"}
	}
	if cfg.Mailbox == "" || strings.ContainsAny(cfg.Mailbox, " <>/\\?#") || !strings.Contains(cfg.Mailbox, "@") {
		return nil, &Error{Op: OpPrepare, Message: fmt.Sprintf("mailbox %q is not a bare address", cfg.Mailbox)}
	}
	if cfg.Endpoint == "" {
		cl, err := cloud.Lookup(cfg.Cloud)
		if err != nil {
			return nil, fmt.Errorf("graph: %w", err)
		}
		cfg.Endpoint = "https://" + cl.GraphHost + "/v1.0"
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("graph: endpoint %q is not an https URL", cfg.Endpoint)
	}
	if cfg.MaxConcurrent <= 0 || cfg.MaxConcurrent > DefaultMaxConcurrent {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.MaxRetryWait <= 0 {
		cfg.MaxRetryWait = DefaultMaxRetryWait
	}
	client := cfg.HTTPClient
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = http.ProxyFromEnvironment
		tr.TLSClientConfig = &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
		client = &http.Client{Transport: tr, Timeout: DefaultRequestTimeout}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sleep := cfg.Sleep
	if sleep == nil {
		sleep = wait.Sleep
	}
	return &Sender{
		cfg:      cfg,
		base:     strings.TrimRight(cfg.Endpoint, "/") + "/users/" + url.PathEscape(cfg.Mailbox),
		client:   client,
		slots:    make(chan struct{}, cfg.MaxConcurrent),
		log:      log,
		sleep:    sleep,
		backoff:  backoff,
		maxBytes: MaxRequestBytes,
	}, nil
}

// Mailbox returns the mailbox the Sender sends from.
func (s *Sender) Mailbox() string { return s.cfg.Mailbox }

// Send submits msgs, one request each (or a draft, its uploads and a send
// for a large one), and returns one Result per message and the first
// failure in msgs order, as sender.Sender.Send does. Graph answers 202
// Accepted: Accepted lists every envelope recipient then, since Graph
// reports a recipient it cannot deliver to later, as a bounce. A copy is
// saved in the mailbox's Sent Items (Graph does so for every MIME
// submission).
func (s *Sender) Send(ctx context.Context, msgs ...*sender.Message) ([]sender.Result, error) {
	return s.SendEach(ctx, nil, msgs...)
}

// SendEach is Send that calls each (if not nil) with a message's index
// and Result as soon as its outcome is known, before the next is sent.
func (s *Sender) SendEach(ctx context.Context, each func(i int, r sender.Result), msgs ...*sender.Message) ([]sender.Result, error) {
	results := make([]sender.Result, len(msgs))
	for i, m := range msgs {
		r := &results[i]
		if ctx.Err() != nil {
			r.Err = &Error{Mailbox: s.cfg.Mailbox, Op: OpSend, Err: ctx.Err()}
			continue
		}
		p, err := prepare(m, s.cfg.Mailbox)
		if err != nil {
			r.Err = err
			continue
		}
		r.MessageID, r.Recipients = p.messageID, p.rcpts
		r.MaybeDuplicate, r.Err = s.sendOne(ctx, p, m.SentBefore)
		if r.Err == nil {
			r.Accepted = p.rcpts
			s.log.Debug("message accepted by Graph", "message_id", p.messageID, "recipients", len(p.rcpts))
		} else {
			r.MaybeDelivered = r.MaybeDuplicate
			r.MaybeDuplicate = false
			s.log.Warn("message not accepted by Graph", "message_id", p.messageID, "error", r.Err)
		}
		if each != nil {
			each(i, *r)
		}
	}
	for _, r := range results {
		if r.Err != nil {
			return results, r.Err
		}
	}
	return results, nil
}

// sendOne sends one prepared message; maybe reports that a try's answer
// was lost, so the message may have gone out more than once (or, with an
// error, at all).
func (s *Sender) sendOne(ctx context.Context, p *prepared, sentBefore bool) (maybe bool, err error) {
	if base64.StdEncoding.EncodedLen(len(p.mime)) > s.maxBytes {
		return s.sendLarge(ctx, p, sentBefore)
	}
	body := base64.StdEncoding.EncodeToString(p.mime)
	r := &request{op: OpSend, method: http.MethodPost, url: s.base + "/sendMail",
		contentType: "text/plain", body: []byte(body), auth: true, once: sentBefore, want: http.StatusAccepted}
	_, err = s.do(ctx, r)
	return r.uncertain, err
}

// backoff is the wait before try attempt+1 when Graph gave no
// Retry-After: 1s, 2s, 4s, ... at most 30s.
func backoff(attempt int) time.Duration {
	d := time.Second << min(attempt-1, 5)
	return min(d, 30*time.Second)
}

// errNoAnswer marks a request whose answer never came.
var errNoAnswer = errors.New("no answer from Microsoft Graph")
