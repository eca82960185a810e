package token

import (
	"fmt"
	"net/url"
	"strings"
)

// Clouds returns the Microsoft clouds of docs/microsoft.md, global first: the one
// table of their names, Entra ID hosts, Exchange Online resources and SMTP
// hosts. Each call returns a new slice the caller may change.
func Clouds() []Cloud {
	return []Cloud{
		{Name: "global", AuthorityHost: "login.microsoftonline.com", Resource: "https://outlook.office365.com", SMTPHost: "smtp.office365.com",
			DelegatedResource: "https://outlook.office.com"},
		{Name: "usgov", AuthorityHost: "login.microsoftonline.us", Resource: "https://outlook.office365.us", SMTPHost: "smtp.office365.us"},
		{Name: "usgovdod", AuthorityHost: "login.microsoftonline.us", Resource: "https://outlook-dod.office365.us", SMTPHost: "outlook-dod.office365.us"},
		{Name: "china", AuthorityHost: "login.partner.microsoftonline.cn", Resource: "https://partner.outlook.cn", SMTPHost: "smtp.partner.outlook.cn"},
	}
}

// CloudNames lists the names LookupCloud knows.
func CloudNames() []string {
	clouds := Clouds()
	names := make([]string, len(clouds))
	for i, c := range clouds {
		names[i] = c.Name
	}
	return names
}

// LookupCloud returns the cloud with the given name; "" means global.
func LookupCloud(name string) (Cloud, error) {
	if name == "" {
		name = "global"
	}
	for _, c := range Clouds() {
		if strings.EqualFold(c.Name, name) {
			return c, nil
		}
	}
	return Cloud{}, fmt.Errorf("unknown cloud %q (want one of %s)", name, strings.Join(CloudNames(), ", "))
}

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
