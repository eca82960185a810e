package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/helptext"
	"github.com/m365send/m365send/internal/sendmail"
	"github.com/m365send/m365send/internal/session"
	"github.com/m365send/m365send/internal/submit"
)

// newSendmailCmd hands everything after "sendmail" to runSendmail, which
// parses sendmail's own option syntax (-t, -oi, -f addr, ...).
func (a *app) newSendmailCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "sendmail [sendmail options] [recipient ...]",
		Short:              "sendmail-compatible interface: read a message on stdin and send it",
		Long:               helptext.Sendmail,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && (args[0] == "--help" || args[0] == "-h") {
				return cmd.Help()
			}
			// With flag parsing off, cobra hands over the global flags too
			// (m365send --config F sendmail ...): take them out here.
			rest, configFile, profile, err := sendmail.GlobalFlags(args)
			if err != nil {
				a.exitCode = exitCodeFor(err)
				reporter{prog: "sendmail"}.print(a.io.Err, err)
				return nil
			}
			a.exitCode = runSendmailWith(cmd.Context(), rest, a.io, session.Options{ConfigFile: configFile, Profile: profile})
			return nil
		},
	}
}

// runSendmail implements `m365send sendmail` and the binary invoked as
// "sendmail": parse sendmail's options, read the message on standard
// input, check it, load the profile, and send it. Nothing is sent unless
// the whole message was read and checked.
func runSendmail(ctx context.Context, args []string, stdio IO) int {
	return runSendmailWith(ctx, args, stdio, session.Options{})
}

// runSendmailWith is runSendmail with the profile selection of m365send's
// global flags; -C overrides so.ConfigFile.
func runSendmailWith(ctx context.Context, args []string, stdio IO, so session.Options) int {
	const prog = "sendmail"
	so.Prog = prog
	out, err := submit.Sendmail(ctx, args, stdio.In, stdio.sessionOptions(so))
	if err != nil {
		reporter{prog: prog}.print(stdio.Err, err)
		return exitCodeFor(err)
	}
	if out.QueueID != "" {
		reporter{prog: prog}.warn(stdio.Err, out.Note)
	}
	return exitOK
}
