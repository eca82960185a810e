// Package configkey is the one table of profile keys (config.Keys): each
// key's name in a [profiles.NAME] table, its environment variable, type,
// default and one-line doc, from which config loads a profile, the
// environment is overlaid, typos get suggestions and the key reference in
// docs/configuration.md is generated. It also holds the environment
// variables m365send reads besides the keys', and the types that say
// where one value came from (Setting, Origin, Source).
package configkey

import (
	"strings"

	"github.com/m365send/m365send/internal/cloud"
)

// Type is the TOML type of a profile key's value, as the docs name it.
type Type string

// The types a profile key can have.
const (
	TypeString  Type = "string"
	TypeInteger Type = "integer"
	TypeArgv    Type = "array of strings"
	TypeBool    Type = "boolean"
)

// Key describes one profile key: the one place where a key is written.
// Loading, the environment overlay, typo suggestions, the command's help
// and the key reference in docs/configuration.md are all made from All;
// package config's builder checks each key's value (a test there fails
// for a key it has no step for).
type Key struct {
	// Name is the key in a [profiles.NAME] table, such as "smtp_port".
	// For an EnvOnly key it is only the name messages use.
	Name string
	// Env is the environment variable that sets the key (azidentity's
	// name where one exists, else M365SEND_*), or "" when only the file
	// can set it.
	Env string
	// Type is the TOML type of the value.
	Type Type
	// Default says what applies when the key is not set, or "" when
	// nothing does.
	Default string
	// Doc is one line saying what the key holds and which values it takes.
	Doc string
	// Required means a profile without the key is refused.
	Required bool
	// SecretRef marks a client credential: the key says where a secret or
	// a certificate is (a variable, a file, a command), and a profile has
	// at most one of them.
	SecretRef bool
	// EnvOnly marks a key the file cannot hold: AZURE_CLIENT_SECRET, the
	// one literal secret, comes only from the environment.
	EnvOnly bool
	// Path marks a key that names a file or folder (for a command, its
	// program when it has a "/"): in the file, a relative path
	// is relative to the file's folder and "~/" is the home folder (see
	// internal/relpath); from the environment it is taken as it is.
	Path bool
}

// The EnvOnly keys, by the names messages use.
const (
	// Secret is AZURE_CLIENT_SECRET's key: the client secret itself.
	Secret = "client_secret"
	// AzureAuthority is AZURE_AUTHORITY_HOST's key.
	AzureAuthority = "azure_authority_host"
	// CertificatePassword is AZURE_CLIENT_CERTIFICATE_PASSWORD's key.
	CertificatePassword = "certificate_password"
)

// All returns every profile key, in the order a profile is checked and
// documented. Each call returns a new slice.
func All() []Key {
	return []Key{
		{Name: "flow", Env: "M365SEND_FLOW", Type: TypeString,
			Default: "client_credentials when a client credential is set, else device_code",
			Doc:     `"client_credentials" (an app registration sends) or "device_code" (a person signs in once)`},
		{Name: "tenant", Env: "AZURE_TENANT_ID", Type: TypeString, Required: true,
			Doc: `the Entra ID tenant: its directory ID (a GUID) or a verified domain; "organizations" or "common" only with device_code`},
		{Name: "client_id", Env: "AZURE_CLIENT_ID", Type: TypeString, Required: true,
			Doc: "the app registration's Application (client) ID, a GUID"},
		{Name: Secret, Env: "AZURE_CLIENT_SECRET", Type: TypeString, SecretRef: true, EnvOnly: true,
			Doc: "the client secret itself; only from the environment, never in the file"},
		{Name: "client_secret_env", Type: TypeString, SecretRef: true,
			Doc: "the name of an environment variable that holds the client secret"},
		{Name: "client_secret_file", Env: "M365SEND_CLIENT_SECRET_FILE", Type: TypeString, SecretRef: true, Path: true,
			Doc: "a file (mode 0600) that holds the client secret"},
		{Name: "client_secret_command", Type: TypeArgv, SecretRef: true, Path: true,
			Doc: `a command, as a list run without a shell, that prints the client secret, such as ["pass", "show", "m365/alerts"]`},
		{Name: "client_secret_keyring", Type: TypeBool, SecretRef: true,
			Doc: "true: the client secret is in the OS keyring (Secret Service, Keychain, Credential Manager), stored there with m365send secret set PROFILE"},
		{Name: "certificate_file", Env: "AZURE_CLIENT_CERTIFICATE_PATH", Type: TypeString, SecretRef: true, Path: true,
			Doc: "a PEM file (certificate and unencrypted private key) or a PKCS#12 file (.p12/.pfx), mode 0600; preferred over a secret"},
		{Name: CertificatePassword, Env: "AZURE_CLIENT_CERTIFICATE_PASSWORD", Type: TypeString, EnvOnly: true,
			Doc: "the PKCS#12 certificate file's password itself; only from the environment, never in the file"},
		{Name: "certificate_password_env", Type: TypeString,
			Doc: "the name of an environment variable that holds the PKCS#12 certificate file's password"},
		{Name: "federated_token_file", Env: "AZURE_FEDERATED_TOKEN_FILE", Type: TypeString, SecretRef: true, Path: true,
			Doc: "a file holding a federated (workload identity) token the app presents instead of a secret"},
		{Name: "mailbox", Env: "M365SEND_MAILBOX", Type: TypeString,
			Default: "the signed-in person (device_code)",
			Doc:     "the address to authenticate and send as, such as alerts@contoso.com"},
		{Name: "from_name", Env: "M365SEND_FROM_NAME", Type: TypeString,
			Doc: "the display name of the From header"},
		{Name: "cloud", Env: "M365SEND_CLOUD", Type: TypeString,
			Default: "global",
			Doc:     "the Microsoft cloud: " + strings.Join(cloud.Names(), ", ")},
		{Name: "smtp_host", Env: "M365SEND_SMTP_HOST", Type: TypeString,
			Default: "the cloud's submission host (smtp.office365.com for global)",
			Doc:     "the SMTP submission host name, without a port"},
		{Name: "smtp_port", Env: "M365SEND_SMTP_PORT", Type: TypeInteger,
			Default: "587",
			Doc:     "the SMTP submission port (STARTTLS), 1-65535; 465 is not supported"},
		{Name: "transport", Env: "M365SEND_TRANSPORT", Type: TypeString,
			Default: "smtp",
			Doc:     `how mail goes: "smtp" (SMTP AUTH), "graph" (Microsoft Graph's sendMail) or "auto" (SMTP, switching to Graph for an hour when SMTP AUTH is disabled or port 587 cannot be reached); see docs/graph.md`},
		{Name: "graph_url", Env: "M365SEND_GRAPH_URL", Type: TypeString,
			Default: "the cloud's Graph endpoint (https://graph.microsoft.com/v1.0 for global)",
			Doc:     "Microsoft Graph's base URL, https only (for a test server)"},
		{Name: "authority_host", Env: "M365SEND_AUTHORITY_HOST", Type: TypeString,
			Default: "the cloud's Entra ID host (login.microsoftonline.com for global)",
			Doc:     `Entra ID's "host[:port]" or https:// URL`},
		{Name: AzureAuthority, Env: "AZURE_AUTHORITY_HOST", Type: TypeString, EnvOnly: true,
			Doc: "azidentity's authority host, an https:// URL, used only when the profile sets neither cloud nor authority_host (as azidentity lets explicit settings win): a cloud's own host selects that cloud (login.microsoftonline.us: usgov), any other host is the authority host"},
		{Name: "ca_file", Env: "M365SEND_CA_FILE", Type: TypeString, Path: true,
			Doc: "a PEM file of CA certificates trusted besides the system's (a TLS-inspecting proxy, a test server)"},
		{Name: "rate_per_minute", Env: "M365SEND_RATE_PER_MINUTE", Type: TypeInteger,
			Default: "0: 30 a minute, Exchange Online's limit per mailbox",
			Doc:     "messages a minute to pace submissions at; -1 turns pacing off"},
		{Name: "token_store", Env: "M365SEND_TOKEN_STORE", Type: TypeString,
			Default: "file",
			Doc:     `where the token cache is kept: "file" (a 0600 file in cache_dir) or "keyring" (the OS keyring; with none, a warning and the file)`},
		{Name: "cache_dir", Env: "M365SEND_CACHE_DIR", Type: TypeString, Path: true,
			Default: "$M365SEND_STATE_DIR/tokens, else $XDG_STATE_HOME/m365send/tokens, else ~/.local/state/m365send/tokens",
			Doc:     "the folder of the token cache files (the sign-ins), one per profile; a cache in the old default, ~/.cache/m365send, is moved here on first use"},
		{Name: "on_login_required", Type: TypeArgv, Path: true,
			Doc: `a command, as a list run without a shell, run once when a send finds that a person must sign in again, with LOGIN_REQUIRED_PROFILE and LOGIN_REQUIRED_REASON in its environment, such as ["/usr/local/bin/notify", "m365send"]`},
	}
}

// FileKeys are the names of the keys a [profiles.NAME] table may hold.
func FileKeys() []string {
	var names []string
	for _, k := range All() {
		if !k.EnvOnly {
			names = append(names, k.Name)
		}
	}
	return names
}

// Lookup returns the key named name, if the file may hold it.
func Lookup(name string) (Key, bool) {
	for _, k := range All() {
		if k.Name == name && !k.EnvOnly {
			return k, true
		}
	}
	return Key{}, false
}

// IsCredential reports whether key is a client credential (SecretRef).
func IsCredential(key string) bool {
	for _, k := range All() {
		if k.Name == key {
			return k.SecretRef
		}
	}
	return false
}

// IsSecret reports whether key holds or names a client secret (rather
// than a certificate or a federated token).
func IsSecret(key string) bool { return strings.HasPrefix(key, Secret) }

// The flows a profile can use (the flow key).
const (
	FlowClientCredentials = "client_credentials"
	FlowDeviceCode        = "device_code"
)
