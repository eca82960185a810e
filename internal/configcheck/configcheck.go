// Package configcheck says what a value of each profile key may be: a
// tenant, a client ID, an address, a host of the right cloud, a port, a
// rate, a command, a file of CA certificates. Each check takes the
// setting (internal/configkey) and refuses a bad value with a
// *configerr.Error placed at where it was set, saying what the key takes;
// a value that could be a pasted secret is never echoed. Package config's
// builder runs them and records the values in the profile; how the keys
// depend on each other (the flow, the one credential, which cloud) is
// the builder's.
package configcheck

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/m365send/m365send/internal/cloud"
	"github.com/m365send/m365send/internal/configerr"
	"github.com/m365send/m365send/internal/configkey"
	"github.com/m365send/m365send/internal/hostcheck"
	"github.com/m365send/m365send/internal/masked"
	"github.com/m365send/m365send/internal/rfc5322"
	"github.com/m365send/m365send/internal/safefile"
	"github.com/m365send/m365send/internal/suggest"
)

type setting = configkey.Setting

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// IsGUID reports whether s is a GUID such as an application (client) or
// tenant ID.
func IsGUID(s string) bool { return guidRE.MatchString(s) }

// reason is err's text when value is shown in full, else short: a
// parser's message may quote the value.
func reason(value string, err error, short string) string {
	if masked.InFull(value) {
		return err.Error()
	}
	return short
}

// OneOf checks that v, s's value as the key compares it (lowercased for
// some keys), is one of names, suggesting the one probably meant, else
// saying hint; what names the key in the message, which shows s's value.
func OneOf(s setting, v, what string, names []string, hint string) error {
	if slices.Contains(names, v) {
		return nil
	}
	if h := suggest.DidYouMean(v, names, suggest.TypoLimit(v)); h != "" {
		hint = h
	}
	return s.From.Errorf(hint, "unknown %s %s", what, masked.Value(s.Val))
}

// Tenant checks a tenant that is set: a GUID or a domain; "common" and
// "organizations" only when the profile is not an app's
// (clientCredentials false), "consumers" never.
func Tenant(s setting, clientCredentials bool) error {
	switch t := strings.ToLower(s.Val); {
	case t == "common" || t == "organizations" || t == "consumers":
		if clientCredentials || t == "consumers" {
			return s.From.Errorf("use your tenant's ID (a GUID) or its domain, such as contoso.onmicrosoft.com",
				"tenant %s cannot be used here; Entra ID needs a specific tenant (AADSTS9001023)", masked.Value(s.Val))
		}
	case IsGUID(t), hostcheck.IsDomain(t):
	default:
		return s.From.Errorf("use the directory (tenant) ID, a GUID, or a verified domain such as contoso.onmicrosoft.com",
			"malformed tenant %s: not a GUID or a domain", masked.Value(s.Val))
	}
	return nil
}

// ClientID checks a client ID that is set: a GUID.
func ClientID(s setting) error {
	if !IsGUID(s.Val) {
		return s.From.Errorf("copy the Application (client) ID from the app registration's Overview page",
			"malformed client_id %s: not a GUID", masked.Value(s.Val))
	}
	return nil
}

// EnvName checks the value of key, which names an environment variable
// (such as example) holding what: a variable's name, not the value.
func EnvName(s setting, key, example, what string) error {
	if !envNameRE.MatchString(s.Val) {
		return s.From.Errorf(fmt.Sprintf("%s names an environment variable (such as %s) that holds the %s; it is not the %s itself", key, example, what, what),
			"malformed %s %s: not an environment variable name", key, masked.Value(s.Val))
	}
	return nil
}

// Argv checks the value of key, a command as a list run without a shell
// (such as example): not empty.
func Argv(s setting, key, example string) error {
	if len(s.Argv) == 0 || s.Argv[0] == "" {
		return s.From.Errorf(key+" is an argv list, such as "+example, "empty %s", key)
	}
	return nil
}

// FederatedTokenFile checks that federated_token_file is there. Projected
// service-account tokens are commonly mode 0644 inside a container; they
// are short-lived, so there is no mode check.
func FederatedTokenFile(s setting) error {
	if _, err := os.Stat(s.Val); err != nil {
		return s.From.Errorf("point it at the projected token file (AKS: /var/run/secrets/azure/tokens/azure-identity-token)",
			"federated_token_file %s: %v", masked.Path(s.Val), configerr.UnwrapPath(err))
	}
	return nil
}

// Mailbox checks a mailbox that is set: a plain address.
func Mailbox(s setting) error {
	if err := checkAddress(s.Val); err != nil {
		return s.From.Errorf("mailbox is a plain address such as alerts@contoso.com", "malformed mailbox %s: %s", masked.Value(s.Val), reason(s.Val, err, "not a plain address"))
	}
	return nil
}

// addressReason is what is wrong with an address, from internal/rfc5322's
// error without its "malformed address: " and net/mail's "mail: ".
func addressReason(err error) string {
	msg := strings.TrimPrefix(err.Error(), rfc5322.ErrAddress.Error()+": ")
	return strings.TrimPrefix(msg, "mail: ")
}

// checkAddress accepts a plain addr-spec (no display name, no brackets)
// that internal/rfc5322 accepts.
func checkAddress(s string) error {
	a, err := rfc5322.ParseAddress(s)
	if err != nil {
		return fmt.Errorf("%s", addressReason(err))
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

// FromName checks from_name: one line.
func FromName(s setting) error {
	if strings.ContainsAny(s.Val, "\r\n") {
		return s.From.Errorf("", "from_name must be one line")
	}
	return nil
}

// SMTPHost checks an smtp_host that is set: a bare host name, not the
// public host of a cloud other than cloudName.
func SMTPHost(s setting, cloudName string) error {
	if err := hostcheck.Host(s.Val); err != nil {
		return s.From.Errorf("smtp_host is a bare host name such as smtp.office365.com; the port goes in smtp_port", "malformed smtp_host %s: %v", masked.Value(s.Val), reason(s.Val, err, "not a host name"))
	}
	return hostOfCloud(s, "smtp_host", cloudName)
}

// AuthorityHost checks an authority_host that is set: "host[:port]" or an
// https URL, not the public host of a cloud other than cloudName.
func AuthorityHost(s setting, cloudName string) error {
	if err := hostcheck.Authority(s.Val); err != nil {
		return s.From.Errorf(`authority_host is "host[:port]" or an https:// URL, such as login.microsoftonline.us`, "malformed authority_host %s: %v", masked.Value(s.Val), reason(s.Val, err, "not a host or https URL"))
	}
	return hostOfCloud(s, "authority_host", cloudName)
}

// AzureAuthority checks AZURE_AUTHORITY_HOST as azidentity accepts it: an
// https:// URL.
func AzureAuthority(s setting) error {
	err := hostcheck.Authority(s.Val)
	if !strings.HasPrefix(strings.ToLower(s.Val), "https://") {
		err = errors.New("not an https:// URL")
	}
	if err != nil {
		return s.From.Errorf("AZURE_AUTHORITY_HOST is an https:// URL such as https://login.microsoftonline.us/ (azidentity's rule); unset it, or set cloud in the profile, which wins over it",
			"malformed AZURE_AUTHORITY_HOST %s: %v", masked.Value(s.Val), reason(s.Val, err, "not an https URL"))
	}
	return nil
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

// hostOfCloud refuses an smtp_host or authority_host (key) that is the
// public host of a cloud other than the profile's: a token from one cloud
// is never accepted by another. Other hosts (private clouds, relays,
// loopback) are not checked.
func hostOfCloud(s setting, key, cloudName string) error {
	host := strings.ToLower(hostcheck.HostOf(s.Val))
	clouds, ok := publicHosts()[host]
	if !ok || slices.Contains(clouds, cloudName) {
		return nil
	}
	quoted := make([]string, len(clouds))
	for i, c := range clouds {
		quoted[i] = fmt.Sprintf("cloud = %q", c)
	}
	return s.From.Errorf(fmt.Sprintf("set %s if that is the tenant's cloud, or remove %s to use the %s cloud's own", strings.Join(quoted, " or "), key, cloudName),
		"%s %s belongs to the %s cloud, not to %q", key, host, strings.Join(clouds, "/"), cloudName)
}

// SMTPPort checks an smtp_port that is set and returns it: 1-65535, and
// not 465.
func SMTPPort(s setting) (int, error) {
	port, err := strconv.Atoi(s.Val)
	switch {
	case err != nil:
		return 0, s.From.Errorf("smtp_port is a number; Office 365 uses 587", "malformed smtp_port %s", masked.Value(s.Val))
	case port < 1 || port > 65535:
		return 0, s.From.Errorf("Office 365 uses 587; leave smtp_port out for the default", "smtp_port %d is out of range: must be 1-65535", port)
	case port == 465:
		return 0, s.From.Errorf("Office 365 doesn't support 465; use 587 STARTTLS", "port 465 (implicit TLS) is not supported")
	}
	return port, nil
}

// Rate checks a rate_per_minute that is set and returns it: -1, 0 or more.
func Rate(s setting) (int, error) {
	const hint = "rate_per_minute is -1 (no pacing), 0 (the default, 30) or a number of messages a minute; Exchange Online allows 30 per mailbox"
	n, err := strconv.Atoi(s.Val)
	if err != nil {
		return 0, s.From.Errorf(hint, "malformed rate_per_minute %s", masked.Value(s.Val))
	}
	if n < -1 {
		return 0, s.From.Errorf(hint, "rate_per_minute %d is out of range", n)
	}
	return n, nil
}

// GraphURL checks a graph_url that is set and returns it without a
// trailing "/": an https URL with a host.
func GraphURL(s setting) (string, error) {
	u, err := url.Parse(s.Val)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", s.From.Errorf("graph_url is an https URL such as https://graph.microsoft.com/v1.0", "malformed graph_url %s", masked.Value(s.Val))
	}
	return strings.TrimRight(s.Val, "/"), nil
}

// CAFile reads a ca_file that is set: a PEM file of CA certificates.
func CAFile(s setting) ([]*x509.Certificate, error) {
	const hint = "ca_file is a PEM file of CA certificates (-----BEGIN CERTIFICATE-----)"
	certs, err := ReadCAFile(s.Val)
	var ce *configerr.Error
	if errors.As(err, &ce) {
		return nil, s.From.Errorf(ce.Advice, "ca_file %s: %s", masked.Path(s.Val), ce.Msg)
	}
	if err != nil {
		return nil, s.From.Errorf(hint, "ca_file %s: %v", masked.Path(s.Val), configerr.UnwrapPath(err))
	}
	if len(certs) == 0 {
		return nil, s.From.Errorf(hint, "ca_file %s holds no PEM certificate", masked.Path(s.Val))
	}
	return certs, nil
}

// maxCAFileSize bounds a ca_file: a few kilobytes at most.
const maxCAFileSize = 1 << 20

// ReadCAFile reads the certificates of a PEM file the way
// x509.CertPool.AppendCertsFromPEM does: CERTIFICATE blocks without
// headers, skipping any that do not parse. A file with none is not an
// error here; the callers say so in their own words. A refused file is
// an *Error; a file that is not there gives its *fs.PathError.
func ReadCAFile(path string) ([]*x509.Certificate, error) {
	rest, err := safefile.Read(path, "CA file", maxCAFileSize, false)
	if err != nil {
		return nil, configerr.FromFile(err)
	}
	var certs []*x509.Certificate
	for len(rest) > 0 {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			continue
		}
		certs = append(certs, c)
	}
	return certs, nil
}
