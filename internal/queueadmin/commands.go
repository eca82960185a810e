package queueadmin

import (
	"context"
	"fmt"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/safetext"
	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/backend"
)

// ParseID checks a queue ID typed by the operator: a usage failure when it
// is not one.
func ParseID(s string) (queue.ID, error) {
	id, err := queue.ParseID(s)
	if err != nil {
		return "", failure.New(failure.Usage, fmt.Sprintf("%q is not a queue ID", safetext.OneLine(s)), "see `m365send queue list`")
	}
	return id, nil
}

// With opens the queue opts names (Open), runs f on it and closes it.
func With(ctx context.Context, opts config.LoadOptions, f func(queue.Queue) error) error {
	q, _, err := Open(ctx, opts)
	if err != nil {
		return err
	}
	defer q.Close()
	return f(q)
}

// Each checks every ID of args (ParseID; nothing is done when one is not
// an ID), then opens the queue opts names and runs f on each message, as
// `m365send queue retry` and `queue delete` do. Each failure names its ID;
// all but the worst (by rank, highest worst; the first of equals) go to
// report as they happen, and the worst is returned.
func Each(ctx context.Context, opts config.LoadOptions, args []string, rank func(error) int, report func(error), f func(queue.Queue, queue.ID) error) error {
	var ids []queue.ID
	for _, s := range args {
		id, err := ParseID(s)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	return With(ctx, opts, func(q queue.Queue) error {
		var worst error
		for _, id := range ids {
			err := f(q, id)
			if err == nil {
				continue
			}
			err = fmt.Errorf("%s: %w", id, err)
			if worst == nil || rank(err) > rank(worst) {
				if worst != nil {
					report(worst)
				}
				worst = err
			} else {
				report(err)
			}
		}
		return worst
	})
}

// Migrate moves every message and dead letter of the spool folder the
// configuration of opts names into the PostgreSQL queue at url
// (backend.Move), as `m365send queue migrate` does. It returns what was
// moved, also when the move failed midway (what it moved stays moved);
// nil when it failed before moving anything (the configuration did not
// load, the database was not reached), so that the command does not say
// "moved 0 messages" over an error. A move that left messages a relay was
// delivering fails for now (backend.ErrBusyLeft).
func Migrate(ctx context.Context, opts config.LoadOptions, url string) (*backend.Moved, error) {
	g, err := config.LoadGlobals(opts)
	if err != nil {
		return nil, err
	}
	dir, err := SpoolDir(g)
	if err != nil {
		return nil, err
	}
	mv, err := backend.Move(ctx, dir, url)
	if err == nil && mv.Busy > 0 {
		err = backend.ErrBusyLeft(mv.Busy)
	}
	if err != nil && mv.Queued+mv.Dead == 0 {
		return nil, err
	}
	return &mv, err
}
