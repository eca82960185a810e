package sender

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/m365send/m365send/internal/smtpconn"

	"github.com/wneessen/go-mail/smtp"
	"golang.org/x/oauth2"

	"github.com/m365send/m365send/internal/failure"
)

// The connection is driven step by step with go-mail's smtp.Client rather
// than through mail.Client.DialToSMTPClientWithContext, which runs EHLO,
// STARTTLS and AUTH as one call: doing each step here lets errors say which
// step failed (Error.Stage, the doctor's report), lets Check stop after any
// step, and lets a 535 5.7.3 be retried with a refreshed token.

// conn is one authenticated SMTP connection.
type conn struct {
	c        *smtp.Client
	nc       net.Conn
	dc       *smtpconn.DeadlineConn
	tc       *tls.Conn           // after STARTTLS
	rc       *smtpconn.ReplyConn // under the current smtp.Client
	stop     func() bool         // releases the context watch
	trace    *smtpconn.Trace
	server   string
	host     string
	sizeExt  bool          // the server advertised SIZE after STARTTLS
	size     int64         // the SIZE it advertised; 0: no fixed limit
	finalDot time.Duration // FinalDotTimeout
	broken   bool          // the connection cannot carry another command
}

// hintReplyTooLong is the hint for smtpconn.ErrReplyTooLong.
const hintReplyTooLong = "the server does not speak SMTP as it should: check smtp_host and smtp_port, and whether a proxy or firewall answers in its place; try again later"

// connect dials, upgrades with STARTTLS and authenticates. After a 535
// 5.7.3 it asks a Refresher for a fresh token once and tries again on a
// new connection. probe, when not nil, learns what each step found. The
// connection lives until ctx ends or it is closed; its I/O also ends at
// until (zero: no such bound), and so do the dial and the token request.
func (s *Sender) connect(ctx context.Context, probe *Probe, until time.Time) (*conn, *Error) {
	var fresh string
	for try := 0; ; try++ {
		c, se := s.connectOnce(ctx, probe, fresh, until)
		if se == nil {
			return c, nil
		}
		r, canRefresh := s.cfg.Tokens.(Refresher)
		if try > 0 || !canRefresh || se.Stage != StageAuth || se.EnhancedCode != "5.7.3" {
			return nil, se
		}
		s.logger.Info("token refused; refreshing once", "mailbox", s.cfg.Mailbox)
		s.newTrace().Note("token refused (535 5.7.3); refreshing it and reconnecting")
		tctx, cancel := withUntil(ctx, until)
		tok, rerr := r.Refresh(tctx)
		cancel()
		if rerr != nil {
			return nil, &Error{Server: s.server, Stage: StageToken, Err: fmt.Errorf("refresh token after 535 5.7.3: %w", rerr),
				Temporary: false, hint: se.Hint()}
		}
		if tok == nil || tok.AccessToken == "" {
			return nil, se
		}
		fresh = tok.AccessToken
	}
}

// withUntil is ctx ending at until as well (zero: no change).
func withUntil(ctx context.Context, until time.Time) (context.Context, context.CancelFunc) {
	if until.IsZero() {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, until)
}

// connectOnce makes one connection; token "" means ask the TokenSource.
// When sending, the token comes first, so a credential or sign-in problem
// never opens an SMTP connection (nor holds one open while Entra ID is
// asked); Check (probe != nil) asks for it only after STARTTLS, so that
// doctor learns about the network even when the token fails.
//
// go-mail's smtp.Client runs on a smtpconn.ReplyConn, which bounds the server's
// replies; the STARTTLS command is sent here rather than by go-mail's
// StartTLS, because that one puts the TLS connection under go-mail's
// reader with no bound and reads the EHLO reply at once. After the
// handshake a second smtp.Client runs on a smtpconn.ReplyConn over the TLS
// connection; smtp.NewClient reads a greeting first, and the smtpconn.ReplyConn
// serves it a fixed "220" line for that (it never reaches the trace).
func (s *Sender) connectOnce(ctx context.Context, probe *Probe, token string, until time.Time) (*conn, *Error) {
	uctx, cancel := withUntil(ctx, until)
	defer cancel()
	if token == "" && probe == nil {
		var se *Error
		if token, se = s.accessToken(uctx); se != nil {
			return nil, se
		}
	}
	d := net.Dialer{Timeout: s.cfg.DialTimeout}
	nc, err := d.DialContext(uctx, "tcp", s.server)
	if err != nil {
		stage := StageConnect
		var dnse *net.DNSError
		if errors.As(err, &dnse) {
			stage = StageDNS
		}
		return nil, s.fail(ctx, stage, err)
	}
	dc := &smtpconn.DeadlineConn{Conn: nc, Idle: s.cfg.CommandTimeout, Until: until, Ctx: ctx}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	c := &conn{nc: nc, dc: dc, stop: stop, server: s.server, host: s.cfg.Host}
	c.trace = s.newTrace()
	c.trace.Note("connected to %s", nc.RemoteAddr())

	dc.ExpectReply()
	c.rc = &smtpconn.ReplyConn{Conn: dc}
	c.c, err = smtp.NewClient(c.rc, s.cfg.Host)
	if err != nil {
		c.close()
		return nil, s.fail(ctx, StageGreeting, c.cause(err))
	}
	c.traceClient()
	if err := c.c.Hello(s.ehlo); err != nil {
		c.close()
		return nil, s.fail(ctx, StageGreeting, c.cause(err))
	}
	if ok, _ := c.c.Extension("STARTTLS"); !ok {
		c.close()
		return nil, noStartTLSError(s.server)
	}
	tlsConf := &tls.Config{ServerName: s.cfg.Host, RootCAs: s.cfg.RootCAs, MinVersion: tls.VersionTLS12}
	if err := c.startTLS(uctx, tlsConf, s.ehlo); err != nil {
		c.close()
		return nil, s.fail(ctx, StageStartTLS, c.cause(err))
	}
	st := c.tc.ConnectionState()
	if !st.HandshakeComplete || st.Version < tls.VersionTLS12 {
		c.close()
		return nil, noTLS12Error(s.server)
	}
	_, mechs := c.c.Extension("AUTH")
	if ok, v := c.c.Extension("SIZE"); ok {
		c.sizeExt = true
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n > 0 {
			c.size = n
		}
	}
	if probe != nil {
		probe.TLSVersion = tls.VersionName(st.Version)
		probe.Mechanisms = strings.Fields(mechs)
	}

	if token == "" {
		var se *Error
		if token, se = s.accessToken(uctx); se != nil {
			c.close()
			return nil, se
		}
	}
	secrets := smtpconn.XOAuth2Secrets(s.cfg.Mailbox, token)
	c.trace.Secrets = secrets
	if err := c.c.Auth(smtpconn.OverTLS{Auth: smtpconn.NewXOAuth2(s.cfg.Mailbox, token), TC: c.tc}); err != nil {
		err = smtpconn.FinishChallenge(c.cause(err))
		c.close()
		e := classify(s.server, StageAuth, s.ctxErr(ctx, err), secrets...)
		// classify makes these three permanent, with their kind and hint.
		if errors.Is(err, smtpconn.ErrNoXOAuth2) {
			e.Text = fmt.Sprintf("server does not offer AUTH XOAUTH2 (offers: %s)", strings.TrimSpace(mechs))
		}
		transportKind(e, err)
		return nil, e
	}
	if probe != nil {
		probe.Authenticated = true
	}
	return c, nil
}

// startTLS sends STARTTLS, makes the TLS handshake and greets the server
// again over TLS with a new smtp.Client (see connectOnce).
func (c *conn) startTLS(ctx context.Context, conf *tls.Config, ehlo string) error {
	c.trace.Line("C: ", "STARTTLS")
	id, err := c.c.Text.Cmd("STARTTLS")
	if err != nil {
		return err
	}
	c.c.Text.StartResponse(id)
	code, msg, err := c.c.Text.ReadResponse(220)
	c.c.Text.EndResponse(id)
	if code != 0 {
		c.trace.Line("S: ", fmt.Sprintf("%d %s", code, msg))
	}
	if err != nil {
		return err
	}
	// Bytes after the 220 and before the handshake would be plaintext
	// injected into the TLS session (the STARTTLS command injection of
	// CVE-2011-0411): refuse them.
	if c.c.Text.R.Buffered() > 0 {
		return smtpconn.ErrInjected
	}
	tc := tls.Client(c.dc, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	rc := &smtpconn.ReplyConn{Conn: tc, Prefix: []byte("220 TLS\r\n")}
	client, err := smtp.NewClient(rc, c.host)
	if err != nil {
		return err
	}
	c.c, c.rc = client, rc
	c.tc = tc
	c.traceClient()
	c.trace.Note("TLS %s established", tls.VersionName(tc.ConnectionState().Version)[4:])
	return c.c.Hello(ehlo)
}

// cause returns the read failure that made err, when there was one: once
// a read has failed, every later read and write fails with it
// (smtpconn.ReplyConn), so whatever go-mail reports comes from it. go-mail
// reports a failed EHLO as "EHLO/HELO exchange failed" with both errors,
// though smtpconn.ReplyConn kept HELO from being sent; and a reply cut
// off mid-line by a timeout or a dropped connection reaches go-mail as a
// whole line (bufio's ReadLine returns the part it has), which it reports
// as a "short response" or a malformed one.
func (c *conn) cause(err error) error {
	if c.rc != nil && c.rc.Err() != nil {
		return c.rc.Err()
	}
	return err
}

// hintInjected is the hint for smtpconn.ErrInjected.
const hintInjected = "something between this machine and the server tampers with SMTP: check smtp_host and any proxy or firewall in between"

// traceClient sends go-mail's protocol log to the trace, when there is one.
func (c *conn) traceClient() {
	if c.trace.W == nil {
		return
	}
	c.c.SetLogger(c.trace)
	c.c.SetDebugLog(true)
	// The trace redacts AUTH itself; go-mail's hiding would also hide
	// the QUIT it sends after a refused AUTH.
	c.c.SetLogAuthData()
}

// accessToken gets a non-empty access token from the token source, or the
// *Error (StageToken) that says why not.
func (s *Sender) accessToken(ctx context.Context) (string, *Error) {
	tok, err := s.token(ctx)
	if err != nil {
		return "", &Error{Server: s.server, Stage: StageToken, Err: fmt.Errorf("get token: %w", err)}
	}
	if tok == nil || tok.AccessToken == "" {
		return "", &Error{Server: s.server, Stage: StageToken, Text: "the token source returned an empty token"}
	}
	return tok.AccessToken, nil
}

// token asks the token source, under ctx when it takes one.
func (s *Sender) token(ctx context.Context) (*oauth2.Token, error) {
	if cts, ok := s.cfg.Tokens.(ContextTokenSource); ok {
		return cts.TokenContext(ctx)
	}
	tok, err := s.cfg.Tokens.Token()
	if err == nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return tok, err
}

// ctxErr prefers the context's error over the I/O error it caused.
func (s *Sender) ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// fail classifies err; secrets (the token's forms on the wire, once AUTH
// has sent it) are removed from whatever the server said.
func (s *Sender) fail(ctx context.Context, stage Stage, err error, secrets ...string) *Error {
	e := classify(s.server, stage, s.ctxErr(ctx, err), secrets...)
	transportKind(e, err)
	return e
}

// transportKind gives the failures this file makes their kind and hint.
func transportKind(e *Error, err error) {
	var big *tooBigError
	switch {
	case errors.Is(err, smtpconn.ErrReplyTooLong):
		e.Temporary = true
		setHint(e, failure.Temporary, hintReplyTooLong)
	case errors.Is(err, smtpconn.ErrInjected):
		e.Temporary = false
		setHint(e, failure.Unavailable, hintInjected)
	case errors.As(err, &big):
		e.Temporary = false
		setHint(e, failure.BadMessage, hintTooBig)
	}
}

// submit sends p to rcpts on c, as one transaction. dot reports that the
// final dot was sent: from then on, a failure without a reply leaves it
// unknown whether the server accepted the message.
//
// When the server advertised SIZE and the message's size is known, MAIL
// FROM carries SIZE= (RFC 1870), so the server can refuse a message too
// big before it is sent; a message over the SIZE the server advertised is
// refused here, before MAIL FROM, as BadMessage.
func (c *conn) submit(p *prepared, rcpts []string) (dot bool, err error) {
	if ok, _ := c.c.Extension("SMTPUTF8"); p.SMTPUTF8 && !ok {
		return false, withStage(StageMail, errNoSMTPUTF8)
	}
	from := "<" + p.From + ">"
	if c.sizeExt && p.size > 0 {
		if c.size > 0 && p.size > c.size {
			return false, &stageErr{stage: StageMail, err: &tooBigError{size: p.size, max: c.size}}
		}
		// go-mail's Mail adds its own parameters (BODY=, SMTPUTF8) after
		// this one; the order of MAIL parameters does not matter.
		from += " SIZE=" + strconv.FormatInt(p.size, 10)
	}
	if err := c.c.Mail(from); err != nil {
		c.afterFailure(err, true)
		return false, withStage(StageMail, err)
	}
	for _, r := range rcpts {
		if err := c.c.Rcpt("<" + r + ">"); err != nil {
			c.afterFailure(err, true)
			return false, &stageErr{stage: StageRcpt, rcpt: r, err: err}
		}
	}
	w, err := c.c.Data()
	if err != nil {
		c.afterFailure(err, true)
		return false, withStage(StageData, err)
	}
	n, err := p.WriteTo(w)
	if err != nil {
		// The message text could not be written: the DATA phase cannot be
		// ended cleanly, so the connection is given up.
		c.broken = true
		return false, withStage(StageData, err)
	}
	c.trace.Note("message text sent (%d bytes)", n)
	// The final dot goes out in Close, which then waits for the reply,
	// up to FinalDotTimeout.
	c.dc.FinalDot = c.finalDot
	err = w.Close()
	c.dc.FinalDot = 0
	// go-mail does not log the reply to the final dot; the trace shows it.
	if err != nil {
		var te *textproto.Error
		if errors.As(err, &te) {
			c.trace.Line("S: ", fmt.Sprintf("%d %s", te.Code, te.Msg))
		}
		c.afterFailure(err, false)
		return true, withStage(StageData, err)
	}
	if dc, ok := w.(*smtp.DataCloser); ok {
		c.trace.Line("S: ", "250 "+dc.ServerResponse())
	}
	return true, nil
}

// tooBigError is a message over the SIZE the server advertised.
type tooBigError struct{ size, max int64 }

func (e *tooBigError) Error() string {
	return fmt.Sprintf("the message is %d bytes; the server takes at most %d (its SIZE)", e.size, e.max)
}

// hintTooBig is the hint for tooBigError.
const hintTooBig = "send smaller attachments (base64 makes them a third larger), or ask an admin to raise the mailbox's MaxSendSize"

// afterFailure decides whether c can carry on after err; after a refused
// MAIL/RCPT/DATA the transaction is reset.
func (c *conn) afterFailure(err error, reset bool) {
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code == 421 {
		c.broken = true
		return
	}
	if reset {
		if rerr := c.c.Reset(); rerr != nil {
			c.broken = true
		}
	}
}

// stageErr carries the stage of a submission error until classify.
type stageErr struct {
	stage Stage
	rcpt  string
	err   error
}

func (e *stageErr) Error() string { return e.err.Error() }
func (e *stageErr) Unwrap() error { return e.err }

func withStage(stage Stage, err error) error { return &stageErr{stage: stage, err: err} }

// quit ends the session politely when it still can, and closes.
func (c *conn) quit() {
	if c == nil {
		return
	}
	if !c.broken && c.c != nil {
		_ = c.c.Quit()
	}
	c.close()
}

func (c *conn) close() {
	if c == nil {
		return
	}
	if c.c != nil {
		_ = c.c.Close()
	} else {
		_ = c.nc.Close()
	}
	c.stop()
}

// portHint explains why 465 is refused.
const portHint = "Office 365 does not support implicit TLS on port 465: use port 587 (STARTTLS)"

// setHint gives e its kind and hint.
func setHint(e *Error, kind failure.Kind, hint string) {
	e.kind, e.hint = kind, hint
}
