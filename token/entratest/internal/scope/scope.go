// Package scope holds the fake Entra ID's (token/entratest) rules for the
// scope parameter: which resources it issues tokens for (Exchange Online
// and Microsoft Graph), which permissions it grants on them, and the
// AADSTS code it refuses any other scope with.
package scope

import (
	"slices"
	"strings"

	"github.com/m365send/m365send/internal/cloud"
)

// Permissions the fake grants (token/entratest exports the same names).
const (
	// SMTPSend is the delegated Exchange permission SMTP needs.
	SMTPSend = "SMTP.Send"
	// GraphSend is the Graph permission sendMail needs.
	GraphSend = "Mail.Send"
	// GraphReadWrite is the Graph permission drafts and upload sessions
	// need.
	GraphReadWrite = "Mail.ReadWrite"
	// GlobalExchange is Exchange Online's resource in the global cloud.
	GlobalExchange = "https://outlook.office365.com"
)

// Rules are the scope rules of one authority.
type Rules struct {
	// Exchange is the Exchange resource tokens are issued for, without a
	// trailing slash.
	Exchange string
}

// reserved reports whether s (lower case) is one of the OpenID scopes
// MSAL adds to user flows.
func reserved(s string) bool {
	switch s {
	case "openid", "profile", "offline_access", "email":
		return true
	}
	return false
}

// App checks a client-credentials scope and returns the resource, or the
// AADSTS code to refuse it with.
func (r Rules) App(scope string) (string, int) {
	scopes := strings.Fields(scope)
	if len(scopes) == 0 {
		return "", 70011
	}
	var resource string
	for _, s := range scopes {
		// MSAL appends the OpenID scopes to every request; Entra ID
		// ignores them for client credentials.
		if reserved(strings.ToLower(s)) {
			continue
		}
		if !strings.HasSuffix(s, "/.default") {
			return "", 1002012
		}
		res := strings.TrimSuffix(s, "/.default")
		if resource != "" && !strings.EqualFold(res, resource) {
			return "", 700022
		}
		resource = res
	}
	if resource == "" || !r.IsExchange(resource) && !IsGraph(resource) {
		return "", 70011
	}
	return resource, 0
}

// Delegated checks a user-flow scope list; it returns the resource and
// the granted scopes to echo, or the AADSTS code to refuse it with.
func (r Rules) Delegated(scope string) (string, []string, int) {
	scopes := strings.Fields(scope)
	var resource string
	for _, s := range scopes {
		if reserved(strings.ToLower(s)) {
			continue
		}
		i := strings.LastIndex(s, "/")
		if i < 0 {
			return "", nil, 70011
		}
		res, perm := s[:i], s[i+1:]
		if resource != "" && !strings.EqualFold(res, resource) {
			return "", nil, 700022
		}
		resource = res
		if !delegatedPermission(res, perm) {
			return "", nil, 70011
		}
	}
	if resource == "" || !r.IsExchange(resource) && !IsGraph(resource) {
		return "", nil, 70011
	}
	return resource, scopes, 0
}

// IsExchange reports whether res names the Exchange resource. For the
// global cloud Entra ID knows Exchange Online by both of its identifier
// URIs.
func (r Rules) IsExchange(res string) bool {
	res = strings.TrimRight(res, "/")
	if strings.EqualFold(res, r.Exchange) {
		return true
	}
	return strings.EqualFold(r.Exchange, GlobalExchange) && strings.EqualFold(res, "https://outlook.office.com")
}

// IsGraph reports whether res names Microsoft Graph (in any cloud).
func IsGraph(res string) bool {
	res = strings.ToLower(strings.TrimRight(res, "/"))
	for _, c := range cloud.All() {
		if res == "https://"+c.GraphHost {
			return true
		}
	}
	return false
}

// delegatedPermission reports whether perm is a delegated permission the
// fake grants on resource res.
func delegatedPermission(res, perm string) bool {
	if perm == ".default" {
		return true
	}
	if IsGraph(res) {
		return perm == GraphSend || perm == GraphReadWrite
	}
	return perm == SMTPSend
}

// GraphScp is the scp claim of a delegated Graph token: the Graph
// permissions asked for (Mail.Send for .default).
func GraphScp(scopes []string) string {
	var perms []string
	for _, s := range scopes {
		i := strings.LastIndex(s, "/")
		if i < 0 || !IsGraph(s[:i]) {
			continue
		}
		p := s[i+1:]
		if p == ".default" {
			p = GraphSend
		}
		if !slices.Contains(perms, p) {
			perms = append(perms, p)
		}
	}
	if len(perms) == 0 {
		perms = []string{GraphSend}
	}
	return strings.Join(perms, " ")
}
