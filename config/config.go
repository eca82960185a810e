// Package config loads m365send profiles: a TOML file with one table per
// profile, overlaid by the environment (azidentity's variable names where
// they overlap); it validates them and resolves secrets
// from an environment variable, a file or a command.
//
// It does not obtain tokens or send mail (see the token and sender
// packages); it only says, with the file, line and key, what is wrong with
// a configuration and how to fix it.
//
// A file looks like this:
//
//	default_profile = "alerts"
//
//	[profiles.alerts]
//	flow = "client_credentials"
//	tenant = "contoso.onmicrosoft.com"
//	client_id = "00000000-0000-0000-0000-000000000000"
//	client_secret_env = "ALERTS_SECRET"
//	mailbox = "alerts@contoso.com"
//
// Secrets never sit in the file itself: they come from an environment
// variable, a file, a command, a certificate or a federated token file.
//
// Load puts together what packages under internal/ do: the key table
// (configkey), reading the file and picking the profile (configfile), the
// environment's layer (configenv), what each value may be (configcheck),
// reading secrets (secretsource) and where each value came from
// (provenance); their errors are configerr's, which Error is.
package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/m365send/m365send/internal/configcheck"
	"github.com/m365send/m365send/internal/configerr"
	"github.com/m365send/m365send/internal/configkey"
	"github.com/m365send/m365send/internal/keyring"
	"github.com/m365send/m365send/internal/provenance"
)

// Flows a profile can use.
const (
	FlowClientCredentials = configkey.FlowClientCredentials
	FlowDeviceCode        = configkey.FlowDeviceCode
)

// defaultSecretCommandTimeout bounds client_secret_command.
const defaultSecretCommandTimeout = 30 * time.Second

// Profile is one fully merged, validated profile.
type Profile struct {
	// Name is the profile's name: its [profiles.NAME] table, and the base
	// name of its token cache file (see CacheFile).
	Name string
	// File is the configuration file the profile was read from, or "" when
	// it came from the environment alone.
	File string

	// Flow is FlowClientCredentials (an app) or FlowDeviceCode (a person);
	// when not set it is client_credentials if a client credential is set,
	// else device_code (see FlowInferred).
	Flow string
	// FlowInferred is true when flow was not set anywhere and was inferred
	// from the absence of a client credential (so Flow is device_code); a
	// command can then hint that a mistyped or missing secret variable may
	// be why it asks for a sign-in.
	FlowInferred bool
	// Tenant is the Entra ID tenant: its directory ID (a GUID) or a
	// verified domain such as contoso.onmicrosoft.com; "common" and
	// "organizations" are allowed for device_code.
	Tenant string
	// ClientID is the app registration's application (client) ID, a GUID.
	ClientID string

	// A client_credentials profile has exactly one client credential: one
	// of the three secret sources, a certificate or a federated token.
	// They are "" (nil) in a device_code profile. AZURE_CLIENT_SECRET, the
	// only literal secret, is kept unexported (see Secret).

	// ClientSecretEnv names the environment variable holding the client
	// secret (client_secret_env).
	ClientSecretEnv string
	// ClientSecretFile is a file (mode 0600) holding the client secret
	// (client_secret_file, $M365SEND_CLIENT_SECRET_FILE).
	ClientSecretFile string
	// ClientSecretCommand is a command, as argv run without a shell, that
	// prints the client secret (client_secret_command).
	ClientSecretCommand []string
	// ClientSecretKeyring means the client secret is in the OS keyring
	// (client_secret_keyring = true), stored by m365send secret set.
	ClientSecretKeyring bool
	// CertificateFile is a PEM file (mode 0600) with the app's certificate
	// and its private key (certificate_file,
	// $AZURE_CLIENT_CERTIFICATE_PATH).
	CertificateFile string
	// CertificatePasswordEnv names the environment variable holding
	// CertificateFile's password, when it is a PKCS#12 file with one
	// (certificate_password_env); AZURE_CLIENT_CERTIFICATE_PASSWORD, the
	// password itself, is kept unexported (see CertificatePassword).
	CertificatePasswordEnv string
	// FederatedTokenFile is a file holding a federated (workload identity)
	// token that the app presents instead of a secret
	// (federated_token_file, $AZURE_FEDERATED_TOKEN_FILE).
	FederatedTokenFile string

	// Mailbox is the address to authenticate and send as; "" lets a
	// device_code profile send as the signed-in person.
	Mailbox string
	// FromName is the display name of the From header, or "".
	FromName string

	// Cloud is the Microsoft cloud: global (the default), usgov, usgovdod
	// or china (see Clouds).
	Cloud string
	// SMTPHost is the submission host; "" means the cloud's.
	SMTPHost string
	// SMTPPort is the submission port, 1-65535; 587 when not set (an
	// explicit 0 is refused, and so is 465).
	SMTPPort int
	// Transport is how mail goes: TransportSMTP (the default),
	// TransportGraph or TransportAuto (see docs/graph.md).
	Transport string
	// GraphURL is Microsoft Graph's base URL; "" means the cloud's.
	GraphURL string
	// AuthorityHost is Entra ID's "host[:port]" or https URL; "" means the
	// cloud's.
	AuthorityHost string
	// CAFile is a PEM file of CA certificates trusted besides the system's
	// (for a TLS-inspecting proxy, or a test server), or "" (see RootCAs).
	CAFile string

	// RatePerMinute paces submissions, in messages a minute (the
	// rate_per_minute key): 0, also when not set, means the sender's
	// default of 30, the limit Exchange Online enforces per mailbox (more
	// only earns throttling there; other servers may allow more); -1 turns
	// pacing off (for test servers and relays). Other negative values are
	// refused.
	RatePerMinute int
	// TokenStore is where the token cache's content is kept: TokenStoreFile
	// (the default) or TokenStoreKeyring (see TokenKeyring).
	TokenStore string
	// CacheDir holds the token cache files (one per profile): the
	// cache_dir key, else the state folder's tokens folder
	// ($XDG_STATE_HOME/m365send/tokens), so that clearing caches does not
	// sign anybody out; "" keeps tokens in memory only (no folder could
	// be determined).
	CacheDir string
	// LegacyCacheDir is where token caches were kept before they moved to
	// the state folder ($XDG_CACHE_HOME/m365send, else ~/.cache/m365send),
	// when cache_dir is not set: a cache found there is moved on first use.
	LegacyCacheDir string
	// OnLoginRequired is a command, as argv run without a shell, run once
	// when a token request finds that a person must sign in again (the
	// on_login_required key); nil runs nothing.
	OnLoginRequired []string

	// clientSecret holds AZURE_CLIENT_SECRET when that is where the secret
	// came from; it is never printed.
	clientSecret string
	// certificatePassword holds AZURE_CLIENT_CERTIFICATE_PASSWORD when
	// that is where the certificate file's password came from.
	certificatePassword string
	// keyring holds the client secret when ClientSecretKeyring (nil: the
	// OS keyring; tests set another).
	keyring keyring.Keyring
	// env is the lookup the profile was loaded with (for client_secret_env).
	env func(string) string
	// secretTimeout bounds client_secret_command (tests shorten it).
	secretTimeout time.Duration
	// prov says where each value came from (nil for a Profile built by
	// hand; see Sources).
	prov *provenance.Record
	// caCerts are CAFile's certificates, read once by Load (nil for a
	// Profile built by hand, whose RootCAs reads CAFile).
	caCerts []*x509.Certificate
}

// String describes the profile without any secret. It has a value
// receiver so that printing a Profile value cannot show the resolved
// secret either.
func (p Profile) String() string {
	return fmt.Sprintf("profile %s (%s, tenant %s, client %s)", p.Name, p.Flow, p.Tenant, p.ClientID)
}

// GoString is String, so that %#v cannot print the resolved secret either.
func (p Profile) GoString() string { return p.String() }

// CacheFile is the profile's token cache file, CacheDir/<name>.json, or ""
// when there is no cache directory.
func (p *Profile) CacheFile() string {
	if p.CacheDir == "" {
		return ""
	}
	return filepath.Join(p.CacheDir, cacheFileName(p.Name))
}

// LegacyCacheFile is where the profile's token cache was kept before
// sign-ins moved to the state folder, or "" when cache_dir is set.
func (p *Profile) LegacyCacheFile() string {
	if p.LegacyCacheDir == "" || p.CacheDir == "" {
		return ""
	}
	return filepath.Join(p.LegacyCacheDir, cacheFileName(p.Name))
}

// cacheFileName makes a profile name safe as a file name, reversibly, so
// that two profiles never share a cache file ("a b" and "a_b" did when
// every other character became "_"): letters, digits, "-", "_" and "."
// stay, every other byte (and "%") becomes %XX, a leading "." becomes %2E
// (no hidden file, no ".."), and the empty name is "%". Names made only
// of the characters that stay keep the file they had before; a profile
// whose name has others gets a new file, so it signs in again once.
func cacheFileName(name string) string {
	if name == "" {
		return "%.json"
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '.' && i == 0:
			b.WriteString("%2E")
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String() + ".json"
}

// CredentialSource says where the client credential comes from, for
// diagnostics: "AZURE_CLIENT_SECRET", "client_secret_env NAME",
// "client_secret_file PATH", "client_secret_command", "certificate_file
// PATH", "federated_token_file PATH", or "" (device code).
func (p *Profile) CredentialSource() string {
	switch {
	case p.clientSecret != "":
		return "AZURE_CLIENT_SECRET"
	case p.ClientSecretEnv != "":
		return "client_secret_env " + p.ClientSecretEnv
	case p.ClientSecretFile != "":
		return "client_secret_file " + p.ClientSecretFile
	case len(p.ClientSecretCommand) > 0:
		return "client_secret_command " + p.ClientSecretCommand[0]
	case p.ClientSecretKeyring:
		return "client_secret_keyring (the OS keyring)"
	case p.CertificateFile != "":
		return "certificate_file " + p.CertificateFile
	case p.FederatedTokenFile != "":
		return "federated_token_file " + p.FederatedTokenFile
	}
	return ""
}

// RootCAs returns the certificate pool that Entra ID and SMTP servers are
// verified against: the system roots (which honour SSL_CERT_FILE) plus the
// profile's ca_file. Verification is never turned off. A loaded profile
// uses the certificates Load already read from ca_file; a Profile built
// by hand reads the file here.
func (p *Profile) RootCAs() (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if p.CAFile == "" {
		return pool, nil
	}
	certs := p.caCerts
	if certs == nil {
		if certs, err = configcheck.ReadCAFile(p.CAFile); err != nil {
			var ce *Error
			if errors.As(err, &ce) {
				ce.Key = "ca_file"
				return nil, ce
			}
			return nil, &Error{Key: "ca_file", Msg: fmt.Sprintf("read %s: %v", p.CAFile, configerr.UnwrapPath(err)), Advice: "point ca_file at a readable PEM file of CA certificates", Err: err}
		}
		if len(certs) == 0 {
			return nil, &Error{Key: "ca_file", Msg: fmt.Sprintf("%s holds no PEM certificate", p.CAFile), Advice: "ca_file must contain -----BEGIN CERTIFICATE----- blocks"}
		}
	}
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}
