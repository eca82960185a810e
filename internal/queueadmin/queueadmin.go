// Package queueadmin is what m365send's commands do with the queue: find
// its folder (SpoolDir), show its messages (List, Show), deliver what is due
// through the profiles' mailboxes (Flush, Routes), and hand a message over
// from send and sendmail (Handoff).
package queueadmin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/safetext"
	"github.com/m365send/m365send/internal/session"
	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/backend"
)

// spoolFolder is the name of the spool inside the state folder, used when
// the configuration file names no queue.
const spoolFolder = "spool"

// SpoolDir is the queue's folder per g, or an error saying how to name one.
func SpoolDir(g *config.Globals) (string, error) {
	if g.Queue != "" {
		return g.Queue, nil
	}
	if g.StateDir == "" {
		return "", failure.New(failure.Config, "no folder for the queue: none of queue (in the configuration file), $M365SEND_STATE_DIR, $XDG_STATE_HOME and $HOME is set",
			"set queue = \"/var/spool/m365send\" in the configuration file, or $M365SEND_STATE_DIR")
	}
	return filepath.Join(g.StateDir, spoolFolder), nil
}

// Open opens the queue the configuration file of opts names (SpoolDir: a
// spool folder, or a database, see queue/backend) and returns it with the
// file's top-level settings; the caller closes it.
func Open(ctx context.Context, opts config.LoadOptions) (queue.Queue, *config.Globals, error) {
	g, err := config.LoadGlobals(opts)
	if err != nil {
		return nil, nil, err
	}
	dir, err := SpoolDir(g)
	if err != nil {
		return nil, nil, err
	}
	q, err := backend.Open(ctx, dir, backend.Options{})
	if err != nil {
		return nil, nil, err
	}
	return q, g, nil
}

// List prints one line per message of q (with dead, per dead letter)
// and a count, as `m365send queue list` shows them.
func List(ctx context.Context, w io.Writer, q queue.Queue, dead bool) error {
	msgs, err := q.List(ctx, queue.Filter{Dead: dead})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if dead {
		fmt.Fprintln(tw, "ID\tQUEUED\tPROFILE\tFROM\tTO\tREASON")
	} else {
		fmt.Fprintln(tw, "ID\tQUEUED\tPROFILE\tFROM\tTO\tATTEMPTS\tNEXT\tLAST ERROR")
	}
	for _, m := range msgs {
		from := m.From
		if from == "" {
			from = "<>"
		}
		to := strings.Join(m.Pending(), ",")
		if to == "" {
			to = "-"
		}
		if dead {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, stamp(m.Queued), safetext.OneLine(m.Profile), safetext.OneLine(from),
				safetext.OneLine(to), safetext.OneLine(m.DeadReason))
			continue
		}
		last := "-"
		if m.LastError != nil {
			last = safetext.OneLine(m.LastError.Error())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", m.ID, stamp(m.Queued), safetext.OneLine(m.Profile), safetext.OneLine(from),
			safetext.OneLine(to), m.Attempts, stamp(m.NextAttempt), last)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	what := "message"
	if dead {
		what = "dead letter"
	}
	if len(msgs) != 1 {
		what += "s"
	}
	_, err = fmt.Fprintf(w, "%d %s\n", len(msgs), what)
	return err
}

// stamp shows a time in UTC to the second, or "-".
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// Show prints one message's state, a field a line, as `m365send queue
// show` shows it.
func Show(w io.Writer, m *queue.Message) {
	from := m.From
	if from == "" {
		from = "<>"
	}
	line := func(k, v string) { fmt.Fprintf(w, "%-13s %s\n", k+":", safetext.OneLine(v)) }
	line("id", string(m.ID))
	if m.DeadReason != "" {
		line("dead", m.DeadReason)
	}
	line("profile", m.Profile)
	line("from", from)
	if m.Source != "" {
		line("source", m.Source)
	}
	line("size", fmt.Sprint(m.Size))
	line("queued", stamp(m.Queued))
	line("attempts", fmt.Sprint(m.Attempts))
	line("last attempt", stamp(m.LastAttempt))
	line("next attempt", stamp(m.NextAttempt))
	if m.LastError != nil {
		line("last error", m.LastError.Error())
		if m.LastError.Advice != "" {
			line("hint", m.LastError.Advice)
		}
	}
	for _, r := range m.Recipients {
		v := r.Address + " " + string(r.Status)
		if r.Error != nil {
			v += ": " + r.Error.Error()
		}
		line("recipient", v)
	}
}

// errFlushed ends a flush's Deliverer: nothing is due any more.
var errFlushed = errors.New("flushed")

// FlushOptions configures Flush.
type FlushOptions struct {
	// Route gives a profile's route (Routes.Route).
	Route func(ctx context.Context, profile string) (queue.Route, error)
	// Logger receives the Deliverer's log (nil: none).
	Logger *slog.Logger
	// Limiter shares the per-mailbox limits with the relays on the same
	// queue (backend.Limiter; nil: this process only).
	Limiter queue.Limiter
	// Rank orders failures, the worst highest: the command's exit status
	// for each (the command owns that table).
	Rank func(error) int
}

// Flush delivers every message of q that is due now, then returns: nil
// when every recipient tried was delivered, else the worst failure met
// (by opts.Rank); a temporary failure when ctx ended first.
func Flush(ctx context.Context, q queue.Queue, opts FlushOptions) error {
	rec := &recordingQueue{Queue: q, last: map[queue.ID]*queue.Message{}, rank: opts.Rank}
	d, err := queue.NewDeliverer(queue.DelivererConfig{
		Queue:   rec,
		Route:   opts.Route,
		Logger:  opts.Logger,
		Limiter: opts.Limiter,
		Wait: func(ctx context.Context, until time.Time, idle bool, wake <-chan struct{}) error {
			if idle {
				select {
				case <-wake:
					return nil
				default:
				}
				due, err := anyDue(ctx, q, time.Now())
				if err != nil {
					return err
				}
				if !due {
					return errFlushed
				}
			}
			// Something is in flight or due (paced, or held by another
			// process): look again soon.
			if soon := time.Now().Add(time.Second); until.After(soon) {
				until = soon
			}
			return queue.WaitUntil(ctx, until, idle, wake)
		},
	})
	if err != nil {
		return err
	}
	if err := d.Run(ctx); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return failure.Wrap(failure.Temporary, err, "the flush was interrupted; what was not delivered stays queued")
	}
	return rec.worst()
}

// anyDue reports whether a queued message is due at now.
func anyDue(ctx context.Context, q queue.Queue, now time.Time) (bool, error) {
	msgs, err := q.List(ctx, queue.Filter{})
	if err != nil {
		return false, err
	}
	for _, m := range msgs {
		if !m.NextAttempt.After(now) {
			return true, nil
		}
	}
	return false, nil
}

// recordingQueue is a Queue that keeps the last state of every message a
// Deliverer changed, so that a flush can tell how each one ended.
type recordingQueue struct {
	queue.Queue
	rank func(error) int
	mu   sync.Mutex
	last map[queue.ID]*queue.Message
}

func (r *recordingQueue) note(m *queue.Message) {
	c := *m
	c.Recipients = append([]queue.Recipient(nil), m.Recipients...)
	r.mu.Lock()
	r.last[m.ID] = &c
	r.mu.Unlock()
}

// Update implements queue.Queue.
func (r *recordingQueue) Update(ctx context.Context, m *queue.Message) error {
	r.note(m)
	return r.Queue.Update(ctx, m)
}

// Done implements queue.Queue.
func (r *recordingQueue) Done(ctx context.Context, m *queue.Message) error {
	r.note(m)
	return r.Queue.Done(ctx, m)
}

// DeadLetter implements queue.Queue.
func (r *recordingQueue) DeadLetter(ctx context.Context, m *queue.Message, reason string) error {
	r.note(m)
	return r.Queue.DeadLetter(ctx, m, reason)
}

// worst returns the failure of the worst-ending message (by rank),
// or nil when every recipient tried was delivered.
func (r *recordingQueue) worst() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var worst error
	for _, m := range r.last {
		for _, rc := range m.Recipients {
			if rc.Status == queue.Delivered {
				continue
			}
			var err error = rc.Error
			if rc.Error == nil {
				if m.LastError != nil {
					err = m.LastError
				} else {
					err = failure.New(failure.Temporary, "not delivered yet", "")
				}
			}
			verb := "waits for another try"
			switch rc.Status {
			case queue.Failed:
				verb = "failed"
			case queue.MaybeDelivered:
				verb = "may have been delivered (the reply was lost) and is not sent again"
			}
			err = fmt.Errorf("queued message %s to %s %s: %w", m.ID, safetext.OneLine(rc.Address), verb, err)
			if worst == nil || r.rank(err) > r.rank(worst) {
				worst = err
			}
		}
	}
	return worst
}

// Routes builds one sender per mailbox for a queue.Deliverer, from the
// profiles of the configuration: profiles that send as the same mailbox
// share its sender, and so its limits.
type Routes struct {
	opts     session.Options
	mu       sync.Mutex
	sessions map[string]*session.Session // by mailbox, lower case
}

// NewRoutes returns Routes that open each profile with opts (its Profile
// replaced, Queue set).
func NewRoutes(opts session.Options) *Routes { return &Routes{opts: opts} }

// Route is a queue.DelivererConfig.Route: the mailbox and sender of
// profile.
func (p *Routes) Route(ctx context.Context, profile string) (queue.Route, error) {
	opts := p.opts
	opts.Profile = profile
	opts.Queue = true
	s, err := session.Open(ctx, opts)
	if err != nil {
		return queue.Route{}, err
	}
	key := strings.ToLower(s.Mailbox)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sessions == nil {
		p.sessions = map[string]*session.Session{}
	}
	if old, ok := p.sessions[key]; ok {
		s = old
	} else {
		p.sessions[key] = s
	}
	// The profile's rate_per_minute paces the Deliverer (the sender
	// itself is built without pacing).
	return queue.Route{Mailbox: s.Mailbox, Transport: s.Transport, RatePerMinute: s.Profile.RatePerMinute}, nil
}
