package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"

	"github.com/m365send/m365send/queue"
)

func TestPlainAfterSTARTTLSIsQueued(t *testing.T) {
	r := newRig(t, baseConfig(t))
	c := r.dial(true)
	if err := c.Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1")); err != nil {
		t.Fatalf("AUTH PLAIN: %v", err)
	}
	if err := send(c, "office@contoso.com", []string{"bob@example.com", "carol@example.net"}, testMsg); err != nil {
		t.Fatalf("send: %v", err)
	}
	ms := r.queued()
	if len(ms) != 1 {
		t.Fatalf("%d queued, want 1", len(ms))
	}
	m := ms[0]
	if m.From != "office@contoso.com" || m.Profile != "office" || strings.Join(m.To, ",") != "bob@example.com,carol@example.net" {
		t.Errorf("envelope %+v", m.Envelope)
	}
	if !strings.Contains(m.Source, "scanner") || !strings.Contains(m.Source, "127.0.0.1") {
		t.Errorf("source %q, want client address and user", m.Source)
	}
	if got := r.data(m.ID); got != testMsg {
		t.Errorf("data %q, want %q", got, testMsg)
	}
	if !strings.Contains(r.logs.String(), "relay: accepted") {
		t.Errorf("no accepted line in log:\n%s", r.logs)
	}
}

func TestLoginAfterSTARTTLSIsQueued(t *testing.T) {
	r := newRig(t, baseConfig(t))
	c := r.dial(true)
	if err := c.Auth(loginAuth{"scanner", "s3cret"}); err != nil {
		t.Fatalf("AUTH LOGIN: %v", err)
	}
	// An extra sender of the user goes through its first profile; the
	// second profile's mailbox through that profile.
	if err := send(c, "scans@contoso.com", []string{"bob@example.com"}, testMsg); err != nil {
		t.Fatalf("send: %v", err)
	}
	if err := send(c, "Sales@Contoso.com", []string{"bob@example.com"}, testMsg); err != nil {
		t.Fatalf("send: %v", err)
	}
	ms := r.queued()
	if len(ms) != 2 {
		t.Fatalf("%d queued, want 2", len(ms))
	}
	got := map[string]string{}
	for _, m := range ms {
		got[m.From] = m.Profile
	}
	if got["scans@contoso.com"] != "office" || got["Sales@Contoso.com"] != "sales" {
		t.Errorf("profiles by sender %v", got)
	}
}

func TestEHLOAdvertises(t *testing.T) {
	r := newRig(t, baseConfig(t))
	c := r.dial(false)
	if err := c.Hello("device.test"); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"STARTTLS", "8BITMIME", "SMTPUTF8", "PIPELINING", "ENHANCEDSTATUSCODES"} {
		if ok, _ := c.Extension(ext); !ok {
			t.Errorf("%s not advertised", ext)
		}
	}
	if _, p := c.Extension("SIZE"); p != "4096" {
		t.Errorf("SIZE %q, want 4096", p)
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH advertised before STARTTLS")
	}
	if err := c.StartTLS(r.ca.client()); err != nil {
		t.Fatal(err)
	}
	if ok, p := c.Extension("AUTH"); !ok || p != "PLAIN LOGIN" {
		t.Errorf("AUTH after STARTTLS: %v %q, want PLAIN LOGIN", ok, p)
	}
}

func TestRefusals(t *testing.T) {
	big := "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 300)
	tests := []struct {
		name string
		tls  bool
		run  func(t *testing.T, c *smtp.Client) error
		code int
		enh  string
		log  string // the user in the refusal's log line
	}{
		{"AUTH before STARTTLS", false, func(t *testing.T, c *smtp.Client) error {
			return c.Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1"))
		}, 538, "5.7.11", ""},
		{"wrong password", true, func(t *testing.T, c *smtp.Client) error {
			return c.Auth(smtp.PlainAuth("", "scanner", "wrong", "127.0.0.1"))
		}, 535, "5.7.8", ""},
		{"wrong password LOGIN", true, func(t *testing.T, c *smtp.Client) error {
			return c.Auth(loginAuth{"scanner", "wrong"})
		}, 535, "5.7.8", ""},
		{"unknown user", true, func(t *testing.T, c *smtp.Client) error {
			return c.Auth(smtp.PlainAuth("", "nobody", "s3cret", "127.0.0.1"))
		}, 535, "5.7.8", ""},
		{"forbidden sender", true, func(t *testing.T, c *smtp.Client) error {
			if err := c.Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1")); err != nil {
				t.Fatal(err)
			}
			return send(c, "ceo@contoso.com", []string{"bob@example.com"}, testMsg)
		}, 550, "5.7.1", "scanner"},
		{"over 500 recipients", true, func(t *testing.T, c *smtp.Client) error {
			if err := c.Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1")); err != nil {
				t.Fatal(err)
			}
			if err := c.Mail("office@contoso.com"); err != nil {
				t.Fatal(err)
			}
			for i := range 500 {
				if err := c.Rcpt(fmt.Sprintf("r%d@example.com", i)); err != nil {
					t.Fatalf("recipient %d: %v", i+1, err)
				}
			}
			return c.Rcpt("r500@example.com")
		}, 452, "4.5.3", "scanner"},
		{"oversize", true, func(t *testing.T, c *smtp.Client) error {
			if err := c.Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1")); err != nil {
				t.Fatal(err)
			}
			return send(c, "office@contoso.com", []string{"bob@example.com"}, big)
		}, 552, "5.3.4", "scanner"},
		{"line too long", true, func(t *testing.T, c *smtp.Client) error {
			if err := c.Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1")); err != nil {
				t.Fatal(err)
			}
			return send(c, "office@contoso.com", []string{"bob@example.com"}, "To: "+strings.Repeat("bob@example.com, ", 150)+"\r\n\r\nhi\r\n")
		}, 554, "5.6.0", "scanner"},
		{"unlisted network without AUTH", true, func(t *testing.T, c *smtp.Client) error {
			return send(c, "office@contoso.com", []string{"bob@example.com"}, testMsg)
		}, 530, "5.7.0", ""},
		{"unlisted network without AUTH or TLS", false, func(t *testing.T, c *smtp.Client) error {
			return send(c, "office@contoso.com", []string{"bob@example.com"}, testMsg)
		}, 530, "5.7.0", ""},
		{"null sender", true, func(t *testing.T, c *smtp.Client) error {
			if err := c.Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1")); err != nil {
				t.Fatal(err)
			}
			return send(c, "", []string{"bob@example.com"}, testMsg)
		}, 550, "5.7.1", "scanner"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, baseConfig(t))
			c := r.dial(tc.tls)
			err := tc.run(t, c)
			wantCode(t, err, tc.code, tc.enh)
			c.Quit()
			r.assertEmpty()
			logs := r.logs.String()
			line := ""
			for l := range strings.Lines(logs) {
				if strings.Contains(l, "relay: refused") {
					line = l
				}
			}
			want := fmt.Sprintf("code=\"%d %s\"", tc.code, tc.enh)
			if !strings.Contains(line, want) || !strings.Contains(line, "client=127.0.0.1:") || !strings.Contains(line, "user="+tc.log) {
				t.Errorf("refusal log line %q, want %s, the client and user=%q; log:\n%s", line, want, tc.log, logs)
			}
		})
	}
}

func TestNetworkWithoutAuth(t *testing.T) {
	c := baseConfig(t)
	c.Networks = append(c.Networks, Network{Name: "here", CIDR: []string{"127.0.0.0/8"}, Grant: Grant{Profiles: []string{"sales"}}})
	r := newRig(t, c)
	cl := r.dial(false)
	if err := send(cl, "sales@contoso.com", []string{"bob@example.com"}, testMsg); err != nil {
		t.Fatalf("send from a listed network: %v", err)
	}
	err := send(cl, "office@contoso.com", []string{"bob@example.com"}, testMsg)
	wantCode(t, err, 550, "5.7.1")
	ms := r.queued()
	if len(ms) != 1 || ms[0].Profile != "sales" || !strings.Contains(ms[0].Source, "network here") {
		t.Fatalf("queued %v, want one for sales from network here", ms)
	}
}

func TestPlaintextAuthForNamedNetwork(t *testing.T) {
	c := baseConfig(t)
	c.Networks = append(c.Networks, Network{Name: "lan", CIDR: []string{"127.0.0.1"}, Grant: Grant{Profiles: []string{"sales"}, Senders: []string{"@lan.example"}}})
	c.Listeners[0].AllowPlaintextAuth = []string{"lan"}
	r := newRig(t, c)
	cl := r.dial(false)
	if err := cl.Hello("printer.test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := cl.Extension("AUTH"); !ok {
		t.Fatal("AUTH not offered in plaintext to the named network")
	}
	if err := cl.Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1")); err != nil {
		t.Fatalf("AUTH: %v", err)
	}
	// Authenticated, the user's grant applies, not the network's.
	if err := send(cl, "office@contoso.com", []string{"bob@example.com"}, testMsg); err != nil {
		t.Fatal(err)
	}
	if ms := r.queued(); len(ms) != 1 || ms[0].Profile != "office" {
		t.Fatalf("queued %v", ms)
	}
}

func TestRewriteFrom(t *testing.T) {
	r := newRig(t, baseConfig(t))
	c := r.dial(true)
	if err := c.Auth(smtp.PlainAuth("", "printer", "ink", "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	msg := "Subject: scan\r\nFrom: \"Printer 3\"\r\n <printer@device.local>\r\nTo: bob@example.com\r\n\r\nFrom: not a header\r\n"
	if err := send(c, "printer@device.local", []string{"bob@example.com"}, msg); err != nil {
		t.Fatal(err)
	}
	// No From at all: one is added.
	if err := send(c, "", []string{"bob@example.com"}, "Subject: x\r\n\r\nbody\r\n"); err != nil {
		t.Fatal(err)
	}
	ms := r.queued()
	if len(ms) != 2 {
		t.Fatalf("%d queued", len(ms))
	}
	want := map[string]bool{
		"Subject: scan\r\nFrom: \"Printer 3\" <sales@contoso.com>\r\nTo: bob@example.com\r\n\r\nFrom: not a header\r\n": true,
		"From: <sales@contoso.com>\r\nSubject: x\r\n\r\nbody\r\n":                                                       true,
	}
	for _, m := range ms {
		if m.From != "sales@contoso.com" || m.Profile != "sales" {
			t.Errorf("envelope %+v", m.Envelope)
		}
		if d := r.data(m.ID); !want[d] {
			t.Errorf("data %q", d)
		}
	}
}

// failingQueue refuses every message.
type failingQueue struct{ queue.Queue }

func (failingQueue) Enqueue(ctx context.Context, env queue.Envelope, data io.Reader) (queue.ID, error) {
	io.Copy(io.Discard, data)
	return "", errors.New("disk full")
}

func TestQueueFailureIsTemporary(t *testing.T) {
	r := newRigQueue(t, baseConfig(t), func(q queue.Queue) queue.Queue { return failingQueue{q} })
	c := r.dial(true)
	if err := c.Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	err := send(c, "office@contoso.com", []string{"bob@example.com"}, testMsg)
	wantCode(t, err, 451, "4.3.0")
	if strings.Contains(err.Error(), "disk full") {
		t.Errorf("internal error shown to the client: %v", err)
	}
	if !strings.Contains(r.logs.String(), "disk full") {
		t.Errorf("queue error not logged:\n%s", r.logs)
	}
}

func TestImplicitTLSAndMinVersion(t *testing.T) {
	c := baseConfig(t)
	c.Listeners[0].ImplicitTLS = true
	r := newRig(t, c)
	// The rig served c.Listeners[0] with implicit TLS.
	conn, err := tls.Dial("tcp", r.addr, r.ca.client())
	if err != nil {
		t.Fatal(err)
	}
	cl, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1")); err != nil {
		t.Fatalf("AUTH over implicit TLS: %v", err)
	}
	if err := send(cl, "office@contoso.com", []string{"bob@example.com"}, testMsg); err != nil {
		t.Fatal(err)
	}
	if len(r.queued()) != 1 {
		t.Fatal("not queued")
	}
	// TLS 1.1 is refused by default.
	old := r.ca.client()
	old.MaxVersion = tls.VersionTLS11
	if conn, err := tls.Dial("tcp", r.addr, old); err == nil {
		conn.Close()
		t.Fatal("TLS 1.1 accepted with the default min_tls")
	}
}

func TestConnectionLimitPerClient(t *testing.T) {
	c := baseConfig(t)
	c.MaxConnectionsPerClient = 1
	r := newRig(t, c)
	first := r.dial(false)
	if err := first.Hello("a.test"); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tp := textproto.NewConn(conn)
	code, msg, err := tp.ReadResponse(220)
	if err == nil || code != 421 || !strings.HasPrefix(msg, "4.7.0") {
		t.Fatalf("second connection: %d %q %v, want 421 4.7.0", code, msg, err)
	}
	first.Quit()
	// The slot is free again once the first connection has ended: the
	// server closes it after QUIT, so wait for that through a read.
	first.Close()
	for {
		c2, err := smtp.Dial(r.addr)
		if err == nil {
			c2.Quit()
			break
		}
		var te *textproto.Error
		if !errors.As(err, &te) || te.Code != 421 {
			t.Fatalf("third connection: %v", err)
		}
	}
}

// A client that declares the size with MAIL FROM ... SIZE= is refused
// before it sends the data.
func TestDeclaredSizeOverLimit(t *testing.T) {
	r := newRig(t, baseConfig(t))
	c := r.dial(true)
	if err := c.Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	id, err := c.Text.Cmd("MAIL FROM:<office@contoso.com> SIZE=4097")
	if err != nil {
		t.Fatal(err)
	}
	c.Text.StartResponse(id)
	_, _, err = c.Text.ReadResponse(250)
	c.Text.EndResponse(id)
	wantCode(t, err, 552, "5.3.4")
	id, _ = c.Text.Cmd("MAIL FROM:<office@contoso.com> SIZE=4096")
	c.Text.StartResponse(id)
	_, _, err = c.Text.ReadResponse(250)
	c.Text.EndResponse(id)
	if err != nil {
		t.Fatalf("SIZE at the limit: %v", err)
	}
	c.Quit()
	r.assertEmpty()
}
