// Package initconfig writes a first configuration file, as `m365send
// init` does: it takes a profile's flow, tenant, client ID, credential
// and mailbox from flags or, at a terminal, asks for what is missing;
// checks the result with package config's own validation (the same that
// every command loads a profile with); and writes the file with mode 0600
// (see docs/commands.md).
//
// A file that already exists gets the new profile added at its end; a
// profile that is already there is left alone (init refuses, rather than
// rewrite a file a person may have edited).
package initconfig

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/failure"
)

// Options say where to write and what is known already.
type Options struct {
	// Path is the configuration file to write (config.File); required.
	Path string
	// Profile is the profile's name; "" is "default".
	Profile string
	// Values are profile keys (config.Keys, as in the file) given on the
	// command line, such as "tenant" or "smtp_port"; a relative path in a
	// path key is taken relative to the working directory and written in
	// full.
	Values map[string]string
	// Interactive asks, on Out, for what Values lack, reading the answers
	// from In. Without it a missing tenant or client ID is a usage error.
	Interactive bool
	In          io.Reader
	Out         io.Writer
	// ReadSecret reads a client secret without showing it (a terminal with
	// echo off); nil leaves out the choice of pasting a secret.
	ReadSecret func() ([]byte, error)
	// Doctor is the answer to "check it now with doctor?" when nothing is
	// asked (see Result.Doctor).
	Doctor bool
	// Env looks up HOME and the XDG variables (for "~" and the token cache
	// folder) when the profile is checked; the profile keys' own variables
	// are not consulted, so the file is checked as it will be read.
	Env func(string) string
}

// Result says what was written.
type Result struct {
	// Path is the configuration file written.
	Path string
	// Profile is the profile's name.
	Profile string
	// Flow is the profile's flow (config.FlowClientCredentials or
	// config.FlowDeviceCode).
	Flow string
	// Created is true when the file is new, false when the profile was
	// added to an existing one.
	Created bool
	// SecretFile is the client secret file written for a pasted secret,
	// or "".
	SecretFile string
	// Doctor is true when the person (or Options.Doctor) asked for a check
	// with `m365send doctor` now.
	Doctor bool
}

// The keys init asks for, in order; a credential is one of credKeys.
var credKeys = []string{"certificate_file", "client_secret_file", "client_secret_env", "federated_token_file"}

// maxTries bounds how often one answer is asked again after the profile
// is refused.
const maxTries = 3

// Run gathers the profile, checks it and writes the file. Errors are
// config's (*config.Error, exit 78) for a profile that does not check,
// usage errors (failure.Usage) for what is missing without a terminal or
// a profile already in the file, and failure.Internal for a file that
// cannot be written.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Path == "" {
		return nil, failure.New(failure.Usage, "no configuration file to write: neither $XDG_CONFIG_HOME nor $HOME is set",
			"name the file with --config FILE")
	}
	name := opts.Profile
	if name == "" {
		name = "default"
	}
	existing, err := readExisting(opts.Path, name, opts.Env)
	if err != nil {
		return nil, err
	}
	values, err := absolutePaths(opts.Values)
	if err != nil {
		return nil, err
	}
	r := &run{opts: opts, name: name, values: values, ask: newAsker(ctx, opts.In, opts.Out)}
	res := &Result{Path: opts.Path, Profile: name, Created: existing == nil, Doctor: opts.Doctor}
	for try := 0; ; try++ {
		if err := r.gather(); err != nil {
			return nil, err
		}
		if r.secret != nil {
			if res.SecretFile, err = r.writeSecret(); err != nil {
				return nil, err
			}
		}
		content := compose(existing, name, r.values)
		p, err := config.Load(config.LoadOptions{File: opts.Path, Data: content, Profile: name, Env: baseEnv(opts.Env)})
		if err == nil {
			res.Flow = p.Flow
			if err := writeFile(opts.Path, content); err != nil {
				return nil, err
			}
			break
		}
		key := r.culprit(err)
		if !opts.Interactive || key == "" || try+1 >= maxTries {
			return nil, err
		}
		fmt.Fprintf(opts.Out, "%s\n", err)
		if h := failure.HintOf(err); h != "" {
			fmt.Fprintf(opts.Out, "  hint: %s\n", h)
		}
		r.forget(key)
	}
	if opts.Interactive && !opts.Doctor && res.Flow == config.FlowClientCredentials {
		yes, err := r.ask.yesNo("Check it now with `m365send doctor`?", true)
		if err != nil {
			return nil, err
		}
		res.Doctor = yes
	}
	return res, nil
}

// readExisting returns the file's content, or nil when there is none,
// refusing a file that already has the profile.
func readExisting(path, name string, env func(string) string) ([]byte, error) {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	g, err := config.LoadGlobals(config.LoadOptions{File: path, Env: baseEnv(env)})
	if err != nil {
		return nil, err
	}
	if slices.Contains(g.Profiles, name) {
		return nil, failure.New(failure.Usage, fmt.Sprintf("%s already has a profile %q", path, name),
			"edit it there, or give another name with --profile NAME")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// baseEnv is env reduced to what places files (HOME and XDG_*).
func baseEnv(env func(string) string) func(string) string {
	return func(k string) string {
		if env == nil || k != "HOME" && !strings.HasPrefix(k, "XDG_") {
			return ""
		}
		return env(k)
	}
}

// absolutePaths copies values, making the relative paths of path keys
// absolute against the working directory: the file resolves relative
// paths against its own folder, which is not what the person typing them
// meant.
func absolutePaths(values map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range values {
		key, ok := fileKey(k)
		if !ok {
			return nil, failure.New(failure.Usage, fmt.Sprintf("unknown profile key %q", k),
				"the keys are those of docs/configuration.md: "+strings.Join(keyNames(), ", "))
		}
		if key.Type == config.TypeArgv {
			return nil, failure.New(failure.Usage, fmt.Sprintf("%s cannot be given to init", k), "add it to the file afterwards: it is a list, such as [\"pass\", \"show\", \"m365\"]")
		}
		if key.Path && v != "" && v != "~" && !strings.HasPrefix(v, "~/") && !filepath.IsAbs(v) {
			abs, err := filepath.Abs(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			v = abs
		}
		out[k] = v
	}
	return out, nil
}

// fileKey is the profile key named k, if the file can hold it.
func fileKey(k string) (config.Key, bool) {
	for _, key := range config.Keys() {
		if key.Name == k && !key.EnvOnly {
			return key, true
		}
	}
	return config.Key{}, false
}

// keyNames are the keys a profile in the file can hold.
func keyNames() []string {
	var names []string
	for _, key := range config.Keys() {
		if !key.EnvOnly {
			names = append(names, key.Name)
		}
	}
	return names
}

// run is one init's answers.
type run struct {
	opts   Options
	name   string
	values map[string]string
	ask    *asker
	// secret is a client secret pasted at the terminal, to be kept in a
	// file next to the configuration.
	secret []byte
}

// gather asks for what values lack (at a terminal), or says what is
// missing.
func (r *run) gather() error {
	v := r.values
	if !r.opts.Interactive {
		var missing []string
		for _, k := range []string{"tenant", "client_id"} {
			if v[k] == "" {
				missing = append(missing, "--"+strings.ReplaceAll(k, "_", "-"))
			}
		}
		if len(missing) > 0 {
			return failure.New(failure.Usage, "init needs "+strings.Join(missing, " and ")+": standard input is not a terminal, so nothing is asked",
				"give the profile as flags (see `m365send init --help`), or run init at a terminal")
		}
		return nil
	}
	if v["flow"] == "" {
		flow := config.FlowClientCredentials
		if r.credential() == "" {
			n, err := r.ask.choose("Who sends?", []string{
				"an app registration, with a certificate or a client secret (servers, scripts, cron)",
				"a person, who signs in once with a device code",
			})
			if err != nil {
				return err
			}
			if n == 2 {
				flow = config.FlowDeviceCode
			}
		}
		v["flow"] = flow
	}
	for _, q := range []struct{ key, prompt string }{
		{"tenant", "Tenant: the directory (tenant) ID, or a domain such as contoso.onmicrosoft.com"},
		{"client_id", "Application (client) ID of the app registration"},
	} {
		for v[q.key] == "" {
			s, err := r.ask.line(q.prompt, "")
			if err != nil {
				return err
			}
			v[q.key] = s
		}
	}
	if v["flow"] == config.FlowClientCredentials && r.credential() == "" && r.secret == nil {
		if err := r.askCredential(); err != nil {
			return err
		}
	}
	if _, ok := v["mailbox"]; !ok {
		prompt, def := "Mailbox to send as, such as alerts@contoso.com", ""
		if v["flow"] == config.FlowDeviceCode {
			prompt = "Mailbox to send as (empty: the person who signs in)"
		}
		for {
			s, err := r.ask.line(prompt, def)
			if err != nil {
				return err
			}
			if s != "" || v["flow"] == config.FlowDeviceCode {
				v["mailbox"] = s
				break
			}
		}
	}
	return nil
}

// credential is the credential key set, or "".
func (r *run) credential() string {
	for _, k := range credKeys {
		if r.values[k] != "" {
			return k
		}
	}
	return ""
}

// askCredential asks how the app proves who it is.
func (r *run) askCredential() error {
	choices := []string{
		"a certificate file (PEM with its private key, or PKCS#12), mode 0600; preferred",
		"a client secret in a file (mode 0600) that you have already",
		"a client secret in an environment variable",
	}
	if r.opts.ReadSecret != nil {
		choices = append(choices, "a client secret pasted now, kept in a 0600 file next to the configuration")
	}
	n, err := r.ask.choose("How does the app prove who it is?", choices)
	if err != nil {
		return err
	}
	if n == 4 {
		fmt.Fprint(r.opts.Out, "Client secret (not shown): ")
		b, err := r.opts.ReadSecret()
		fmt.Fprintln(r.opts.Out)
		if err != nil {
			return fmt.Errorf("read the client secret: %w", err)
		}
		if s := strings.TrimSpace(string(b)); s != "" {
			r.secret = []byte(s + "\n")
			return nil
		}
		return r.askCredential()
	}
	key := []string{"certificate_file", "client_secret_file", "client_secret_env"}[n-1]
	prompt := map[string]string{"certificate_file": "Certificate file", "client_secret_file": "Client secret file",
		"client_secret_env": "Name of the environment variable that holds the secret"}[key]
	s, err := r.ask.line(prompt, "")
	if err != nil {
		return err
	}
	if s == "" {
		return r.askCredential()
	}
	vals, err := absolutePaths(map[string]string{key: s})
	if err != nil {
		return err
	}
	r.values[key] = vals[key]
	return nil
}

// secretName is the file name of a pasted client secret: the profile's
// name when it is a plain word.
func (r *run) secretName() string {
	if plainName.MatchString(r.name) {
		return r.name + ".secret"
	}
	return "client.secret"
}

// writeSecret keeps the pasted secret in a 0600 file in the configuration
// file's folder, named (relative, so it moves with the folder) by
// client_secret_file.
func (r *run) writeSecret() (string, error) {
	dir := filepath.Dir(r.opts.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	path := filepath.Join(dir, r.secretName())
	if err := writeFile(path, r.secret); err != nil {
		return "", err
	}
	r.values["client_secret_file"] = r.secretName()
	r.secret = nil
	return path, nil
}

// culprit is the key whose answer err refuses, when init asked for it
// and can ask again; "" otherwise.
func (r *run) culprit(err error) string {
	var ce *config.Error
	if !errors.As(err, &ce) {
		return ""
	}
	key := ce.Key[strings.LastIndexByte(ce.Key, '.')+1:]
	if slices.Contains([]string{"tenant", "client_id", "mailbox", "flow"}, key) && r.opts.Values[key] == "" {
		return key
	}
	if cred := r.credential(); cred != "" && r.opts.Values[cred] == "" && (key == cred || strings.Contains(ce.Error(), r.values[cred])) {
		return cred
	}
	return ""
}

// forget drops the answer for key, so that gather asks it again.
func (r *run) forget(key string) {
	if key == "flow" {
		delete(r.values, "flow")
		return
	}
	if slices.Contains(credKeys, key) {
		delete(r.values, key)
		return
	}
	r.values[key] = ""
	if key == "mailbox" {
		delete(r.values, key)
	}
}

// plainName matches a name that is a TOML bare key and a safe file name.
var plainName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
