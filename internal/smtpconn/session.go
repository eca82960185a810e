package smtpconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail/smtp"
)

// The session is driven step by step with go-mail's smtp.Client rather
// than through mail.Client.DialToSMTPClientWithContext, which runs EHLO,
// STARTTLS and AUTH as one call: doing each step here lets errors say which
// step failed (Step, package sender's Error.Stage, the doctor's report),
// lets the sender's Check stop after any step and get the token between
// STARTTLS and AUTH, and lets a 535 5.7.3 be retried with a refreshed
// token.

// Step names the step of an SMTP session where an error happened; package
// sender's Stage values have the same names.
type Step string

// Steps of an SMTP session.
const (
	StepDNS      Step = "dns"
	StepConnect  Step = "connect"
	StepGreeting Step = "greeting"
	StepStartTLS Step = "starttls"
	StepAuth     Step = "auth"
	StepMail     Step = "mail"
	StepRcpt     Step = "rcpt"
	StepData     Step = "data"
)

// StepError is a failure of the session with the step where it happened.
type StepError struct {
	Step Step
	Rcpt string // the refused recipient, for StepRcpt
	Err  error
}

func (e *StepError) Error() string { return e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

func atStep(step Step, err error) error { return &StepError{Step: step, Err: err} }

// Failures of the session that are not server replies nor I/O.
var (
	// ErrNoStartTLS: the server does not offer STARTTLS (the sender never
	// authenticates without TLS).
	ErrNoStartTLS = errors.New("server does not offer STARTTLS")
	// ErrNoTLS12: the TLS handshake ended below TLS 1.2.
	ErrNoTLS12 = errors.New("TLS 1.2 or later was not negotiated")
	// ErrNoSMTPUTF8 stops a transaction whose envelope holds a non-ASCII
	// address when the server did not offer SMTPUTF8 (RFC 6531): it could
	// not take it, and no encoding of an address is allowed in the
	// envelope.
	ErrNoSMTPUTF8 = errors.New("an address is not ASCII and the server does not offer SMTPUTF8")
)

// TooBigError is a message over the SIZE the server advertised.
type TooBigError struct{ Size, Max int64 }

func (e *TooBigError) Error() string {
	return fmt.Sprintf("the message is %d bytes; the server takes at most %d (its SIZE)", e.Size, e.Max)
}

// Dialer makes connections to one server.
type Dialer struct {
	Server  string // host:port
	Host    string // the server's name, for TLS
	EHLO    string // the name the client greets with (LocalName)
	RootCAs *x509.CertPool
	// DialTimeout bounds the TCP connection; CommandTimeout and
	// FinalDotTimeout are DeadlineConn's Idle and FinalDot.
	DialTimeout, CommandTimeout, FinalDotTimeout time.Duration
}

// Conn is one SMTP connection, greeted and upgraded with STARTTLS by Dial;
// Auth authenticates it and Send runs transactions on it.
type Conn struct {
	// Trace receives the session (its Secrets set by Auth).
	Trace *Trace
	// TLSVersion is the TLS version STARTTLS negotiated ("TLS 1.3").
	TLSVersion string
	// Mechanisms are the AUTH mechanisms advertised after STARTTLS, as
	// the server wrote them.
	Mechanisms string
	// Broken reports that the connection cannot carry another command.
	Broken bool

	c        *smtp.Client
	nc       net.Conn
	dc       *DeadlineConn
	tc       *tls.Conn   // after STARTTLS
	rc       *ReplyConn  // under the current smtp.Client
	stop     func() bool // releases the context watch
	host     string
	sizeExt  bool          // the server advertised SIZE after STARTTLS
	size     int64         // the SIZE it advertised; 0: no fixed limit
	finalDot time.Duration // FinalDotTimeout
}

// Dial connects, reads the greeting, says EHLO, upgrades with STARTTLS
// (TLS 1.2 or later, verified against RootCAs) and says EHLO again. The
// connection lives until ctx ends or it is closed; its I/O also ends at
// until (zero: no such bound), and so does the dial. tr receives the
// session. Errors are *StepError.
//
// go-mail's smtp.Client runs on a ReplyConn, which bounds the server's
// replies; the STARTTLS command is sent here rather than by go-mail's
// StartTLS, because that one puts the TLS connection under go-mail's
// reader with no bound and reads the EHLO reply at once. After the
// handshake a second smtp.Client runs on a ReplyConn over the TLS
// connection; smtp.NewClient reads a greeting first, and the ReplyConn
// serves it a fixed "220" line for that (it never reaches the trace).
func (d *Dialer) Dial(ctx context.Context, until time.Time, tr *Trace) (*Conn, error) {
	uctx, cancel := context.WithCancel(ctx)
	if !until.IsZero() {
		uctx, cancel = context.WithDeadline(ctx, until)
	}
	defer cancel()
	nd := net.Dialer{Timeout: d.DialTimeout}
	nc, err := nd.DialContext(uctx, "tcp", d.Server)
	if err != nil {
		var dnse *net.DNSError
		if errors.As(err, &dnse) {
			return nil, atStep(StepDNS, err)
		}
		return nil, atStep(StepConnect, err)
	}
	dc := &DeadlineConn{Conn: nc, Idle: d.CommandTimeout, Until: until, Ctx: ctx}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	c := &Conn{Trace: tr, nc: nc, dc: dc, stop: stop, host: d.Host, finalDot: d.FinalDotTimeout}
	c.Trace.Note("connected to %s", nc.RemoteAddr())

	dc.ExpectReply()
	c.rc = &ReplyConn{Conn: dc}
	c.c, err = smtp.NewClient(c.rc, d.Host)
	if err != nil {
		c.Close()
		return nil, atStep(StepGreeting, c.Cause(err))
	}
	c.traceClient()
	if err := c.c.Hello(d.EHLO); err != nil {
		c.Close()
		return nil, atStep(StepGreeting, c.Cause(err))
	}
	if ok, _ := c.c.Extension("STARTTLS"); !ok {
		c.Close()
		return nil, atStep(StepStartTLS, ErrNoStartTLS)
	}
	tlsConf := &tls.Config{ServerName: d.Host, RootCAs: d.RootCAs, MinVersion: tls.VersionTLS12}
	if err := c.startTLS(uctx, tlsConf, d.EHLO); err != nil {
		c.Close()
		return nil, atStep(StepStartTLS, c.Cause(err))
	}
	st := c.tc.ConnectionState()
	if !st.HandshakeComplete || st.Version < tls.VersionTLS12 {
		c.Close()
		return nil, atStep(StepStartTLS, ErrNoTLS12)
	}
	_, c.Mechanisms = c.c.Extension("AUTH")
	if ok, v := c.c.Extension("SIZE"); ok {
		c.sizeExt = true
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n > 0 {
			c.size = n
		}
	}
	c.TLSVersion = tls.VersionName(st.Version)
	return c, nil
}

// startTLS sends STARTTLS, makes the TLS handshake and greets the server
// again over TLS with a new smtp.Client (see Dial).
func (c *Conn) startTLS(ctx context.Context, conf *tls.Config, ehlo string) error {
	c.Trace.Line("C: ", "STARTTLS")
	id, err := c.c.Text.Cmd("STARTTLS")
	if err != nil {
		return err
	}
	c.c.Text.StartResponse(id)
	code, msg, err := c.c.Text.ReadResponse(220)
	c.c.Text.EndResponse(id)
	if code != 0 {
		c.Trace.Line("S: ", fmt.Sprintf("%d %s", code, msg))
	}
	if err != nil {
		return err
	}
	// Bytes after the 220 and before the handshake would be plaintext
	// injected into the TLS session (the STARTTLS command injection of
	// CVE-2011-0411): refuse them.
	if c.c.Text.R.Buffered() > 0 {
		return ErrInjected
	}
	tc := tls.Client(c.dc, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	rc := &ReplyConn{Conn: tc, Prefix: []byte("220 TLS\r\n")}
	client, err := smtp.NewClient(rc, c.host)
	if err != nil {
		return err
	}
	c.c, c.rc = client, rc
	c.tc = tc
	c.traceClient()
	c.Trace.Note("TLS %s established", tls.VersionName(tc.ConnectionState().Version)[4:])
	return c.c.Hello(ehlo)
}

// Auth authenticates as user with XOAUTH2 and token; the token's forms on
// the wire become the trace's Secrets. On failure the connection is
// closed and the error is a *StepError (StepAuth).
func (c *Conn) Auth(user, token string) error {
	c.Trace.Secrets = XOAuth2Secrets(user, token)
	if err := c.c.Auth(OverTLS{Auth: NewXOAuth2(user, token), TC: c.tc}); err != nil {
		err = FinishChallenge(c.Cause(err))
		c.Close()
		return atStep(StepAuth, err)
	}
	return nil
}

// Cause returns the read failure that made err, when there was one: once
// a read has failed, every later read and write fails with it
// (ReplyConn), so whatever go-mail reports comes from it. go-mail reports
// a failed EHLO as "EHLO/HELO exchange failed" with both errors, though
// ReplyConn kept HELO from being sent; and a reply cut off mid-line by a
// timeout or a dropped connection reaches go-mail as a whole line (bufio's
// ReadLine returns the part it has), which it reports as a "short
// response" or a malformed one.
func (c *Conn) Cause(err error) error {
	if c.rc != nil && c.rc.Err() != nil {
		return c.rc.Err()
	}
	return err
}

// traceClient sends go-mail's protocol log to the trace, when there is one.
func (c *Conn) traceClient() {
	if c.Trace.W == nil {
		return
	}
	c.c.SetLogger(c.Trace)
	c.c.SetDebugLog(true)
	// The trace redacts AUTH itself; go-mail's hiding would also hide
	// the QUIT it sends after a refused AUTH.
	c.c.SetLogAuthData()
}

// Message is what Send sends.
type Message struct {
	From     string // the envelope sender
	SMTPUTF8 bool   // an envelope address is not ASCII
	Size     int64  // the length of Text's output (SIZE=), or 0 when unknown
	Text     io.WriterTo
}

// Send sends m to rcpts as one transaction; its I/O ends at until (zero:
// no such bound), but the wait for the reply to the final dot, which gets
// FinalDotTimeout. dot reports that the final dot was sent: from then on,
// a failure without a reply leaves it unknown whether the server accepted
// the message. Errors are *StepError; after one, Broken says whether the
// connection can carry on (a refused MAIL, RCPT or DATA is reset).
//
// When the server advertised SIZE and the message's size is known, MAIL
// FROM carries SIZE= (RFC 1870), so the server can refuse a message too
// big before it is sent; a message over the SIZE the server advertised is
// refused here, before MAIL FROM (TooBigError).
func (c *Conn) Send(m Message, rcpts []string, until time.Time) (dot bool, err error) {
	c.dc.Until = until
	if ok, _ := c.c.Extension("SMTPUTF8"); m.SMTPUTF8 && !ok {
		return false, atStep(StepMail, ErrNoSMTPUTF8)
	}
	from := "<" + m.From + ">"
	if c.sizeExt && m.Size > 0 {
		if c.size > 0 && m.Size > c.size {
			return false, atStep(StepMail, &TooBigError{Size: m.Size, Max: c.size})
		}
		// go-mail's Mail adds its own parameters (BODY=, SMTPUTF8) after
		// this one; the order of MAIL parameters does not matter.
		from += " SIZE=" + strconv.FormatInt(m.Size, 10)
	}
	if err := c.c.Mail(from); err != nil {
		c.afterFailure(err, true)
		return false, atStep(StepMail, err)
	}
	for _, r := range rcpts {
		if err := c.c.Rcpt("<" + r + ">"); err != nil {
			c.afterFailure(err, true)
			return false, &StepError{Step: StepRcpt, Rcpt: r, Err: err}
		}
	}
	w, err := c.c.Data()
	if err != nil {
		c.afterFailure(err, true)
		return false, atStep(StepData, err)
	}
	n, err := m.Text.WriteTo(w)
	if err != nil {
		// The message text could not be written: the DATA phase cannot be
		// ended cleanly, so the connection is given up.
		c.Broken = true
		return false, atStep(StepData, err)
	}
	c.Trace.Note("message text sent (%d bytes)", n)
	// The final dot goes out in Close, which then waits for the reply,
	// up to FinalDotTimeout.
	c.dc.FinalDot = c.finalDot
	err = w.Close()
	c.dc.FinalDot = 0
	// go-mail does not log the reply to the final dot; the trace shows it.
	if err != nil {
		var te *textproto.Error
		if errors.As(err, &te) {
			c.Trace.Line("S: ", fmt.Sprintf("%d %s", te.Code, te.Msg))
		}
		c.afterFailure(err, false)
		return true, atStep(StepData, err)
	}
	if dc, ok := w.(*smtp.DataCloser); ok {
		c.Trace.Line("S: ", "250 "+dc.ServerResponse())
	}
	return true, nil
}

// afterFailure decides whether c can carry on after err; after a refused
// MAIL/RCPT/DATA the transaction is reset.
func (c *Conn) afterFailure(err error, reset bool) {
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code == 421 {
		c.Broken = true
		return
	}
	if reset {
		if rerr := c.c.Reset(); rerr != nil {
			c.Broken = true
		}
	}
}

// Quit ends the session politely when it still can, and closes. A nil
// Conn is left alone.
func (c *Conn) Quit() {
	if c == nil {
		return
	}
	if !c.Broken && c.c != nil {
		_ = c.c.Quit()
	}
	c.Close()
}

// Close closes the connection at once. A nil Conn is left alone.
func (c *Conn) Close() {
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
