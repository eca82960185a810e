package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/smtp"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// freePortCmd sets VAR to a loopback port nothing listens on now.
func freePortCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "freeport")
	if len(args) != 1 {
		ts.Fatalf("usage: freeport VAR")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	port := l.Addr().(*net.TCPAddr).Port
	ts.Check(l.Close())
	ts.Setenv(args[0], strconv.Itoa(port))
}

// waitPortCmd waits until ADDR accepts a connection, for a minute at most.
func waitPortCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "waitport")
	if len(args) != 1 {
		ts.Fatalf("usage: waitport ADDR")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", args[0])
		if err == nil {
			ts.Check(c.Close())
			return
		}
		select {
		case <-ctx.Done():
			ts.Fatalf("%s does not accept connections: %v", args[0], err)
		case <-tick.C:
		}
	}
}

// relaySendCmd submits one message to a relay with STARTTLS and AUTH
// PLAIN, trusting only the certificate in CERT.
func relaySendCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "relaysend")
	if len(args) != 6 {
		ts.Fatalf("usage: relaysend ADDR CERT USER PASS FROM TO")
	}
	addr, certFile, user, pass, from, to := args[0], args[1], args[2], args[3], args[4], args[5]
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(ts.ReadFile(certFile))) {
		ts.Fatalf("no certificate in %s", certFile)
	}
	host, _, err := net.SplitHostPort(addr)
	ts.Check(err)
	c, err := smtp.Dial(addr)
	ts.Check(err)
	defer c.Close()
	ts.Check(c.StartTLS(&tls.Config{ServerName: host, RootCAs: pool}))
	ts.Check(c.Auth(smtp.PlainAuth("", user, pass, host)))
	ts.Check(c.Mail(from))
	ts.Check(c.Rcpt(to))
	w, err := c.Data()
	ts.Check(err)
	_, err = fmt.Fprintf(w, "From: %s\r\nTo: %s\r\nSubject: through the relay\r\n\r\nhello from a device\r\n", from, to)
	ts.Check(err)
	ts.Check(w.Close())
	ts.Check(c.Quit())
}
