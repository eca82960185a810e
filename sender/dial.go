package sender

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

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
	dc       *deadlineConn
	tc       *tls.Conn   // after STARTTLS
	rc       *replyConn  // under the current smtp.Client
	stop     func() bool // releases the context watch
	trace    *traceLogger
	server   string
	host     string
	sizeExt  bool          // the server advertised SIZE after STARTTLS
	size     int64         // the SIZE it advertised; 0: no fixed limit
	finalDot time.Duration // FinalDotTimeout
	broken   bool          // the connection cannot carry another command
}

// deadlineConn bounds every read and write of the connection.
//
// A write (a command, a piece of the message text) gets CommandTimeout
// from its start, so a long DATA is not cut off while it progresses; the
// reply to a command must then arrive in full within CommandTimeout of
// the command being sent: reads do not move that deadline, so a server
// that dribbles a reply one byte at a time cannot hold a read for longer.
// The reply to the final dot gets FinalDotTimeout instead (finalDot).
// Every deadline is also capped by until, the end of the current
// message's SendTimeout, except the wait for the final-dot reply, which
// RFC 5321 lets last 10 minutes whatever came before. The connection is
// unblocked at once when the context of the Send ends (context.AfterFunc
// in connectOnce).
type deadlineConn struct {
	net.Conn
	idle     time.Duration // CommandTimeout
	finalDot time.Duration // when set, the reply wait after the next writes
	until    time.Time     // the current message's SendTimeout ends; zero: none
	ctx      context.Context
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	now := time.Now()
	_ = c.Conn.SetWriteDeadline(c.cap(now.Add(c.idle)))
	reply := c.cap(now.Add(c.idle))
	if c.finalDot > 0 {
		reply = now.Add(c.finalDot)
	}
	_ = c.Conn.SetReadDeadline(reply)
	return c.Conn.Write(b)
}

// expectReply starts the wait for a reply no command asked for (the
// greeting).
func (c *deadlineConn) expectReply() {
	_ = c.Conn.SetReadDeadline(c.cap(time.Now().Add(c.idle)))
}

// cap limits t to until.
func (c *deadlineConn) cap(t time.Time) time.Time {
	if !c.until.IsZero() && c.until.Before(t) {
		return c.until
	}
	return t
}

// Reply limits. RFC 5321 section 4.5.3.1.5 allows a reply line of 512
// octets; real servers send longer ones (Exchange's 250 after the final
// dot carries an internal message ID), so a line may be 8 times that. A
// whole reply (an EHLO reply is the longest in practice, about ten lines)
// may have at most maxReplyLines lines and maxReplyBytes bytes. Past
// either, the connection is given up: it is a broken or hostile server,
// and reading on would let it fill the memory.
const (
	maxReplyLine  = 4096
	maxReplyLines = 100
	maxReplyBytes = 64 << 10
)

// errReplyTooLong reports a server reply over the limits above.
var errReplyTooLong = errors.New("the server sent a reply longer than any SMTP server sends (over 4 KB in one line, 100 lines or 64 KB)")

// hintReplyTooLong is the hint for errReplyTooLong.
const hintReplyTooLong = "the server does not speak SMTP as it should: check smtp_host and smtp_port, and whether a proxy or firewall answers in its place; try again later"

// replyConn sits between go-mail's reader and the connection (the TCP
// connection before STARTTLS, the TLS connection after it) and enforces
// the reply limits as the bytes arrive, before textproto can buffer them:
// textproto reads a line, and the lines of a multi-line reply, without
// any bound. It follows the replies in the server's byte stream (in SMTP
// the server sends nothing but replies, and a reply ends with a line
// whose fourth character is not '-').
//
// Once a read has failed (a timeout, a dropped connection, a reply over
// the limits), every later read and write fails with the same error at
// once: an SMTP session cannot resume after a lost reply, and go-mail's
// fallback from EHLO to HELO must not wait a second time on a server that
// did not answer EHLO (it still falls back after a 5xx reply to EHLO).
type replyConn struct {
	net.Conn
	prefix []byte // served before the connection's own bytes
	err    error  // sticky read failure

	lineLen int     // bytes of the current line so far
	head    [4]byte // its first bytes: code and separator
	lines   int     // complete lines of the current reply
	// lastClass is the first digit of the last complete reply.
	lastClass byte
	replyLen  int // bytes of the current reply so far
}

func (c *replyConn) Read(b []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	n, err := c.Conn.Read(b)
	if lerr := c.scan(b[:n]); lerr != nil {
		c.err = lerr
		return 0, lerr
	}
	if err != nil {
		c.err = err
	}
	return n, err
}

func (c *replyConn) Write(b []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	// go-mail falls back to HELO after any failed EHLO; RFC 5321 section
	// 3.2 means it for a server that does not know EHLO, which says so
	// with a 5xx reply. After a 4xx (or 421) the server is busy or
	// closing: HELO would only wait again.
	if len(b) >= 5 && strings.EqualFold(string(b[:5]), "HELO ") && c.lastClass != '5' {
		return 0, errNoHELO
	}
	return c.Conn.Write(b)
}

// errNoHELO stops the HELO fallback after an EHLO that was not refused
// with a 5xx reply; the EHLO reply is what go-mail then reports.
var errNoHELO = errors.New("no HELO: the server did not refuse EHLO as unknown")

// scan follows the replies in b and reports a reply over the limits.
func (c *replyConn) scan(b []byte) error {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		chunk := b
		if i >= 0 {
			chunk = b[:i+1]
		}
		if c.lineLen < len(c.head) {
			copy(c.head[c.lineLen:], chunk)
		}
		c.lineLen += len(chunk)
		c.replyLen += len(chunk)
		if c.lineLen > maxReplyLine || c.replyLen > maxReplyBytes {
			return errReplyTooLong
		}
		b = b[len(chunk):]
		if i < 0 {
			break
		}
		last := c.lineLen < 4 || c.head[3] != '-'
		class := c.head[0]
		c.lines++
		c.lineLen, c.head = 0, [4]byte{}
		if last {
			c.lines, c.replyLen = 0, 0
			c.lastClass = class
		} else if c.lines >= maxReplyLines {
			return errReplyTooLong
		}
	}
	return nil
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
		s.newTrace().note("token refused (535 5.7.3); refreshing it and reconnecting")
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
// go-mail's smtp.Client runs on a replyConn, which bounds the server's
// replies; the STARTTLS command is sent here rather than by go-mail's
// StartTLS, because that one puts the TLS connection under go-mail's
// reader with no bound and reads the EHLO reply at once. After the
// handshake a second smtp.Client runs on a replyConn over the TLS
// connection; smtp.NewClient reads a greeting first, and the replyConn
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
	dc := &deadlineConn{Conn: nc, idle: s.cfg.CommandTimeout, until: until, ctx: ctx}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	c := &conn{nc: nc, dc: dc, stop: stop, server: s.server, host: s.cfg.Host}
	c.trace = s.newTrace()
	c.trace.note("connected to %s", nc.RemoteAddr())

	dc.expectReply()
	c.rc = &replyConn{Conn: dc}
	c.c, err = smtp.NewClient(c.rc, s.cfg.Host)
	if err != nil {
		c.close()
		return nil, s.fail(ctx, StageGreeting, err)
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
	secrets := xoauth2Secrets(s.cfg.Mailbox, token)
	c.trace.secrets = secrets
	if err := c.c.Auth(overTLS{Auth: newXOAuth2(s.cfg.Mailbox, token), tc: c.tc}); err != nil {
		err = finishChallenge(c.cause(err))
		c.close()
		e := classify(s.server, StageAuth, s.ctxErr(ctx, err), secrets...)
		// classify makes these three permanent, with their kind and hint.
		if errors.Is(err, errNoXOAuth2) {
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
	c.trace.line("C: ", "STARTTLS")
	id, err := c.c.Text.Cmd("STARTTLS")
	if err != nil {
		return err
	}
	c.c.Text.StartResponse(id)
	code, msg, err := c.c.Text.ReadResponse(220)
	c.c.Text.EndResponse(id)
	if code != 0 {
		c.trace.line("S: ", fmt.Sprintf("%d %s", code, msg))
	}
	if err != nil {
		return err
	}
	// Bytes after the 220 and before the handshake would be plaintext
	// injected into the TLS session (the STARTTLS command injection of
	// CVE-2011-0411): refuse them.
	if c.c.Text.R.Buffered() > 0 {
		return errInjected
	}
	tc := tls.Client(c.dc, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	rc := &replyConn{Conn: tc, prefix: []byte("220 TLS\r\n")}
	client, err := smtp.NewClient(rc, c.host)
	if err != nil {
		return err
	}
	c.c, c.rc = client, rc
	c.tc = tc
	c.traceClient()
	c.trace.note("TLS %s established", tls.VersionName(tc.ConnectionState().Version)[4:])
	return c.c.Hello(ehlo)
}

// cause returns the read failure that made err, when there was one:
// go-mail reports a failed EHLO as "EHLO/HELO exchange failed" with both
// errors, though replyConn kept HELO from being sent.
func (c *conn) cause(err error) error {
	if c.rc != nil && c.rc.err != nil && errors.Is(err, c.rc.err) {
		return c.rc.err
	}
	return err
}

// errInjected reports plaintext sent with the reply to STARTTLS.
var errInjected = errors.New("the server sent more than its reply to STARTTLS before the TLS handshake (possible command injection)")

// hintInjected is the hint for errInjected.
const hintInjected = "something between this machine and the server tampers with SMTP: check smtp_host and any proxy or firewall in between"

// traceClient sends go-mail's protocol log to the trace, when there is one.
func (c *conn) traceClient() {
	if c.trace.w == nil {
		return
	}
	c.c.SetLogger(c.trace)
	c.c.SetDebugLog(true)
	// The trace redacts AUTH itself; go-mail's hiding would also hide
	// the QUIT it sends after a refused AUTH.
	c.c.SetLogAuthData()
}

// overTLS tells the mechanism whether the connection is encrypted:
// go-mail's client runs on a replyConn, not on the *tls.Conn, so it
// cannot tell (ServerInfo.TLS is false); xoauth2 refuses to start unless
// it is true.
type overTLS struct {
	smtp.Auth
	tc *tls.Conn
}

func (a overTLS) Start(si *smtp.ServerInfo) (string, []byte, error) {
	info := *si
	info.TLS = a.tc != nil && a.tc.ConnectionState().HandshakeComplete
	return a.Auth.Start(&info)
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
	case errors.Is(err, errReplyTooLong):
		e.Temporary = true
		setHint(e, failure.Temporary, hintReplyTooLong)
	case errors.Is(err, errInjected):
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
	if ok, _ := c.c.Extension("SMTPUTF8"); p.smtputf8 && !ok {
		return false, withStage(StageMail, errNoSMTPUTF8)
	}
	from := "<" + p.from + ">"
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
	cw := &countWriter{w: w}
	if err := p.write(cw); err != nil {
		// The message text could not be written: the DATA phase cannot be
		// ended cleanly, so the connection is given up.
		c.broken = true
		return false, withStage(StageData, err)
	}
	c.trace.note("message text sent (%d bytes)", cw.n)
	// The final dot goes out in Close, which then waits for the reply,
	// up to FinalDotTimeout.
	c.dc.finalDot = c.finalDot
	err = w.Close()
	c.dc.finalDot = 0
	// go-mail does not log the reply to the final dot; the trace shows it.
	if err != nil {
		var te *textproto.Error
		if errors.As(err, &te) {
			c.trace.line("S: ", fmt.Sprintf("%d %s", te.Code, te.Msg))
		}
		c.afterFailure(err, false)
		return true, withStage(StageData, err)
	}
	if dc, ok := w.(*smtp.DataCloser); ok {
		c.trace.line("S: ", "250 "+dc.ServerResponse())
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

// setHint gives e its kind and hint.
func setHint(e *Error, kind failure.Kind, hint string) {
	e.kind, e.hint = kind, hint
}
