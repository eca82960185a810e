package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/doctor"
	"github.com/m365send/m365send/internal/helptext"
	"github.com/m365send/m365send/internal/safetext"
)

func (a *app) newDoctorCmd() *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "doctor [--profile P]",
		Short: "Check config, token claims, DNS/TCP/TLS and AUTH; say what to fix",
		Long:  helptext.Doctor,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rep := a.reporter()
			rep.doctor = true
			opts := a.sessionOptions()
			if verbose {
				opts.Trace = a.io.Err
			}
			r := doctor.Run(cmd.Context(), opts)
			a.exitCode = printDoctor(a.io.Out, rep, r)
			if verbose {
				return doctor.WriteSources(a.io.Out, r.Sources)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "trace the SMTP exchange on standard error (tokens redacted) and list where each value came from")
	return cmd
}

// printDoctor writes doctor's results, a step a line with its fix below,
// and returns the exit code of the first failure. A step that failed on an
// error is told as every command tells that error (messageFor), and its
// fix ends with the error's hint (rep.hint).
func printDoctor(w io.Writer, rep reporter, r *doctor.Report) int {
	code := exitOK
	for _, res := range r.Results {
		detail, fix := res.Detail, res.Fix
		if res.Err != nil {
			if detail == "" {
				detail = messageFor(res.Err)
			}
			fix = joinHints(fix, rep.hint(res.Err))
		}
		fmt.Fprintf(w, "%-5s %-10s %s\n", res.Status, res.Step, safetext.OneLine(detail))
		if fix != "" && res.Status != doctor.OK {
			fmt.Fprintf(w, "      %-10s fix: %s\n", "", safetext.OneLine(fix))
		}
		if res.Status == doctor.Fail && code == exitOK {
			code = exitCodeOf(res.Kind)
		}
	}
	if r.Summary != "" {
		fmt.Fprintf(w, "\n%s\n", r.Summary)
	}
	return code
}
