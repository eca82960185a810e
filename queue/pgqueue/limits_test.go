package pgqueue

import (
	"context"
	"testing"
	"time"

	"github.com/m365send/m365send/queue/queuetest"
)

// limitsOn returns n Limits on url, each on a pool of its own, as n
// relays have.
func limitsOn(t *testing.T, url string, n int) []*Limits {
	t.Helper()
	q, err := Open(context.Background(), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	var out []*Limits
	for range n {
		pool, err := Connect(context.Background(), q.conn, 5)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		out = append(out, NewLimits(pool, 0, 0))
	}
	return out
}

// Three relays together get 3 connections and 30 messages a minute per
// mailbox, not each.
func TestLimitsAreSharedByTheFleet(t *testing.T) {
	ctx := context.Background()
	lims := limitsOn(t, pg.Database(t), 3)
	now := queuetest.T0
	var release []func(time.Time)
	for i, l := range lims {
		g, err := l.Acquire(ctx, "Box@contoso.com", 10, 0, now)
		if err != nil || g.N != 10 {
			t.Fatalf("relay %d: grant %+v, %v; want 10", i, g, err)
		}
		release = append(release, g.Release)
	}
	g, err := lims[0].Acquire(ctx, "box@contoso.com", 1, 0, now)
	if err != nil || g.N != 0 || !g.Retry.After(now) {
		t.Fatalf("a fourth connection for the mailbox: %+v, %v", g, err)
	}
	// Another mailbox has its own.
	if g, err := lims[1].Acquire(ctx, "other@contoso.com", 5, 0, now); err != nil || g.N != 5 {
		t.Fatalf("other mailbox: %+v, %v", g, err)
	} else {
		g.Release(now)
	}
	// A connection comes back, but the minute's 30 are gone.
	end := now.Add(10 * time.Second)
	release[0](end)
	if g, err := lims[2].Acquire(ctx, "box@contoso.com", 1, 0, end); err != nil || g.N != 0 || !g.Retry.After(end) {
		t.Fatalf("31st message in a minute: %+v, %v", g, err)
	}
	release[1](end)
	release[2](end)
	// They count until a minute after their connection ended.
	if g, err := lims[1].Acquire(ctx, "box@contoso.com", 1, 0, end.Add(59*time.Second)); err != nil || g.N != 0 {
		t.Fatalf("59 s after the end: %+v, %v", g, err)
	}
	g, err = lims[1].Acquire(ctx, "box@contoso.com", 40, 0, end.Add(61*time.Second))
	if err != nil || g.N != 30 {
		t.Fatalf("61 s after the end: %+v, %v; want 30", g, err)
	}
	g.Release(end.Add(61 * time.Second))
}

// A relay that dies frees its connections at once (its database
// session ends); its grants still count.
func TestDeadRelayFreesItsConnections(t *testing.T) {
	ctx := context.Background()
	lims := limitsOn(t, pg.Database(t), 2)
	now := queuetest.T0
	for range 3 {
		g, err := lims[0].Acquire(ctx, "box@contoso.com", 1, 0, now)
		if err != nil || g.N != 1 {
			t.Fatalf("grant %+v, %v", g, err)
		}
		// The pool closes only when its connections are back.
		defer g.Release(now)
	}
	if g, _ := lims[1].Acquire(ctx, "box@contoso.com", 1, 0, now); g.N != 0 {
		t.Fatalf("a fourth connection: %+v", g)
	}
	// Kill the sessions of relay 0 as a SIGKILL would.
	var killed int
	if err := lims[1].pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid, 20000)) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&killed); err != nil || killed != 3 {
		t.Fatalf("terminated %d sessions, %v", killed, err)
	}
	g, err := lims[1].Acquire(ctx, "box@contoso.com", 30, 0, now)
	if err != nil || g.N != 27 {
		t.Fatalf("after the holder died: %+v, %v; want 27 (3 still count)", g, err)
	}
	g.Release(now)
}

// A mailbox's own rate (its profile's rate_per_minute) replaces the
// default across the fleet; a negative one turns the pace off, and the 3
// connections still hold.
func TestLimitsTakeTheMailboxRate(t *testing.T) {
	ctx := context.Background()
	lims := limitsOn(t, pg.Database(t), 2)
	now := queuetest.T0
	g, err := lims[0].Acquire(ctx, "slow@contoso.com", 10, 4, now)
	if err != nil || g.N != 4 {
		t.Fatalf("rate 4: grant %+v, %v; want 4", g, err)
	}
	g.Release(now)
	if g, err := lims[1].Acquire(ctx, "slow@contoso.com", 1, 4, now.Add(time.Second)); err != nil || g.N != 0 {
		t.Fatalf("a fifth message within the minute at rate 4: %+v, %v", g, err)
	}
	var release []func(time.Time)
	for i := range 3 {
		g, err := lims[i%2].Acquire(ctx, "fast@contoso.com", 100, -1, now)
		if err != nil || g.N != 100 {
			t.Fatalf("no pace, connection %d: grant %+v, %v; want 100", i+1, g, err)
		}
		release = append(release, g.Release)
	}
	if g, err := lims[1].Acquire(ctx, "fast@contoso.com", 1, -1, now); err != nil || g.N != 0 {
		t.Fatalf("a fourth connection without a pace: %+v, %v", g, err)
	}
	for _, r := range release {
		r(now)
	}
	g, err = lims[0].Acquire(ctx, "fast@contoso.com", 100, -1, now)
	if err != nil || g.N != 100 {
		t.Fatalf("no pace after 300 in the minute: grant %+v, %v; want 100", g, err)
	}
	g.Release(now)
	var rows int
	if err := lims[0].pool.QueryRow(ctx, `SELECT count(*) FROM m365send_sends WHERE mailbox = 'fast@contoso.com'`).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("%d pace rows for a mailbox without a pace (%v), want none", rows, err)
	}
}
