package config

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/m365send/m365send/internal/cloud"
	"github.com/m365send/m365send/internal/configcheck"
	"github.com/m365send/m365send/internal/configfile"
	"github.com/m365send/m365send/internal/configkey"
	"github.com/m365send/m365send/internal/hostcheck"
	"github.com/m365send/m365send/internal/secretsource"
)

// builder turns merged settings into a Profile, one key at a time, in
// the key table's order (internal/configkey): each key's step validates its
// setting and records it.
type builder struct {
	p    *Profile
	file *configfile.File // nil without a configuration file
	// looked is the configuration file looked for ("" when none could be
	// determined), for messages when there is none.
	looked string
	env    func(string) string
	// cred is the one client credential set (overlay and
	// checkCredentialLayer leave at most one), or "".
	cred string
	// set is every setting, for keys that depend on others.
	set map[string]configkey.Setting
}

// build turns the merged settings into a validated Profile.
func build(name string, file *configfile.File, looked string, set map[string]configkey.Setting, env func(string) string) (*Profile, error) {
	b := &builder{p: &Profile{Name: name, env: env, secretTimeout: defaultSecretCommandTimeout}, file: file, looked: looked, env: env, set: set}
	if file != nil {
		b.p.File = file.Path
	}
	for k := range set {
		if configkey.IsCredential(k) {
			b.cred = k
		}
	}
	for _, k := range configkey.All() {
		step := b.step(k.Name)
		if step == nil {
			return nil, fmt.Errorf("config: key %s has no step in build.go", k.Name)
		}
		s, ok := set[k.Name]
		if err := step(s, ok); err != nil {
			return nil, err
		}
	}
	return b.p, nil
}

// step is the builder's step for key, in the table's order: it checks the
// key's setting (ok is false when it is not set) and records it in the
// profile. It is nil for a key of internal/configkey's table that build.go
// does not know (TestKeyTable fails then).
func (b *builder) step(key string) func(s configkey.Setting, ok bool) error {
	return map[string]func(configkey.Setting, bool) error{
		"flow":                        b.flow,
		"tenant":                      b.tenant,
		"client_id":                   b.clientID,
		configkey.Secret:              b.credential,
		"client_secret_env":           b.credential,
		"client_secret_file":          b.credential,
		"client_secret_command":       b.credential,
		"client_secret_keyring":       b.credential,
		"certificate_file":            b.credential,
		configkey.CertificatePassword: b.certificatePassword,
		"certificate_password_env":    b.certificatePassword,
		"federated_token_file":        b.credential,
		"mailbox":                     b.mailbox,
		"from_name":                   b.fromName,
		"cloud":                       b.cloud,
		"smtp_host":                   b.smtpHost,
		"smtp_port":                   b.smtpPort,
		"transport":                   b.transport,
		"graph_url":                   b.graphURL,
		"authority_host":              b.authorityHost,
		configkey.AzureAuthority:      b.azureAuthorityHost,
		"ca_file":                     b.caFile,
		"rate_per_minute":             b.rate,
		"token_store":                 b.tokenStore,
		"cache_dir":                   b.cacheDir,
		"on_login_required":           b.onLoginRequired,
	}[key]
}

// shownName is the profile name for messages: a name from the
// environment or a flag, with no file to check it against, could be a
// pasted secret.
func (b *builder) shownName() string {
	if isShownInFull(b.p.Name) {
		return b.p.Name
	}
	return shown(b.p.Name)
}

// locate points e at the profile's table and, when that profile is not in
// the file at all, says that no profile was selected.
func (b *builder) locate(e *Error) *Error {
	file, name := b.file, b.p.Name
	if file == nil {
		if b.looked != "" {
			e.Advice += " (there is no configuration file at " + shownPath(b.looked) + "; `m365send init` makes one)"
		} else {
			e.Advice += " (no configuration file found; name one)"
		}
		if e.Err == nil {
			e.Err = ErrNoFile
		}
		return e
	}
	e.File = file.Path
	if l, ok := file.Lines["profiles."+name]; ok {
		e.Line = l
	}
	// Only a profile missing from the file means the implicit "default"
	// was picked for want of a selection; a profile that is there was
	// selected, and the fix is to add the key to it.
	if _, inFile := file.Profiles[name]; !inFile && len(file.Profiles) > 0 {
		e.Advice = "no profile selected: name one, or set $M365SEND_PROFILE or default_profile (profiles: " +
			file.ShownProfiles() + ")"
		if e.Err == nil {
			e.Err = ErrNoProfile
		}
	}
	return e
}

// missing is the error for a required key that is not set.
func (b *builder) missing(key, envName, what string) *Error {
	where := "set " + key + " in [profiles." + b.shownName() + "]"
	if envName != "" {
		where += " or $" + envName
	}
	return b.locate(&Error{Key: "profiles." + b.shownName() + "." + key, Msg: fmt.Sprintf("no %s for profile %s", what, shown(b.p.Name)), Advice: where})
}

// flow sets Flow, inferring it from the client credential when not set,
// and refuses a client_credentials profile without a credential.
func (b *builder) flow(s configkey.Setting, ok bool) error {
	p := b.p
	switch p.Flow = s.Val; p.Flow {
	case "":
		p.Flow, p.FlowInferred = FlowDeviceCode, b.cred == ""
		if b.cred != "" {
			p.Flow = FlowClientCredentials
		}
	default:
		if err := configcheck.OneOf(s, p.Flow, "flow", []string{FlowClientCredentials, FlowDeviceCode}, `flow is "client_credentials" (an app) or "device_code" (a person)`); err != nil {
			return err
		}
	}
	if p.Flow == FlowClientCredentials && b.cred == "" {
		return b.locate(&Error{Key: "profiles." + b.shownName(), Msg: fmt.Sprintf("profile %s uses client_credentials but has no client credential", shown(p.Name)),
			Advice: "set certificate_file (preferred), client_secret_env, client_secret_file, client_secret_command or federated_token_file (or AZURE_CLIENT_CERTIFICATE_PATH / AZURE_CLIENT_SECRET)"})
	}
	return nil
}

// tenant sets Tenant: a GUID or a domain; "common" and "organizations"
// only for device_code.
func (b *builder) tenant(s configkey.Setting, ok bool) error {
	if b.p.Tenant = s.Val; s.Val == "" {
		return b.missing("tenant", "AZURE_TENANT_ID", "tenant")
	}
	return configcheck.Tenant(s, b.p.Flow == FlowClientCredentials)
}

// clientID sets ClientID, a GUID.
func (b *builder) clientID(s configkey.Setting, ok bool) error {
	if b.p.ClientID = s.Val; s.Val == "" {
		return b.missing("client_id", "AZURE_CLIENT_ID", "client_id (application ID)")
	}
	return configcheck.ClientID(s)
}

// credential validates and records the client credential s of the key
// it is set for.
func (b *builder) credential(s configkey.Setting, ok bool) error {
	if !ok {
		return nil
	}
	p := b.p
	if p.Flow == FlowDeviceCode {
		if s.From.Layer == configkey.LayerEnv {
			// AZURE_* variables are often set for other tools; a device-code
			// profile has no use for them.
			return nil
		}
		return s.From.Errorf("remove it, or set flow = \"client_credentials\"", "device_code profiles sign a person in and take no client credential")
	}
	switch b.cred {
	case configkey.Secret:
		p.clientSecret = s.Val
	case "client_secret_env":
		if err := configcheck.EnvName(s, "client_secret_env", "ALERTS_SECRET", "secret"); err != nil {
			return err
		}
		p.ClientSecretEnv = s.Val
	case "client_secret_file":
		if err := secretsource.CheckFile(s.Val, "client secret file"); err != nil {
			return err
		}
		p.ClientSecretFile = s.Val
	case "client_secret_keyring":
		if s.Val != "true" {
			return s.From.Errorf("leave client_secret_keyring out, or set it to true and store the secret with m365send secret set "+b.shownName(),
				"client_secret_keyring = %s: only true means something", s.Val)
		}
		p.ClientSecretKeyring = true
	case "client_secret_command":
		if err := configcheck.Argv(s, "client_secret_command", `["pass", "show", "m365/alerts"]`); err != nil {
			return err
		}
		p.ClientSecretCommand = s.Argv
	case "certificate_file":
		password, err := b.certificatePasswordValue()
		if err != nil {
			return err
		}
		if err := secretsource.Certificate(s.Val, password); err != nil {
			return err
		}
		p.CertificateFile = s.Val
	case "federated_token_file":
		if err := configcheck.FederatedTokenFile(s); err != nil {
			return err
		}
		p.FederatedTokenFile = s.Val
	}
	return nil
}

// certificatePasswordValue is the certificate file's password:
// AZURE_CLIENT_CERTIFICATE_PASSWORD, else the variable
// certificate_password_env names, else "".
func (b *builder) certificatePasswordValue() (string, error) {
	if s, ok := b.set[configkey.CertificatePassword]; ok {
		return s.Val, nil
	}
	s, ok := b.set["certificate_password_env"]
	if !ok {
		return "", nil
	}
	if err := configcheck.EnvName(s, "certificate_password_env", "ALERTS_CERT_PASSWORD", "password"); err != nil {
		return "", err
	}
	v, e := secretsource.Env(b.env, s.Val, "certificate_password_env", "the certificate file's password")
	if e != nil {
		e.File, e.Line, e.Key = s.From.File, s.From.Line, s.From.Key
		return "", e
	}
	return v, nil
}

// certificatePassword records where the certificate file's password comes
// from (certificate_file has read the file with it already). The file's
// certificate_password_env without a certificate is refused, as a
// mistake; AZURE_CLIENT_CERTIFICATE_PASSWORD without one is ignored, as
// AZURE_* variables are often set for other tools.
func (b *builder) certificatePassword(s configkey.Setting, ok bool) error {
	if !ok || s.From.Layer == configkey.LayerEnv && b.p.CertificateFile == "" {
		return nil
	}
	if b.p.CertificateFile == "" {
		if b.cred != "" && b.set[b.cred].From.Layer == configkey.LayerEnv {
			return nil // the environment's credential replaced the file's certificate
		}
		return s.From.Errorf("remove it, or set certificate_file to the PKCS#12 file it opens", "certificate_password_env is set but the profile has no certificate_file")
	}
	if s.From.Layer == configkey.LayerEnv {
		b.p.certificatePassword = s.Val
	} else if _, fromEnv := b.set[configkey.CertificatePassword]; !fromEnv {
		b.p.CertificatePasswordEnv = s.Val
	}
	return nil
}

// mailbox sets Mailbox, a plain address.
func (b *builder) mailbox(s configkey.Setting, ok bool) error {
	if s.Val == "" {
		return nil
	}
	b.p.Mailbox = s.Val
	return configcheck.Mailbox(s)
}

// fromName sets FromName, one line.
func (b *builder) fromName(s configkey.Setting, ok bool) error {
	b.p.FromName = s.Val
	return configcheck.FromName(s)
}

// cloud sets Cloud, global when not set.
func (b *builder) cloud(s configkey.Setting, ok bool) error {
	b.p.Cloud = strings.ToLower(s.Val)
	if b.p.Cloud == "" {
		b.p.Cloud = "global"
		if c, ok := b.azureAuthorityCloud(); ok {
			b.p.Cloud = c.Name
		}
	}
	return configcheck.OneOf(s, b.p.Cloud, "cloud", cloud.Names(), "cloud is one of "+strings.Join(cloud.Names(), ", "))
}

// smtpHost sets SMTPHost: a bare host name, not another cloud's.
func (b *builder) smtpHost(s configkey.Setting, ok bool) error {
	if s.Val == "" {
		return nil
	}
	b.p.SMTPHost = s.Val
	return configcheck.SMTPHost(s, b.p.Cloud)
}

// smtpPort sets SMTPPort, 587 when not set; an explicit 0 is refused
// rather than read as "the default", and so is 465.
func (b *builder) smtpPort(s configkey.Setting, ok bool) (err error) {
	b.p.SMTPPort = cloud.SMTPPort
	if ok {
		b.p.SMTPPort, err = configcheck.SMTPPort(s)
	}
	return err
}

// authorityHost sets AuthorityHost: "host[:port]" or an https URL, not
// another cloud's.
func (b *builder) authorityHost(s configkey.Setting, ok bool) error {
	if s.Val == "" {
		return nil
	}
	b.p.AuthorityHost = s.Val
	return configcheck.AuthorityHost(s, b.p.Cloud)
}

// azureAuthority returns AZURE_AUTHORITY_HOST's setting when it applies:
// as azidentity does, only when the profile sets neither cloud nor
// authority_host, which win over it.
func (b *builder) azureAuthority() (configkey.Setting, bool) {
	s, ok := b.set[configkey.AzureAuthority]
	if !ok {
		return configkey.Setting{}, false
	}
	if _, set := b.set["cloud"]; set {
		return configkey.Setting{}, false
	}
	if _, set := b.set["authority_host"]; set {
		return configkey.Setting{}, false
	}
	return s, true
}

// azureAuthorityCloud is the cloud whose Entra ID host AZURE_AUTHORITY_HOST
// names, when it applies and names one (the first in the cloud table:
// login.microsoftonline.us is usgov, not usgovdod).
func (b *builder) azureAuthorityCloud() (cloud.Cloud, bool) {
	s, ok := b.azureAuthority()
	if !ok || configcheck.AzureAuthority(s) != nil {
		return cloud.Cloud{}, false
	}
	host := strings.ToLower(hostcheck.HostOf(s.Val))
	for _, c := range cloud.All() {
		if c.AuthorityHost == host {
			return c, true
		}
	}
	return cloud.Cloud{}, false
}

// azureAuthorityHost applies AZURE_AUTHORITY_HOST (see azureAuthority): a
// cloud's host has selected that cloud already (cloud); any other host
// becomes AuthorityHost.
func (b *builder) azureAuthorityHost(_ configkey.Setting, _ bool) error {
	s, ok := b.azureAuthority()
	if !ok {
		return nil
	}
	if err := configcheck.AzureAuthority(s); err != nil {
		return err
	}
	if _, ok := b.azureAuthorityCloud(); !ok {
		b.p.AuthorityHost = s.Val
	}
	return nil
}

// caFile reads ca_file's certificates once.
func (b *builder) caFile(s configkey.Setting, ok bool) (err error) {
	if s.Val == "" {
		return nil
	}
	b.p.caCerts, err = configcheck.CAFile(s)
	if err == nil {
		b.p.CAFile = s.Val
	}
	return err
}

// rate sets RatePerMinute: -1, 0 or more.
func (b *builder) rate(s configkey.Setting, ok bool) (err error) {
	if ok {
		b.p.RatePerMinute, err = configcheck.Rate(s)
	}
	return err
}

// The token stores token_store names.
const (
	TokenStoreFile    = "file"
	TokenStoreKeyring = "keyring"
)

// tokenStore sets TokenStore: file (the default) or keyring.
func (b *builder) tokenStore(s configkey.Setting, ok bool) error {
	switch v := strings.ToLower(s.Val); v {
	case "", TokenStoreFile:
		b.p.TokenStore = TokenStoreFile
	case TokenStoreKeyring:
		b.p.TokenStore = v
	default:
		return s.From.Errorf(`token_store is "file" (a 0600 file in cache_dir, the default) or "keyring" (the OS keyring)`, "unknown token_store %s", shown(s.Val))
	}
	return nil
}

// cacheDir sets CacheDir: the state folder's tokens folder when not set
// ($M365SEND_STATE_DIR/tokens, else $XDG_STATE_HOME/m365send/tokens, else
// ~/.local/state/m365send/tokens), and then LegacyCacheDir, where caches
// were kept before ($XDG_CACHE_HOME/m365send, else ~/.cache/m365send).
func (b *builder) cacheDir(s configkey.Setting, ok bool) error {
	b.p.CacheDir = s.Val
	if b.p.CacheDir != "" {
		return nil
	}
	if d := stateDir(b.env); d != "" {
		b.p.CacheDir = filepath.Join(d, "tokens")
	}
	if x := b.env("XDG_CACHE_HOME"); x != "" && filepath.IsAbs(x) {
		b.p.LegacyCacheDir = filepath.Join(x, "m365send")
	} else if h := b.env("HOME"); h != "" {
		b.p.LegacyCacheDir = filepath.Join(h, ".cache", "m365send")
	}
	return nil
}

// onLoginRequired sets OnLoginRequired.
func (b *builder) onLoginRequired(s configkey.Setting, ok bool) error {
	if !ok {
		return nil
	}
	b.p.OnLoginRequired = s.Argv
	return configcheck.Argv(s, "on_login_required", `["/usr/local/bin/page-oncall", "m365send"]`)
}
