package pgqueue

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/spool"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/sender/smtptest"
)

// BenchmarkRelays measures accepted msgs/s (Enqueue, committed) and
// handled msgs/s (Claim, Open, Update, Done: the queue's side of a
// delivery) with 1, 2 and 3 relays (Queue handles, 10 goroutines each)
// on one database, and the on-disk spool for comparison. Set
// PGTEST_DURABLE=1 for a server that syncs its commits, as the spool
// does (docs/development.md).
func BenchmarkRelays(b *testing.B) {
	body := "Subject: bench\r\n\r\n" + strings.Repeat("x", 2048) + "\r\n"
	env := queue.Envelope{From: "app@contoso.com", To: []string{"ops@example.com"}, Profile: "work"}
	run := func(b *testing.B, qs []queue.Queue) {
		ctx := context.Background()
		var next atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		for _, q := range qs {
			for range 10 {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						if _, err := q.Enqueue(ctx, env, strings.NewReader(body)); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
		}
		wg.Wait()
		accepted := b.Elapsed()
		var done atomic.Int64
		for _, q := range qs {
			for range 10 {
				wg.Go(func() {
					for {
						ms, err := q.Claim(ctx, queue.ClaimRequest{Now: queueNow(), Max: 10})
						if err != nil || len(ms) == 0 {
							return
						}
						for _, m := range ms {
							rc, err := q.Open(ctx, m.ID)
							if err == nil {
								rc.Close()
								m.Attempts++
								err = q.Update(ctx, m)
							}
							if err == nil {
								err = q.Done(ctx, m)
							}
							if err != nil {
								b.Error(err)
								return
							}
							done.Add(1)
						}
					}
				})
			}
		}
		wg.Wait()
		b.StopTimer()
		if done.Load() != int64(b.N) {
			b.Fatalf("handled %d of %d", done.Load(), b.N)
		}
		b.ReportMetric(float64(b.N)/accepted.Seconds(), "accepted/s")
		b.ReportMetric(float64(b.N)/(b.Elapsed()-accepted).Seconds(), "handled/s")
	}
	b.Run("spool", func(b *testing.B) {
		s, err := spool.Open(b.TempDir(), spool.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		run(b, []queue.Queue{s})
	})
	for relays := 1; relays <= 3; relays++ {
		b.Run(fmt.Sprintf("postgres-%d", relays), func(b *testing.B) {
			url := pg.Database(b)
			var qs []queue.Queue
			for range relays {
				q, err := Open(context.Background(), url, Options{MaxConns: 10})
				if err != nil {
					b.Fatal(err)
				}
				defer q.Close()
				qs = append(qs, q)
			}
			run(b, qs)
		})
	}
}

// queueNow is the benchmark's clock: every message is due.
func queueNow() time.Time { return time.Now().Add(time.Hour) }

// BenchmarkFleetDelivery measures delivered msgs/s end to end: b.N
// messages queued for one mailbox, then delivered through the fake
// Office 365 (smtptest: TLS, XOAUTH2, no pace) by 1, 2 and 3 Deliverers
// (relays) on one database sharing its 3 connections (Limits), and by
// one Deliverer on the on-disk spool for comparison.
func BenchmarkFleetDelivery(b *testing.B) {
	const mailbox = "alerts@contoso.com"
	body := "Subject: bench\r\n\r\n" + strings.Repeat("x", 2048) + "\r\n"
	env := queue.Envelope{From: mailbox, To: []string{"ops@example.com"}, Profile: "alerts"}
	run := func(b *testing.B, qs []queue.Queue, lims []queue.Limiter) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		srv, err := smtptest.New(smtptest.Options{MaxConnsPerUser: -1, DiscardData: true})
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Close()
		for i := range b.N {
			if _, err := qs[i%len(qs)].Enqueue(ctx, env, strings.NewReader(body)); err != nil {
				b.Fatal(err)
			}
		}
		runCtx, stop := context.WithCancel(ctx)
		defer stop()
		// Whenever a Deliverer is idle it looks whether everything arrived.
		wait := func(ctx context.Context, until time.Time, idle bool, wake <-chan struct{}) error {
			if idle && len(srv.Messages()) >= b.N {
				if left, err := qs[0].List(ctx, queue.Filter{}); err == nil && len(left) == 0 {
					stop()
					return ctx.Err()
				}
			}
			return queue.WaitUntil(ctx, until, idle, wake)
		}
		var wg sync.WaitGroup
		b.ResetTimer()
		for i, q := range qs {
			s, err := sender.New(sender.Config{
				Tokens:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "eyJ0eXAi.fake.token", Expiry: time.Now().Add(time.Hour)}),
				Mailbox: mailbox, Host: srv.Host(), Port: srv.Port(), RootCAs: srv.RootCAs(),
				MaxAttempts: 1, RatePerMinute: -1, CommandTimeout: 20 * time.Second,
			})
			if err != nil {
				b.Fatal(err)
			}
			d, err := queue.NewDeliverer(queue.DelivererConfig{
				Queue: q,
				Route: func(context.Context, string) (queue.Route, error) {
					return queue.Route{Mailbox: mailbox, Transport: s}, nil
				},
				Limiter: lims[i], RatePerMinute: -1, Wait: wait,
			})
			if err != nil {
				b.Fatal(err)
			}
			wg.Go(func() { _ = d.Run(runCtx) })
		}
		wg.Wait()
		b.StopTimer()
		if ctx.Err() != nil {
			b.Fatalf("delivered %d of %d in time", len(srv.Messages()), b.N)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "delivered/s")
	}
	b.Run("spool", func(b *testing.B) {
		s, err := spool.Open(b.TempDir(), spool.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		run(b, []queue.Queue{s}, []queue.Limiter{nil})
	})
	for relays := 1; relays <= 3; relays++ {
		b.Run(fmt.Sprintf("postgres-%d", relays), func(b *testing.B) {
			url := pg.Database(b)
			var qs []queue.Queue
			var lims []queue.Limiter
			for range relays {
				q, err := Open(context.Background(), url, Options{Lease: time.Minute})
				if err != nil {
					b.Fatal(err)
				}
				defer q.Close()
				l, err := q.Limits(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				qs, lims = append(qs, q), append(lims, l)
			}
			run(b, qs, lims)
		})
	}
}
