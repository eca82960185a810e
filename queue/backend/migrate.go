package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/pgqueue"
	"github.com/m365send/m365send/queue/spool"
)

// Moved is what MoveToDatabase did.
type Moved struct {
	// Queued and Dead count the messages and dead letters moved.
	Queued, Dead int
	// Busy counts the messages left in the spool because a process (a
	// relay, queue flush) was delivering them; run the move again.
	Busy int
}

// String says what moved, as "3 messages and 1 dead letter".
func (m Moved) String() string {
	return count(m.Queued, "message", "messages") + " and " + count(m.Dead, "dead letter", "dead letters")
}

// count writes n with the noun's singular or plural form.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// MoveToDatabase moves every message and dead letter of the spool from
// into the database to, keeping IDs and states, without losing one: each
// is locked in the spool (a message being delivered is left, and
// counted in Busy), copied in one committed transaction, and only then
// removed from the spool. Interrupted, it can run again: a message
// already copied is not copied twice, only removed from the spool. Stop
// the relays on the spool first, so that none delivers a message while
// it moves.
func MoveToDatabase(ctx context.Context, from *spool.Spool, to *pgqueue.Queue) (Moved, error) {
	var mv Moved
	// Claiming with a clock at the end of time locks every queued message
	// that nobody else holds, due or not.
	end := time.Unix(math.MaxInt32, 0)
	for {
		msgs, err := from.Claim(ctx, queue.ClaimRequest{Now: end, Max: 100, Lease: time.Hour})
		if err != nil {
			return mv, fmt.Errorf("move the queue: %w", err)
		}
		if len(msgs) == 0 {
			break
		}
		for i, m := range msgs {
			if err := copyOne(ctx, from, to, m); err != nil {
				for _, rest := range msgs[i:] {
					_ = from.Release(context.WithoutCancel(ctx), rest)
				}
				return mv, err
			}
			if err := from.Done(ctx, m); err != nil {
				return mv, fmt.Errorf("move the queue: %s copied, not removed from the spool (run again): %w", m.ID, err)
			}
			mv.Queued++
		}
	}
	left, err := from.List(ctx, queue.Filter{})
	if err != nil {
		return mv, fmt.Errorf("move the queue: %w", err)
	}
	mv.Busy = len(left)
	dead, err := from.List(ctx, queue.Filter{Dead: true})
	if err != nil {
		return mv, fmt.Errorf("move the queue: %w", err)
	}
	for _, m := range dead {
		if err := copyOne(ctx, from, to, m); err != nil {
			return mv, err
		}
		err := from.Delete(ctx, m.ID)
		switch {
		case errors.Is(err, queue.ErrBusy):
			mv.Busy++
		case err != nil && !errors.Is(err, queue.ErrNotFound):
			return mv, fmt.Errorf("move the queue: %s copied, not removed from the spool (run again): %w", m.ID, err)
		default:
			mv.Dead++
		}
	}
	return mv, nil
}

// copyOne stores m with its data in to, unless it is there already.
func copyOne(ctx context.Context, from *spool.Spool, to *pgqueue.Queue, m *queue.Message) error {
	rc, err := from.Open(ctx, m.ID)
	if err != nil {
		return fmt.Errorf("move the queue: %s: %w", m.ID, err)
	}
	data, err := io.ReadAll(rc)
	_ = rc.Close()
	if err != nil {
		return fmt.Errorf("move the queue: %s: %w", m.ID, err)
	}
	st := *m
	st.Lease = queue.Lease{}
	if _, err := to.Insert(ctx, &st, data); err != nil {
		return failure.Wrap(failure.Unavailable, fmt.Errorf("move the queue: %s: %w", m.ID, err), "nothing was lost: run the move again")
	}
	return nil
}

// Move moves the spool in the folder dir into the PostgreSQL queue at
// url (MoveToDatabase), creating its tables if needed.
func Move(ctx context.Context, dir, url string) (Moved, error) {
	if IsDatabase(dir) {
		return Moved{}, failure.New(failure.Usage, "the queue is a database already ("+Describe(dir)+"); the move is from a spool folder", "set queue (or $M365SEND_QUEUE) to the spool's folder for the move")
	}
	if !IsDatabase(url) {
		return Moved{}, failure.New(failure.Usage, "--to needs a postgres:// URL", "write it as --to postgres://user@host/database")
	}
	sp, err := spool.Open(dir, spool.Options{})
	if err != nil {
		return Moved{}, err
	}
	defer sp.Close()
	pq, err := pgqueue.Open(ctx, url, pgqueue.Options{})
	if err != nil {
		return Moved{}, err
	}
	defer pq.Close()
	return MoveToDatabase(ctx, sp, pq)
}

// ErrBusyLeft is the error of a move that left n messages in the spool
// because they were being delivered.
func ErrBusyLeft(n int) error {
	return failure.New(failure.Temporary, fmt.Sprintf("%d message(s) were being delivered and stay in the spool", n), "stop the relays on the spool and run the move again")
}
