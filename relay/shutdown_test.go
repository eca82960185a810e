package relay

import (
	"context"
	"errors"
	"io"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// shutdownGrace is far longer than any test may run: a Shutdown that
// returns proves it did not wait for it.
const shutdownGrace = 10 * time.Minute

// startShutdown runs r.srv.Shutdown with shutdownGrace (or until the
// test's deadline, so that a Shutdown waiting for an idle client fails
// the test instead of hanging it) and returns its result's channel.
func startShutdown(t *testing.T, r *rig) <-chan error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	if d, ok := t.Deadline(); ok {
		ctx, cancel = context.WithDeadline(context.Background(), d.Add(-10*time.Second))
	}
	done := make(chan error, 1)
	go func() {
		defer cancel()
		done <- r.srv.Shutdown(ctx)
	}()
	return done
}

// rawClient is a client that speaks SMTP line by line.
func rawClient(t *testing.T, r *rig) *textproto.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	c := textproto.NewConn(nc)
	t.Cleanup(func() { c.Close() })
	if _, _, err := c.ReadResponse(220); err != nil {
		t.Fatalf("greeting: %v", err)
	}
	return c
}

func cmd(t *testing.T, c *textproto.Conn, want int, format string, args ...any) string {
	t.Helper()
	if err := c.PrintfLine(format, args...); err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	_, msg, err := c.ReadResponse(want)
	if err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	return msg
}

// wantShutdown421 reads the next reply and fails unless it is the 421 a
// shutting-down relay says, followed by the end of the connection.
func wantShutdown421(t *testing.T, c *textproto.Conn, who string) {
	t.Helper()
	code, msg, err := c.ReadResponse(421)
	if err != nil || msg != "4.3.2 "+testHostname+" shutting down" {
		t.Fatalf("%s: read %d %q, %v; want 421 4.3.2 %s shutting down", who, code, msg, err, testHostname)
	}
	if line, err := c.ReadLine(); err != io.EOF {
		t.Fatalf("%s: after the 421 read %q, %v; want the end of the connection", who, line, err)
	}
}

const testHostname = "relay.test"

// TestShutdownClosesIdleAndLetsDataFinish: on Shutdown a session that
// said EHLO and waits is told 421 at once; a session in the middle of
// DATA finishes, gets its 250 and the message is queued, then it is told
// 421; Shutdown returns without waiting for its grace.
func TestShutdownClosesIdleAndLetsDataFinish(t *testing.T) {
	c := baseConfig(t)
	c.Hostname = testHostname
	c.Networks = append(c.Networks, Network{Name: "here", CIDR: []string{"127.0.0.1/32"}, Grant: Grant{Profiles: []string{"office"}}})
	r := newRig(t, c)

	idle := rawClient(t, r)
	cmd(t, idle, 250, "EHLO idle.example")

	busy := rawClient(t, r)
	cmd(t, busy, 250, "EHLO busy.example")
	cmd(t, busy, 250, "MAIL FROM:<office@contoso.com>")
	cmd(t, busy, 250, "RCPT TO:<bob@example.com>")
	cmd(t, busy, 354, "DATA")
	head, body, _ := strings.Cut(testMsg, "\r\n\r\n")
	if _, err := io.WriteString(busy.W, head+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	busy.W.Flush()

	done := startShutdown(t, r)

	// The idle session is told at once, without sending anything.
	wantShutdown421(t, idle, "idle session")

	// The one in DATA finishes: 250, queued, then 421.
	if _, err := io.WriteString(busy.W, body+".\r\n"); err != nil {
		t.Fatal(err)
	}
	busy.W.Flush()
	if _, msg, err := busy.ReadResponse(250); err != nil {
		t.Fatalf("end of DATA during shutdown: %v (%s)", err, msg)
	}
	wantShutdown421(t, busy, "session after DATA")

	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v (it waited for its grace: a session was not closed)", err)
	}
	if ms := r.queued(); len(ms) != 1 {
		t.Fatalf("%d messages queued, want the one finished during shutdown", len(ms))
	}
}

// TestShutdownIdleAfterSTARTTLS: a session under TLS that waits is told
// 421 inside TLS.
func TestShutdownIdleAfterSTARTTLS(t *testing.T) {
	c := baseConfig(t)
	c.Hostname = testHostname
	r := newRig(t, c)
	sc := r.dial(true) // STARTTLS, then EHLO inside TLS
	if err := sc.Noop(); err != nil {
		t.Fatal(err)
	}
	done := startShutdown(t, r)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v (it waited for its grace: the TLS session was not closed)", err)
	}
	wantCode(t, sc.Noop(), 421, "4.3.2")
}

// TestShutdownMailAfterShutdownRefused: a session between transactions that
// sends MAIL FROM after the shutdown began is refused with the 421.
func TestShutdownMailAfterShutdownRefused(t *testing.T) {
	c := baseConfig(t)
	c.Hostname = testHostname
	r := newRig(t, c)
	r.srv.draining.Store(true) // as if Shutdown began while the command was on its way
	ss := &session{s: r.srv, l: &c.Listeners[0]}
	err := ss.Mail("office@contoso.com", nil)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 421 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 2}) || se.Message != testHostname+" shutting down" {
		t.Fatalf("MAIL during shutdown: %#v, want 421 4.3.2 %s shutting down", err, testHostname)
	}
}
