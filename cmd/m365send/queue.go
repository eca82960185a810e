package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/safetext"
	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/spool"
)

// spoolFolder is the name of the spool inside the state folder, used when
// the configuration file names no queue.
const spoolFolder = "spool"

const queueLong = `The queue holds the messages the relay accepted, and those send and
sendmail handed over after a temporary failure, until they are delivered.

Its folder is the top-level "queue" setting of the configuration file, else
the folder "spool" in the state folder: $M365SEND_STATE_DIR, else
$XDG_STATE_HOME/m365send, else ~/.local/state/m365send. Every subcommand is
safe while a relay runs on the same folder.`

func (a *app) newQueueCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "List, show, retry, delete and deliver queued messages",
		Long:  queueLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return &usageError{msg: "queue needs a subcommand: list, show, retry, delete or flush", hint: "see `m365send queue --help`"}
		},
	}
	var dead bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the queued messages (or, with --dead, the dead letters)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withSpool(func(q *spool.Spool, _ *config.Globals) error {
				return queueList(cmd.Context(), a.io.Out, q, dead)
			})
		},
	}
	list.Flags().BoolVar(&dead, "dead", false, "list the dead letters instead")
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one message's envelope, attempts and errors (queued or dead)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseQueueID(args[0])
			if err != nil {
				return err
			}
			return a.withSpool(func(q *spool.Spool, _ *config.Globals) error {
				m, err := q.Get(cmd.Context(), id)
				if err != nil {
					return err
				}
				queueShow(a.io.Out, m)
				return nil
			})
		},
	}
	retry := &cobra.Command{
		Use:   "retry ID...",
		Short: "Make messages due now (a dead letter goes back into the queue)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.eachID(args, func(q *spool.Spool, id queue.ID) error {
				return q.Retry(cmd.Context(), id, time.Now())
			})
		},
	}
	del := &cobra.Command{
		Use:   "delete ID...",
		Short: "Remove messages (queued or dead) without notifying anyone",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.eachID(args, func(q *spool.Spool, id queue.ID) error {
				return q.Delete(cmd.Context(), id)
			})
		},
	}
	var verbose bool
	flush := &cobra.Command{
		Use:   "flush",
		Short: "Deliver every message that is due now, then exit",
		Long: `Flush delivers every message that is due now through its profile's
mailbox (within Exchange Online's per-mailbox limits), then exits with the
worst result: 0 when everything was delivered, else the exit status of the
worst failure (75 for a message that waits for another try). A message whose
next try is later stays; make it due with "m365send queue retry ID".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withSpool(func(q *spool.Spool, _ *config.Globals) error {
				return a.queueFlush(cmd.Context(), q, verbose)
			})
		},
	}
	flush.Flags().BoolVarP(&verbose, "verbose", "v", false, "log every delivery")
	cmd.AddCommand(list, show, retry, del, flush)
	return cmd
}

// parseQueueID checks an ID typed by the operator.
func parseQueueID(s string) (queue.ID, error) {
	id, err := queue.ParseID(s)
	if err != nil {
		return "", &usageError{msg: fmt.Sprintf("%q is not a queue ID", safetext.OneLine(s)), hint: "see `m365send queue list`"}
	}
	return id, nil
}

// eachID runs f on every ID of args, reporting each failure and returning
// the worst.
func (a *app) eachID(args []string, f func(*spool.Spool, queue.ID) error) error {
	var ids []queue.ID
	for _, s := range args {
		id, err := parseQueueID(s)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	return a.withSpool(func(q *spool.Spool, _ *config.Globals) error {
		var worst error
		for _, id := range ids {
			if err := f(q, id); err != nil {
				err = fmt.Errorf("%s: %w", id, err)
				if worst == nil || exitCodeFor(err) > exitCodeFor(worst) {
					if worst != nil {
						a.reporter().print(a.io.Err, worst)
					}
					worst = err
				} else {
					a.reporter().print(a.io.Err, err)
				}
			}
		}
		return worst
	})
}

// globals loads the configuration file's top-level settings.
func (a *app) globals() (*config.Globals, error) {
	return config.LoadGlobals(config.LoadOptions{File: a.configFile, Env: a.io.Env, Environ: a.io.Environ})
}

// spoolDir is the queue's folder per g, or an error saying how to name one.
func spoolDir(g *config.Globals) (string, error) {
	if g.Queue != "" {
		return g.Queue, nil
	}
	if g.StateDir == "" {
		return "", failure.New(failure.Config, "no folder for the queue: none of queue (in the configuration file), $M365SEND_STATE_DIR, $XDG_STATE_HOME and $HOME is set",
			"set queue = \"/var/spool/m365send\" in the configuration file, or $M365SEND_STATE_DIR")
	}
	return filepath.Join(g.StateDir, spoolFolder), nil
}

// withSpool opens the queue's spool, runs f, and closes it.
func (a *app) withSpool(f func(*spool.Spool, *config.Globals) error) error {
	g, err := a.globals()
	if err != nil {
		return err
	}
	dir, err := spoolDir(g)
	if err != nil {
		return err
	}
	q, err := spool.Open(dir, spool.Options{})
	if err != nil {
		return err
	}
	defer q.Close()
	return f(q, g)
}

// queueList prints one line per message.
func queueList(ctx context.Context, w io.Writer, q queue.Queue, dead bool) error {
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

// queueShow prints one message's state.
func queueShow(w io.Writer, m *queue.Message) {
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

// queueFlush delivers what is due and returns the worst failure met.
func (a *app) queueFlush(ctx context.Context, q *spool.Spool, verbose bool) error {
	log := newLogger(a.io.Err, "m365send", verbose)
	rec := &recordingQueue{Queue: q, last: map[queue.ID]*queue.Message{}}
	routes := &profileRoutes{a: a}
	d, err := queue.NewDeliverer(queue.DelivererConfig{
		Queue:  rec,
		Route:  routes.route,
		Logger: log,
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

// worst returns the failure of the worst-ending message (by exit status),
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
			if worst == nil || exitCodeFor(err) > exitCodeFor(worst) {
				worst = err
			}
		}
	}
	return worst
}

// profileRoutes builds one sender per mailbox for a Deliverer, from the
// profiles of the configuration.
type profileRoutes struct {
	a        *app
	mu       sync.Mutex
	sessions map[string]*session // by mailbox, lower case
}

func (p *profileRoutes) route(ctx context.Context, profile string) (queue.Route, error) {
	opts := p.a.sessionOptions()
	opts.Profile = profile
	opts.Queue = true
	s, err := newSession(ctx, p.a.io, opts)
	if err != nil {
		return queue.Route{}, err
	}
	key := strings.ToLower(s.Mailbox)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sessions == nil {
		p.sessions = map[string]*session{}
	}
	if old, ok := p.sessions[key]; ok {
		return queue.Route{Mailbox: old.Mailbox, Transport: old.Sender}, nil
	}
	p.sessions[key] = s
	return queue.Route{Mailbox: s.Mailbox, Transport: s.Sender}, nil
}
