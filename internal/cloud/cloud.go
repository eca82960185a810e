// Package cloud is the one table of Microsoft clouds: for each, the Entra
// ID authority host, the Exchange Online resource, the SMTP submission
// host and the Microsoft Graph host. Nothing else in m365send defines one
// of these hosts; config, token, sender and graph read them here, as the
// Azure SDK's azcore/cloud is read by its clients. The sources are in
// docs/microsoft.md.
package cloud

import (
	"fmt"
	"strings"
)

// SMTPPort is the submission port with STARTTLS that Exchange Online
// serves (465 is not supported there).
const SMTPPort = 587

// Cloud is one Microsoft cloud's endpoints.
type Cloud struct {
	// Name is the configuration name: global, usgov, usgovdod or china.
	Name string
	// AuthorityHost is the Entra ID host, such as
	// login.microsoftonline.com.
	AuthorityHost string
	// Resource is the Exchange Online resource for app-only tokens; the
	// scope is Resource + "/.default".
	Resource string
	// DelegatedResource is the resource for delegated scopes
	// (DelegatedResource + "/SMTP.Send"); "" means Resource.
	DelegatedResource string
	// SMTPHost is the SMTP AUTH submission host.
	SMTPHost string
	// GraphHost is the Microsoft Graph host, such as graph.microsoft.com.
	GraphHost string
}

// All returns the clouds, global first. Each call returns a new slice the
// caller may change.
func All() []Cloud {
	return []Cloud{
		{Name: "global", AuthorityHost: "login.microsoftonline.com", Resource: "https://outlook.office365.com",
			DelegatedResource: "https://outlook.office.com", SMTPHost: "smtp.office365.com", GraphHost: "graph.microsoft.com"},
		{Name: "usgov", AuthorityHost: "login.microsoftonline.us", Resource: "https://outlook.office365.us",
			SMTPHost: "smtp.office365.us", GraphHost: "graph.microsoft.us"},
		{Name: "usgovdod", AuthorityHost: "login.microsoftonline.us", Resource: "https://outlook-dod.office365.us",
			SMTPHost: "outlook-dod.office365.us", GraphHost: "dod-graph.microsoft.us"},
		{Name: "china", AuthorityHost: "login.partner.microsoftonline.cn", Resource: "https://partner.outlook.cn",
			SMTPHost: "smtp.partner.outlook.cn", GraphHost: "microsoftgraph.chinacloudapi.cn"},
	}
}

// Names lists the names Lookup knows, global first.
func Names() []string {
	all := All()
	names := make([]string, len(all))
	for i, c := range all {
		names[i] = c.Name
	}
	return names
}

// Lookup returns the cloud with the given name, case-insensitively; ""
// means global.
func Lookup(name string) (Cloud, error) {
	if name == "" {
		name = "global"
	}
	for _, c := range All() {
		if strings.EqualFold(c.Name, name) {
			return c, nil
		}
	}
	return Cloud{}, fmt.Errorf("unknown cloud %q (want one of %s)", name, strings.Join(Names(), ", "))
}

// AppScope is the app-only (client credentials) scope for Exchange Online.
func (c Cloud) AppScope() string { return c.Resource + "/.default" }

// DelegatedScope is the delegated scope for SMTP submission.
func (c Cloud) DelegatedScope() string {
	r := c.DelegatedResource
	if r == "" {
		r = c.Resource
	}
	return r + "/SMTP.Send"
}

// GraphAppScope is the app-only scope for Microsoft Graph.
func (c Cloud) GraphAppScope() string { return "https://" + c.GraphHost + "/.default" }

// GraphDelegatedScope is the delegated scope for Graph's sendMail.
func (c Cloud) GraphDelegatedScope() string { return "https://" + c.GraphHost + "/Mail.Send" }

// HostCloud returns the cloud whose SMTP or authority host is host
// (case-insensitive, port ignored), and whether there is one.
func HostCloud(host string) (Cloud, bool) {
	h := strings.ToLower(host)
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	for _, c := range All() {
		if h == c.SMTPHost || h == c.AuthorityHost {
			return c, true
		}
	}
	return Cloud{}, false
}
