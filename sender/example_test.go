package sender_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"golang.org/x/oauth2"

	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/sender/smtptest"
)

// startFake runs the fake Office 365 server; real code talks to
// smtp.office365.com:587 with the system's roots and needs neither Host,
// Port nor RootCAs.
func startFake(opts smtptest.Options) *smtptest.Server {
	srv, err := smtptest.New(opts)
	if err != nil {
		log.Fatal(err)
	}
	return srv
}

func Example() {
	srv := startFake(smtptest.Options{})
	defer srv.Close()

	// Any oauth2.TokenSource works; the token package provides one backed
	// by Entra ID (and a Refresher, used once after 535 5.7.3).
	tokens := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "eyJ0eXAi..."})
	s, err := sender.New(sender.Config{
		Tokens:  tokens,
		Mailbox: "alerts@contoso.com",
		Host:    srv.Host(), Port: srv.Port(), RootCAs: srv.RootCAs(),
	})
	if err != nil {
		log.Fatal(err)
	}
	_, err = s.Send(context.Background(), &sender.Message{
		FromName: "Contoso Alerts",
		To:       []string{"ops@example.com"},
		Subject:  "Disk full on db1",
		Text:     "/var is at 97%.",
	})
	if err != nil {
		log.Fatal(err)
	}
	m := srv.Messages()[0]
	fmt.Println("user:", m.User)
	fmt.Println("envelope:", m.From, "->", m.To)
	// Output:
	// user: alerts@contoso.com
	// envelope: alerts@contoso.com -> [ops@example.com]
}

// Send takes many messages and sends them over one connection.
func ExampleSender_Send() {
	srv := startFake(smtptest.Options{})
	defer srv.Close()
	s, err := sender.New(sender.Config{
		Tokens:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "eyJ0eXAi..."}),
		Mailbox: "alerts@contoso.com",
		Host:    srv.Host(), Port: srv.Port(), RootCAs: srv.RootCAs(),
		RatePerMinute: -1, // no pacing; Exchange allows 30 a minute
	})
	if err != nil {
		log.Fatal(err)
	}
	var msgs []*sender.Message
	for _, host := range []string{"db1", "db2", "web1"} {
		msgs = append(msgs, &sender.Message{To: []string{"ops@example.com"}, Subject: host + " is down", Text: "Paged."})
	}
	results, err := s.Send(context.Background(), msgs...)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range results {
		fmt.Println(r.Err == nil, strings.HasSuffix(r.MessageID, "@contoso.com>"))
	}
	fmt.Println("connections:", srv.Count(smtptest.StageGreeting))
	// Output:
	// true true
	// true true
	// true true
	// connections: 1
}

// A failure is a *sender.Error with the server's reply and a hint.
func ExampleError() {
	srv := startFake(smtptest.Options{
		AuthReply: "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.",
	})
	defer srv.Close()
	s, err := sender.New(sender.Config{
		Tokens:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "eyJ0eXAi..."}),
		Mailbox: "alerts@contoso.com",
		Host:    srv.Host(), Port: srv.Port(), RootCAs: srv.RootCAs(),
	})
	if err != nil {
		log.Fatal(err)
	}
	_, err = s.Send(context.Background(), &sender.Message{To: []string{"ops@example.com"}, Text: "hi"})
	var e *sender.Error
	if errors.As(err, &e) {
		fmt.Println(e.Stage, e.Code, e.EnhancedCode, e.Temporary)
		fmt.Println(e.Hint())
	}
	// Output:
	// auth 535 5.7.139 false
	// SMTP AUTH is disabled: run Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false (or Set-TransportConfig -SmtpClientAuthenticationDisabled $false for the tenant)
}

// Check walks through DNS, TCP, STARTTLS and AUTH without sending mail,
// for `m365send doctor`.
func ExampleSender_Check() {
	srv := startFake(smtptest.Options{})
	defer srv.Close()
	s, err := sender.New(sender.Config{
		Tokens:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "eyJ0eXAi..."}),
		Mailbox: "alerts@contoso.com",
		Host:    srv.Host(), Port: srv.Port(), RootCAs: srv.RootCAs(),
	})
	if err != nil {
		log.Fatal(err)
	}
	p, err := s.Check(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Addrs, p.TLSVersion, p.Mechanisms, p.Authenticated)
	// Output:
	// [127.0.0.1] TLS 1.3 [LOGIN XOAUTH2] true
}

func ExampleMessage_Validate() {
	m := &sender.Message{
		To:      []string{"ops@example.com"},
		Subject: "hello\r\nBcc: victim@example.com",
	}
	err := m.Validate()
	fmt.Println(errors.Is(err, sender.ErrInvalidMessage))
	fmt.Println(err)
	// Output:
	// true
	// invalid message: Subject contains CR or LF (header injection)
}

// Port 465 (implicit TLS) is refused before any connection.
func ExampleNew_port465() {
	_, err := sender.New(sender.Config{
		Tokens:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"}),
		Mailbox: "alerts@contoso.com",
		Port:    465,
	})
	var e *sender.Error
	if errors.As(err, &e) {
		fmt.Println(e)
		fmt.Println(e.Hint())
	}
	// Output:
	// config: port 465 (implicit TLS) is not supported
	// Office 365 does not support implicit TLS on port 465: use port 587 (STARTTLS)
}
