package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/m365send/m365send/internal/cloud"
)

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// IsGUID reports whether s is a GUID such as an application (client) or
// tenant ID.
func IsGUID(s string) bool { return guidRE.MatchString(s) }

// isDomain reports whether s looks like a DNS domain with at least two labels.
func isDomain(s string) bool {
	if len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

const rateHint = "rate_per_minute is -1 (no pacing), 0 (the default, 30) or a number of messages a minute; Exchange Online allows 30 per mailbox"

// build turns the merged settings into a validated Profile.
func build(name string, file *loaded, set map[string]setting, env func(string) string) (*Profile, error) {
	p := &Profile{Name: name, env: env, secretTimeout: defaultSecretCommandTimeout}
	if file != nil {
		p.File = file.path
	}
	get := func(k string) string { return set[k].val }
	// shownName is the profile name for messages: a name from the
	// environment or a flag, with no file to check it against, could be a
	// pasted secret.
	shownName := name
	if !isShownInFull(name) {
		shownName = shown(name)
	}
	// locate points e at the profile's table and, when that profile is
	// not in the file at all, says that no profile was selected.
	locate := func(e *Error) *Error {
		if file == nil {
			e.Advice += " (no configuration file found; set M365SEND_CONFIG or use --config to name one)"
			return e
		}
		e.File = file.path
		if l, ok := file.lines["profiles."+name]; ok {
			e.Line = l
		}
		// Only a profile missing from the file means the implicit
		// "default" was picked for want of a selection; a profile that is
		// there was selected, and the fix is to add the key to it.
		if _, inFile := file.data.Profiles[name]; !inFile && len(file.data.Profiles) > 0 {
			e.Advice = "no profile selected: pass --profile, set $M365SEND_PROFILE or default_profile (profiles: " +
				strings.Join(file.profileNames(), ", ") + ")"
		}
		return e
	}
	missing := func(key, envName, what string) *Error {
		where := "set " + key + " in [profiles." + shownName + "]"
		if envName != "" {
			where += " or $" + envName
		}
		return locate(&Error{Key: "profiles." + shownName + "." + key, Msg: fmt.Sprintf("no %s for profile %s", what, shown(name)), Advice: where})
	}

	// flow
	p.Flow = get("flow")
	// overlay and checkCredentialLayer leave at most one client credential.
	credKey := ""
	for k := range set {
		if isCredential(k) {
			credKey = k
		}
	}
	hasCred := credKey != ""
	switch p.Flow {
	case "":
		p.Flow = FlowDeviceCode
		p.FlowInferred = !hasCred
		if hasCred {
			p.Flow = FlowClientCredentials
		}
	case FlowClientCredentials, FlowDeviceCode:
	default:
		hint := didYouMean(p.Flow, []string{FlowClientCredentials, FlowDeviceCode}, typoLimit(p.Flow))
		if hint == "" {
			hint = `flow is "client_credentials" (an app) or "device_code" (a person)`
		}
		return nil, errorf(set["flow"].from, hint, "unknown flow %s", shown(p.Flow))
	}

	// tenant
	p.Tenant = get("tenant")
	switch t := strings.ToLower(p.Tenant); {
	case t == "":
		return nil, missing("tenant", "AZURE_TENANT_ID", "tenant")
	case t == "common" || t == "organizations" || t == "consumers":
		if p.Flow == FlowClientCredentials || t == "consumers" {
			return nil, errorf(set["tenant"].from, "use your tenant's ID (a GUID) or its domain, such as contoso.onmicrosoft.com",
				"tenant %s cannot be used here; Entra ID needs a specific tenant (AADSTS9001023)", shown(p.Tenant))
		}
	case IsGUID(t), isDomain(t):
	default:
		return nil, errorf(set["tenant"].from, "use the directory (tenant) ID, a GUID, or a verified domain such as contoso.onmicrosoft.com",
			"malformed tenant %s: not a GUID or a domain", shown(p.Tenant))
	}

	// client_id
	p.ClientID = get("client_id")
	switch {
	case p.ClientID == "":
		return nil, missing("client_id", "AZURE_CLIENT_ID", "client_id (application ID)")
	case !IsGUID(p.ClientID):
		return nil, errorf(set["client_id"].from, "copy the Application (client) ID from the app registration's Overview page",
			"malformed client_id %s: not a GUID", shown(p.ClientID))
	}

	// credentials
	if p.Flow == FlowClientCredentials && !hasCred {
		return nil, locate(&Error{Key: "profiles." + shownName, Msg: fmt.Sprintf("profile %s uses client_credentials but has no client credential", shown(name)),
			Advice: "set certificate_file (preferred), client_secret_env, client_secret_file, client_secret_command or federated_token_file (or AZURE_CLIENT_CERTIFICATE_PATH / AZURE_CLIENT_SECRET)"})
	}
	if err := p.setCredential(credKey, set[credKey]); err != nil {
		return nil, err
	}

	// mailbox, from_name
	if m := get("mailbox"); m != "" {
		if err := checkAddress(m); err != nil {
			return nil, errorf(set["mailbox"].from, "mailbox is a plain address such as alerts@contoso.com", "malformed mailbox %s: %s", shown(m), reason(m, err, "not a plain address"))
		}
		p.Mailbox = m
	}
	p.FromName = get("from_name")
	if strings.ContainsAny(p.FromName, "\r\n") {
		return nil, errorf(set["from_name"].from, "", "from_name must be one line")
	}

	// cloud and endpoints
	p.Cloud = strings.ToLower(get("cloud"))
	if p.Cloud == "" {
		p.Cloud = "global"
	}
	if !contains(cloud.Names(), p.Cloud) {
		hint := didYouMean(p.Cloud, cloud.Names(), typoLimit(p.Cloud))
		if hint == "" {
			hint = "cloud is one of " + strings.Join(cloud.Names(), ", ")
		}
		return nil, errorf(set["cloud"].from, hint, "unknown cloud %s", shown(get("cloud")))
	}
	if h := get("smtp_host"); h != "" {
		if err := checkHost(h); err != nil {
			return nil, errorf(set["smtp_host"].from, "smtp_host is a bare host name such as smtp.office365.com; the port goes in smtp_port", "malformed smtp_host %s: %v", shown(h), reason(h, err, "not a host name"))
		}
		p.SMTPHost = h
	}
	if s, ok := set["smtp_port"]; ok {
		port, err := strconv.Atoi(s.val)
		switch {
		case err != nil:
			return nil, errorf(s.from, "smtp_port is a number; Office 365 uses 587", "malformed smtp_port %s", shown(s.val))
		case port < 1 || port > 65535:
			// An explicit 0 is refused rather than read as "the default".
			return nil, errorf(s.from, "Office 365 uses 587; leave smtp_port out for the default", "smtp_port %d is out of range: must be 1-65535", port)
		case port == 465:
			return nil, errorf(s.from, "Office 365 doesn't support 465; use 587 STARTTLS", "port 465 (implicit TLS) is not supported")
		}
		p.SMTPPort = port
	}
	if p.SMTPPort == 0 {
		p.SMTPPort = DefaultSMTPPort
	}
	if a := get("authority_host"); a != "" {
		if err := checkAuthority(a); err != nil {
			return nil, errorf(set["authority_host"].from, `authority_host is "host[:port]" or an https:// URL, such as login.microsoftonline.us`, "malformed authority_host %s: %v", shown(a), reason(a, err, "not a host or https URL"))
		}
		p.AuthorityHost = a
	}
	for _, k := range []string{"smtp_host", "authority_host"} {
		if err := checkHostCloud(k, get(k), p.Cloud); err != nil {
			err.File, err.Line, err.Key = set[k].from.file, set[k].from.line, set[k].from.key
			return nil, err
		}
	}
	if c, ok := set["ca_file"]; ok && c.val != "" {
		const hint = "ca_file is a PEM file of CA certificates (-----BEGIN CERTIFICATE-----)"
		certs, err := readCAFile(c.val)
		if err != nil {
			return nil, errorf(c.from, hint, "ca_file %s: %v", shownPath(c.val), unwrapPathError(err))
		}
		if len(certs) == 0 {
			return nil, errorf(c.from, hint, "ca_file %s holds no PEM certificate", shownPath(c.val))
		}
		p.CAFile, p.caCerts = c.val, certs
	}
	if r, ok := set["rate_per_minute"]; ok {
		n, err := strconv.Atoi(r.val)
		if err != nil {
			return nil, errorf(r.from, rateHint, "malformed rate_per_minute %s", shown(r.val))
		}
		if n < -1 {
			return nil, errorf(r.from, rateHint, "rate_per_minute %d is out of range", n)
		}
		p.RatePerMinute = n
	}

	// cache_dir
	p.CacheDir = get("cache_dir")
	if p.CacheDir == "" {
		if x := env("XDG_CACHE_HOME"); x != "" && filepath.IsAbs(x) {
			p.CacheDir = filepath.Join(x, "m365send")
		} else if h := env("HOME"); h != "" {
			p.CacheDir = filepath.Join(h, ".cache", "m365send")
		}
	}
	return p, nil
}

// setCredential validates and records the client credential s, set by
// key ("" when there is none).
func (p *Profile) setCredential(key string, s setting) error {
	if p.Flow == FlowDeviceCode {
		if key == "" {
			return nil
		}
		if s.from.layer == layerEnv {
			// AZURE_* variables are often set for other tools; a device-code
			// profile has no use for them.
			return nil
		}
		return errorf(s.from, "remove it, or set flow = \"client_credentials\"", "device_code profiles sign a person in and take no client credential")
	}
	// build has already refused a client_credentials profile without one.
	switch key {
	case secretKey:
		p.clientSecret = s.val
	case "client_secret_env":
		if !envNameRE.MatchString(s.val) {
			return errorf(s.from, "client_secret_env names an environment variable (such as ALERTS_SECRET) that holds the secret; it is not the secret itself",
				"malformed client_secret_env %s: not an environment variable name", shown(s.val))
		}
		p.ClientSecretEnv = s.val
	case "client_secret_file":
		if err := checkSecretFile(s.val, "client secret file"); err != nil {
			return err
		}
		p.ClientSecretFile = s.val
	case "client_secret_command":
		if len(s.argv) == 0 || s.argv[0] == "" {
			return errorf(s.from, `client_secret_command is an argv list, such as ["pass", "show", "m365/alerts"]`, "empty client_secret_command")
		}
		p.ClientSecretCommand = s.argv
	case "certificate_file":
		if err := checkSecretFile(s.val, "certificate file (it holds the private key)"); err != nil {
			return err
		}
		p.CertificateFile = s.val
	case "federated_token_file":
		// Projected service-account tokens are commonly mode 0644 inside a
		// container; they are short-lived, so no mode check here.
		if _, err := os.Stat(s.val); err != nil {
			return errorf(s.from, "point it at the projected token file (AKS: /var/run/secrets/azure/tokens/azure-identity-token)",
				"federated_token_file %s: %v", shownPath(s.val), unwrapPathError(err))
		}
		p.FederatedTokenFile = s.val
	}
	return nil
}

// reason is err's text when value is shown in full, else short: a
// parser's message may quote the value.
func reason(value string, err error, short string) string {
	if isShownInFull(value) {
		return err.Error()
	}
	return short
}

// checkSecretFile checks that a file holding a secret exists and is private.
func checkSecretFile(path, what string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return &Error{File: shownPath(path), Msg: fmt.Sprintf("%s: %v", what, unwrapPathError(err)), Err: err}
	}
	if fi.IsDir() {
		return &Error{File: shownPath(path), Msg: what + " is a directory"}
	}
	return checkPrivate(path, fi, what)
}

// checkAddress accepts a plain addr-spec (no display name, no brackets).
func checkAddress(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "mail: "))
	}
	if a.Name != "" || a.Address != s {
		return fmt.Errorf("a bare address is needed, without a name or <>")
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || !strings.Contains(s[at+1:], ".") && s[at+1:] != "localhost" {
		return fmt.Errorf("the domain needs a dot")
	}
	return nil
}

// checkHost accepts a DNS name or an IP address, without a port.
func checkHost(h string) error {
	if strings.Contains(h, "://") {
		return fmt.Errorf("a host name, not a URL")
	}
	if net.ParseIP(h) != nil {
		return nil
	}
	if _, _, err := net.SplitHostPort(h); err == nil {
		return fmt.Errorf("the port does not belong here")
	}
	if h == "localhost" || isDomain(h) {
		return nil
	}
	return fmt.Errorf("not a host name")
}

// checkAuthority accepts "host[:port]" or an https URL.
func checkAuthority(a string) error {
	if strings.Contains(a, "://") {
		u, err := url.Parse(a)
		if err != nil {
			return err
		}
		if u.Scheme != "https" {
			return errors.New("the scheme must be https: Entra ID is only reached over https")
		}
		if u.Host == "" {
			return fmt.Errorf("no host")
		}
		return checkHost(u.Hostname())
	}
	host := a
	if h, port, err := net.SplitHostPort(a); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return fmt.Errorf("bad port %q", port)
		}
		host = h
	}
	if strings.ContainsAny(host, "/ ") {
		return fmt.Errorf("not a host")
	}
	return checkHost(host)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// shown is how a configuration value appears in an error message, one
// rule for every echoed value, because a secret pasted into the wrong key
// or variable must not end up in a terminal or a CI log:
//   - a value that looks like an Entra ID client secret (it contains "~",
//     or is 30 or more characters of [A-Za-z0-9._~-]) is never shown, not
//     even in part: only its length;
//   - a short (at most 24 characters), printable value is quoted in full;
//   - anything else shows its first 3 characters, "…" and its length.
func shown(s string) string {
	n := utf8.RuneCountInString(s)
	switch {
	case looksLikeSecretValue(s):
		return fmt.Sprintf("(%d characters, not shown: it looks like a client secret)", n)
	case n <= 24 && isPlain(s):
		return strconv.Quote(s)
	}
	r := []rune(s)
	return fmt.Sprintf("%q (%d characters)", string(r[:min(3, len(r))])+"…", n)
}

// shownPath is shown for a value that should be a file path: an absolute
// or ./, ../, ~/ path is shown as it is, unless it looks like a secret.
func shownPath(p string) string {
	if isPathLike(p) && isPlain(p) && !looksLikeSecretValue(p) {
		return p
	}
	return shown(p)
}

// isShownInFull reports whether shown(s) is s itself, quoted; only then
// may a message add details (such as a parser's) that repeat the value.
func isShownInFull(s string) bool { return shown(s) == strconv.Quote(s) }

var secretValueRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{30,}$`)

// looksLikeSecretValue reports whether s looks like an Entra ID client
// secret value (these contain "~"; older ones are long random strings).
func looksLikeSecretValue(s string) bool {
	return strings.Contains(s, "~") && !strings.HasPrefix(s, "~/") || secretValueRE.MatchString(s)
}

// isPlain reports whether s is printable ASCII.
func isPlain(s string) bool {
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return false
		}
	}
	return true
}

func isPathLike(p string) bool {
	for _, pre := range []string{"/", "./", "../", "~/"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

// publicHosts maps the public Entra ID and SMTP hosts of Microsoft's
// clouds (internal/cloud) to the clouds they serve, in cloud.All's order.
func publicHosts() map[string][]string {
	hosts := map[string][]string{}
	for _, c := range cloud.All() {
		for _, h := range []string{c.AuthorityHost, c.SMTPHost} {
			hosts[h] = append(hosts[h], c.Name)
		}
	}
	return hosts
}

// HostOf is the host name in "host", "host:port", "[v6]:port" or a URL
// such as https://host:port/, without a port, brackets, user info or a
// trailing dot, as written (not lowercased); "" for "".
func HostOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	return strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), ".")
}

// checkHostCloud refuses an smtp_host or authority_host that is the public
// host of a cloud other than the profile's: a token from one cloud is
// never accepted by another. Other hosts (private clouds, relays,
// loopback) are not checked.
func checkHostCloud(key, value, cloud string) *Error {
	if value == "" {
		return nil
	}
	host := strings.ToLower(HostOf(value))
	clouds, ok := publicHosts()[host]
	if !ok || contains(clouds, cloud) {
		return nil
	}
	quoted := make([]string, len(clouds))
	for i, c := range clouds {
		quoted[i] = fmt.Sprintf("cloud = %q", c)
	}
	return &Error{
		Msg: fmt.Sprintf("%s %s belongs to the %s cloud, not to %q", key, host, strings.Join(clouds, "/"), cloud),
		Advice: fmt.Sprintf("set %s if that is the tenant's cloud, or remove %s to use the %s cloud's own",
			strings.Join(quoted, " or "), key, cloud),
	}
}
