// Package backend opens the queue a configuration names: the on-disk spool
// (a folder) or PostgreSQL (a postgres:// URL), so that the relay, the
// queue commands and send's hand-over work the same against either.
package backend

import (
	"context"
	"log/slog"
	"net/url"
	"time"

	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/pgqueue"
	"github.com/m365send/m365send/queue/spool"
)

// DefaultLease is how long a PostgreSQL lease outlives the last renewal by
// its holder (pgqueue.Options.Lease) unless the URL says lease=...: a relay
// killed mid-delivery has its messages claimed by another relay within it.
const DefaultLease = time.Minute

// Options configures Open; the zero value is fine.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives diagnostics (nil: discard).
	Logger *slog.Logger
}

// IsDatabase reports whether where names a PostgreSQL database rather than
// a spool folder.
func IsDatabase(where string) bool { return pgqueue.IsURL(where) }

// Describe returns where as logs and messages may show it: a database
// URL without its password.
func Describe(where string) string {
	if !IsDatabase(where) {
		return where
	}
	u, err := url.Parse(where)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}

// Open opens the queue at where: a postgres:// URL (the schema is created
// or migrated, and leases are renewed until Close) or a spool folder.
func Open(ctx context.Context, where string, o Options) (queue.Queue, error) {
	if IsDatabase(where) {
		return pgqueue.Open(ctx, where, pgqueue.Options{Now: o.Now, Logger: o.Logger, Lease: leaseOf(where)})
	}
	return spool.Open(where, spool.Options{Now: o.Now, Logger: o.Logger})
}

// leaseOf is the URL's lease= or DefaultLease.
func leaseOf(where string) time.Duration {
	if _, lease, err := pgqueue.ParseURL(where); err == nil && lease > 0 {
		return lease
	}
	return DefaultLease
}

// Limiter returns the limits q's relays share (PostgreSQL: across every
// relay on the database), or nil for a spool, whose relay keeps them in
// its own process.
func Limiter(ctx context.Context, q queue.Queue) (queue.Limiter, error) {
	if pq, ok := q.(*pgqueue.Queue); ok {
		l, err := pq.Limits(ctx)
		if err != nil {
			return nil, err
		}
		return l, nil
	}
	return nil, nil
}
