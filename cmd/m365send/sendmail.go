package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

// newSendmailCmd hands everything after "sendmail" to runSendmail, which
// parses sendmail's own option syntax (-t, -oi, -f addr, ...).
func (a *app) newSendmailCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "sendmail [sendmail options] [recipient ...]",
		Short:              "sendmail-compatible interface: read a message on stdin and send it",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			a.exitCode = runSendmail(cmd.Context(), args, a.io)
			return nil
		},
	}
}

// runSendmail implements `m365send sendmail` and the binary invoked as
// "sendmail". Filled in by the sendmail issue (#5).
func runSendmail(ctx context.Context, args []string, stdio IO) int {
	_, _ = io.WriteString(stdio.Err, "sendmail: not implemented yet\n")
	return 70
}
