package sender

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/wneessen/go-mail/smtp"
	"golang.org/x/oauth2"
)

// The connection is driven step by step with go-mail's smtp.Client rather
// than through mail.Client.DialToSMTPClientWithContext, which runs EHLO,
// STARTTLS and AUTH as one call: doing each step here lets errors say which
// step failed (Error.Stage, the doctor's report), lets Check stop after any
// step, and lets a 535 5.7.3 be retried with a refreshed token.

// conn is one authenticated SMTP connection.
type conn struct {
	c      *smtp.Client
	nc     net.Conn
	stop   func() bool // releases the context watch
	trace  *traceLogger
	server string
	broken bool // the connection cannot carry another command
}

// deadlineConn gives every read and write CommandTimeout from its start
// (so a long DATA is not cut off while it progresses) and unblocks when
// ctx ends.
type deadlineConn struct {
	net.Conn
	idle time.Duration
	ctx  context.Context
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	if err := c.arm(c.Conn.SetReadDeadline); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	if err := c.arm(c.Conn.SetWriteDeadline); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// arm sets the deadline, then checks ctx: a cancellation after the check
// is caught by the context.AfterFunc that moves the deadline to the past.
func (c *deadlineConn) arm(set func(time.Time) error) error {
	if c.idle > 0 {
		_ = set(time.Now().Add(c.idle))
	}
	return c.ctx.Err()
}

// localName is the EHLO name: the host name when it looks like one. New
// computes it once per Sender.
func localName() string {
	h, err := os.Hostname()
	if err != nil || h == "" || strings.ContainsAny(h, " \r\n") {
		return "localhost"
	}
	return h
}

// connect dials, upgrades with STARTTLS and authenticates. After a 535
// 5.7.3 it asks a Refresher for a fresh token once and tries again on a
// new connection. probe, when not nil, learns what each step found.
func (s *Sender) connect(ctx context.Context, probe *Probe) (*conn, *Error) {
	var fresh string
	for try := 0; ; try++ {
		c, se := s.connectOnce(ctx, probe, fresh)
		if se == nil {
			return c, nil
		}
		r, canRefresh := s.cfg.Tokens.(Refresher)
		if try > 0 || !canRefresh || se.Stage != StageAuth || se.EnhancedCode != "5.7.3" {
			return nil, se
		}
		s.logger.Info("token refused; refreshing once", "mailbox", s.cfg.Mailbox)
		s.newTrace().note("token refused (535 5.7.3); refreshing it and reconnecting")
		tok, rerr := r.Refresh(ctx)
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

// connectOnce makes one connection; token "" means ask the TokenSource.
// When sending, the token comes first, so a credential or sign-in problem
// never opens an SMTP connection (nor holds one open while Entra ID is
// asked); Check (probe != nil) asks for it only after STARTTLS, so that
// doctor learns about the network even when the token fails.
func (s *Sender) connectOnce(ctx context.Context, probe *Probe, token string) (*conn, *Error) {
	if token == "" && probe == nil {
		var se *Error
		if token, se = s.accessToken(ctx); se != nil {
			return nil, se
		}
	}
	d := net.Dialer{Timeout: s.cfg.DialTimeout}
	nc, err := d.DialContext(ctx, "tcp", s.server)
	if err != nil {
		stage := StageConnect
		var dnse *net.DNSError
		if errors.As(err, &dnse) {
			stage = StageDNS
		}
		return nil, s.fail(ctx, stage, err)
	}
	dc := &deadlineConn{Conn: nc, idle: s.cfg.CommandTimeout, ctx: ctx}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	c := &conn{nc: nc, stop: stop, server: s.server}
	c.trace = s.newTrace()
	c.trace.note("connected to %s", nc.RemoteAddr())

	c.c, err = smtp.NewClient(dc, s.cfg.Host)
	if err != nil {
		c.close()
		return nil, s.fail(ctx, StageGreeting, err)
	}
	if c.trace.w != nil {
		c.c.SetLogger(c.trace)
		c.c.SetDebugLog(true)
		// The trace redacts AUTH itself; go-mail's hiding would also hide
		// the QUIT it sends after a refused AUTH.
		c.c.SetLogAuthData()
	}
	if err := c.c.Hello(s.ehlo); err != nil {
		c.close()
		return nil, s.fail(ctx, StageGreeting, err)
	}
	if ok, _ := c.c.Extension("STARTTLS"); !ok {
		c.close()
		return nil, noStartTLSError(s.server)
	}
	tlsConf := &tls.Config{ServerName: s.cfg.Host, RootCAs: s.cfg.RootCAs, MinVersion: tls.VersionTLS12}
	if err := c.c.StartTLS(tlsConf); err != nil {
		c.close()
		return nil, s.fail(ctx, StageStartTLS, err)
	}
	st, ok := c.c.TLSConnectionState()
	if !ok || !st.HandshakeComplete || st.Version < tls.VersionTLS12 {
		c.close()
		return nil, noTLS12Error(s.server)
	}
	c.trace.note("TLS %s established", tls.VersionName(st.Version)[4:])
	_, mechs := c.c.Extension("AUTH")
	if probe != nil {
		probe.TLSVersion = tls.VersionName(st.Version)
		probe.Mechanisms = strings.Fields(mechs)
	}

	if token == "" {
		var se *Error
		if token, se = s.accessToken(ctx); se != nil {
			c.close()
			return nil, se
		}
	}
	secrets := xoauth2Secrets(s.cfg.Mailbox, token)
	c.trace.secrets = secrets
	if err := c.c.Auth(newXOAuth2(s.cfg.Mailbox, token)); err != nil {
		err = finishChallenge(err)
		c.close()
		e := classify(s.server, StageAuth, s.ctxErr(ctx, err), secrets...)
		// classify makes these three permanent, with their kind and hint.
		if errors.Is(err, errNoXOAuth2) {
			e.Text = fmt.Sprintf("server does not offer AUTH XOAUTH2 (offers: %s)", strings.TrimSpace(mechs))
		}
		return nil, e
	}
	if probe != nil {
		probe.Authenticated = true
	}
	return c, nil
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

// xoauth2Secrets lists the forms a token can take on the wire.
func xoauth2Secrets(user, token string) []string {
	ir := "user=" + user + "\x01auth=Bearer " + token + "\x01\x01"
	return []string{base64.StdEncoding.EncodeToString([]byte(ir)), token}
}

// ctxErr prefers the context's error over the I/O error it caused.
func (s *Sender) ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

func (s *Sender) fail(ctx context.Context, stage Stage, err error) *Error {
	return classify(s.server, stage, s.ctxErr(ctx, err))
}

// submit sends one message on c. accepted reports 250 after the final dot.
func (c *conn) submit(p *prepared) error {
	if err := c.c.Mail("<" + p.from + ">"); err != nil {
		c.afterFailure(err, true)
		return withStage(StageMail, err)
	}
	for _, r := range p.rcpts {
		if err := c.c.Rcpt("<" + r + ">"); err != nil {
			c.afterFailure(err, true)
			return &stageErr{stage: StageRcpt, rcpt: r, err: err}
		}
	}
	w, err := c.c.Data()
	if err != nil {
		c.afterFailure(err, true)
		return withStage(StageData, err)
	}
	cw := &countWriter{w: w}
	if err := p.write(cw); err != nil {
		// The message text could not be written: the DATA phase cannot be
		// ended cleanly, so the connection is given up.
		c.broken = true
		return withStage(StageData, err)
	}
	c.trace.note("message text sent (%d bytes)", cw.n)
	// go-mail does not log the reply to the final dot; the trace shows it.
	if err := w.Close(); err != nil {
		var te *textproto.Error
		if errors.As(err, &te) {
			c.trace.line("S: ", fmt.Sprintf("%d %s", te.Code, te.Msg))
		}
		c.afterFailure(err, false)
		return withStage(StageData, err)
	}
	if dc, ok := w.(*smtp.DataCloser); ok {
		c.trace.line("S: ", "250 "+dc.ServerResponse())
	}
	return nil
}

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

// errBadChallenge reports a 334 challenge whose text is not base64.
var errBadChallenge = errors.New("the server answered AUTH XOAUTH2 with a 334 challenge that is not base64, which means it refused the token")

// finishChallenge turns go-mail's base64 decoding error for a 334
// challenge into errBadChallenge. go-mail decodes the challenge before
// answering it and, when that fails, sends QUIT in place of the empty line
// and drops the server's final reply, so that reply cannot be reported;
// going around go-mail's AUTH for a case Office 365 never produces (it
// answers 535 5.7.3 at once) is not worth a second AUTH implementation.
func finishChallenge(err error) error {
	var corrupt base64.CorruptInputError
	if errors.As(err, &corrupt) {
		return errBadChallenge
	}
	return err
}
