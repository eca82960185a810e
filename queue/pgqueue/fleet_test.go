package pgqueue

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/sender/smtptest"
)

// Three Deliverers (three relays) on one database deliver every message
// once, over at most 3 connections at once for the mailbox together
// (each alone would take 3).
func TestFleetDeliversOnceWithinTheMailboxLimit(t *testing.T) {
	const mailbox, n, relays = "alerts@contoso.com", 90, 3
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	url := pg.Database(t)
	srv, err := smtptest.New(smtptest.Options{MaxConnsPerUser: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// Each relay has its own sender, as separate processes do.
	newSender := func() *sender.Sender {
		s, err := sender.New(sender.Config{
			Tokens:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "eyJ0eXAi.fake.token", Expiry: time.Now().Add(time.Hour)}),
			Mailbox: mailbox, Host: srv.Host(), Port: srv.Port(), RootCAs: srv.RootCAs(),
			MaxAttempts: 1, RatePerMinute: -1, CommandTimeout: 20 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	var qs []*Queue
	for range relays {
		q, err := Open(ctx, url, Options{Lease: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		qs = append(qs, q)
	}
	for i := range n {
		data := fmt.Sprintf("From: %s\r\nTo: ops@example.com\r\nSubject: m%d\r\nMessage-ID: <m%d@contoso.com>\r\n\r\nbody\r\n", mailbox, i, i)
		if _, err := qs[i%relays].Enqueue(ctx, queue.Envelope{From: mailbox, To: []string{"ops@example.com"}, Profile: "alerts"}, strings.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	// Whenever a Deliverer is idle it looks whether everything arrived.
	wait := func(ctx context.Context, until time.Time, idle bool, wake <-chan struct{}) error {
		if idle && len(srv.Messages()) >= n {
			if left, err := qs[0].List(ctx, queue.Filter{}); err == nil && len(left) == 0 {
				stop()
				return ctx.Err()
			}
		}
		return queue.WaitUntil(ctx, until, idle, wake)
	}
	var wg sync.WaitGroup
	for _, q := range qs {
		// Exchange's 3 connections; the pace (30 a minute) is
		// TestLimitsAreSharedByTheFleet's, not this real-time test's.
		pool, err := Connect(ctx, q.conn, 5)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		lim := NewLimits(pool, 3, 100000)
		s := newSender()
		d, err := queue.NewDeliverer(queue.DelivererConfig{
			Queue: q,
			Route: func(context.Context, string) (queue.Route, error) {
				return queue.Route{Mailbox: mailbox, Transport: s}, nil
			},
			Limiter:       lim,
			RatePerMinute: -1,
			Batch:         3,
			Poll:          50 * time.Millisecond,
			Wait:          wait,
		})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { _ = d.Run(runCtx) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("not everything delivered in time: smtptest has %d of %d", len(srv.Messages()), n)
	}
	seen := map[string]int{}
	for _, m := range srv.Messages() {
		for _, line := range strings.Split(string(m.Data), "\r\n") {
			if id, ok := strings.CutPrefix(line, "Message-ID: "); ok {
				seen[id]++
			}
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct messages arrived, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s arrived %d times", id, c)
		}
	}
	if peak := srv.PeakConns(mailbox); peak > 3 || peak == 0 {
		t.Errorf("smtptest saw %d connections at once for the mailbox, want 1 to 3", peak)
	}
}
