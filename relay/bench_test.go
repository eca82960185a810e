package relay

import (
	"context"
	"net/smtp"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/m365send/m365send/sender/smtptest"
)

// BenchmarkAcceptIntoSpool measures messages accepted per second into the
// on-disk spool (each one fsynced before its 250) from 10 concurrent
// clients, each on one STARTTLS connection authenticated with PLAIN.
func BenchmarkAcceptIntoSpool(b *testing.B) {
	const clients = 10
	r := newRig(b, baseConfig(b))
	cs := make([]*smtp.Client, clients)
	for i := range cs {
		cs[i] = r.dial(true)
		if err := cs[i].Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1")); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	b.ResetTimer()
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := send(c, "office@contoso.com", []string{"bob@example.com"}, testMsg); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if n := len(r.queued()); n != b.N {
		b.Fatalf("%d queued, want %d", n, b.N)
	}
}

// BenchmarkRelayEndToEnd measures messages per second from 10 SMTP
// clients (STARTTLS, AUTH PLAIN, one connection each) through Run — the
// spool, fsync before each 250, and the Deliverer with pacing off — to
// the loopback fake Office 365, until the fake has every message.
func BenchmarkRelayEndToEnd(b *testing.B) {
	const clients = 10
	srv, err := smtptest.New(smtptest.Options{DiscardData: true, MaxConnsPerUser: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, ca, done := runDelivering(ctx, b, srv)
	cs := make([]*smtp.Client, clients)
	for i := range cs {
		cl, err := smtp.Dial(addr)
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		if err := cl.StartTLS(ca.client()); err != nil {
			b.Fatal(err)
		}
		if err := cl.Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1")); err != nil {
			b.Fatal(err)
		}
		cs[i] = cl
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	b.ResetTimer()
	for _, cl := range cs {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := send(cl, "office@contoso.com", []string{"bob@example.com"}, testMsg); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	if _, err := srv.WaitMessages(ctx, b.N); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	for _, cl := range cs {
		cl.Quit()
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
