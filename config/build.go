package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/m365send/m365send/internal/configerr"
	"github.com/m365send/m365send/internal/configfile"
	"github.com/m365send/m365send/internal/configkey"
	"github.com/m365send/m365send/internal/secretsource"
	"github.com/m365send/m365send/internal/suggest"

	"github.com/m365send/m365send/internal/cloud"
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
	case FlowClientCredentials, FlowDeviceCode:
	default:
		hint := suggest.DidYouMean(p.Flow, []string{FlowClientCredentials, FlowDeviceCode}, suggest.TypoLimit(p.Flow))
		if hint == "" {
			hint = `flow is "client_credentials" (an app) or "device_code" (a person)`
		}
		return s.From.Errorf(hint, "unknown flow %s", shown(p.Flow))
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
	b.p.Tenant = s.Val
	switch t := strings.ToLower(s.Val); {
	case t == "":
		return b.missing("tenant", "AZURE_TENANT_ID", "tenant")
	case t == "common" || t == "organizations" || t == "consumers":
		if b.p.Flow == FlowClientCredentials || t == "consumers" {
			return s.From.Errorf("use your tenant's ID (a GUID) or its domain, such as contoso.onmicrosoft.com",
				"tenant %s cannot be used here; Entra ID needs a specific tenant (AADSTS9001023)", shown(s.Val))
		}
	case IsGUID(t), isDomain(t):
	default:
		return s.From.Errorf("use the directory (tenant) ID, a GUID, or a verified domain such as contoso.onmicrosoft.com",
			"malformed tenant %s: not a GUID or a domain", shown(s.Val))
	}
	return nil
}

// clientID sets ClientID, a GUID.
func (b *builder) clientID(s configkey.Setting, ok bool) error {
	switch b.p.ClientID = s.Val; {
	case s.Val == "":
		return b.missing("client_id", "AZURE_CLIENT_ID", "client_id (application ID)")
	case !IsGUID(s.Val):
		return s.From.Errorf("copy the Application (client) ID from the app registration's Overview page",
			"malformed client_id %s: not a GUID", shown(s.Val))
	}
	return nil
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
		if !envNameRE.MatchString(s.Val) {
			return s.From.Errorf("client_secret_env names an environment variable (such as ALERTS_SECRET) that holds the secret; it is not the secret itself",
				"malformed client_secret_env %s: not an environment variable name", shown(s.Val))
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
		if len(s.Argv) == 0 || s.Argv[0] == "" {
			return s.From.Errorf(`client_secret_command is an argv list, such as ["pass", "show", "m365/alerts"]`, "empty client_secret_command")
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
		// Projected service-account tokens are commonly mode 0644 inside a
		// container; they are short-lived, so no mode check here.
		if _, err := os.Stat(s.Val); err != nil {
			return s.From.Errorf("point it at the projected token file (AKS: /var/run/secrets/azure/tokens/azure-identity-token)",
				"federated_token_file %s: %v", shownPath(s.Val), configerr.UnwrapPath(err))
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
	if !envNameRE.MatchString(s.Val) {
		return "", s.From.Errorf("certificate_password_env names an environment variable (such as ALERTS_CERT_PASSWORD) that holds the password; it is not the password itself",
			"malformed certificate_password_env %s: not an environment variable name", shown(s.Val))
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
	if err := checkAddress(s.Val); err != nil {
		return s.From.Errorf("mailbox is a plain address such as alerts@contoso.com", "malformed mailbox %s: %s", shown(s.Val), reason(s.Val, err, "not a plain address"))
	}
	b.p.Mailbox = s.Val
	return nil
}

// fromName sets FromName, one line.
func (b *builder) fromName(s configkey.Setting, ok bool) error {
	if strings.ContainsAny(s.Val, "\r\n") {
		return s.From.Errorf("", "from_name must be one line")
	}
	b.p.FromName = s.Val
	return nil
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
	if _, err := cloud.Lookup(b.p.Cloud); err != nil {
		hint := suggest.DidYouMean(b.p.Cloud, cloud.Names(), suggest.TypoLimit(b.p.Cloud))
		if hint == "" {
			hint = "cloud is one of " + strings.Join(cloud.Names(), ", ")
		}
		return s.From.Errorf(hint, "unknown cloud %s", shown(s.Val))
	}
	return nil
}

// smtpHost sets SMTPHost: a bare host name, not another cloud's.
func (b *builder) smtpHost(s configkey.Setting, ok bool) error {
	if s.Val == "" {
		return nil
	}
	if err := checkHost(s.Val); err != nil {
		return s.From.Errorf("smtp_host is a bare host name such as smtp.office365.com; the port goes in smtp_port", "malformed smtp_host %s: %v", shown(s.Val), reason(s.Val, err, "not a host name"))
	}
	if err := checkHostCloud("smtp_host", s.Val, b.p.Cloud); err != nil {
		err.File, err.Line, err.Key = s.From.File, s.From.Line, s.From.Key
		return err
	}
	b.p.SMTPHost = s.Val
	return nil
}

// smtpPort sets SMTPPort, 587 when not set; an explicit 0 is refused
// rather than read as "the default", and so is 465.
func (b *builder) smtpPort(s configkey.Setting, ok bool) error {
	b.p.SMTPPort = cloud.SMTPPort
	if !ok {
		return nil
	}
	port, err := strconv.Atoi(s.Val)
	switch {
	case err != nil:
		return s.From.Errorf("smtp_port is a number; Office 365 uses 587", "malformed smtp_port %s", shown(s.Val))
	case port < 1 || port > 65535:
		return s.From.Errorf("Office 365 uses 587; leave smtp_port out for the default", "smtp_port %d is out of range: must be 1-65535", port)
	case port == 465:
		return s.From.Errorf("Office 365 doesn't support 465; use 587 STARTTLS", "port 465 (implicit TLS) is not supported")
	}
	b.p.SMTPPort = port
	return nil
}

// authorityHost sets AuthorityHost: "host[:port]" or an https URL, not
// another cloud's.
func (b *builder) authorityHost(s configkey.Setting, ok bool) error {
	if s.Val == "" {
		return nil
	}
	if err := checkAuthority(s.Val); err != nil {
		return s.From.Errorf(`authority_host is "host[:port]" or an https:// URL, such as login.microsoftonline.us`, "malformed authority_host %s: %v", shown(s.Val), reason(s.Val, err, "not a host or https URL"))
	}
	if err := checkHostCloud("authority_host", s.Val, b.p.Cloud); err != nil {
		err.File, err.Line, err.Key = s.From.File, s.From.Line, s.From.Key
		return err
	}
	b.p.AuthorityHost = s.Val
	return nil
}

// azureAuthority returns AZURE_AUTHORITY_HOST's configkey.Setting when it applies:
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
	if !ok || checkAzureAuthority(s.Val) != nil {
		return cloud.Cloud{}, false
	}
	host := strings.ToLower(HostOf(s.Val))
	for _, c := range cloud.All() {
		if c.AuthorityHost == host {
			return c, true
		}
	}
	return cloud.Cloud{}, false
}

// checkAzureAuthority accepts what azidentity accepts in
// AZURE_AUTHORITY_HOST: an https:// URL.
func checkAzureAuthority(v string) error {
	if !strings.HasPrefix(strings.ToLower(v), "https://") {
		return errors.New("not an https:// URL")
	}
	return checkAuthority(v)
}

// azureAuthorityHost applies AZURE_AUTHORITY_HOST (see azureAuthority): a
// cloud's host has selected that cloud already (cloud); any other host
// becomes AuthorityHost.
func (b *builder) azureAuthorityHost(_ configkey.Setting, _ bool) error {
	s, ok := b.azureAuthority()
	if !ok {
		return nil
	}
	if err := checkAzureAuthority(s.Val); err != nil {
		return s.From.Errorf("AZURE_AUTHORITY_HOST is an https:// URL such as https://login.microsoftonline.us/ (azidentity's rule); unset it, or set cloud in the profile, which wins over it",
			"malformed AZURE_AUTHORITY_HOST %s: %v", shown(s.Val), reason(s.Val, err, "not an https URL"))
	}
	if _, ok := b.azureAuthorityCloud(); !ok {
		b.p.AuthorityHost = s.Val
	}
	return nil
}

// caFile reads ca_file's certificates once.
func (b *builder) caFile(s configkey.Setting, ok bool) error {
	if s.Val == "" {
		return nil
	}
	const hint = "ca_file is a PEM file of CA certificates (-----BEGIN CERTIFICATE-----)"
	certs, err := readCAFile(s.Val)
	var ce *Error
	if errors.As(err, &ce) {
		return s.From.Errorf(ce.Advice, "ca_file %s: %s", shownPath(s.Val), ce.Msg)
	}
	if err != nil {
		return s.From.Errorf(hint, "ca_file %s: %v", shownPath(s.Val), configerr.UnwrapPath(err))
	}
	if len(certs) == 0 {
		return s.From.Errorf(hint, "ca_file %s holds no PEM certificate", shownPath(s.Val))
	}
	b.p.CAFile, b.p.caCerts = s.Val, certs
	return nil
}

const rateHint = "rate_per_minute is -1 (no pacing), 0 (the default, 30) or a number of messages a minute; Exchange Online allows 30 per mailbox"

// rate sets RatePerMinute: -1, 0 or more.
func (b *builder) rate(s configkey.Setting, ok bool) error {
	if !ok {
		return nil
	}
	n, err := strconv.Atoi(s.Val)
	if err != nil {
		return s.From.Errorf(rateHint, "malformed rate_per_minute %s", shown(s.Val))
	}
	if n < -1 {
		return s.From.Errorf(rateHint, "rate_per_minute %d is out of range", n)
	}
	b.p.RatePerMinute = n
	return nil
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
	if len(s.Argv) == 0 || s.Argv[0] == "" {
		return s.From.Errorf(`on_login_required is an argv list, such as ["/usr/local/bin/page-oncall", "m365send"]`, "empty on_login_required")
	}
	b.p.OnLoginRequired = s.Argv
	return nil
}
