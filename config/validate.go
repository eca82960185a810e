package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/m365send/m365send/internal/rfc5322"

	"github.com/m365send/m365send/internal/cloud"
	"github.com/m365send/m365send/internal/hostcheck"
)

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// isDomain reports whether s looks like a DNS domain with at least two labels.
func isDomain(s string) bool { return hostcheck.IsDomain(s) }

// checkHost accepts a DNS name or an IP address, without a port.
func checkHost(h string) error { return hostcheck.Host(h) }

// checkAuthority accepts "host[:port]" or an https URL.
func checkAuthority(a string) error { return hostcheck.Authority(a) }

// HostOf is the host name in "host", "host:port", "[v6]:port" or a URL
// such as https://host:port/, without a port, brackets, user info or a
// trailing dot, as written (not lowercased); "" for "".
func HostOf(s string) string { return hostcheck.HostOf(s) }

// IsGUID reports whether s is a GUID such as an application (client) or
// tenant ID.
func IsGUID(s string) bool { return guidRE.MatchString(s) }

// reason is err's text when value is shown in full, else short: a
// parser's message may quote the value.
func reason(value string, err error, short string) string {
	if isShownInFull(value) {
		return err.Error()
	}
	return short
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

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
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
