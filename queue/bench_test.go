package queue_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/spool"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/sender/smtptest"
)

// BenchmarkDeliver measures messages per second from the spool to the
// loopback fake Office 365 for one mailbox, with pacing off (3
// connections, batches of 10, every try recorded before and after).
func BenchmarkDeliver(b *testing.B) {
	srv, err := smtptest.New(smtptest.Options{DiscardData: true})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	q, err := spool.Open(b.TempDir(), spool.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	s, err := sender.New(sender.Config{
		Tokens:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "eyJ0eXAi.bench"}),
		Mailbox: mailbox, Host: srv.Host(), Port: srv.Port(), RootCAs: srv.RootCAs(),
		MaxAttempts: 1, RatePerMinute: -1,
	})
	if err != nil {
		b.Fatal(err)
	}
	body := "From: " + mailbox + "\r\nSubject: bench\r\n\r\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n", 64)
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Go(func() {
			for i := g; i < b.N; i += 10 {
				if _, err := q.Enqueue(context.Background(), queue.Envelope{From: mailbox, To: []string{"ops@example.com"}, Profile: "p"}, strings.NewReader(body)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := queue.NewDeliverer(queue.DelivererConfig{
		Queue: q,
		Route: func(context.Context, string) (queue.Route, error) {
			return queue.Route{Mailbox: mailbox, Transport: s}, nil
		},
		RatePerMinute: -1,
		Poll:          time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()
	if _, err := srv.WaitMessages(ctx, b.N); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.StopTimer()
	cancel()
	<-done
}
