package config

import (
	"context"
	"strings"

	"github.com/m365send/m365send/internal/keyring"
	"github.com/m365send/m365send/internal/secretsource"
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
		v, err := p.namedVariable(p.ClientSecretEnv, "client_secret_env", "the client secret's Value from the app registration")
		return strings.TrimSpace(v), err
	case p.ClientSecretFile != "":
		return secretsource.File(p.ClientSecretFile)
	case len(p.ClientSecretCommand) > 0:
		timeout := p.secretTimeout
		if timeout <= 0 {
			timeout = defaultSecretCommandTimeout
		}
		return secretsource.Command(ctx, p.ClientSecretCommand, timeout, p.File)
	case p.ClientSecretKeyring:
		return secretsource.Keyring(ctx, p.Keyring(), p.Name, p.File)
	}
	return "", nil
}

// CertificatePassword returns the password of the certificate file
// (AZURE_CLIENT_CERTIFICATE_PASSWORD, or the variable
// certificate_password_env names), or "" when the profile names none.
// Errors are *Error and never contain the password.
func (p *Profile) CertificatePassword() (string, error) {
	switch {
	case p.certificatePassword != "":
		return p.certificatePassword, nil
	case p.CertificatePasswordEnv != "":
		return p.namedVariable(p.CertificatePasswordEnv, "certificate_password_env", "the certificate file's password")
	}
	return "", nil
}

// namedVariable reads the environment variable name that the profile's
// key (client_secret_env, certificate_password_env) names, which holds
// what.
func (p *Profile) namedVariable(name, key, what string) (string, error) {
	v, e := secretsource.Env(p.env, name, key, what)
	if e != nil {
		e.File = p.File
		return "", e
	}
	return v, nil
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
