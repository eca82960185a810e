package transport_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/graph"
	"github.com/m365send/m365send/graph/graphtest"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/sender/smtptest"
	"github.com/m365send/m365send/token"
	"github.com/m365send/m365send/token/entratest"
	"github.com/m365send/m365send/transport"
)

var (
	_ transport.Transport = (*sender.Sender)(nil)
	_ transport.Transport = (*graph.Sender)(nil)
	_ transport.Transport = (*transport.Switcher)(nil)
)

const (
	clientID = "11111111-2222-3333-4444-555555555555"
	secret   = "s3cret-value-never-logged"
	mailbox  = "alerts@contoso.com"
)

type fakes struct {
	smtp  *smtptest.Server
	graph *graphtest.Server
	sw    *transport.Switcher
	warns []string
}

// newFakes starts entratest, smtptest (with smtpOpts) and graphtest, and a
// Switcher over senders for both.
func newFakes(t testing.TB, smtpOpts smtptest.Options, state string) *fakes {
	t.Helper()
	a, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	if err := a.AddApp(entratest.App{ClientID: clientID, Secret: secret, Mailboxes: []string{mailbox}}); err != nil {
		t.Fatal(err)
	}
	cert := a.ServerCertificate()
	smtpOpts.Certificate, smtpOpts.Verify = &cert, a.Verify
	sm, err := smtptest.New(smtpOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sm.Close() })
	gr, err := graphtest.New(graphtest.Options{Certificate: &cert, Verify: a.VerifyGraph})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gr.Close)
	cache := filepath.Join(t.TempDir(), "m365send", "alerts.json")
	src := func(api token.API) *token.Source {
		s, err := token.New(token.Config{Flow: token.FlowClientCredentials, Tenant: a.TenantDomain(), ClientID: clientID, ClientSecret: secret,
			AuthorityHost: a.URL(), HTTPClient: a.HTTPClient(), CacheFile: cache, API: api})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ss, err := sender.New(sender.Config{Tokens: src(token.APIExchange), Mailbox: mailbox, Host: sm.Host(), Port: sm.Port(), RootCAs: a.RootCAs(), MaxAttempts: 1, RatePerMinute: -1})
	if err != nil {
		t.Fatal(err)
	}
	gs, err := graph.New(graph.Config{Tokens: src(token.APIGraph), Mailbox: mailbox, Endpoint: gr.URL(), RootCAs: a.RootCAs()})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakes{smtp: sm, graph: gr}
	f.sw = &transport.Switcher{SMTP: ss, Graph: gs, StateFile: state, Warn: func(l string) { f.warns = append(f.warns, l) }}
	return f
}

func msg() *sender.Message {
	return &sender.Message{To: []string{"bob@fabrikam.com"}, Bcc: []string{"audit@contoso.com"}, Subject: "s", Text: "t"}
}

// 535 5.7.139 (SMTP AUTH disabled): the message goes over Graph, the
// switch is said once and remembered for an hour in the state file.
func TestAutoSwitchesToGraphWhenSMTPAuthIsDisabled(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state", "transport-alerts")
	f := newFakes(t, smtptest.Options{AuthReply: "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information."}, state)
	var seen []int
	res, err := f.sw.SendEach(context.Background(), func(i int, r sender.Result) {
		if r.Err != nil {
			t.Errorf("each saw a failure: %v", r.Err)
		}
		seen = append(seen, i)
	}, msg(), msg())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || len(f.graph.Messages()) != 2 || len(f.smtp.Messages()) != 0 || len(seen) != 2 {
		t.Fatalf("results %d, graph %d, smtp %d, each %v", len(res), len(f.graph.Messages()), len(f.smtp.Messages()), seen)
	}
	if len(f.warns) != 1 || !strings.Contains(f.warns[0], "5.7.139") || !strings.Contains(f.warns[0], "Microsoft Graph") {
		t.Fatalf("warnings %q", f.warns)
	}
	// The next call goes straight to Graph, without a word.
	auths := f.smtp.Count(smtptest.StageAuth)
	if _, err := f.sw.Send(context.Background(), msg()); err != nil {
		t.Fatal(err)
	}
	if f.smtp.Count(smtptest.StageAuth) != auths || len(f.warns) != 1 || len(f.graph.Messages()) != 3 {
		t.Fatal("the switch did not hold in this process")
	}
	// A later run (a new Switcher) reads the state file: within the hour
	// it uses Graph, after it SMTP again.
	later := &transport.Switcher{SMTP: f.sw.SMTP, Graph: f.sw.Graph, StateFile: state, Now: func() time.Time { return time.Now().Add(59 * time.Minute) }}
	if _, err := later.Send(context.Background(), msg()); err != nil || f.smtp.Count(smtptest.StageAuth) != auths {
		t.Fatalf("within the hour: err %v, SMTP tried %v", err, f.smtp.Count(smtptest.StageAuth) != auths)
	}
	after := &transport.Switcher{SMTP: f.sw.SMTP, Graph: f.sw.Graph, StateFile: state, Now: func() time.Time { return time.Now().Add(61 * time.Minute) }}
	_, _ = after.Send(context.Background(), msg())
	if f.smtp.Count(smtptest.StageAuth) == auths {
		t.Fatal("after the hour SMTP was not tried again")
	}
}

// 550 5.1.10 (a recipient that does not exist) is no reason to switch:
// Graph would refuse it too.
func TestAutoDoesNotSwitchOnABadRecipient(t *testing.T) {
	f := newFakes(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageRcpt, Reply: "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"}}}, "")
	_, err := f.sw.Send(context.Background(), msg())
	var se *sender.Error
	if !errors.As(err, &se) || se.EnhancedCode != "5.1.10" || failure.KindOf(err) != failure.BadAddress {
		t.Fatalf("err %v", err)
	}
	if len(f.graph.Messages()) != 0 || f.graph.Requests("") != 0 || len(f.warns) != 0 {
		t.Fatalf("switched: graph %d requests, warnings %q", f.graph.Requests(""), f.warns)
	}
}

// A port nothing listens on is a reason to switch.
func TestAutoSwitchesWhenThePortCannotBeReached(t *testing.T) {
	f := newFakes(t, smtptest.Options{}, "")
	_ = f.smtp.Close() // nothing listens on its port now
	if _, err := f.sw.Send(context.Background(), msg()); err != nil {
		t.Fatal(err)
	}
	if len(f.graph.Messages()) != 1 || len(f.warns) != 1 || !strings.Contains(f.warns[0], "587") {
		t.Fatalf("graph %d, warnings %q", len(f.graph.Messages()), f.warns)
	}
}
