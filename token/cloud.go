package token

import (
	"fmt"
	"net/url"
	"strings"
)

// authorityBase turns an authority host ("host[:port]" or an https URL)
// into "https://host[:port]".
func authorityBase(host string) (string, error) {
	h := strings.TrimSpace(host)
	if !strings.Contains(h, "://") {
		h = "https://" + h
	}
	u, err := url.Parse(h)
	if err != nil {
		return "", fmt.Errorf("authority host %q: %w", host, err)
	}
	if u.Scheme != "https" {
		return "", fmt.Errorf("authority host %q: Entra ID is only reached over https", host)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("authority host %q: want host[:port] or https://host[:port]", host)
	}
	return "https://" + u.Host, nil
}
