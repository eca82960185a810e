package sender

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/smtpconn"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/testca"
)

// hostile is a raw SMTP server on loopback whose behaviour each test
// writes: a broken or malicious server that smtptest cannot play.
type hostile struct {
	ca *testca.CA
	ln net.Listener
	wg sync.WaitGroup

	mu    sync.Mutex
	lines []string // every line the client sent, in the clear or over TLS
}

// hostileConn is one connection to a hostile server.
type hostileConn struct {
	h *hostile
	c net.Conn
	r *bufio.Reader
}

// startHostile listens on 127.0.0.1 and runs serve for each connection.
// Cleanup closes the listener and waits for every handler; a handler ends
// when the client hangs up.
func startHostile(t *testing.T, serve func(hc *hostileConn)) *hostile {
	t.Helper()
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hostile{ca: ca, ln: ln}
	h.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.wg.Go(func() {
				defer c.Close()
				serve(&hostileConn{h: h, c: c, r: bufio.NewReader(c)})
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		h.wg.Wait()
	})
	return h
}

// received returns the lines the clients sent so far.
func (h *hostile) received() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.lines...)
}

// sender makes a Sender for h, trusting its CA, with no pacing and one
// try unless mod says otherwise.
func (h *hostile) sender(t *testing.T, mod func(*Config)) *Sender {
	t.Helper()
	cfg := Config{
		Tokens:         &tokens{current: "secret-token-0123456789"},
		Mailbox:        testMailbox,
		Host:           "127.0.0.1",
		Port:           h.ln.Addr().(*net.TCPAddr).Port,
		RootCAs:        h.ca.Pool,
		RatePerMinute:  -1,
		CommandTimeout: 10 * time.Second,
		MaxAttempts:    1,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.now, s.sleep = clk.now, clk.sleep
	return s
}

// readLine reads one client line and records it; "" with false when the
// client is gone.
func (hc *hostileConn) readLine() (string, bool) {
	l, err := hc.r.ReadString('\n')
	if err != nil {
		return "", false
	}
	l = strings.TrimRight(l, "\r\n")
	hc.h.mu.Lock()
	hc.h.lines = append(hc.h.lines, l)
	hc.h.mu.Unlock()
	return l, true
}

func (hc *hostileConn) write(s string) bool {
	_, err := hc.c.Write([]byte(s))
	return err == nil
}

// drain reads and records client lines until the client hangs up.
func (hc *hostileConn) drain() {
	for {
		if _, ok := hc.readLine(); !ok {
			return
		}
	}
}

// upToTLS plays an honest server up to a finished STARTTLS handshake.
func (hc *hostileConn) upToTLS() bool {
	if !hc.write("220 hostile.example ESMTP\r\n") {
		return false
	}
	if _, ok := hc.readLine(); !ok { // EHLO
		return false
	}
	if !hc.write("250-hostile.example\r\n250 STARTTLS\r\n") {
		return false
	}
	if l, ok := hc.readLine(); !ok || l != "STARTTLS" {
		return false
	}
	if !hc.write("220 go ahead\r\n") {
		return false
	}
	tc := tls.Server(hc.c, hc.h.ca.ServerTLSConfig())
	if err := tc.Handshake(); err != nil {
		return false
	}
	hc.c, hc.r = tc, bufio.NewReader(tc)
	return true
}

// flood writes unit over and over, up to limit bytes or until the client
// hangs up.
func (hc *hostileConn) flood(unit string, limit int) {
	chunk := bytes.Repeat([]byte(unit), 64<<10/len(unit))
	for n := 0; n < limit; n += len(chunk) {
		if _, err := hc.c.Write(chunk); err != nil {
			return
		}
	}
}

// floodLimit is how much a flooding server sends at most: enough that a
// client holding it all would be far over the memory bound.
const floodLimit = 128 << 20

// allocated runs f and returns the bytes it allocated in all (an upper
// bound of its peak memory).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// memoryBound is what a Send may allocate against a flooding server.
const memoryBound = 50 << 20

func checkBoundedReply(t *testing.T, serve func(hc *hostileConn)) {
	t.Helper()
	h := startHostile(t, serve)
	s := h.sender(t, nil)
	ctx := testCtx(t)
	var err error
	n := allocated(func() { _, err = s.Send(ctx, &Message{To: []string{"ops@example.com"}, Text: "hi"}) })
	if n > memoryBound {
		t.Errorf("Send allocated %d MB against a flooding server, want under %d MB", n>>20, memoryBound>>20)
	}
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("Send error = %v, want a *Error", err)
	}
	if !errors.Is(err, smtpconn.ErrReplyTooLong) {
		t.Errorf("error %v does not say the reply was too long", err)
	}
	if !se.Temporary || failure.KindOf(err) != failure.Temporary {
		t.Errorf("error %v: Temporary %v, kind %v; want temporary", err, se.Temporary, failure.KindOf(err))
	}
	if failure.HintOf(err) == "" {
		t.Errorf("error %v has no hint", err)
	}
	if ctx.Err() != nil {
		t.Errorf("Send returned only when the test's context ended")
	}
}

func TestGreetingWithoutNewlineIsBounded(t *testing.T) {
	checkBoundedReply(t, func(hc *hostileConn) {
		if hc.write("220 ") {
			hc.flood("a", floodLimit)
		}
	})
}

func TestEndlessMultilineEHLOIsBounded(t *testing.T) {
	checkBoundedReply(t, func(hc *hostileConn) {
		if !hc.write("220 hostile.example ESMTP\r\n") {
			return
		}
		if _, ok := hc.readLine(); ok {
			hc.flood("250-PIPELINING\r\n", floodLimit)
		}
	})
}

func TestEndlessEHLOAfterSTARTTLSIsBounded(t *testing.T) {
	checkBoundedReply(t, func(hc *hostileConn) {
		if !hc.upToTLS() {
			return
		}
		if _, ok := hc.readLine(); ok {
			hc.flood("250-PIPELINING\r\n", floodLimit)
		}
	})
}

func TestLongLineAfterSTARTTLSIsBounded(t *testing.T) {
	checkBoundedReply(t, func(hc *hostileConn) {
		if !hc.upToTLS() {
			return
		}
		if _, ok := hc.readLine(); ok && hc.write("250-") {
			hc.flood("x", floodLimit)
		}
	})
}

// TestLongButFairRepliesPass checks the bounds leave room: a 4,000-byte
// line and a 90-line EHLO reply are accepted.
func TestLongButFairRepliesPass(t *testing.T) {
	h := startHostile(t, func(hc *hostileConn) {
		if !hc.write("220 " + strings.Repeat("g", 4000) + "\r\n") {
			return
		}
		if _, ok := hc.readLine(); !ok {
			return
		}
		hc.write(strings.Repeat("250-X-FILLER\r\n", 90) + "250 SIZE 1000\r\n")
		hc.drain()
	})
	s := h.sender(t, nil)
	_, err := s.Send(testCtx(t), &Message{To: []string{"ops@example.com"}, Text: "hi"})
	var se *Error
	if !errors.As(err, &se) || se.Stage != StageStartTLS || errors.Is(err, smtpconn.ErrReplyTooLong) {
		t.Fatalf("Send error = %v, want the refusal for the missing STARTTLS (the replies are within bounds)", err)
	}
}

// dribble writes s one byte every step until the client hangs up.
func (hc *hostileConn) dribble(s string, step time.Duration) {
	tick := time.NewTicker(step)
	defer tick.Stop()
	for i := 0; ; i++ {
		if _, err := hc.c.Write([]byte{s[i%len(s)]}); err != nil {
			return
		}
		<-tick.C
	}
}

func TestDribbledGreetingCannotOutlastCommandTimeout(t *testing.T) {
	h := startHostile(t, func(hc *hostileConn) { hc.dribble("220 slow", 20*time.Millisecond) })
	s := h.sender(t, func(c *Config) { c.CommandTimeout = 500 * time.Millisecond })
	ctx := testCtx(t)
	_, err := s.Send(ctx, &Message{To: []string{"ops@example.com"}, Text: "hi"})
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Send error = %v, want the command timeout", err)
	}
	if ctx.Err() != nil {
		t.Errorf("Send returned only when the test's context ended")
	}
}

// A reply cut off mid-line by the timeout is the timeout, not a "short
// response": go-mail's reader hands the part it has on as a whole line.
func TestReplyCutOffMidLineIsTheTimeout(t *testing.T) {
	h := startHostile(t, func(hc *hostileConn) {
		if hc.write("220") {
			hc.drain()
		}
	})
	s := h.sender(t, func(c *Config) { c.CommandTimeout = 200 * time.Millisecond })
	_, err := s.Send(testCtx(t), &Message{To: []string{"ops@example.com"}, Text: "hi"})
	var se *Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &se) || se.Stage != StageGreeting || !se.Temporary {
		t.Fatalf("Send error = %v, want a temporary greeting timeout", err)
	}
}

func TestDribbledRepliesCannotOutlastSendTimeout(t *testing.T) {
	// Each reply comes within CommandTimeout, slowly; the whole send must
	// still end at SendTimeout, however many tries are left.
	h := startHostile(t, func(hc *hostileConn) {
		for _, r := range []string{"220 slow\r\n", "250-slow\r\n250 STARTTLS\r\n"} {
			tick := time.NewTicker(20 * time.Millisecond)
			for i := range len(r) {
				<-tick.C
				if !hc.write(r[i : i+1]) {
					tick.Stop()
					return
				}
			}
			tick.Stop()
			if _, ok := hc.readLine(); !ok {
				return
			}
		}
		hc.drain()
	})
	s := h.sender(t, func(c *Config) {
		c.CommandTimeout = 5 * time.Second
		c.SendTimeout = 300 * time.Millisecond
		c.MaxAttempts = 100
	})
	ctx := testCtx(t)
	_, err := s.Send(ctx, &Message{To: []string{"ops@example.com"}, Text: "hi"})
	if !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send error = %v, want the send timeout", err)
	}
	if ctx.Err() != nil {
		t.Errorf("Send returned only when the test's context ended")
	}
}

func TestNoHELOAfterEHLOTimedOut(t *testing.T) {
	h := startHostile(t, func(hc *hostileConn) {
		if hc.write("220 hostile.example ESMTP\r\n") {
			hc.drain() // never answers EHLO
		}
	})
	s := h.sender(t, func(c *Config) { c.CommandTimeout = 300 * time.Millisecond })
	_, err := s.Send(testCtx(t), &Message{To: []string{"ops@example.com"}, Text: "hi"})
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Send error = %v, want the EHLO timeout", err)
	}
	_ = h.ln.Close()
	h.wg.Wait()
	for _, l := range h.received() {
		if strings.HasPrefix(strings.ToUpper(l), "HELO") {
			t.Errorf("client sent %q after EHLO timed out", l)
		}
	}
}

func TestNoHELOAfterEHLO4xx(t *testing.T) {
	h := startHostile(t, func(hc *hostileConn) {
		if !hc.write("220 busy.example ESMTP\r\n") {
			return
		}
		if _, ok := hc.readLine(); ok && hc.write("421 4.3.2 Service not available, closing transmission channel\r\n") {
			hc.drain()
		}
	})
	s := h.sender(t, nil)
	_, err := s.Send(testCtx(t), &Message{To: []string{"ops@example.com"}, Text: "hi"})
	var se *Error
	if !errors.As(err, &se) || se.Code != 421 || !se.Temporary {
		t.Fatalf("Send error = %v, want the 421", err)
	}
	_ = h.ln.Close()
	h.wg.Wait()
	for _, l := range h.received() {
		if strings.HasPrefix(strings.ToUpper(l), "HELO") {
			t.Errorf("client sent %q after a 421 to EHLO", l)
		}
	}
}

func TestHELOAfterEHLORefused(t *testing.T) {
	// A 5xx reply to EHLO is the one case for HELO (RFC 5321 section
	// 3.2); such a server offers no STARTTLS, so the send stops there.
	h := startHostile(t, func(hc *hostileConn) {
		if !hc.write("220 old.example SMTP\r\n") {
			return
		}
		for {
			l, ok := hc.readLine()
			if !ok {
				return
			}
			switch {
			case strings.HasPrefix(l, "EHLO"):
				hc.write("502 5.5.2 Command not implemented\r\n")
			case strings.HasPrefix(l, "HELO"):
				hc.write("250 old.example\r\n")
			default:
				hc.write("221 bye\r\n")
				return
			}
		}
	})
	s := h.sender(t, nil)
	_, err := s.Send(testCtx(t), &Message{To: []string{"ops@example.com"}, Text: "hi"})
	var se *Error
	if !errors.As(err, &se) || se.Stage != StageStartTLS {
		t.Fatalf("Send error = %v, want no STARTTLS", err)
	}
	_ = h.ln.Close()
	h.wg.Wait()
	if got := strings.Join(h.received(), "|"); !strings.Contains(got, "HELO ") {
		t.Errorf("client sent %q; want HELO after the 502 to EHLO", got)
	}
}

func TestPlaintextAfterSTARTTLSReplyIsRefused(t *testing.T) {
	h := startHostile(t, func(hc *hostileConn) {
		if !hc.write("220 hostile.example ESMTP\r\n") {
			return
		}
		if _, ok := hc.readLine(); !ok {
			return
		}
		hc.write("250-hostile.example\r\n250 STARTTLS\r\n")
		if _, ok := hc.readLine(); !ok {
			return
		}
		// The 220 and an injected command in one write.
		hc.write("220 go ahead\r\n250-injected\r\n")
		hc.drain()
	})
	s := h.sender(t, nil)
	_, err := s.Send(testCtx(t), &Message{To: []string{"ops@example.com"}, Text: "hi"})
	if !errors.Is(err, smtpconn.ErrInjected) {
		t.Fatalf("Send error = %v, want the injection refused", err)
	}
	if failure.HintOf(err) == "" {
		t.Errorf("no hint for %v", err)
	}
}
