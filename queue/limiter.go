package queue

import (
	"context"
	"time"
)

// Limiter shares Exchange Online's per-mailbox limits among the
// Deliverers of several processes, such as relays on one PostgreSQL
// queue (pgqueue.Limits). A Deliverer always keeps the limits within its
// own process; with a Limiter it also asks it before each connection.
type Limiter interface {
	// Acquire asks, at now, for one of mailbox's connections and for up
	// to n submissions over it, at most rate a minute (the mailbox's
	// rate_per_minute; 0: the Limiter's default, negative: no pace). The
	// Grant says how many may go; with N 0 nothing may go now, and Retry
	// says when to ask again.
	Acquire(ctx context.Context, mailbox string, n, rate int, now time.Time) (Grant, error)
}

// Grant is a Limiter's answer.
type Grant struct {
	// N is how many messages may go over the connection (0 to the n
	// asked for).
	N int
	// Retry is when to ask again when N is 0 (a connection or the pace
	// frees up).
	Retry time.Time
	// Release gives the connection back when N > 0; the N submissions
	// count against the pace until a minute after end (when the last
	// went out).
	Release func(end time.Time)
}
