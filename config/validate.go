package config

import (
	"errors"
	"fmt"
	"github.com/m365send/m365send/internal/rfc5322"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

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
