// Package hostcheck checks the host names config accepts (smtp_host,
// authority_host) and takes the host out of "host:port" or a URL.
//
// It is a leaf package: it imports nothing of m365send.
package hostcheck

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// IsDomain reports whether s looks like a DNS domain with at least two labels.
func IsDomain(s string) bool {
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

// Host accepts a DNS name or an IP address, without a port.
func Host(h string) error {
	if strings.Contains(h, "://") {
		return fmt.Errorf("a host name, not a URL")
	}
	if net.ParseIP(h) != nil {
		return nil
	}
	if _, _, err := net.SplitHostPort(h); err == nil {
		return fmt.Errorf("the port does not belong here")
	}
	if h == "localhost" || IsDomain(h) {
		return nil
	}
	return fmt.Errorf("not a host name")
}

// Authority accepts "host[:port]" or an https URL.
func Authority(a string) error {
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
		return Host(u.Hostname())
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
	return Host(host)
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
