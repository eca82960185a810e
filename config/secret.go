package config

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"

	"github.com/m365send/m365send/internal/configerr"
	"github.com/m365send/m365send/internal/keyring"
	"github.com/m365send/m365send/internal/secretcmd"
)

// Secret resolves the client secret (AZURE_CLIENT_SECRET, the variable
// named by client_secret_env, client_secret_file, or the output of
// client_secret_command), or "" when the profile uses a certificate, a
// federated token or the device code. Errors are *Error and never contain
// the secret.
func (p *Profile) Secret(ctx context.Context) (string, error) {
	switch {
	case p.clientSecret != "":
		return p.clientSecret, nil
	case p.ClientSecretEnv != "":
		v := ""
		if p.env != nil {
			v = p.env(p.ClientSecretEnv)
		}
		if v == "" {
			return "", &Error{File: p.File, Key: "client_secret_env",
				Msg:    fmt.Sprintf("environment variable %s (named by client_secret_env) is empty or not set", p.ClientSecretEnv),
				Advice: fmt.Sprintf("export %s=<the client secret's Value from the app registration>", p.ClientSecretEnv)}
		}
		return strings.TrimSpace(v), nil
	case p.ClientSecretFile != "":
		b, err := readPrivateFile(p.ClientSecretFile, "client secret file", maxSecretFileSize)
		if err != nil {
			return "", secretFileError(p.ClientSecretFile, "client secret file", err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", &Error{File: p.ClientSecretFile, Msg: "client secret file is empty", Advice: "write the client secret's Value into it (one line)"}
		}
		return s, nil
	case len(p.ClientSecretCommand) > 0:
		return p.runSecretCommand(ctx)
	case p.ClientSecretKeyring:
		return p.keyringSecret(ctx)
	}
	return "", nil
}

// runSecretCommand runs client_secret_command without a shell and returns
// its trimmed standard output.
func (p *Profile) runSecretCommand(ctx context.Context) (string, error) {
	timeout := p.secretTimeout
	if timeout <= 0 {
		timeout = defaultSecretCommandTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	argv := p.ClientSecretCommand
	out, err := secretcmd.Output(ctx, argv)
	name := argv[0]
	if err != nil {
		e := &Error{File: p.File, Key: "client_secret_command", Err: err,
			Advice: "run the command by hand to see its message (its output is not shown here, as it may hold the secret); it must print only the secret on stdout"}
		switch {
		case ctx.Err() == context.DeadlineExceeded:
			e.Msg = fmt.Sprintf("%s did not finish within %s", name, timeout)
		case ctx.Err() == context.Canceled:
			e.Msg = fmt.Sprintf("%s was stopped: %v", name, context.Canceled)
		case errors.Is(err, exec.ErrNotFound):
			e.Msg = fmt.Sprintf("%s: command not found", name)
			e.Advice = "client_secret_command runs without a shell: give the program's path and its arguments as a list"
		default:
			e.Msg = fmt.Sprintf("%s failed: %v", name, err)
		}
		return "", e
	}
	s := strings.TrimSpace(string(out))
	if s == "" {
		return "", &Error{File: p.File, Key: "client_secret_command", Msg: fmt.Sprintf("%s printed nothing on stdout", name),
			Advice: "the command must print the secret on stdout"}
	}
	return s, nil
}

// checkSecretFile checks that a file holding a secret is there, a
// regular file, private and the user's (openChecked), without reading it.
func checkSecretFile(path, what string) error {
	f, err := openChecked(path, what, true)
	if err != nil {
		return secretFileError(path, what, err)
	}
	return f.Close()
}

// secretFileError makes err, from opening or reading the secret file
// path, an *Error.
func secretFileError(path, what string, err error) error {
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	advice := "check that this user can read " + shownPath(path)
	if errors.Is(err, fs.ErrNotExist) {
		advice = "check the path: name the " + strings.TrimSuffix(what, " (it holds the private key)") + " by its full path, or create it"
	}
	return &Error{File: shownPath(path), Msg: fmt.Sprintf("%s: %v", what, configerr.UnwrapPath(err)), Advice: advice, Err: err}
}

// Keyring is the OS keyring this profile reads its client secret from
// (client_secret_keyring), looked up with the profile's environment.
func (p *Profile) Keyring() keyring.Keyring {
	if p.keyring != nil {
		return p.keyring
	}
	env := p.env
	if env == nil {
		env = func(string) string { return "" }
	}
	return keyring.OS(env)
}

// keyringSecret reads the client secret from the OS keyring.
func (p *Profile) keyringSecret(ctx context.Context) (string, error) {
	s, err := p.Keyring().Get(ctx, keyring.SecretAccount(p.Name))
	if errors.Is(err, keyring.ErrNotFound) {
		return "", &Error{File: p.File, Key: "client_secret_keyring",
			Msg:    fmt.Sprintf("the OS keyring holds no client secret for profile %s", shown(p.Name)),
			Advice: "store it: m365send secret set " + ShellQuote(p.Name), Err: err}
	}
	if err != nil {
		return "", err
	}
	if s = strings.TrimSpace(s); s == "" {
		return "", &Error{File: p.File, Key: "client_secret_keyring", Msg: "the client secret in the OS keyring is empty",
			Advice: "store it again: m365send secret set " + ShellQuote(p.Name)}
	}
	return s, nil
}

// TokenKeyring is the keyring the token cache's content is kept in, or
// nil for the file: nil when TokenStore is file, and, with a warning from
// the returned string, nil when the profile asks for the keyring but
// this machine has none (no session bus), so the 0600 file is used; the
// fall back is never silent.
func (p *Profile) TokenKeyring() (keyring.Keyring, string) {
	if p.TokenStore != TokenStoreKeyring {
		return nil, ""
	}
	k := p.Keyring()
	if err := keyring.Available(k); err != nil {
		return nil, "token_store = \"keyring\" but " + err.Error() + "; the token cache stays in the 0600 file " + p.CacheFile()
	}
	return k, ""
}
