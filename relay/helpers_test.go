package relay

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/spool"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/sender/smtptest"
	"golang.org/x/oauth2"
)

// testParams keep argon2id cheap in tests.
var testParams = Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func testHash(t testing.TB, password string) string {
	t.Helper()
	h, err := hashPassword(password, testParams)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// testCA is a certificate authority the test clients trust, and a server
// certificate it signed for localhost and 127.0.0.1.
type testCA struct {
	pool *x509.CertPool
	cert tls.Certificate
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "relay test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &testCA{pool: pool, cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}
}

func (ca *testCA) client() *tls.Config {
	return &tls.Config{RootCAs: ca.pool, ServerName: "localhost"}
}

// logBuffer collects log lines; safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// rig is a relay on loopback with a spool.
type rig struct {
	t     testing.TB
	ca    *testCA
	srv   *Server
	spool *spool.Spool
	dir   string
	addr  string
	logs  *logBuffer
}

// baseConfig has a user "scanner" (password "s3cret") who may send as
// profile "office" (office@contoso.com), and the alias
// scans@contoso.com; and a user "printer" with rewrite_from.
func baseConfig(t testing.TB) *Config {
	c, err := Decode("test.toml", []byte(`
[relay]
listen = ["127.0.0.1:0"]
max_size = 4096

[[relay.users]]
name = "scanner"
password_hash = "`+testHash(t, "s3cret")+`"
profiles = ["office", "sales"]
senders = ["scans@contoso.com"]

[[relay.users]]
name = "printer"
password_hash = "`+testHash(t, "ink")+`"
profiles = ["sales"]
rewrite_from = "sales"

[[relay.networks]]
name = "faraway"
cidr = ["192.0.2.0/24"]
profiles = ["office"]
`))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var testMailboxes = map[string]string{"office": "office@contoso.com", "sales": "sales@contoso.com"}

func newRig(t testing.TB, c *Config) *rig {
	return newRigQueue(t, c, nil)
}

func newRigQueue(t testing.TB, c *Config, wrap func(queue.Queue) queue.Queue) *rig {
	t.Helper()
	if err := Check(c, []string{"office", "sales"}); err != nil {
		t.Fatalf("Check: %v", err)
	}
	dir := t.TempDir()
	sp, err := spool.Open(dir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var q queue.Queue = sp
	if wrap != nil {
		q = wrap(sp)
	}
	r := &rig{t: t, ca: newTestCA(t), spool: sp, dir: dir, logs: &logBuffer{}}
	r.srv, err = New(Options{Config: c, Queue: q, Mailboxes: testMailboxes, Certificate: r.ca.cert,
		Logger: slog.New(slog.NewTextHandler(r.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- r.srv.Serve(ln, c.Listeners[0]) }()
	t.Cleanup(func() {
		r.srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		sp.Close()
	})
	return r
}

// dial connects a net/smtp client, with STARTTLS when tlsOn.
func (r *rig) dial(tlsOn bool) *smtp.Client {
	r.t.Helper()
	c, err := smtp.Dial(r.addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { c.Close() })
	if tlsOn {
		if err := c.StartTLS(r.ca.client()); err != nil {
			r.t.Fatalf("STARTTLS: %v", err)
		}
	}
	return c
}

// queued returns what the spool holds.
func (r *rig) queued() []*queue.Message {
	r.t.Helper()
	ms, err := r.spool.List(context.Background(), queue.Filter{})
	if err != nil {
		r.t.Fatal(err)
	}
	return ms
}

// assertEmpty fails unless nothing was queued, not even a partial file.
func (r *rig) assertEmpty() {
	r.t.Helper()
	if ms := r.queued(); len(ms) != 0 {
		r.t.Fatalf("%d messages queued, want none", len(ms))
	}
	for _, d := range []string{"queue", "tmp"} {
		es, err := os.ReadDir(filepath.Join(r.dir, d))
		if err != nil {
			r.t.Fatal(err)
		}
		if len(es) != 0 {
			r.t.Fatalf("%s holds %s", d, es[0].Name())
		}
	}
}

func (r *rig) data(id queue.ID) string {
	r.t.Helper()
	rc, err := r.spool.Open(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

// wantCode fails unless err is an SMTP reply with code and enhanced code.
func wantCode(t testing.TB, err error, code int, enh string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %d %s", code, enh)
	}
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != code || !strings.HasPrefix(te.Msg, enh+" ") {
		t.Fatalf("error %q, want %d %s", err.Error(), code, enh)
	}
}

// loginAuth is the LOGIN mechanism for net/smtp, which has only PLAIN
// and CRAM-MD5.
type loginAuth struct{ user, pass string }

func (a loginAuth) Start(*smtp.ServerInfo) (string, []byte, error) { return "LOGIN", nil, nil }

func (a loginAuth) Next(from []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch string(from) {
	case "Username:":
		return []byte(a.user), nil
	case "Password:":
		return []byte(a.pass), nil
	}
	return nil, errors.New("unexpected challenge " + base64.StdEncoding.EncodeToString(from))
}

// send runs MAIL, RCPT and DATA on c.
func send(c *smtp.Client, from string, to []string, msg string) error {
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, a := range to {
		if err := c.Rcpt(a); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, msg); err != nil {
		return err
	}
	return w.Close()
}

const testMsg = "From: Office <office@contoso.com>\r\nTo: bob@example.com\r\nSubject: hi\r\n\r\nhello\r\n"

// runDelivering starts Run with baseConfig, a spool in a temporary folder
// and a Deliverer (pacing off, one attempt each) that sends every message
// as office@contoso.com to the fake srv. It returns the address Run
// listens on, the CA of its certificate, and where Run's result arrives
// once ctx ends.
func runDelivering(ctx context.Context, tb testing.TB, srv *smtptest.Server) (string, *testCA, <-chan error) {
	tb.Helper()
	s, err := sender.New(sender.Config{Tokens: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "test-token"}),
		Mailbox: "office@contoso.com", Host: srv.Host(), Port: srv.Port(), RootCAs: srv.RootCAs(),
		MaxAttempts: 1, RatePerMinute: -1})
	if err != nil {
		tb.Fatal(err)
	}
	sp, err := spool.Open(tb.TempDir(), spool.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sp.Close() })
	d, err := queue.NewDeliverer(queue.DelivererConfig{Queue: sp, RatePerMinute: -1,
		Route: func(context.Context, string) (queue.Route, error) {
			return queue.Route{Mailbox: "office@contoso.com", Transport: s}, nil
		}})
	if err != nil {
		tb.Fatal(err)
	}
	c := baseConfig(tb)
	if err := Check(c, []string{"office", "sales"}); err != nil {
		tb.Fatal(err)
	}
	ca := newTestCA(tb)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Config: c, Queue: sp, Mailboxes: testMailboxes, Certificate: ca.cert,
			Ready: func(a []net.Addr) { ready <- a[0].String() }}, d, 0)
	}()
	return <-ready, ca, done
}
