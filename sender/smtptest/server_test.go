package smtptest

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// client is a bare SMTP client for checking the server's replies exactly.
type client struct {
	t    *testing.T
	srv  *Server
	conn net.Conn
	text *textproto.Conn
}

func dial(t *testing.T, srv *Server) *client {
	t.Helper()
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	cl := &client{t: t, srv: srv, conn: c, text: textproto.NewConn(c)}
	t.Cleanup(func() { cl.text.Close() })
	cl.expect(220, "")
	return cl
}

// cmd sends line and returns the reply code and text.
func (c *client) cmd(line string) (int, string) {
	c.t.Helper()
	if err := c.text.PrintfLine("%s", line); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
	code, msg, err := c.text.ReadResponse(0)
	if err != nil && !errors.As(err, new(*textproto.Error)) {
		c.t.Fatalf("reply to %q: %v", line, err)
	}
	return code, msg
}

func (c *client) expect(code int, prefix string) string {
	c.t.Helper()
	got, msg, err := c.text.ReadResponse(0)
	if err != nil && !errors.As(err, new(*textproto.Error)) {
		c.t.Fatalf("read: %v", err)
	}
	if got != code || !strings.HasPrefix(msg, prefix) {
		c.t.Fatalf("got %d %q, want %d %q...", got, msg, code, prefix)
	}
	return msg
}

func (c *client) must(line string, code int, prefix string) string {
	c.t.Helper()
	got, msg := c.cmd(line)
	if got != code || !strings.HasPrefix(msg, prefix) {
		c.t.Fatalf("%s: got %d %q, want %d %q...", line, got, msg, code, prefix)
	}
	return msg
}

func (c *client) startTLS(cfg *tls.Config) error {
	c.t.Helper()
	c.must("STARTTLS", 220, "2.0.0")
	tc := tls.Client(c.conn, cfg)
	if err := tc.Handshake(); err != nil {
		return err
	}
	c.conn = tc
	c.text = textproto.NewConn(tc)
	return nil
}

func (c *client) secure() {
	c.t.Helper()
	c.must("EHLO client.example", 250, "")
	if err := c.startTLS(c.srv.ClientTLSConfig()); err != nil {
		c.t.Fatal(err)
	}
	c.must("EHLO client.example", 250, "")
}

func xoauth2(user, token string) string {
	return base64.StdEncoding.EncodeToString([]byte("user=" + user + "\x01auth=Bearer " + token + "\x01\x01"))
}

func (c *client) login(user, token string) {
	c.t.Helper()
	c.secure()
	c.must("AUTH XOAUTH2 "+xoauth2(user, token), 235, "2.7.0 Authentication successful")
}

func TestEHLOAdvertisesAuthOnlyAfterSTARTTLS(t *testing.T) {
	srv := Start(t, Options{})
	c := dial(t, srv)
	before := strings.Split(c.must("EHLO client.example", 250, ""), "\n")
	if slices.ContainsFunc(before, func(l string) bool { return strings.HasPrefix(l, "AUTH") }) || !slices.Contains(before, "STARTTLS") {
		t.Errorf("before STARTTLS: %q", before)
	}
	c.must("AUTH XOAUTH2 "+xoauth2("a@b.com", "t"), 504, "5.7.4")
	if err := c.startTLS(srv.ClientTLSConfig()); err != nil {
		t.Fatal(err)
	}
	after := strings.Split(c.must("EHLO client.example", 250, ""), "\n")
	for _, want := range []string{"AUTH LOGIN XOAUTH2", "SIZE 157286400", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8"} {
		if !slices.Contains(after, want) {
			t.Errorf("after STARTTLS lacks %q: %q", want, after)
		}
	}
	if slices.Contains(after, "STARTTLS") || slices.Contains(after, "CHUNKING") {
		t.Errorf("after STARTTLS: %q", after)
	}
}

func TestTLSBelow12Refused(t *testing.T) {
	srv := Start(t, Options{})
	c := dial(t, srv)
	c.must("EHLO client.example", 250, "")
	cfg := srv.ClientTLSConfig()
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	err := c.startTLS(cfg)
	if err == nil {
		t.Fatal("TLS 1.1 handshake succeeded")
	}
	if !strings.Contains(err.Error(), "protocol version") {
		t.Errorf("handshake failed for another reason: %v", err)
	}
}

func TestXOAuth2(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := Start(t, Options{Verify: func(tok, user string) error {
		mu.Lock()
		seen = append(seen, user+" "+tok)
		mu.Unlock()
		if tok != "good" {
			return errors.New("bad token")
		}
		return nil
	}})
	t.Run("initial response", func(t *testing.T) {
		c := dial(t, srv)
		c.login("Alerts@Contoso.com", "good")
	})
	t.Run("334 round", func(t *testing.T) {
		c := dial(t, srv)
		c.secure()
		c.must("AUTH XOAUTH2", 334, "")
		c.must(xoauth2("alerts@contoso.com", "good"), 235, "2.7.0")
	})
	t.Run("refused at once", func(t *testing.T) {
		c := dial(t, srv)
		c.secure()
		c.must("AUTH XOAUTH2 "+xoauth2("alerts@contoso.com", "bad"), 535, "5.7.3 Authentication unsuccessful")
	})
	t.Run("garbage", func(t *testing.T) {
		c := dial(t, srv)
		c.secure()
		c.must("AUTH XOAUTH2 bm9wZQ==", 501, "5.5.124")
	})
	t.Run("LOGIN is Basic auth", func(t *testing.T) {
		c := dial(t, srv)
		c.secure()
		c.must("AUTH LOGIN", 334, "VXNlcm5hbWU6")
		c.must("dXNlcg==", 334, "UGFzc3dvcmQ6")
		c.must("cGFzcw==", 535, "5.7.30")
	})
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(seen, "Alerts@Contoso.com good") || !slices.Contains(seen, "alerts@contoso.com bad") {
		t.Errorf("Verify saw %q", seen)
	}
}

func TestChallengeMode(t *testing.T) {
	srv := Start(t, Options{Challenge: true, Verify: func(string, string) error { return errors.New("no") }})
	c := dial(t, srv)
	c.secure()
	msg := c.must("AUTH XOAUTH2 "+xoauth2("a@contoso.com", "x"), 334, "")
	js, err := base64.StdEncoding.DecodeString(msg)
	if err != nil || !strings.Contains(string(js), `"status":"401"`) {
		t.Fatalf("challenge %q → %q, %v", msg, js, err)
	}
	c.must("", 535, "5.7.3")
}

func TestAuthReply(t *testing.T) {
	srv := Start(t, Options{AuthReply: "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."})
	c := dial(t, srv)
	c.secure()
	c.must("AUTH XOAUTH2 "+xoauth2("a@contoso.com", "x"), 535, "5.7.139")
}

func TestMailRules(t *testing.T) {
	srv := Start(t, Options{SendAs: map[string][]string{"alerts@contoso.com": {"noreply@contoso.com"}}})
	c := dial(t, srv)
	c.secure()
	c.must("MAIL FROM:<alerts@contoso.com>", 530, "5.7.57")
	c.must("AUTH XOAUTH2 "+xoauth2("alerts@contoso.com", "t"), 235, "")
	c.must("MAIL FROM:<ceo@contoso.com>", 550, "5.7.60")
	c.must("MAIL FROM:<NoReply@contoso.com> BODY=8BITMIME SMTPUTF8", 250, "2.1.0")
	// A MAIL inside an open transaction is refused until RSET (or the end
	// of DATA) closes it, as Exchange does.
	c.must("MAIL FROM:<alerts@contoso.com>", 503, "5.5.2")
	c.must("RSET", 250, "")
	c.must("MAIL FROM:<alerts@contoso.com>", 250, "2.1.0")
	c.must("RSET", 250, "")
	c.must("MAIL FROM:<alerts@contoso.com> SIZE=999999999999", 552, "5.3.4")
}

func TestHeaderFromSendAs(t *testing.T) {
	srv := Start(t, Options{SendAs: map[string][]string{"alerts@contoso.com": {"noreply@contoso.com"}}})
	c := dial(t, srv)
	c.login("alerts@contoso.com", "t")
	send := func(header string, code int, prefix string) {
		t.Helper()
		c.must("MAIL FROM:<alerts@contoso.com>", 250, "")
		c.must("RCPT TO:<a@example.com>", 250, "")
		c.must("DATA", 354, "")
		c.text.W.WriteString(header + "Subject: x\r\n\r\nFrom: ceo@contoso.com in the body is no header\r\n.\r\n")
		c.text.W.Flush()
		c.expect(code, prefix)
	}
	denied := "5.2.252 SendAsDenied; alerts@contoso.com not allowed to send as ceo@contoso.com; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied"
	send("From: CEO <ceo@contoso.com>\r\n", 554, denied)
	send("From: alerts@contoso.com, ceo@contoso.com\r\n", 554, denied)
	send("From: Alerts <Alerts@Contoso.com>\r\n", 250, "2.0.0")
	send("From: =?utf-8?q?No_R=C3=A9ply?= <NOREPLY@contoso.com>\r\n", 250, "2.0.0")
	send("", 250, "2.0.0") // no From header: Exchange fills it in
	if n := len(srv.Messages()); n != 3 {
		t.Errorf("recorded %d messages, want 3", n)
	}
}

func TestFourthConnectionGets432(t *testing.T) {
	srv := Start(t, Options{})
	var cs []*client
	for range 3 {
		c := dial(t, srv)
		c.login("alerts@contoso.com", "t")
		cs = append(cs, c)
	}
	fourth := dial(t, srv)
	fourth.secure()
	fourth.must("AUTH XOAUTH2 "+xoauth2("alerts@contoso.com", "t"), 432, "4.3.2 Concurrent connections limit exceeded")
	// Another mailbox is not affected.
	other := dial(t, srv)
	other.login("other@contoso.com", "t")

	cs[0].must("QUIT", 221, "")
	// The server notices the closed connection asynchronously.
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, _ := fourth.cmd("AUTH XOAUTH2 " + xoauth2("alerts@contoso.com", "t"))
		if code == 235 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("AUTH still refused after a connection closed: %d", code)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if p := srv.PeakConns("alerts@contoso.com"); p != 3 {
		t.Errorf("PeakConns = %d", p)
	}
}

func TestRecordsMessageBytes(t *testing.T) {
	srv := Start(t, Options{})
	c := dial(t, srv)
	c.login("alerts@contoso.com", "t")
	c.must("MAIL FROM:<alerts@contoso.com>", 250, "")
	c.must("RCPT TO:<a@example.com>", 250, "")
	c.must("RCPT TO:<b@example.com>", 250, "")
	c.must("DATA", 354, "")
	body := "Subject: x\r\n\r\n..leading dot\r\n.\r\nbare CR\rkept\r\n"
	// Dot-stuffed on the wire: ".." for a leading dot, "." alone becomes "..".
	wire := "Subject: x\r\n\r\n...leading dot\r\n..\r\nbare CR\rkept\r\n.\r\n"
	if _, err := c.text.W.WriteString(wire); err != nil {
		t.Fatal(err)
	}
	c.text.W.Flush()
	c.expect(250, "2.0.0 OK")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, err := srv.WaitMessages(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if string(m.Data) != body || m.Size != int64(len(body)) {
		t.Errorf("Data = %q (size %d), want %q", m.Data, m.Size, body)
	}
	if m.User != "alerts@contoso.com" || m.From != "alerts@contoso.com" || !slices.Equal(m.To, []string{"a@example.com", "b@example.com"}) || m.Seq != 1 || m.Conn != 1 {
		t.Errorf("message = %+v", m)
	}
}

func TestWaitMessagesHonoursContext(t *testing.T) {
	srv := Start(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := srv.WaitMessages(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func TestSizeLimit(t *testing.T) {
	srv := Start(t, Options{MaxSize: 10})
	c := dial(t, srv)
	c.login("alerts@contoso.com", "t")
	c.must("MAIL FROM:<alerts@contoso.com>", 250, "")
	c.must("RCPT TO:<a@example.com>", 250, "")
	c.must("DATA", 354, "")
	c.text.W.WriteString("Subject: far too long\r\n\r\nbody\r\n.\r\n")
	c.text.W.Flush()
	c.expect(552, "5.3.4")
	if len(srv.Messages()) != 0 {
		t.Error("oversized message recorded")
	}
}

// TestDefaultSizes checks Exchange Online's defaults: SIZE advertises the
// 150 MB an admin may allow, but a mailbox takes 35 MB.
func TestDefaultSizes(t *testing.T) {
	const maxSize = 35 << 20 // 36700160
	srv := Start(t, Options{DiscardData: true})
	c := dial(t, srv)
	c.login("alerts@contoso.com", "t")
	ehlo := strings.Split(c.must("EHLO client.example", 250, ""), "\n")
	if !slices.Contains(ehlo, "SIZE 157286400") {
		t.Errorf("EHLO %q does not advertise SIZE 157286400", ehlo)
	}
	c.must(fmt.Sprintf("MAIL FROM:<alerts@contoso.com> SIZE=%d", maxSize+1), 552, "5.3.4 Message size exceeds fixed maximum message size")
	c.must(fmt.Sprintf("MAIL FROM:<alerts@contoso.com> SIZE=%d", maxSize), 250, "")
	c.must("RCPT TO:<a@example.com>", 250, "")
	c.must("DATA", 354, "")
	line := strings.Repeat("x", 1022) + "\r\n"
	c.text.W.WriteString("Subject: big\r\n\r\n")
	for n := int64(len("Subject: big\r\n\r\n")); n <= maxSize; n += int64(len(line)) {
		c.text.W.WriteString(line)
	}
	c.text.W.WriteString(".\r\n")
	if err := c.text.W.Flush(); err != nil {
		t.Fatal(err)
	}
	c.expect(552, "5.3.4 Message size exceeds fixed maximum message size")
	if len(srv.Messages()) != 0 {
		t.Error("message over 35 MB recorded")
	}
}

func TestAdvertisedSizeAndMaxSize(t *testing.T) {
	srv := Start(t, Options{AdvertisedSize: 1000, MaxSize: 30})
	c := dial(t, srv)
	c.login("alerts@contoso.com", "t")
	if ehlo := strings.Split(c.must("EHLO client.example", 250, ""), "\n"); !slices.Contains(ehlo, "SIZE 1000") {
		t.Errorf("EHLO %q does not advertise SIZE 1000", ehlo)
	}
	c.must("MAIL FROM:<alerts@contoso.com> SIZE=31", 552, "5.3.4")
	c.must("MAIL FROM:<alerts@contoso.com> SIZE=30", 250, "")
	c.must("RCPT TO:<a@example.com>", 250, "")
	c.must("DATA", 354, "")
	c.text.W.WriteString("Subject: exactly 30!\r\n\r\nbody\r\n.\r\n") // 30 bytes
	c.text.W.Flush()
	c.expect(250, "2.0.0")
	if m := srv.Messages(); len(m) != 1 || m[0].Size != 30 {
		t.Errorf("messages %+v", m)
	}
}

func TestAcceptThenDrop(t *testing.T) {
	srv := Start(t, Options{Faults: []Fault{{Stage: StageEndOfData, N: 1, AcceptThenDrop: true}}})
	c := dial(t, srv)
	c.login("alerts@contoso.com", "t")
	c.must("MAIL FROM:<alerts@contoso.com>", 250, "")
	c.must("RCPT TO:<a@example.com>", 250, "")
	c.must("DATA", 354, "")
	c.text.W.WriteString("Subject: x\r\n\r\nbody\r\n.\r\n")
	c.text.W.Flush()
	if line, err := c.text.ReadLine(); err == nil {
		t.Errorf("got reply %q, want the connection closed without one", line)
	}
	if m := srv.Messages(); len(m) != 1 || string(m[0].Data) != "Subject: x\r\n\r\nbody\r\n" {
		t.Errorf("messages %+v, want the one accepted", m)
	}
}

func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := Start(t, Options{RatePerMinute: 2, Now: clock})
	c := dial(t, srv)
	c.login("alerts@contoso.com", "t")
	send := func() (int, string) {
		code, msg := c.cmd("MAIL FROM:<alerts@contoso.com>")
		if code != 250 {
			return code, msg
		}
		c.must("RCPT TO:<a@example.com>", 250, "")
		c.must("DATA", 354, "")
		c.text.W.WriteString("Subject: s\r\n\r\nb\r\n.\r\n")
		c.text.W.Flush()
		c.expect(250, "")
		return 250, ""
	}
	send()
	send()
	if code, msg := send(); code != 421 || !strings.HasPrefix(msg, "4.4.2") {
		t.Fatalf("third message in a minute: %d %s", code, msg)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	c = dial(t, srv)
	c.login("alerts@contoso.com", "t")
	if code, _ := send(); code != 250 {
		t.Errorf("after a minute: %d", code)
	}
}

func TestFaults(t *testing.T) {
	t.Run("greeting", func(t *testing.T) {
		srv := Start(t, Options{Faults: []Fault{{Stage: StageGreeting, N: 1, Reply: "421 4.3.2 Service not available"}}})
		c, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		tc := textproto.NewConn(c)
		if code, _, _ := tc.ReadResponse(0); code != 421 {
			t.Errorf("greeting %d", code)
		}
		dial(t, srv) // the 2nd connection is greeted normally
	})
	t.Run("nth command", func(t *testing.T) {
		srv := Start(t, Options{Faults: []Fault{{Stage: StageRcpt, N: 2, Reply: "452 4.5.3 Too many recipients"}}})
		c := dial(t, srv)
		c.login("alerts@contoso.com", "t")
		c.must("MAIL FROM:<alerts@contoso.com>", 250, "")
		c.must("RCPT TO:<a@example.com>", 250, "")
		c.must("RCPT TO:<b@example.com>", 452, "4.5.3")
		c.must("RCPT TO:<c@example.com>", 250, "")
	})
	t.Run("drop", func(t *testing.T) {
		srv := Start(t, Options{})
		srv.AddFault(Fault{Stage: StageEHLO, Drop: true})
		c := dial(t, srv)
		c.text.PrintfLine("EHLO x")
		if _, _, err := c.text.ReadResponse(0); err == nil {
			t.Error("connection not dropped")
		}
	})
	t.Run("stall released by Close", func(t *testing.T) {
		srv, err := New(Options{Faults: []Fault{{Stage: StageEHLO, Stall: true}}})
		if err != nil {
			t.Fatal(err)
		}
		c := dial(t, srv)
		c.text.PrintfLine("EHLO x")
		done := make(chan error, 1)
		go func() { _, _, err := c.text.ReadResponse(0); done <- err }()
		deadline := time.Now().Add(10 * time.Second)
		for srv.Count(StageEHLO) == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		srv.Close()
		if err := <-done; err == nil {
			t.Error("stalled connection answered")
		}
	})
	t.Run("end of data", func(t *testing.T) {
		srv := Start(t, Options{Faults: []Fault{{Stage: StageEndOfData, N: 1, Reply: "451 4.7.0 Temporary server error"}}})
		c := dial(t, srv)
		c.login("alerts@contoso.com", "t")
		for i, want := range []int{451, 250} {
			c.must("MAIL FROM:<alerts@contoso.com>", 250, "")
			c.must("RCPT TO:<a@example.com>", 250, "")
			c.must("DATA", 354, "")
			c.text.W.WriteString("Subject: s\r\n\r\nb\r\n.\r\n")
			c.text.W.Flush()
			if code, _, _ := c.text.ReadResponse(0); code != want {
				t.Errorf("message %d: %d, want %d", i+1, code, want)
			}
		}
		if n := len(srv.Messages()); n != 1 {
			t.Errorf("%d recorded, want 1", n)
		}
	})
}

// Start is New for these tests: it fails tb on error and closes the server
// when the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func TestWaitCountReturnsOnceTheStageIsReached(t *testing.T) {
	srv := Start(t, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
	err := srv.WaitCount(ctx, StageGreeting, 1)
	cancel()
	if err == nil {
		t.Fatal("WaitCount returned before any connection")
	}
	done := make(chan error, 1)
	go func() { done <- srv.WaitCount(t.Context(), StageEHLO, 1) }()
	c := dial(t, srv)
	c.cmd("EHLO client.example.com")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := srv.Count(StageEHLO); n != 1 {
		t.Errorf("Count(StageEHLO) = %d after WaitCount, want 1", n)
	}
}

func TestClearFaultsRemovesEveryFault(t *testing.T) {
	srv := Start(t, Options{Faults: []Fault{{Stage: StageEHLO, Reply: "421 4.3.2 go away"}}})
	srv.AddFault(Fault{Stage: StageEHLO, Reply: "421 4.3.2 go away"})
	srv.ClearFaults()
	c := dial(t, srv)
	if code, text := c.cmd("EHLO client.example.com"); code != 250 {
		t.Errorf("EHLO after ClearFaults: %d %s", code, text)
	}
}
