package pgqueue

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/spool"
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
