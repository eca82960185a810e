package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/doctor"
	"github.com/m365send/m365send/internal/safetext"
)

const doctorLong = `Doctor checks a profile step by step and says what to fix:

  config      the configuration file, environment and secret
  token       getting an access token from Entra ID
  claims      the token's audience (Exchange Online of the profile's cloud),
              its permission (roles SMTP.SendAsApp for an app, scp SMTP.Send
              for a person), its expiry and its tenant
  dns         resolving the SMTP host
  tcp         connecting to it and reading its greeting
  starttls    upgrading to TLS 1.2 or later, verifying the certificate
  mechanisms  AUTH XOAUTH2 advertised after STARTTLS
  auth        an actual AUTH XOAUTH2 with the token (no mail is sent)
  graph       a Microsoft Graph token with Mail.Send, the other transport;
              only a warning unless the profile's transport is graph (or
              auto, with SMTP failing: then SMTP's failures are warnings)
  queue       when the queue is a PostgreSQL database: the connection and
              the schema version
  relay       when the file has a [relay] table: relay --check's checks,
              and the relay certificate's SHA-256 fingerprint for devices
              to pin

Each step prints "ok" or "FAIL" with the fix. An AZURE_* variable that
overrides a value the configuration file sets is warned about; -v also
lists where every value came from (file and line, variable, default). The network steps run even
when the token fails, so one run shows everything that is wrong. The exit
status is that of the first failure (see "m365send --help"), 0 when all
steps pass.`

func (a *app) newDoctorCmd() *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "doctor [--profile P]",
		Short: "Check config, token claims, DNS/TCP/TLS and AUTH; say what to fix",
		Long:  doctorLong,
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
