package graph_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365send/m365send/graph"
	"github.com/m365send/m365send/graph/graphtest"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/sender/smtptest"
	"github.com/m365send/m365send/token"
	"github.com/m365send/m365send/token/entratest"
)

const (
	clientID = "11111111-2222-3333-4444-555555555555"
	secret   = "s3cret-value-never-logged"
	mailbox  = "alerts@contoso.com"
)

// env is an entratest authority, a graphtest server trusting its tokens,
// and a token source for Graph.
type env struct {
	a      *entratest.Authority
	g      *graphtest.Server
	tokens *token.Source
}

func newEnv(t testing.TB, graphRoles []string, opts graphtest.Options) *env {
	t.Helper()
	a, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	if err := a.AddApp(entratest.App{ClientID: clientID, Secret: secret, Mailboxes: []string{mailbox}, GraphRoles: graphRoles}); err != nil {
		t.Fatal(err)
	}
	cert := a.ServerCertificate()
	opts.Certificate = &cert
	opts.Verify = a.VerifyGraph
	g, err := graphtest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	tokens, err := token.New(token.Config{Flow: token.FlowClientCredentials, Tenant: a.TenantDomain(), ClientID: clientID,
		ClientSecret: secret, AuthorityHost: a.URL(), HTTPClient: a.HTTPClient(), API: token.APIGraph})
	if err != nil {
		t.Fatal(err)
	}
	return &env{a: a, g: g, tokens: tokens}
}

func (e *env) sender(t testing.TB, adjust func(*graph.Config)) *graph.Sender {
	t.Helper()
	cfg := graph.Config{Tokens: e.tokens, Mailbox: mailbox, Endpoint: e.g.URL(), RootCAs: e.a.RootCAs(),
		Sleep: func(context.Context, time.Duration) error { return nil }}
	if adjust != nil {
		adjust(&cfg)
	}
	s, err := graph.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The same message (text + HTML + attachment + a Bcc) goes over SMTP to
// smtptest and over Graph to graphtest: the bytes each records are the
// same, and so are the recipients.
func TestSameMessageSameBytesAndRecipientsOverSMTPAndGraph(t *testing.T) {
	e := newEnv(t, nil, graphtest.Options{})
	pdf := writeFile(t, "report.pdf", append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("0123456789abcdef"), 4000)...))
	composed := &sender.Message{From: mailbox, To: []string{"Bob <bob@fabrikam.com>"}, Cc: []string{"carol@fabrikam.com"},
		Bcc: []string{"audit@contoso.com"}, Subject: "Quarterly report", Text: "See the attachment.\n", HTML: "<p>See the <b>attachment</b>.</p>",
		Attachments: []string{pdf}}
	var raw bytes.Buffer
	if _, err := composed.WriteTo(&raw); err != nil {
		t.Fatal(err)
	}
	msg := &sender.Message{Raw: raw.Bytes(), To: composed.To, Cc: composed.Cc, Bcc: composed.Bcc}

	// SMTP.
	a := e.a
	if err := a.AddApp(entratest.App{ClientID: "smtp-app", Secret: secret, Mailboxes: []string{mailbox}}); err != nil {
		t.Fatal(err)
	}
	cert := a.ServerCertificate()
	smtp, err := smtptest.New(smtptest.Options{Certificate: &cert, Verify: a.Verify})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = smtp.Close() })
	smtpTokens, err := token.New(token.Config{Flow: token.FlowClientCredentials, Tenant: a.TenantDomain(), ClientID: "smtp-app",
		ClientSecret: secret, AuthorityHost: a.URL(), HTTPClient: a.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	ss, err := sender.New(sender.Config{Tokens: smtpTokens, Mailbox: mailbox, Host: smtp.Host(), Port: smtp.Port(), RootCAs: a.RootCAs()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	// Graph.
	res, err := e.sender(t, nil).Send(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	sm, gm := smtp.Messages(), e.g.Messages()
	if len(sm) != 1 || len(gm) != 1 {
		t.Fatalf("smtptest has %d messages, graphtest %d", len(sm), len(gm))
	}
	if !bytes.Equal(sm[0].Data, gm[0].Data) {
		t.Fatalf("bytes differ:\nSMTP:\n%.600s\nGraph:\n%.600s", sm[0].Data, gm[0].Data)
	}
	if bytes.Contains(gm[0].Data, []byte("audit@contoso.com")) {
		t.Fatal("the Bcc recipient shows in the delivered message")
	}
	want, got := slices.Sorted(slices.Values(sm[0].To)), slices.Sorted(slices.Values(gm[0].Recipients))
	if !slices.Equal(want, got) || len(want) != 3 {
		t.Fatalf("recipients: SMTP %q, Graph %q", want, got)
	}
	if r := res[0]; r.MessageID == "" || !slices.Equal(r.Accepted, r.Recipients) || len(r.Accepted) != 3 {
		t.Fatalf("result %+v", r)
	}
}

// A composed message from the mailbox (From left empty) carries From:
// the mailbox, as over SMTP, and its Bcc recipient gets it.
func TestComposedMessageWithBccOnly(t *testing.T) {
	e := newEnv(t, nil, graphtest.Options{})
	_, err := e.sender(t, nil).Send(context.Background(), &sender.Message{Bcc: []string{"hidden@fabrikam.com"}, Subject: "s", Text: "t"})
	if err != nil {
		t.Fatal(err)
	}
	m := e.g.Messages()[0]
	if !slices.Equal(m.Recipients, []string{"hidden@fabrikam.com"}) || !bytes.Contains(m.Data, []byte("From: <"+mailbox+">")) || bytes.Contains(m.Data, []byte("hidden@")) {
		t.Fatalf("recorded %q\n%s", m.Recipients, m.Data)
	}
}

// A raw message whose To header names someone not among the recipients
// is refused: Graph would deliver to them, SMTP would not.
func TestHeaderRecipientOutsideTheEnvelopeIsRefused(t *testing.T) {
	e := newEnv(t, nil, graphtest.Options{})
	raw := []byte("From: alerts@contoso.com\r\nTo: everyone@contoso.com\r\nSubject: x\r\n\r\nbody\r\n")
	_, err := e.sender(t, nil).Send(context.Background(), &sender.Message{Raw: raw, To: []string{"ops@contoso.com"}})
	if failure.KindOf(err) != failure.BadMessage || !strings.Contains(failure.HintOf(err), "SMTP") {
		t.Fatalf("err %v, kind %s, hint %q", err, failure.KindOf(err), failure.HintOf(err))
	}
	if e.g.Requests("") != 0 {
		t.Fatal("a request was made")
	}
}

// A 10 MB attachment goes through a draft and an upload session.
func TestTenMegabyteAttachmentGoesThroughUploadSession(t *testing.T) {
	e := newEnv(t, []string{entratest.GraphSendRole, entratest.GraphReadWriteRole}, graphtest.Options{})
	data := make([]byte, 10<<20)
	_, _ = rand.Read(data)
	file := writeFile(t, "big.bin", data)
	_, err := e.sender(t, nil).Send(context.Background(), &sender.Message{To: []string{"bob@fabrikam.com"},
		Bcc: []string{"audit@contoso.com"}, Subject: "big", Text: "attached", Attachments: []string{file}})
	if err != nil {
		t.Fatal(err)
	}
	ms := e.g.Messages()
	if len(ms) != 1 || !ms[0].Draft || len(ms[0].Attachments) != 1 {
		t.Fatalf("messages %+v", ms)
	}
	att := ms[0].Attachments[0]
	if !att.Session || att.Name != "big.bin" || !bytes.Equal(att.Data, data) {
		t.Fatalf("attachment %q session=%v, %d bytes (equal: %v)", att.Name, att.Session, len(att.Data), bytes.Equal(att.Data, data))
	}
	if !slices.Equal(ms[0].Recipients, []string{"bob@fabrikam.com", "audit@contoso.com"}) {
		t.Fatalf("recipients %q", ms[0].Recipients)
	}
	if n := e.g.Requests(graphtest.OpUpload); n != 3 {
		t.Fatalf("%d upload requests, want 3 pieces of at most 4 MB", n)
	}
	if e.g.Requests(graphtest.OpSendMail) != 0 || e.g.Drafts() != 0 {
		t.Fatal("sendMail was tried, or a draft was left")
	}
}

// Without Mail.ReadWrite the draft is refused, and the error says what to
// grant.
func TestLargeMessageWithoutReadWriteSaysWhatToGrant(t *testing.T) {
	e := newEnv(t, nil, graphtest.Options{})
	file := writeFile(t, "big.bin", make([]byte, 5<<20))
	_, err := e.sender(t, nil).Send(context.Background(), &sender.Message{To: []string{"bob@fabrikam.com"}, Subject: "big", Text: "x", Attachments: []string{file}})
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Op != graph.OpDraft || ge.Status != 403 {
		t.Fatalf("err %v", err)
	}
	if failure.KindOf(err) != failure.Permission || !strings.Contains(failure.HintOf(err), "Mail.ReadWrite") {
		t.Fatalf("kind %s, hint %q", failure.KindOf(err), failure.HintOf(err))
	}
	if len(e.g.Messages()) != 0 {
		t.Fatal("a message went out")
	}
}

// 429 with Retry-After is waited out (a test clock), then the message goes.
func TestRetryAfterIsHonoured(t *testing.T) {
	e := newEnv(t, nil, graphtest.Options{Faults: []graphtest.Fault{
		{Op: graphtest.OpSendMail, Status: 429, Code: "ApplicationThrottled", Message: "Application is over its MailboxConcurrency limit.", RetryAfter: "7", Times: 1},
		{Op: graphtest.OpSendMail, Status: 503, Message: "Service Unavailable", RetryAfter: "3", Times: 1},
	}})
	var waits []time.Duration
	s := e.sender(t, func(c *graph.Config) {
		c.Sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	})
	if _, err := s.Send(context.Background(), &sender.Message{To: []string{"bob@fabrikam.com"}, Subject: "s", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(waits, []time.Duration{7 * time.Second, 3 * time.Second}) {
		t.Fatalf("waits %v, want [7s 3s]", waits)
	}
	if len(e.g.Messages()) != 1 || e.g.Requests(graphtest.OpSendMail) != 3 {
		t.Fatalf("%d messages after %d requests", len(e.g.Messages()), e.g.Requests(graphtest.OpSendMail))
	}
}

// A Retry-After longer than MaxRetryWait is not waited for: the error is
// Temporary and carries it.
func TestLongRetryAfterIsReported(t *testing.T) {
	e := newEnv(t, nil, graphtest.Options{Faults: []graphtest.Fault{{Op: graphtest.OpSendMail, Status: 429, RetryAfter: "3600"}}})
	s := e.sender(t, func(c *graph.Config) { c.MaxRetryWait = time.Minute })
	_, err := s.Send(context.Background(), &sender.Message{To: []string{"bob@fabrikam.com"}, Subject: "s", Text: "t"})
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.RetryAfter != time.Hour || failure.KindOf(err) != failure.Temporary {
		t.Fatalf("err %v", err)
	}
}

// However many messages are sent at once, at most 4 requests for the
// mailbox are in flight.
func TestNeverMoreThanFourRequestsInFlight(t *testing.T) {
	arrived := make(chan struct{}, 100)
	gate := make(chan struct{})
	e := newEnv(t, nil, graphtest.Options{OnRequest: func(string, string) {
		arrived <- struct{}{}
		<-gate
	}})
	s := e.sender(t, nil)
	// Get the token first, so that every goroutine goes straight to Graph.
	if _, err := e.tokens.TokenContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			_, err := s.Send(context.Background(), &sender.Message{To: []string{"bob@fabrikam.com"}, Subject: "s", Text: "t"})
			errs <- err
		})
	}
	for range graph.DefaultMaxConcurrent {
		<-arrived
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if p := e.g.PeakInFlight(mailbox); p != graph.DefaultMaxConcurrent {
		t.Fatalf("peak in flight %d, want %d", p, graph.DefaultMaxConcurrent)
	}
	if len(e.g.Messages()) != 10 {
		t.Fatalf("%d messages", len(e.g.Messages()))
	}
}

// Every row of the error table, answered by graphtest, comes back with
// its kind and hint.
func TestEveryErrorRowHasItsKindAndHint(t *testing.T) {
	e := newEnv(t, nil, graphtest.Options{})
	s := e.sender(t, func(c *graph.Config) { c.MaxAttempts = 1 })
	for _, h := range graph.ErrorHints() {
		if h.Op != "" && h.Op != graph.OpSend {
			continue // draft rows: see TestLargeMessageWithoutReadWriteSaysWhatToGrant
		}
		t.Run(h.Code+" "+h.Message, func(t *testing.T) {
			e.g.ClearFaults()
			e.g.AddFault(graphtest.Fault{Status: h.Status, Code: h.Code, Message: h.Message})
			_, err := s.Send(context.Background(), &sender.Message{To: []string{"bob@fabrikam.com"}, Subject: "s", Text: "t"})
			var ge *graph.Error
			if !errors.As(err, &ge) || ge.Status != h.Status || ge.Code != h.Code {
				t.Fatalf("err %v", err)
			}
			if failure.KindOf(err) != h.Kind || failure.HintOf(err) != h.Hint {
				t.Fatalf("kind %s hint %q, want %s %q", failure.KindOf(err), failure.HintOf(err), h.Kind, h.Hint)
			}
			if strings.Contains(err.Error(), "eyJ") {
				t.Fatal("a token in the error")
			}
		})
	}
}

// A mailbox the app may not use answers 403 ErrorAccessDenied, with the
// Mail.Send hint.
func TestMailboxTheAppMayNotUse(t *testing.T) {
	e := newEnv(t, nil, graphtest.Options{})
	s, err := graph.New(graph.Config{Tokens: e.tokens, Mailbox: "ceo@contoso.com", Endpoint: e.g.URL(), RootCAs: e.a.RootCAs()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), &sender.Message{To: []string{"bob@fabrikam.com"}, Subject: "s", Text: "t"})
	if failure.KindOf(err) != failure.Permission || !strings.Contains(failure.HintOf(err), "Mail.Send") {
		t.Fatalf("err %v kind %s hint %q", err, failure.KindOf(err), failure.HintOf(err))
	}
}
