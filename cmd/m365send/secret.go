package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/m365send/m365send/internal/helptext"
	"github.com/m365send/m365send/internal/keyring"
	"github.com/m365send/m365send/internal/session"
)

func (a *app) newSecretCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Store or delete a profile's client secret in the OS keyring",
		Long:  helptext.Secret,
		Args:  cobra.NoArgs,
	}
	set := &cobra.Command{
		Use:   "set PROFILE",
		Short: "Read a client secret (without echo) and store it in the OS keyring",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := a.sessionOptions()
			opts.Profile = args[0]
			p, err := session.LoadProfile(opts)
			if err != nil {
				return err
			}
			secret, err := a.readSecret("Client secret for profile " + p.Name + ": ")
			if err != nil {
				return err
			}
			if err := p.Keyring().Set(cmd.Context(), keyring.SecretAccount(p.Name), secret); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Err, "m365send: stored the client secret of profile %s in the OS keyring\n", p.Name)
			if !p.ClientSecretKeyring {
				fmt.Fprintf(a.io.Err, "m365send: warning: profile %s does not read its secret from the keyring yet: set client_secret_keyring = true in it (and remove its other client credential)\n", p.Name)
			}
			return nil
		},
	}
	del := &cobra.Command{
		Use:   "delete PROFILE",
		Short: "Remove a profile's client secret from the OS keyring",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := a.sessionOptions()
			opts.Profile = args[0]
			p, err := session.LoadProfile(opts)
			if err != nil {
				return err
			}
			return p.Keyring().Delete(cmd.Context(), keyring.SecretAccount(p.Name))
		},
	}
	cmd.AddCommand(set, del)
	return cmd
}

// readSecret reads a secret: without echo, once, from a terminal (after
// prompt on standard error); else one line of standard input.
func (a *app) readSecret(prompt string) (string, error) {
	var line string
	if f, ok := a.io.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(a.io.Err, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.io.Err)
		if err != nil {
			return "", fmt.Errorf("read the secret: %w", err)
		}
		line = string(b)
	} else if a.io.In != nil {
		var err error
		line, err = bufio.NewReader(a.io.In).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the secret: %w", err)
		}
	}
	if line = strings.TrimSpace(line); line == "" {
		return "", &usageError{msg: "no secret given", hint: "type the client secret's Value, or give it as one line on standard input"}
	}
	return line, nil
}
