package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/safefile"
	"github.com/m365send/m365send/internal/safetext"
	"github.com/m365send/m365send/internal/sandbox"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/token"
	"github.com/m365send/m365send/token/entratest"
)

// sandboxReady starts the line `m365send sandbox` prints once it is
// serving; the config file's path follows it.
const sandboxReady = "m365send sandbox: ready; config file: "

// sandboxRecipient is where the demo sends.
const sandboxRecipient = "ops@example.com"

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
  sandbox-user  delegated (device code; the sandbox approves every sign-in)

m365send then sends through them on the real code path: MSAL over HTTPS to
the fake Entra ID, go-mail over STARTTLS and AUTH XOAUTH2 to the fake server.
Nothing leaves the machine: the fake server records messages and relays none.

Without --demo it prints how to send through it, prints every message the
fake server receives, and runs until interrupted (Ctrl-C). With --demo it
does one full round — a client-credentials send, a device-code sign-in, a
delegated send — prints what the server received, and exits.

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
	cmd.Flags().BoolVar(&demo, "demo", false, "run one client-credentials send, one device-code sign-in and a delegated send, print what the server received, and exit")
	cmd.Flags().StringVar(&dir, "dir", "", "folder for the sandbox's config, CA, secret and token cache (default: a temporary folder, removed on exit)")
	return cmd
}

func (a *app) runSandbox(ctx context.Context, dir string, demo bool) (err error) {
	if dir == "" {
		root := ""
		if a.io.Env != nil {
			root = a.io.Env("TMPDIR")
		}
		var tmp string
		tmp, err = os.MkdirTemp(root, "m365send-sandbox-")
		if err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		defer func() {
			if rmErr := os.RemoveAll(tmp); rmErr != nil && err == nil {
				err = fmt.Errorf("sandbox: clean up: %w", rmErr)
			}
		}()
		dir = tmp
	}
	if err := checkSandboxDir(dir); err != nil {
		return err
	}
	sb, err := sandbox.Start(ctx, sandbox.Options{Dir: dir})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := sb.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("sandbox: %w", cerr)
		}
	}()
	if demo {
		return a.sandboxDemo(ctx, sb)
	}

	out := a.io.Out
	if err := sb.WriteInstructions(out, "m365send"); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%s%s\nPress Ctrl-C to stop. Messages the fake Office 365 receives are printed below.\n", sandboxReady, sb.ConfigFile)
	for n := 1; ; n++ {
		msgs, err := sb.SMTP.WaitMessages(ctx, n)
		if err != nil {
			// The context ended: a normal stop.
			break
		}
		if err := sandbox.WriteMessage(out, msgs[n-1]); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "m365send sandbox: stopped")
	return nil
}

// checkSandboxDir refuses a --dir the sandbox must not write into: one
// that is not a folder, or a folder holding anything but what an earlier
// sandbox wrote there (its config file, CA, secret and token cache). The
// sandbox overwrites those files; a real config.toml or anything else of
// the user's is never touched. A missing or empty folder is fine, and an
// existing folder keeps its mode.
func checkSandboxDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &exitError{kind: failure.Usage, msg: fmt.Sprintf("sandbox --dir: %v", err), err: err}
	}
	if !fi.IsDir() {
		return &usageError{msg: fmt.Sprintf("sandbox --dir %s is not a folder", dir), hint: "give a new or empty folder"}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return &exitError{kind: failure.Usage, msg: fmt.Sprintf("sandbox --dir: %v", err), err: err}
	}
	// The folder is the sandbox's own when its config file says so and it
	// holds nothing else but the sandbox's other files.
	own := len(entries) == 0 || isSandboxConfig(filepath.Join(dir, sandbox.ConfigFileName))
	for _, e := range entries {
		if !own {
			break
		}
		switch e.Name() {
		case sandbox.CacheDirName:
			own = e.IsDir()
		case sandbox.ConfigFileName, sandbox.CAFileName, sandbox.SecretFileName:
			own = e.Type().IsRegular()
		default:
			own = false
		}
	}
	if !own {
		return &usageError{
			msg:  fmt.Sprintf("sandbox --dir %s is not empty and not an earlier sandbox's folder: its files would be overwritten or mixed with the sandbox's", safetext.OneLine(dir)),
			hint: "give a new or empty folder (or one an earlier sandbox used)",
		}
	}
	return nil
}

// isSandboxConfig reports whether the file at path is a config file an
// earlier sandbox wrote: its first line says so.
func isSandboxConfig(path string) bool {
	f, err := safefile.OpenNoFollow(path)
	if err != nil {
		return false
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return false
	}
	defer f.Close()
	first, _, _ := strings.Cut(readHead(f, 256), "\n")
	return strings.HasPrefix(first, "# Written by `m365send sandbox`")
}

// readHead returns up to n bytes from the start of r.
func readHead(r io.Reader, n int) string {
	b := make([]byte, n)
	m, _ := io.ReadFull(r, b)
	return string(b[:m])
}

// sandboxDemo sends through both sandbox profiles with the same wiring as
// `m365send send` and `m365send login`, then prints what the fake server
// received.
func (a *app) sandboxDemo(ctx context.Context, sb *sandbox.Sandbox) error {
	out := a.io.Out
	stdio := a.io
	stdio.Env = sandbox.Env(a.io.Env)
	open := func(profile string) (*session, error) {
		return newSession(ctx, stdio, sessionOptions{ConfigFile: sb.ConfigFile, Profile: profile})
	}

	fmt.Fprintf(out, "m365send sandbox --demo\n  fake Entra ID:   %s\n  fake Office 365: %s\n  config file:     %s\n\n",
		sb.Authority.URL(), sb.SMTP.Addr(), sb.ConfigFile)

	// 1. App-only: a client-credentials token, STARTTLS, AUTH XOAUTH2.
	fmt.Fprintf(out, "1. profile %q: client credentials (secret), sending as %s\n", sandbox.AppProfile, sandbox.AppMailbox)
	appSess, err := open(sandbox.AppProfile)
	if err != nil {
		return fmt.Errorf("sandbox demo: %w", err)
	}
	if err := demoSend(ctx, out, appSess, "m365send sandbox: app-only send",
		"Sent by the sandbox demo with a client-credentials token (SMTP.SendAsApp).\n"); err != nil {
		return err
	}

	// 2. Delegated: a device-code sign-in, cached like `m365send login`.
	fmt.Fprintf(out, "\n2. profile %q: device-code sign-in (the sandbox approves it as %s)\n", sandbox.UserProfile, sandbox.UserUPN)
	loginSess, err := newSession(ctx, stdio, sessionOptions{
		ConfigFile: sb.ConfigFile,
		Profile:    sandbox.UserProfile,
		NoSender:   true,
		DeviceCodePrompt: func(_ context.Context, dc token.DeviceCode) error {
			_, err := fmt.Fprintf(out, "   Entra ID says: %s\n", dc.Message)
			return err
		},
	})
	if err != nil {
		return fmt.Errorf("sandbox demo: %w", err)
	}
	if _, err := loginSess.Tokens.Login(ctx); err != nil {
		return fmt.Errorf("sandbox demo: device-code sign-in: %w", err)
	}
	fmt.Fprintf(out, "   signed in; the refresh token is cached in %s\n", sb.CacheDir)

	// 3. A fresh session, as a later `m365send send` would be: the token
	//    comes from the cache, with no second sign-in.
	fmt.Fprintf(out, "\n3. profile %q: send with the cached sign-in\n", sandbox.UserProfile)
	userSess, err := open(sandbox.UserProfile)
	if err != nil {
		return fmt.Errorf("sandbox demo: %w", err)
	}
	if err := demoSend(ctx, out, userSess, "m365send sandbox: delegated send",
		"Sent by the sandbox demo with a delegated token (SMTP.Send) after a device-code sign-in.\n"); err != nil {
		return err
	}

	msgs := sb.SMTP.Messages()
	fmt.Fprintf(out, "\nWhat the fake Office 365 received (%d messages):\n", len(msgs))
	for _, m := range msgs {
		if err := sandbox.WriteMessage(out, m); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "\nWhat the fake Entra ID was asked: %d client-credentials token, %d device code, %d device-code polls, %d refresh.\n",
		sb.Authority.Requests(entratest.EndpointToken, entratest.GrantClientCredentials),
		sb.Authority.Requests(entratest.EndpointDeviceCode, ""),
		sb.Authority.Requests(entratest.EndpointToken, entratest.GrantDeviceCode),
		sb.Authority.Requests(entratest.EndpointToken, entratest.GrantRefreshToken))
	if len(msgs) != 2 {
		return fmt.Errorf("sandbox demo: the fake server holds %d messages, want 2", len(msgs))
	}
	fmt.Fprintln(out, "Demo complete: both flows went through MSAL (HTTPS) and go-mail (STARTTLS + XOAUTH2).")
	return nil
}

// demoSend sends one text message to sandboxRecipient and says what
// happened.
func demoSend(ctx context.Context, out io.Writer, sess *session, subject, text string) error {
	results, err := sess.Sender.Send(ctx, &sender.Message{
		FromName: sess.Profile.FromName,
		To:       []string{sandboxRecipient},
		Subject:  subject,
		Text:     text,
	})
	if err != nil {
		return fmt.Errorf("sandbox demo: send: %w", err)
	}
	if len(results) != 1 {
		return errors.New("sandbox demo: send returned no result")
	}
	fmt.Fprintf(out, "   sent to %s, Message-ID %s\n", strings.Join(results[0].Recipients, ", "), results[0].MessageID)
	return nil
}
