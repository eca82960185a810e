package pacing

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// clock is a test clock that advances only when slept on.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func TestThirtyFirstMessageOfTheWindowWaits(t *testing.T) {
	dir := t.TempDir()
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	var waits []time.Duration
	// A new Limits per message, as each process makes its own.
	limits := func() *Limits {
		return &Limits{Dir: dir, Mailbox: "alerts@contoso.com", Rate: 30, Window: time.Minute, Now: c.Now, Sleep: c.Sleep,
			Waited: func(d time.Duration) { waits = append(waits, d) }}
	}
	start := c.Now()
	for i := 1; i <= 30; i++ {
		if err := limits().Message(context.Background()); err != nil {
			t.Fatal(err)
		}
		c.Sleep(context.Background(), time.Second)
	}
	if len(waits) != 0 {
		t.Fatalf("the first 30 messages waited: %v", waits)
	}
	if err := limits().Message(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(waits) != 1 || waits[0] != 30*time.Second {
		t.Fatalf("the 31st message waited %v, want once 30s (until the first leaves the window)", waits)
	}
	if got := c.Now().Sub(start); got != time.Minute {
		t.Fatalf("the 31st went at %v after the first, want 1m", got)
	}
	// Another mailbox has its own window.
	other := &Limits{Dir: dir, Mailbox: "other@contoso.com", Rate: 30, Now: c.Now, Sleep: c.Sleep,
		Waited: func(d time.Duration) { t.Errorf("another mailbox waited %v", d) }}
	if err := other.Message(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSlotsHoldAcrossLimits(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	mk := func() *Limits { return &Limits{Dir: dir, Mailbox: "alerts@contoso.com", Conns: 3} }
	var rels []func()
	for i := 0; i < 3; i++ {
		rel, err := mk().Slot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rels = append(rels, rel)
	}
	// A fourth waits until ctx ends...
	cctx, cancel := context.WithCancel(ctx)
	l := mk()
	l.Sleep = func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }
	if _, err := l.Slot(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("fourth slot: err = %v, want it to wait", err)
	}
	// ... and gets one when a slot is released.
	rels[1]()
	rel, err := mk().Slot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rel()
	rels[0]()
	rels[2]()
}
