package relay

import (
	"context"
	"fmt"
	"net/smtp"
	"sync"
	"testing"
	"time"

	"github.com/m365send/m365send/sender/smtptest"
)

// Many clients submitting for one mailbox at once never make the relay
// open more than 3 connections to Office 365 for it: the fake allows any
// number and counts the most it saw at once; each message's final dot is
// slowed so that connections overlap.
func TestRelayMailboxConnectionCap(t *testing.T) {
	const total, clients = 200, 20
	srv, err := smtptest.New(smtptest.Options{MaxConnsPerUser: -1,
		Faults: []smtptest.Fault{{Stage: smtptest.StageEndOfData, Delay: 5 * time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	addr, ca, done := runDelivering(ctx, t, srv)

	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := smtp.Dial(addr)
			if err != nil {
				errs <- err
				return
			}
			defer cl.Close()
			if err := cl.StartTLS(ca.client()); err != nil {
				errs <- err
				return
			}
			if err := cl.Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1")); err != nil {
				errs <- err
				return
			}
			for n := i; n < total; n += clients {
				msg := fmt.Sprintf("From: office@contoso.com\r\nTo: bob@example.com\r\nSubject: limits %d\r\n\r\nhello\r\n", n)
				if err := send(cl, "office@contoso.com", []string{"bob@example.com"}, msg); err != nil {
					errs <- fmt.Errorf("client %d, message %d: %w", i, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	msgs, err := srv.WaitMessages(ctx, total)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(msgs) != total {
		t.Errorf("%d messages delivered, want %d", len(msgs), total)
	}
	peak := srv.PeakConns("office@contoso.com")
	if peak < 1 || peak > 3 {
		t.Errorf("at most %d connections at once for the mailbox, want 1 to 3", peak)
	}
	t.Logf("%d messages from %d clients over %d connections, at most %d at once", total, clients, srv.Count(smtptest.StageGreeting), peak)
}
