package relay

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/smtp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/spool"
	"github.com/m365send/m365send/sender"
)

// recorder is a queue.Transport that accepts everything and reports each
// message on got.
type recorder struct {
	got chan *sender.Message
}

func (r *recorder) Send(ctx context.Context, msgs ...*sender.Message) ([]sender.Result, error) {
	var res []sender.Result
	for _, m := range msgs {
		r.got <- m
		res = append(res, sender.Result{Recipients: m.To, Accepted: m.To})
	}
	return res, nil
}

// signalHandler passes records to h and closes stopped at the relay's
// "stopped accepting" line.
type signalHandler struct {
	slog.Handler
	once    *sync.Once
	stopped chan struct{}
}

func (h signalHandler) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "relay: stopped accepting") {
		h.once.Do(func() { close(h.stopped) })
	}
	return h.Handler.Handle(ctx, r)
}

func (h signalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return signalHandler{h.Handler.WithAttrs(as), h.once, h.stopped}
}

func TestRunDeliversAndStops(t *testing.T) {
	c := baseConfig(t)
	if err := Check(c, []string{"office", "sales"}); err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	rec := &recorder{got: make(chan *sender.Message, 10)}
	d, err := queue.NewDeliverer(queue.DelivererConfig{
		Queue: sp, RatePerMinute: -1,
		Route: func(ctx context.Context, profile string) (queue.Route, error) {
			return queue.Route{Mailbox: testMailboxes[profile], Transport: rec}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ca := newTestCA(t)
	logs := &logBuffer{}
	stopped := make(chan struct{})
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Config: c, Queue: sp, Mailboxes: testMailboxes, Certificate: ca.cert,
			Logger: slog.New(signalHandler{slog.NewTextHandler(logs, nil), &sync.Once{}, stopped}),
			Ready:  func(a []net.Addr) { ready <- a[0].String() },
		}, d, 0)
	}()
	addr := <-ready
	cl, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.StartTLS(ca.client()); err != nil {
		t.Fatal(err)
	}
	if err := cl.Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if err := send(cl, "office@contoso.com", []string{"bob@example.com"}, testMsg); err != nil {
		t.Fatal(err)
	}
	m := <-rec.got // the accepted message woke the Deliverer
	if m.From != "office@contoso.com" || strings.Join(m.To, ",") != "bob@example.com" || string(m.Raw) != testMsg {
		t.Errorf("delivered %q to %v: %q", m.From, m.To, m.Raw)
	}

	// A transaction in progress when the relay is told to stop is
	// finished; new connections are refused.
	if err := cl.Mail("office@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if err := cl.Rcpt("carol@example.com"); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-stopped
	if c2, err := net.Dial("tcp", addr); err == nil {
		c2.Close()
		t.Error("a connection was accepted after the relay stopped accepting")
	}
	w, err := cl.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, testMsg)
	if err := w.Close(); err != nil {
		t.Fatalf("the transaction in progress was not finished: %v", err)
	}
	cl.Quit()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	// The first message was delivered and left the queue; the second,
	// accepted during the shutdown, is kept: it waits in the queue (or, if
	// the Deliverer had claimed it just before it stopped, was delivered).
	ms, err := sp.List(context.Background(), queue.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	close(rec.got)
	var late []*sender.Message
	for m := range rec.got {
		late = append(late, m)
	}
	switch {
	case len(ms) == 1 && len(late) == 0 && ms[0].To[0] == "carol@example.com":
	case len(ms) == 0 && len(late) == 1 && late[0].To[0] == "carol@example.com":
	default:
		t.Fatalf("queue holds %v and %d more were delivered, want the message to carol in one of them", ms, len(late))
	}
}

// A reload takes effect on the next MAIL FROM of open connections and for
// new ones: a removed user's session is unauthenticated, a new user can
// log in, a new network may send.
func TestReloadUsersAndNetworks(t *testing.T) {
	r := newRig(t, baseConfig(t))
	old := r.dial(true)
	if err := old.Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	c, err := Decode("new.toml", []byte(`
[relay]
[[relay.users]]
name = "fax"
password_hash = "`+testHash(t, "beep")+`"
profiles = ["office"]
[[relay.networks]]
name = "here"
cidr = ["127.0.0.1"]
profiles = ["sales"]
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.srv.Reload(c); err != nil {
		t.Fatal(err)
	}
	// scanner is gone: its session sends as the network now, which may
	// not use office's mailbox.
	wantCode(t, send(old, "office@contoso.com", []string{"bob@example.com"}, testMsg), 550, "5.7.1")
	if err := send(old, "sales@contoso.com", []string{"bob@example.com"}, testMsg); err != nil {
		t.Fatalf("send as the new network: %v", err)
	}
	cl := r.dial(true)
	wantCode(t, cl.Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1")), 535, "5.7.8")
	cl = r.dial(true)
	if err := cl.Auth(smtp.PlainAuth("", "fax", "beep", "127.0.0.1")); err != nil {
		t.Fatalf("new user: %v", err)
	}
	if err := send(cl, "office@contoso.com", []string{"bob@example.com"}, testMsg); err != nil {
		t.Fatal(err)
	}
	if n := len(r.queued()); n != 2 {
		t.Fatalf("%d queued, want 2", n)
	}
	bad := *c
	bad.Users = []User{{Name: "x", PasswordHash: "plain"}}
	if err := r.srv.Reload(&bad); err == nil {
		t.Fatal("Reload accepted an unhashed password")
	}
	if r.srv.authenticate("fax", "beep") == nil {
		t.Fatal("a refused reload changed the users")
	}
}

// ListenAndServe applies what arrives on Options.Reload.
func TestReloadChannel(t *testing.T) {
	c := baseConfig(t)
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	reload := make(chan *Config) // unbuffered: a second send returns only after the first was applied
	ready := make(chan struct{})
	s, err := New(Options{Config: c, Queue: sp, Mailboxes: testMailboxes, Certificate: newTestCA(t).cert, Reload: reload,
		Ready: func([]net.Addr) { close(ready) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx, time.Second) }()
	<-ready
	n, err := Decode("n.toml", []byte("[relay]\n[[relay.users]]\nname = \"fax\"\nprofiles = [\"office\"]\npassword_hash = \""+testHash(t, "beep")+"\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	reload <- n
	reload <- n
	if s.authenticate("fax", "beep") == nil || s.authenticate("scanner", "s3cret") != nil {
		t.Error("the reload was not applied")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
