package sender

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/testca"
	"github.com/m365send/m365send/internal/testnet"
	"github.com/m365send/m365send/sender/smtptest"
)

func TestCheckReportsEveryStep(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, nil)
	p, err := s.Check(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Addrs, []string{"127.0.0.1"}) || p.TLSVersion != "TLS 1.3" ||
		!slices.Equal(p.Mechanisms, []string{"LOGIN", "XOAUTH2"}) || !p.Authenticated {
		t.Errorf("probe = %+v", p)
	}
	if len(srv.Messages()) != 0 || srv.Count(smtptest.StageMail) != 0 {
		t.Error("Check sent mail")
	}
}

func TestCheckNamesTheFailingStage(t *testing.T) {
	closedPort := testnet.RefusingPort(t)
	other, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		opts   smtptest.Options
		tokens *tokens
		mod    func(*Config)
		stage  Stage
		code   int
		probe  Probe
		hint   string
	}{
		{name: "connection refused", mod: func(c *Config) { c.Port = closedPort }, stage: StageConnect,
			probe: Probe{Addrs: []string{"127.0.0.1"}}},
		{name: "greeting refused", opts: smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageGreeting, Reply: "554 5.7.1 Service unavailable"}}},
			stage: StageGreeting, code: 554, probe: Probe{Addrs: []string{"127.0.0.1"}}},
		{name: "no STARTTLS", opts: smtptest.Options{NoStartTLS: true}, stage: StageStartTLS,
			probe: Probe{Addrs: []string{"127.0.0.1"}}, hint: "never authenticates without TLS"},
		{name: "untrusted certificate", mod: func(c *Config) { c.RootCAs = other.Pool }, stage: StageStartTLS,
			probe: Probe{Addrs: []string{"127.0.0.1"}}, hint: "ca_file"},
		{name: "token source fails", tokens: &tokens{err: errors.New("AADSTS7000215: Invalid client secret provided")}, stage: StageToken,
			probe: Probe{Addrs: []string{"127.0.0.1"}, TLSVersion: "TLS 1.3", Mechanisms: []string{"LOGIN", "XOAUTH2"}}},
		{name: "SMTP AUTH disabled", opts: smtptest.Options{AuthReply: "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information."},
			stage: StageAuth, code: 535, probe: Probe{Addrs: []string{"127.0.0.1"}, TLSVersion: "TLS 1.3", Mechanisms: []string{"LOGIN", "XOAUTH2"}},
			hint: "Set-CASMailbox"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := startSMTP(t, c.opts)
			ts := c.tokens
			if ts == nil {
				ts = &tokens{current: "t"}
			}
			s, _ := newTestSender(t, srv, ts, c.mod)
			p, err := s.Check(testCtx(t))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if e.Stage != c.stage || e.Code != c.code {
				t.Errorf("stage %s code %d, want %s %d (%v)", e.Stage, e.Code, c.stage, c.code, e)
			}
			if !strings.Contains(e.Hint(), c.hint) {
				t.Errorf("hint %q lacks %q (text %q)", e.Hint(), c.hint, e.Text)
			}
			if p == nil || !slices.Equal(p.Addrs, c.probe.Addrs) || p.TLSVersion != c.probe.TLSVersion ||
				!slices.Equal(p.Mechanisms, c.probe.Mechanisms) || p.Authenticated {
				t.Errorf("probe = %+v, want %+v", p, c.probe)
			}
			if c.stage != StageAuth && srv.Count(smtptest.StageAuth) != 0 {
				t.Error("AUTH was sent")
			}
		})
	}
}

func TestNoAuthWithoutTLS(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{NoStartTLS: true})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, nil)
	_, err := s.Send(testCtx(t), batch(1)...)
	var e *Error
	if !errors.As(err, &e) || e.Stage != StageStartTLS || e.Temporary {
		t.Fatalf("err = %v", err)
	}
	if srv.Count(smtptest.StageAuth) != 0 || srv.Count(smtptest.StageGreeting) != 1 {
		t.Errorf("AUTH sent %d times over %d connections", srv.Count(smtptest.StageAuth), srv.Count(smtptest.StageGreeting))
	}
}

func TestNewRefusesPort465(t *testing.T) {
	_, err := New(Config{Tokens: &tokens{current: "t"}, Mailbox: testMailbox, Port: 465})
	var e *Error
	if !errors.As(err, &e) || e.Stage != StageConfig || !strings.Contains(e.Hint(), "587") {
		t.Fatalf("err = %v", err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no tokens":     {Mailbox: testMailbox},
		"no mailbox":    {Tokens: &tokens{}},
		"named mailbox": {Tokens: &tokens{}, Mailbox: "Alerts <alerts@contoso.com>"},
		"bad port":      {Tokens: &tokens{}, Mailbox: testMailbox, Port: 70000},
		"mailbox CRLF":  {Tokens: &tokens{}, Mailbox: "a@b.com\r\nX: y"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
	s, err := New(Config{Tokens: &tokens{}, Mailbox: testMailbox, MaxConns: 10})
	if err != nil {
		t.Fatal(err)
	}
	if s.server != "smtp.office365.com:587" || cap(s.slots) != 3 || s.pacer == nil || s.pacer.limit != 30 || s.cfg.MaxAttempts != 5 {
		t.Errorf("defaults: server %s, conns %d, pacer %+v, attempts %d", s.server, cap(s.slots), s.pacer, s.cfg.MaxAttempts)
	}
}
