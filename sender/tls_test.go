package sender

import (
	"crypto/tls"
	"errors"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/testca"
)

// oldTLSServer is a bare SMTP listener that offers STARTTLS and then
// speaks at most TLS 1.1, which Office 365 no longer accepts (the
// smtptest server refuses TLS below 1.2 itself, so it cannot play this).
type oldTLSServer struct {
	ln net.Listener
	wg sync.WaitGroup

	mu         sync.Mutex
	conns      int
	handshakes int      // TLS handshakes that completed
	lines      []string // every command received, in the clear or over TLS
}

func startOldTLSServer(t *testing.T, ca *testca.CA) *oldTLSServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &oldTLSServer{ln: ln}
	conf := &tls.Config{Certificates: []tls.Certificate{ca.ServerCert}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
	srv.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			srv.mu.Lock()
			srv.conns++
			srv.mu.Unlock()
			srv.wg.Go(func() { srv.serve(c, conf) })
		}
	})
	t.Cleanup(srv.close)
	return srv
}

// close stops listening and waits for every connection's handler; a
// handler ends when the client hangs up (or after a minute at most).
func (s *oldTLSServer) close() {
	_ = s.ln.Close()
	s.wg.Wait()
}

func (s *oldTLSServer) serve(c net.Conn, conf *tls.Config) {
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	text := textproto.NewConn(c)
	_ = text.PrintfLine("220 old.example ESMTP ready")
	secure := false
	for {
		line, err := text.ReadLine()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.lines = append(s.lines, line)
		s.mu.Unlock()
		verb, _, _ := strings.Cut(strings.ToUpper(line), " ")
		switch {
		case verb == "EHLO" && !secure:
			_ = text.PrintfLine("250-old.example Hello\r\n250-ENHANCEDSTATUSCODES\r\n250 STARTTLS")
		case verb == "EHLO":
			_ = text.PrintfLine("250-old.example Hello\r\n250-ENHANCEDSTATUSCODES\r\n250 AUTH LOGIN XOAUTH2")
		case verb == "STARTTLS" && !secure:
			_ = text.PrintfLine("220 2.0.0 SMTP server ready")
			tc := tls.Server(c, conf)
			if err := tc.Handshake(); err != nil {
				return
			}
			s.mu.Lock()
			s.handshakes++
			s.mu.Unlock()
			c, text, secure = tc, textproto.NewConn(tc), true
		case verb == "AUTH":
			_ = text.PrintfLine("235 2.7.0 Authentication successful")
		case verb == "QUIT":
			_ = text.PrintfLine("221 2.0.0 Bye")
			return
		default:
			_ = text.PrintfLine("250 2.0.0 OK")
		}
	}
}

// TestRefusesTLSBelow12 checks that a server offering only TLS 1.1 after
// STARTTLS fails the connection at the starttls stage, during the
// handshake, before any AUTH is sent.
func TestRefusesTLSBelow12(t *testing.T) {
	for _, op := range []string{"Send", "Check"} {
		t.Run(op, func(t *testing.T) {
			ca, err := testca.New()
			if err != nil {
				t.Fatal(err)
			}
			srv := startOldTLSServer(t, ca)
			addr := srv.ln.Addr().(*net.TCPAddr)
			s, err := New(Config{Tokens: &tokens{current: "t"}, Mailbox: testMailbox, Host: addr.IP.String(), Port: addr.Port,
				RootCAs: ca.Pool, RatePerMinute: -1, CommandTimeout: 10 * time.Second, MaxAttempts: 2})
			if err != nil {
				t.Fatal(err)
			}
			clk := &fakeClock{}
			s.now, s.sleep = clk.now, clk.sleep
			if op == "Send" {
				_, err = s.Send(testCtx(t), batch(1)...)
			} else {
				_, err = s.Check(testCtx(t))
			}
			var e *Error
			if !errors.As(err, &e) || e.Stage != StageStartTLS {
				t.Fatalf("err = %#v (%v), want a *Error at stage %s", err, err, StageStartTLS)
			}
			srv.close()
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if srv.conns == 0 {
				t.Fatal("the listener saw no connection")
			}
			for _, l := range srv.lines {
				if strings.HasPrefix(strings.ToUpper(l), "AUTH") {
					t.Errorf("AUTH reached the TLS 1.1 server; lines %q", srv.lines)
				}
			}
			// The client refuses during the handshake (MinVersion), not
			// only after it.
			if srv.handshakes != 0 {
				t.Errorf("%d TLS 1.1 handshakes completed, want none", srv.handshakes)
			}
		})
	}
}
