package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/clilog"
	"github.com/m365send/m365send/internal/helptext"
	"github.com/m365send/m365send/internal/queueadmin"
	"github.com/m365send/m365send/internal/safetext"
	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/backend"
)

func (a *app) newQueueCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "List, show, retry, delete and deliver queued messages",
		Long:  helptext.Queue,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return &usageError{msg: "queue needs a subcommand: list, show, retry, delete, flush or migrate", hint: "see `m365send queue --help`"}
		},
	}
	var dead bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the queued messages (or, with --dead, the dead letters)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withSpool(func(q queue.Queue, _ *config.Globals) error {
				return queueadmin.List(cmd.Context(), a.io.Out, q, dead)
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
			return a.withSpool(func(q queue.Queue, _ *config.Globals) error {
				m, err := q.Get(cmd.Context(), id)
				if err != nil {
					return err
				}
				queueadmin.Show(a.io.Out, m)
				return nil
			})
		},
	}
	retry := &cobra.Command{
		Use:   "retry ID...",
		Short: "Make messages due now (a dead letter goes back into the queue)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.eachID(args, func(q queue.Queue, id queue.ID) error {
				return q.Retry(cmd.Context(), id, time.Now())
			})
		},
	}
	del := &cobra.Command{
		Use:   "delete ID...",
		Short: "Remove messages (queued or dead) without notifying anyone",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.eachID(args, func(q queue.Queue, id queue.ID) error {
				return q.Delete(cmd.Context(), id)
			})
		},
	}
	var verbose bool
	flush := &cobra.Command{
		Use:   "flush",
		Short: "Deliver every message that is due now, then exit",
		Long:  helptext.QueueFlush,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withSpool(func(q queue.Queue, _ *config.Globals) error {
				lim, err := backend.Limiter(cmd.Context(), q)
				if err != nil {
					return err
				}
				return queueadmin.Flush(cmd.Context(), q, queueadmin.FlushOptions{
					Route:   queueadmin.NewRoutes(a.sessionOptions()).Route,
					Logger:  clilog.New(a.io.Err, "m365send", verbose),
					Rank:    exitCodeFor,
					Limiter: lim,
				})
			})
		},
	}
	flush.Flags().BoolVarP(&verbose, "verbose", "v", false, "log every delivery")
	var to string
	migrate := &cobra.Command{
		Use:   "migrate --to postgres://...",
		Short: "Move the spool's messages into a PostgreSQL queue",
		Long:  helptext.QueueMigrate,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := a.globals()
			if err != nil {
				return err
			}
			dir, err := queueadmin.SpoolDir(g)
			if err != nil {
				return err
			}
			mv, err := backend.Move(cmd.Context(), dir, to)
			fmt.Fprintf(a.io.Out, "moved %d messages and %d dead letters to %s\n", mv.Queued, mv.Dead, backend.Describe(to))
			if err == nil && mv.Busy > 0 {
				err = backend.ErrBusyLeft(mv.Busy)
			}
			return err
		},
	}
	migrate.Flags().StringVar(&to, "to", "", "the PostgreSQL queue, postgres://user@host/database")
	cmd.AddCommand(list, show, retry, del, flush, migrate)
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
func (a *app) eachID(args []string, f func(queue.Queue, queue.ID) error) error {
	var ids []queue.ID
	for _, s := range args {
		id, err := parseQueueID(s)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	return a.withSpool(func(q queue.Queue, _ *config.Globals) error {
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

// withSpool opens the queue (its spool or its database), runs f, and
// closes it.
func (a *app) withSpool(f func(queue.Queue, *config.Globals) error) error {
	q, g, err := queueadmin.Open(context.Background(), a.sessionOptions().LoadOptions())
	if err != nil {
		return err
	}
	defer q.Close()
	return f(q, g)
}

// globals loads the configuration file's top-level settings.
func (a *app) globals() (*config.Globals, error) {
	return config.LoadGlobals(a.sessionOptions().LoadOptions())
}
