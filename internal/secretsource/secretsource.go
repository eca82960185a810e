// Package secretsource reads a profile's secrets from where the profile
// says they are: an environment variable a key names, a private file, a
// command run without a shell, the OS keyring; and it checks a
// certificate file (it holds the private key) when the profile loads.
// Every failure is a *configerr.Error that says what to do and never
// holds the secret.
package secretsource

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
	"time"

	"github.com/m365send/m365send/internal/certfile"
	"github.com/m365send/m365send/internal/configerr"
	"github.com/m365send/m365send/internal/keyring"
	"github.com/m365send/m365send/internal/masked"
	"github.com/m365send/m365send/internal/safefile"
	"github.com/m365send/m365send/internal/secretcmd"
)

// MaxFileSize bounds a client secret file, a certificate file and a
// ca_file: each is a few kilobytes at most.
const MaxFileSize = 1 << 20

// Env returns the value of the environment variable name, which the key
// (client_secret_env, certificate_password_env) names, or an *Error
// saying it is empty or not set, with the advice to export it with what
// it holds; the caller places the error (its File, Line and Key).
func Env(env func(string) string, name, key, what string) (string, *configerr.Error) {
	v := ""
	if env != nil {
		v = env(name)
	}
	if v == "" {
		return "", &configerr.Error{Key: key,
			Msg:    fmt.Sprintf("environment variable %s (named by %s) is empty or not set", name, key),
			Advice: fmt.Sprintf("export %s=<%s>", name, what)}
	}
	return v, nil
}

// File reads the client secret from the private file path, trimmed.
func File(path string) (string, error) {
	const what = "client secret file"
	b, err := safefile.Read(path, what, MaxFileSize, true)
	if err != nil {
		return "", FileError(path, what, configerr.FromFile(err))
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", &configerr.Error{File: path, Msg: "client secret file is empty", Advice: "write the client secret's Value into it (one line)"}
	}
	return s, nil
}

// CheckFile checks that a file holding a secret is there, a regular file,
// private and the user's (safefile.Open), without reading it.
func CheckFile(path, what string) error {
	f, err := safefile.Open(path, what, true)
	if err != nil {
		return FileError(path, what, configerr.FromFile(err))
	}
	return f.Close()
}

// FileError makes err, from opening or reading the secret file path, an
// *Error (it is returned as it is when it is one already).
func FileError(path, what string, err error) error {
	var ce *configerr.Error
	if errors.As(err, &ce) {
		return err
	}
	advice := "check that this user can read " + masked.Path(path)
	if errors.Is(err, fs.ErrNotExist) {
		advice = "check the path: name the " + strings.TrimSuffix(what, " (it holds the private key)") + " by its full path, or create it"
	}
	return &configerr.Error{File: masked.Path(path), Msg: fmt.Sprintf("%s: %v", what, configerr.UnwrapPath(err)), Advice: advice, Err: err}
}

// Command runs client_secret_command's argv without a shell, for at most
// timeout, and returns its trimmed standard output; file is the
// configuration file, for the error.
func Command(ctx context.Context, argv []string, timeout time.Duration, file string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := secretcmd.Output(ctx, argv)
	name := argv[0]
	if err != nil {
		e := &configerr.Error{File: file, Key: "client_secret_command", Err: err,
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
		return "", &configerr.Error{File: file, Key: "client_secret_command", Msg: fmt.Sprintf("%s printed nothing on stdout", name),
			Advice: "the command must print the secret on stdout"}
	}
	return s, nil
}

// Keyring reads profile's client secret from the keyring k, trimmed; file
// is the configuration file, for the error.
func Keyring(ctx context.Context, k keyring.Keyring, profile, file string) (string, error) {
	s, err := k.Get(ctx, keyring.SecretAccount(profile))
	if errors.Is(err, keyring.ErrNotFound) {
		return "", &configerr.Error{File: file, Key: "client_secret_keyring",
			Msg:    fmt.Sprintf("the OS keyring holds no client secret for profile %s", masked.Value(profile)),
			Advice: "store it: m365send secret set " + safefile.ShellQuote(profile), Err: err}
	}
	if err != nil {
		return "", err
	}
	if s = strings.TrimSpace(s); s == "" {
		return "", &configerr.Error{File: file, Key: "client_secret_keyring", Msg: "the client secret in the OS keyring is empty",
			Advice: "store it again: m365send secret set " + safefile.ShellQuote(profile)}
	}
	return s, nil
}

// certWhat names a certificate file in messages.
const certWhat = "certificate file (it holds the private key)"

// Certificate reads the certificate file path (a PKCS#12 file opened with
// password) when the profile loads, so that a file with no key, a garbage
// PEM, an unreadable PKCS#12, a key of another certificate or an expired
// certificate is a configuration error naming the file, what is wrong and
// what to do, not a failure at the first token request. The file is
// opened as any secret file is (safefile) and its content checked by
// internal/certfile, which the token package reads it with too. The
// *Error unwraps to the *certfile.Error, so errors.Is(err,
// certfile.ErrNoKey) and the like hold.
func Certificate(path, password string) error {
	data, err := safefile.Read(path, certWhat, certfile.MaxSize, true)
	if err != nil {
		return FileError(path, certWhat, configerr.FromFile(err))
	}
	_, err = certfile.Parse(path, data, password, time.Now())
	var ce *certfile.Error
	if errors.As(err, &ce) {
		msg := "certificate file " + ce.Problem.Error()
		if ce.Detail != "" {
			msg += ": " + ce.Detail
		}
		return &configerr.Error{File: masked.Path(path), Msg: msg, Advice: ce.Advice, Err: err}
	}
	return err
}
