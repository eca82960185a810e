package relay

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/m365send/m365send/queue"
)

// DefaultGrace is how long Run lets SMTP transactions in progress finish
// after its context ends.
const DefaultGrace = 30 * time.Second

// Run is the relay: it serves opts.Config's listeners and runs d, the
// delivery engine over opts.Queue (nil: messages are only queued, e.g.
// for another process to deliver), until ctx ends or a listener fails.
// Each accepted message wakes d. When ctx ends it stops accepting
// connections at once, closes the idle sessions with a 421 (see
// Server.Shutdown), gives the SMTP transactions in progress grace
// (DefaultGrace when 0) to finish, and returns when d has returned too
// (d finishes its deliveries in flight within its own Grace); everything
// not delivered stays queued. It returns nil after ctx ended.
func Run(ctx context.Context, opts Options, d *queue.Deliverer, grace time.Duration) error {
	if grace <= 0 {
		grace = DefaultGrace
	}
	if d != nil {
		prev := opts.Accepted
		opts.Accepted = func(id queue.ID) {
			if prev != nil {
				prev(id)
			}
			d.Kick()
		}
	}
	s, err := New(opts)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var derr error
	if d != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			derr = d.Run(ctx)
		}()
	}
	err = s.ListenAndServe(ctx, grace)
	cancel() // a listener failed: stop the deliveries too
	wg.Wait()
	return errors.Join(err, derr)
}
