package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"path/filepath"
	"strconv"
	"time"

	"github.com/m365send/m365send/internal/queueadmin"
	"github.com/m365send/m365send/internal/session"
	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/spool"
	"github.com/m365send/m365send/relay"
)

// relayDemoSubject is the subject of the message the demo's device sends.
const relayDemoSubject = "m365send sandbox: through the relay"

// demoRelay starts a relay on loopback (as `m365send relay` would, with a
// spool in sb.Dir and the app-only profile to deliver through), submits
// one message to it as a device would (net/smtp: STARTTLS trusting the
// relay's certificate, AUTH PLAIN), waits until the fake Office 365 has it
// (it will be its want-th message), and stops the relay.
func demoRelay(ctx context.Context, out io.Writer, sb *Sandbox, base session.Options, want int) (err error) {
	pw := make([]byte, 12)
	if _, err := rand.Read(pw); err != nil {
		return fmt.Errorf("sandbox demo: %w", err)
	}
	password := hex.EncodeToString(pw)
	hash, err := relay.HashPassword(password)
	if err != nil {
		return fmt.Errorf("sandbox demo: %w", err)
	}
	const user = "printer"
	cfg, err := relay.Decode("sandbox demo", []byte("[relay]\nlisten = [\"127.0.0.1:0\"]\nhostname = \"localhost\"\n"+
		"[[relay.users]]\nname = \""+user+"\"\npassword_hash = "+strconv.Quote(hash)+"\nprofiles = [\""+AppProfile+"\"]\n"))
	if err != nil {
		return fmt.Errorf("sandbox demo: %w", err)
	}
	if err := relay.Check(cfg, []string{AppProfile, UserProfile}); err != nil {
		return fmt.Errorf("sandbox demo: %w", err)
	}
	state := filepath.Join(sb.Dir, RelayDirName)
	cert, _, err := relay.Certificate(cfg, state, time.Now())
	if err != nil {
		return fmt.Errorf("sandbox demo: %w", err)
	}
	sp, err := spool.Open(filepath.Join(state, "spool"), spool.Options{})
	if err != nil {
		return fmt.Errorf("sandbox demo: %w", err)
	}
	defer sp.Close()
	opts := base
	opts.ConfigFile = sb.ConfigFile
	routes := queueadmin.NewRoutes(opts)
	d, err := queue.NewDeliverer(queue.DelivererConfig{Queue: sp, Route: routes.Route})
	if err != nil {
		return fmt.Errorf("sandbox demo: %w", err)
	}

	rctx, stop := context.WithCancel(ctx)
	ready := make(chan string, 1)
	ran := make(chan error, 1)
	go func() {
		ran <- relay.Run(rctx, relay.Options{Config: cfg, Queue: sp, Mailboxes: map[string]string{AppProfile: AppMailbox}, Certificate: cert,
			Ready: func(a []net.Addr) { ready <- a[0].String() }}, d, time.Second)
	}()
	defer func() {
		stop()
		if rerr := <-ran; rerr != nil && err == nil {
			err = fmt.Errorf("sandbox demo: relay: %w", rerr)
		}
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-ran:
		ran <- err // for the deferred wait
		return fmt.Errorf("sandbox demo: relay: %w", err)
	case <-ctx.Done():
		return ctx.Err()
	}
	fmt.Fprintf(out, "   relay on %s, certificate SHA-256 fingerprint %s\n", addr, relay.Fingerprint(cert))

	// The device: it trusts the relay's certificate (its fingerprint, in
	// real life) and signs in with a user name and password.
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return fmt.Errorf("sandbox demo: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	if err := deviceSend(addr, &tls.Config{RootCAs: pool, ServerName: "localhost"}, user, password); err != nil {
		return fmt.Errorf("sandbox demo: the device's submission: %w", err)
	}
	fmt.Fprintf(out, "   a device sent over STARTTLS with AUTH PLAIN as %q; the relay answered 250 once the message was on disk\n", user)
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := sb.SMTP.WaitMessages(wctx, want); err != nil {
		return fmt.Errorf("sandbox demo: the relay did not deliver: %w", err)
	}
	fmt.Fprintf(out, "   the relay delivered it through profile %q (XOAUTH2 as %s)\n", AppProfile, AppMailbox)
	return nil
}

// deviceSend submits one message as a printer would.
func deviceSend(addr string, tc *tls.Config, user, password string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.StartTLS(tc); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if err := c.Auth(smtp.PlainAuth("", user, password, host)); err != nil {
		return err
	}
	if err := c.Mail(AppMailbox); err != nil {
		return err
	}
	if err := c.Rcpt(demoRecipient); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	msg := "From: Printer <" + AppMailbox + ">\r\nTo: " + demoRecipient + "\r\nSubject: " + relayDemoSubject + "\r\n\r\n" +
		"Sent by a device with a password, relayed by `m365send relay`.\r\n"
	if _, err := io.WriteString(w, msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := c.Quit(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
