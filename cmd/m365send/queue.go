package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/clilog"
	"github.com/m365send/m365send/internal/helptext"
	"github.com/m365send/m365send/internal/queueadmin"
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
	lo := func() config.LoadOptions { return a.sessionOptions().LoadOptions() }
	var dead bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the queued messages (or, with --dead, the dead letters)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return queueadmin.With(cmd.Context(), lo(), func(q queue.Queue) error {
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
			id, err := queueadmin.ParseID(args[0])
			if err != nil {
				return err
			}
			return queueadmin.With(cmd.Context(), lo(), func(q queue.Queue) error {
				m, err := q.Get(cmd.Context(), id)
				if err == nil {
					queueadmin.Show(a.io.Out, m)
				}
				return err
			})
		},
	}
	report := func(err error) { a.reporter().print(a.io.Err, err) }
	retry := &cobra.Command{
		Use:   "retry ID...",
		Short: "Make messages due now (a dead letter goes back into the queue)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return queueadmin.Each(cmd.Context(), lo(), args, exitCodeFor, report, func(q queue.Queue, id queue.ID) error {
				return q.Retry(cmd.Context(), id, time.Now())
			})
		},
	}
	del := &cobra.Command{
		Use:   "delete ID...",
		Short: "Remove messages (queued or dead) without notifying anyone",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return queueadmin.Each(cmd.Context(), lo(), args, exitCodeFor, report, func(q queue.Queue, id queue.ID) error {
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
			return queueadmin.With(cmd.Context(), lo(), func(q queue.Queue) error {
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
			mv, err := queueadmin.Migrate(cmd.Context(), lo(), to)
			if mv != nil {
				fmt.Fprintf(a.io.Out, "moved %s to %s\n", mv, backend.Describe(to))
			}
			return err
		},
	}
	migrate.Flags().StringVar(&to, "to", "", "the PostgreSQL queue, postgres://user@host/database")
	cmd.AddCommand(list, show, retry, del, flush, migrate)
	return cmd
}
