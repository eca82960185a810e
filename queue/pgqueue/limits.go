package pgqueue

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/m365send/m365send/queue"
)

// Limits is the queue.Limiter of every relay on one database: Exchange
// Online's per-mailbox limits held across the fleet (docs/relay.md,
// "Several relays, one queue").
//
// A connection is one of MaxConns session advisory locks per mailbox,
// pg_try_advisory_lock(hash of the mailbox, slot), held on a database
// connection of its own for as long as the delivery lasts: PostgreSQL
// drops it when the holder's connection ends, so a relay that dies frees
// its slots at once. The pace is m365send_sends: one row per grant (the
// mailbox, how many, and until when they count), read and written under a
// transaction advisory lock per mailbox; a grant counts from when it is
// made until a minute after its connection ended (a minute after its
// start plus a minute, if its relay died before saying).
type Limits struct {
	pool  *pgxpool.Pool
	conns int
	rate  int
}

var _ queue.Limiter = (*Limits)(nil)

// rateSlot is the second key of the advisory lock of a mailbox's pace;
// connection slots are 0 to MaxConns-1.
const rateSlot = 1000

// inFlight is how long a grant counts as running until its Release
// says when it ended.
const inFlight = time.Minute

// NewLimits returns the shared limits on pool: conns connections and
// rate messages a minute per mailbox (0: Exchange's 3 and 30); a rate
// given to Acquire (a profile's rate_per_minute) replaces rate. Give it a
// pool of its own: each connection in use holds one of its connections.
func NewLimits(pool *pgxpool.Pool, conns, rate int) *Limits {
	if conns <= 0 {
		conns = queue.DefaultMaxConns
	}
	if rate <= 0 {
		rate = queue.DefaultRatePerMinute
	}
	return &Limits{pool: pool, conns: conns, rate: rate}
}

// mailboxKey is the first key of a mailbox's advisory locks. Two
// mailboxes with one key share their limits: safe, only slower.
func mailboxKey(mailbox string) int32 {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(mailbox)))
	return int32(h.Sum32())
}

// Acquire implements queue.Limiter.
func (l *Limits) Acquire(ctx context.Context, mailbox string, n, rate int, now time.Time) (queue.Grant, error) {
	mailbox = strings.ToLower(mailbox)
	key := mailboxKey(mailbox)
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return queue.Grant{}, fmt.Errorf("pgqueue: limits: %w", err)
	}
	slot := -1
	for s := range l.conns {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, key, int32(s)).Scan(&ok); err != nil {
			conn.Release()
			return queue.Grant{}, fmt.Errorf("pgqueue: limits: %w", err)
		}
		if ok {
			slot = s
			break
		}
	}
	if slot < 0 {
		conn.Release()
		return queue.Grant{Retry: now.Add(time.Second)}, nil
	}
	unlock := func() {
		ctx := context.WithoutCancel(ctx)
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1, $2)`, key, int32(slot)); err != nil {
			// The lock may still be held: drop the connection with it.
			_ = conn.Conn().Close(ctx)
		}
		conn.Release()
	}
	if rate < 0 {
		// No pace for this mailbox: only the connection counts.
		return queue.Grant{N: n, Release: func(time.Time) { unlock() }}, nil
	}
	granted, row, retry, err := l.permit(ctx, conn.Conn(), mailbox, key, n, cmp.Or(rate, l.rate), now)
	if err != nil || granted == 0 {
		unlock()
		return queue.Grant{Retry: retry}, err
	}
	return queue.Grant{N: granted, Release: func(end time.Time) {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `UPDATE m365send_sends SET at = $1 WHERE id = $2`, end, row)
		unlock()
	}}, nil
}

// permit grants up to n submissions for mailbox at now within the pace
// of rate a minute,
// recording them; with none, it says when to ask again.
func (l *Limits) permit(ctx context.Context, conn *pgx.Conn, mailbox string, key int32, n, rate int, now time.Time) (granted int, row int64, retry time.Time, err error) {
	retry = now.Add(5 * time.Second)
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, key, int32(rateSlot)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM m365send_sends WHERE mailbox = $1 AND at <= $2`, mailbox, now.Add(-time.Minute)); err != nil {
			return err
		}
		var used int
		var oldest *time.Time
		if err := tx.QueryRow(ctx, `SELECT coalesce(sum(n), 0), min(at) FROM m365send_sends WHERE mailbox = $1`, mailbox).Scan(&used, &oldest); err != nil {
			return err
		}
		granted = min(n, rate-used)
		if granted <= 0 {
			granted = 0
			if oldest != nil && oldest.Add(time.Minute).Before(retry) {
				retry = oldest.Add(time.Minute)
			}
			return nil
		}
		return tx.QueryRow(ctx, `INSERT INTO m365send_sends (mailbox, at, n) VALUES ($1, $2, $3) RETURNING id`, mailbox, now.Add(inFlight), granted).Scan(&row)
	})
	if err != nil {
		return 0, 0, retry, fmt.Errorf("pgqueue: limits: %w", err)
	}
	return granted, row, retry, nil
}
