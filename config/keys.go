package config

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
// and the key reference in docs/configuration.md are all made from Keys.
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
	// Path marks a key that names a file or folder (for
	// client_secret_command, its program): in the file, a relative path
	// is relative to the file's folder and "~/" is the home folder (see
	// internal/relpath); from the environment it is taken as it is.
	Path bool

	// apply validates the key's setting (ok is false when it is not set)
	// and records it in the profile being built.
	apply func(b *builder, s setting, ok bool) error
}

// Keys returns every profile key, in the order a profile is checked and
// documented. Each call returns a new slice.
func Keys() []Key {
	keys := keyTable()
	for i := range keys {
		keys[i].apply = nil
	}
	return keys
}

// Variables lists every environment variable Load reads values from that
// a user sets for m365send: the M365SEND_* ones (M365SEND_CONFIG and
// M365SEND_PROFILE first) and azidentity's AZURE_* ones, in Keys' order.
func Variables() []string {
	vars := []string{envConfig, envProfile}
	for _, k := range keyTable() {
		if k.Env != "" {
			vars = append(vars, k.Env)
		}
	}
	return append(vars, envQueue, envStateDir, envSystemConfig, envSyslogSocket, envPacingWindow)
}

// Environment variables that select the file and the profile.
const (
	envConfig  = "M365SEND_CONFIG"
	envProfile = "M365SEND_PROFILE"
)

// secretKey is the EnvOnly key of AZURE_CLIENT_SECRET.
const secretKey = "client_secret"

// azureAuthorityKey is the EnvOnly key of AZURE_AUTHORITY_HOST.
const azureAuthorityKey = "azure_authority_host"

// certPasswordKey is the EnvOnly key of AZURE_CLIENT_CERTIFICATE_PASSWORD.
const certPasswordKey = "certificate_password"

// keyTable is Keys with their apply functions (build.go).
func keyTable() []Key {
	return []Key{
		{Name: "flow", Env: "M365SEND_FLOW", Type: TypeString, apply: (*builder).flow,
			Default: "client_credentials when a client credential is set, else device_code",
			Doc:     `"client_credentials" (an app registration sends) or "device_code" (a person signs in once)`},
		{Name: "tenant", Env: "AZURE_TENANT_ID", Type: TypeString, Required: true, apply: (*builder).tenant,
			Doc: `the Entra ID tenant: its directory ID (a GUID) or a verified domain; "organizations" or "common" only with device_code`},
		{Name: "client_id", Env: "AZURE_CLIENT_ID", Type: TypeString, Required: true, apply: (*builder).clientID,
			Doc: "the app registration's Application (client) ID, a GUID"},
		{Name: secretKey, Env: "AZURE_CLIENT_SECRET", Type: TypeString, SecretRef: true, EnvOnly: true, apply: (*builder).credential,
			Doc: "the client secret itself; only from the environment, never in the file"},
		{Name: "client_secret_env", Type: TypeString, SecretRef: true, apply: (*builder).credential,
			Doc: "the name of an environment variable that holds the client secret"},
		{Name: "client_secret_file", Env: "M365SEND_CLIENT_SECRET_FILE", Type: TypeString, SecretRef: true, Path: true, apply: (*builder).credential,
			Doc: "a file (mode 0600) that holds the client secret"},
		{Name: "client_secret_command", Type: TypeArgv, SecretRef: true, Path: true, apply: (*builder).credential,
			Doc: `a command, as a list run without a shell, that prints the client secret, such as ["pass", "show", "m365/alerts"]`},
		{Name: "client_secret_keyring", Type: TypeBool, SecretRef: true, apply: (*builder).credential,
			Doc: "true: the client secret is in the OS keyring (Secret Service, Keychain, Credential Manager), stored there with m365send secret set PROFILE"},
		{Name: "certificate_file", Env: "AZURE_CLIENT_CERTIFICATE_PATH", Type: TypeString, SecretRef: true, Path: true, apply: (*builder).credential,
			Doc: "a PEM file (certificate and unencrypted private key) or a PKCS#12 file (.p12/.pfx), mode 0600; preferred over a secret"},
		{Name: certPasswordKey, Env: "AZURE_CLIENT_CERTIFICATE_PASSWORD", Type: TypeString, EnvOnly: true, apply: (*builder).certificatePassword,
			Doc: "the PKCS#12 certificate file's password itself; only from the environment, never in the file"},
		{Name: "certificate_password_env", Type: TypeString, apply: (*builder).certificatePassword,
			Doc: "the name of an environment variable that holds the PKCS#12 certificate file's password"},
		{Name: "federated_token_file", Env: "AZURE_FEDERATED_TOKEN_FILE", Type: TypeString, SecretRef: true, Path: true, apply: (*builder).credential,
			Doc: "a file holding a federated (workload identity) token the app presents instead of a secret"},
		{Name: "mailbox", Env: "M365SEND_MAILBOX", Type: TypeString, apply: (*builder).mailbox,
			Default: "the signed-in person (device_code)",
			Doc:     "the address to authenticate and send as, such as alerts@contoso.com"},
		{Name: "from_name", Env: "M365SEND_FROM_NAME", Type: TypeString, apply: (*builder).fromName,
			Doc: "the display name of the From header"},
		{Name: "cloud", Env: "M365SEND_CLOUD", Type: TypeString, apply: (*builder).cloud,
			Default: "global",
			Doc:     "the Microsoft cloud: " + strings.Join(cloud.Names(), ", ")},
		{Name: "smtp_host", Env: "M365SEND_SMTP_HOST", Type: TypeString, apply: (*builder).smtpHost,
			Default: "the cloud's submission host (smtp.office365.com for global)",
			Doc:     "the SMTP submission host name, without a port"},
		{Name: "smtp_port", Env: "M365SEND_SMTP_PORT", Type: TypeInteger, apply: (*builder).smtpPort,
			Default: "587",
			Doc:     "the SMTP submission port (STARTTLS), 1-65535; 465 is not supported"},
		{Name: "transport", Env: "M365SEND_TRANSPORT", Type: TypeString, apply: (*builder).transport,
			Default: "smtp",
			Doc:     `how mail goes: "smtp" (SMTP AUTH), "graph" (Microsoft Graph's sendMail) or "auto" (SMTP, switching to Graph for an hour when SMTP AUTH is disabled or port 587 cannot be reached); see docs/graph.md`},
		{Name: "graph_url", Env: "M365SEND_GRAPH_URL", Type: TypeString, apply: (*builder).graphURL,
			Default: "the cloud's Graph endpoint (https://graph.microsoft.com/v1.0 for global)",
			Doc:     "Microsoft Graph's base URL, https only (for a test server)"},
		{Name: "authority_host", Env: "M365SEND_AUTHORITY_HOST", Type: TypeString, apply: (*builder).authorityHost,
			Default: "the cloud's Entra ID host (login.microsoftonline.com for global)",
			Doc:     `Entra ID's "host[:port]" or https:// URL`},
		{Name: azureAuthorityKey, Env: "AZURE_AUTHORITY_HOST", Type: TypeString, EnvOnly: true, apply: (*builder).azureAuthorityHost,
			Doc: "azidentity's authority host, an https:// URL, used only when the profile sets neither cloud nor authority_host (as azidentity lets explicit settings win): a cloud's own host selects that cloud (login.microsoftonline.us: usgov), any other host is the authority host"},
		{Name: "ca_file", Env: "M365SEND_CA_FILE", Type: TypeString, Path: true, apply: (*builder).caFile,
			Doc: "a PEM file of CA certificates trusted besides the system's (a TLS-inspecting proxy, a test server)"},
		{Name: "rate_per_minute", Env: "M365SEND_RATE_PER_MINUTE", Type: TypeInteger, apply: (*builder).rate,
			Default: "0: 30 a minute, Exchange Online's limit per mailbox",
			Doc:     "messages a minute to pace submissions at; -1 turns pacing off"},
		{Name: "token_store", Env: "M365SEND_TOKEN_STORE", Type: TypeString, apply: (*builder).tokenStore,
			Default: "file",
			Doc:     `where the token cache is kept: "file" (a 0600 file in cache_dir) or "keyring" (the OS keyring; with none, a warning and the file)`},
		{Name: "cache_dir", Env: "M365SEND_CACHE_DIR", Type: TypeString, Path: true, apply: (*builder).cacheDir,
			Default: "$M365SEND_STATE_DIR/tokens, else $XDG_STATE_HOME/m365send/tokens, else ~/.local/state/m365send/tokens",
			Doc:     "the folder of the token cache files (the sign-ins), one per profile; a cache in the old default, ~/.cache/m365send, is moved here on first use"},
		{Name: "on_login_required", Type: TypeArgv, apply: (*builder).onLoginRequired,
			Doc: `a command, as a list run without a shell, run once when a send finds that a person must sign in again, with LOGIN_REQUIRED_PROFILE and LOGIN_REQUIRED_REASON in its environment, such as ["/usr/local/bin/notify", "m365send"]`},
	}
}

// fileKeys are the names of the keys a [profiles.NAME] table may hold.
func fileKeys() []string {
	var names []string
	for _, k := range keyTable() {
		if !k.EnvOnly {
			names = append(names, k.Name)
		}
	}
	return names
}

// lookupKey returns the key named name, if the file may hold it.
func lookupKey(name string) (Key, bool) {
	for _, k := range keyTable() {
		if k.Name == name && !k.EnvOnly {
			return k, true
		}
	}
	return Key{}, false
}

// isCredential reports whether key is a client credential (SecretRef).
func isCredential(key string) bool {
	for _, k := range keyTable() {
		if k.Name == key {
			return k.SecretRef
		}
	}
	return false
}

// isSecretKey reports whether key holds or names a client secret (rather
// than a certificate or a federated token).
func isSecretKey(k string) bool { return strings.HasPrefix(k, secretKey) }
