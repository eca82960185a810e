package sender

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/m365send/m365send/internal/smtpconn"

	"golang.org/x/oauth2"

	"github.com/m365send/m365send/internal/failure"
)

// hintReplyTooLong is the hint for smtpconn.ErrReplyTooLong.
const hintReplyTooLong = "the server does not speak SMTP as it should: check smtp_host and smtp_port, and whether a proxy or firewall answers in its place; try again later"

// hintInjected is the hint for smtpconn.ErrInjected.
const hintInjected = "something between this machine and the server tampers with SMTP: check smtp_host and any proxy or firewall in between"

// connect dials, upgrades with STARTTLS and authenticates. After a 535
// 5.7.3 it asks a Refresher for a fresh token once and tries again on a
// new connection. probe, when not nil, learns what each step found. The
// connection lives until ctx ends or it is closed; its I/O also ends at
// until (zero: no such bound), and so do the dial and the token request.
func (s *Sender) connect(ctx context.Context, probe *Probe, until time.Time) (*smtpconn.Conn, *Error) {
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
func (s *Sender) connectOnce(ctx context.Context, probe *Probe, token string, until time.Time) (*smtpconn.Conn, *Error) {
	uctx, cancel := withUntil(ctx, until)
	defer cancel()
	if token == "" && probe == nil {
		var se *Error
		if token, se = s.accessToken(uctx); se != nil {
			return nil, se
		}
	}
	c, err := s.dialer.Dial(ctx, until, s.newTrace())
	if err != nil {
		return nil, s.stepFail(ctx, err)
	}
	if probe != nil {
		probe.TLSVersion = c.TLSVersion
		probe.Mechanisms = strings.Fields(c.Mechanisms)
	}
	if token == "" {
		var se *Error
		if token, se = s.accessToken(uctx); se != nil {
			c.Close()
			return nil, se
		}
	}
	if err := c.Auth(s.cfg.Mailbox, token); err != nil {
		e := s.stepFail(ctx, err, c.Trace.Secrets...)
		if errors.Is(err, smtpconn.ErrNoXOAuth2) {
			e.Text = fmt.Sprintf("server does not offer AUTH XOAUTH2 (offers: %s)", strings.TrimSpace(c.Mechanisms))
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

// stepFail is fail for a *smtpconn.StepError (at its step; a refused
// recipient named), or for a session without STARTTLS or TLS 1.2.
func (s *Sender) stepFail(ctx context.Context, err error, secrets ...string) *Error {
	switch {
	case errors.Is(err, smtpconn.ErrNoStartTLS):
		return noStartTLSError(s.server)
	case errors.Is(err, smtpconn.ErrNoTLS12):
		return noTLS12Error(s.server)
	}
	stage, rcpt := StageData, ""
	var st *smtpconn.StepError
	if errors.As(err, &st) {
		stage, rcpt, err = Stage(st.Step), st.Rcpt, st.Err
	}
	e := s.fail(ctx, stage, err, secrets...)
	e.Recipient = rcpt
	return e
}

// transportKind gives the failures this file makes their kind and hint.
func transportKind(e *Error, err error) {
	var big *smtpconn.TooBigError
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

// hintTooBig is the hint for smtpconn.TooBigError.
const hintTooBig = "send smaller attachments (base64 makes them a third larger), or ask an admin to raise the mailbox's MaxSendSize"

// portHint explains why 465 is refused.
const portHint = "Office 365 does not support implicit TLS on port 465: use port 587 (STARTTLS)"

// setHint gives e its kind and hint.
func setHint(e *Error, kind failure.Kind, hint string) {
	e.kind, e.hint = kind, hint
}
