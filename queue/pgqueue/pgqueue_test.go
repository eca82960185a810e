package pgqueue

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/pgtest"
	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/queuetest"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &pg) }

func TestConformance(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, clock func() time.Time) func() queue.Queue {
		url := pg.Database(t)
		return func() queue.Queue {
			q, err := Open(context.Background(), url, Options{Now: clock, MaxConns: 4})
			if err != nil {
				t.Fatal(err)
			}
			return q
		}
	})
}

// Relays starting at once on an empty database both come up: the
// migrations take turns under the advisory lock.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	url := pg.Database(t)
	const n = 4
	errs := make(chan error, n)
	qs := make(chan *Queue, n)
	for range n {
		go func() {
			q, err := Open(context.Background(), url, Options{MaxConns: 2})
			errs <- err
			qs <- q
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("Open: %v", err)
		}
		if q := <-qs; q != nil {
			defer q.Close()
		}
	}
	pool, err := Connect(context.Background(), url, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if v, err := Version(context.Background(), pool); err != nil || v != SchemaVersion {
		t.Errorf("Version = %d, %v; want %d", v, err, SchemaVersion)
	}
	var rows int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM m365send_schema`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("schema rows = %d, %v", rows, err)
	}
	before, err := Migrate(context.Background(), pool)
	if err != nil || before != SchemaVersion {
		t.Errorf("Migrate again = %d, %v", before, err)
	}
}

// With Options.Lease, a lease holds while its holder renews it, whatever
// the caller asked for, and ends Lease after the last renewal.
func TestRenewedLeaseOutlivesItsRequest(t *testing.T) {
	ctx := context.Background()
	url := pg.Database(t)
	now := queuetest.T0
	clock := func() time.Time { return now }
	a, err := Open(ctx, url, Options{Now: clock, Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, url, Options{Now: clock, Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.Enqueue(ctx, queue.Envelope{To: []string{"x@example.com"}, Profile: "work"}, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	got, err := a.Claim(ctx, queue.ClaimRequest{Now: now, Max: 1, Lease: time.Second})
	if err != nil || len(got) != 1 || !got[0].Lease.Until.Equal(now.Add(time.Minute)) {
		t.Fatalf("Claim = %v, %v", got, err)
	}
	now = now.Add(50 * time.Second)
	if err := a.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	now = now.Add(50 * time.Second) // past the first minute, within the renewal
	if c, _ := b.Claim(ctx, queue.ClaimRequest{Now: now, Max: 1}); len(c) != 0 {
		t.Fatalf("renewed lease taken over: %v", c)
	}
	now = now.Add(15 * time.Second) // a stopped renewing (it died)
	c, err := b.Claim(ctx, queue.ClaimRequest{Now: now, Max: 1})
	if err != nil || len(c) != 1 {
		t.Fatalf("lease of a holder that stopped renewing not taken over: %v, %v", c, err)
	}
	if err := a.Update(ctx, got[0]); !errors.Is(err, queue.ErrLeaseLost) {
		t.Errorf("Update by the old holder = %v, want ErrLeaseLost", err)
	}
}
