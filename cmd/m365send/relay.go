package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/passwordprompt"
	"github.com/m365send/m365send/internal/relayd"
	"github.com/m365send/m365send/relay"
)

const relayLong = `Relay accepts mail from devices and applications that speak SMTP with a
password (printers, scanners, line-of-business applications) and delivers
it through the profiles' mailboxes, from a durable queue (see docs/relay.md).

--check reads the [relay] table of the configuration file, reports every
mistake (exit status 78 with hints) and exits: a missing certificate, an
unhashed password, no users with a listener that is not on loopback (an
open relay), a profile that does not exist.

Without --check it runs the relay: it checks the table the same way, loads
the certificate (tls_cert_file and tls_key_file, else a self-signed one
generated in the state folder the first time; its SHA-256 fingerprint is
printed at start), listens, and delivers the queue (the top-level "queue"
setting, else "spool" in the state folder) through each profile's mailbox.
It logs one line per event on standard error. SIGTERM or SIGINT stops it:
it stops accepting connections, lets the transactions and deliveries in
progress finish (30 seconds at most) and exits 0; what is not delivered
stays queued. SIGHUP reloads the file's [relay] users and networks (a
configuration that fails the check is refused with a warning and the old
one kept); listeners and the certificate change only with a restart.`

func (a *app) newRelayCmd() *cobra.Command {
	var check bool
	cmd := &cobra.Command{
		Use:   "relay",
		Short: "Run the SMTP relay, check its configuration, hash its passwords",
		Long:  relayLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !check {
				return relayd.Run(cmd.Context(), a.sessionOptions())
			}
			c, _, err := relayd.LoadConfig(a.sessionOptions().LoadOptions())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "relay configuration is valid: %d listener(s), %d user(s), %d network(s)\n",
				len(c.Listeners), len(c.Users), len(c.Networks))
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "check the configuration and exit")
	passwd := &cobra.Command{
		Use:   "passwd",
		Short: "Read a password and print its argon2id hash for a relay user's password_hash",
		Long: `Passwd reads a password without echo from the terminal (twice), or one
line from standard input when it is not a terminal, and prints its argon2id
hash for the password_hash of a [[relay.users]] entry.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := passwordprompt.Read(a.io.In, a.io.Err)
			if err != nil {
				return err
			}
			h, err := relay.HashPassword(pw)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.io.Out, h)
			return err
		},
	}
	cmd.AddCommand(passwd)
	return cmd
}
