package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/sandbox"
)

// sandboxReady starts the line `m365send sandbox` prints once it is
// serving; the config file's path follows it.
const sandboxReady = sandbox.ReadyLine

func (a *app) newSandboxCmd() *cobra.Command {
	var demo bool
	var dir string
	cmd := &cobra.Command{
		Use:   "sandbox [--demo] [--dir DIR]",
		Short: "Run a local fake Entra ID and Office 365 and send through them",
		Long: `Sandbox starts a fake Microsoft Entra ID and a fake Office 365 submission
server on 127.0.0.1, with a throwaway certificate authority, and writes a
config file with two profiles that trust that CA through ca_file:

  sandbox       app-only (client credentials with a secret in a 0600 file)
  sandbox-user  delegated (a person; the sandbox approves every sign-in)

m365send then sends through them on the real code path: MSAL over HTTPS to
the fake Entra ID, go-mail over STARTTLS and AUTH XOAUTH2 to the fake server.
Nothing leaves the machine: the fake server records messages and relays none.

Without --demo it prints how to send through it, prints every message the
fake server receives, and runs until interrupted (Ctrl-C). With --demo it
does one full round — a client-credentials send, a browser sign-in
(authorization code with PKCE; the demo plays the browser), a delegated
send, a Microsoft Graph send, and a device's message through a relay on
127.0.0.1 (STARTTLS, AUTH PLAIN) — prints what the server received, and
exits.

The files go to --dir (kept), or to a temporary folder removed on exit.
--dir must be a new or empty folder, or one an earlier sandbox used: a
folder holding anything else is refused, and an existing folder keeps its
mode.
AZURE_* and M365SEND_* variables are ignored by the demo, so a shell set up
for a real tenant cannot redirect it; the global --config flag is ignored.`,
		Example: `  m365send sandbox --demo
  m365send sandbox --dir /tmp/sb   # then, in another shell:
  m365send --config /tmp/sb/config.toml send --profile sandbox --to someone@example.com --subject hi --body hello`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runSandbox(cmd.Context(), dir, demo)
		},
	}
	cmd.Flags().BoolVar(&demo, "demo", false, "run one client-credentials send, one browser sign-in, a delegated send and a send through a relay, print what the server received, and exit")
	cmd.Flags().StringVar(&dir, "dir", "", "folder for the sandbox's config, CA, secret and token cache (default: a temporary folder, removed on exit)")
	return cmd
}

func (a *app) runSandbox(ctx context.Context, dir string, demo bool) error {
	tmpRoot := ""
	if a.io.Env != nil {
		tmpRoot = a.io.Env("TMPDIR")
	}
	return sandbox.Run(ctx, sandbox.RunOptions{Dir: dir, TempRoot: tmpRoot, Demo: demo, Out: a.io.Out, Session: a.sessionOptions()})
}
