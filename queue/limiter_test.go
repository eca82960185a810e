package queue_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/sender/smtptest"
)

// fakeLimiter is a Limiter shared with imaginary other relays: it grants
// one connection at a time and rate messages a minute.
type fakeLimiter struct {
	mu     sync.Mutex
	rate   int
	busy   bool
	grants []time.Time // one per message granted, at its end once released
	asked  int
	denied int
}

func (l *fakeLimiter) Acquire(_ context.Context, mailbox string, n, _ int, now time.Time) (queue.Grant, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asked++
	if l.busy {
		l.denied++
		return queue.Grant{Retry: now.Add(time.Second)}, nil
	}
	var in []time.Time
	for _, t := range l.grants {
		if t.After(now.Add(-time.Minute)) {
			in = append(in, t)
		}
	}
	free := l.rate - len(in)
	if free <= 0 {
		l.denied++
		slices.SortFunc(in, time.Time.Compare)
		return queue.Grant{Retry: in[0].Add(time.Minute)}, nil
	}
	n = min(n, free)
	l.busy = true
	first := len(l.grants)
	for range n {
		l.grants = append(l.grants, now.Add(time.Hour)) // counts until released
	}
	return queue.Grant{N: n, Release: func(end time.Time) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.busy = false
		for i := first; i < first+n; i++ {
			l.grants[i] = end
		}
	}}, nil
}

// With a Limiter, the Deliverer sends only what it grants: one connection
// at a time and 4 messages a minute here, below its own 3 and 30.
func TestDelivererKeepsTheSharedLimits(t *testing.T) {
	w := newWorld(t, smtptest.Options{}, queue.Policy{})
	lim := &fakeLimiter{rate: 4}
	d, err := queue.NewDeliverer(queue.DelivererConfig{
		Queue: w.q,
		Route: func(context.Context, string) (queue.Route, error) {
			return queue.Route{Mailbox: mailbox, Transport: w.tr}, nil
		},
		Limiter: lim,
		Now:     w.clk.Now,
		Wait:    w.clk.Wait,
		Logger:  slog.New(slog.NewTextHandler(w.log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	w.d = d
	for i := range 12 {
		w.enqueue(t, mailbox, "ops@example.com", fmt.Sprintf("message %d", i))
	}
	start := w.clk.Now()
	w.run(t, 12)
	if w.tr.peak > 1 {
		t.Errorf("%d connections at once; the Limiter grants one", w.tr.peak)
	}
	acc := slices.Clone(w.tr.accepted)
	slices.SortFunc(acc, time.Time.Compare)
	for i := 4; i < len(acc); i++ {
		if acc[i].Sub(acc[i-4]) < time.Minute {
			t.Fatalf("5 messages within %v (at %v); the Limiter grants 4 a minute", acc[i].Sub(acc[i-4]), acc[i])
		}
	}
	if el := w.clk.Now().Sub(start); el < 2*time.Minute {
		t.Errorf("12 messages in %v of fake time; 4 a minute takes over 2 minutes", el)
	}
	if lim.denied == 0 {
		t.Error("the Limiter never said no: the test did not test waiting for it")
	}
	if got := w.srv.Count(smtptest.StageMail); got != 12 {
		t.Errorf("%d MAIL FROM for 12 messages", got)
	}
}

// shutOut is a Limiter whose mailbox other processes hold entirely: it
// denies every connection for a minute, and says so on events.
type shutOut struct{ events chan string }

func (l shutOut) Acquire(_ context.Context, _ string, _, _ int, now time.Time) (queue.Grant, error) {
	l.events <- "denied"
	return queue.Grant{Retry: now.Add(time.Minute)}, nil
}

// A Deliverer that the Limiter shuts out of a mailbox (other relays hold
// its every connection) gives what it claimed back to the queue, for the
// relays that can deliver, and claims no more until the Limiter's Retry:
// it does not sit on messages it cannot send.
func TestDelivererShutOutGivesItsBacklogBack(t *testing.T) {
	w := newWorld(t, smtptest.Options{}, queue.Policy{})
	for i := range 5 {
		w.enqueue(t, mailbox, "ops@example.com", fmt.Sprintf("message %d", i))
	}
	events := make(chan string, 100)
	d, err := queue.NewDeliverer(queue.DelivererConfig{
		Queue: w.q,
		Route: func(context.Context, string) (queue.Route, error) {
			return queue.Route{Mailbox: mailbox, Transport: w.tr}, nil
		},
		Limiter: shutOut{events},
		Now:     w.clk.Now, // stands still: the Retry never comes
		Wait: func(ctx context.Context, _ time.Time, _ bool, wake <-chan struct{}) error {
			select {
			case <-wake:
				events <- "woke"
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error)
	go func() { ran <- d.Run(ctx) }()
	defer func() { cancel(); <-ran }()
	// The denial, then the wake-up that follows the connection's end.
	for _, want := range []string{"denied", "woke"} {
		if got := <-events; got != want {
			t.Fatalf("event %q, want %q", got, want)
		}
	}
	// Another relay finds every message free to claim.
	got, err := w.q.Claim(context.Background(), queue.ClaimRequest{Now: w.clk.Now(), Max: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Errorf("another relay could claim %d of the 5 messages the shut-out Deliverer took", len(got))
	}
	if n := w.srv.Count(smtptest.StageGreeting); n != 0 {
		t.Errorf("%d connections to the server; the Limiter granted none", n)
	}
}
