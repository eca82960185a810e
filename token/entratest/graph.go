package entratest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/m365send/m365send/internal/cloud"
)

// Microsoft Graph, as Entra ID issues tokens for it (see docs/microsoft.md).
const (
	// GraphResource is Microsoft Graph's resource in the global cloud;
	// the fake also takes the other clouds' Graph hosts.
	GraphResource = "https://graph.microsoft.com"
	// GraphSendRole is the Graph application permission sendMail needs,
	// and the delegated scope of the same name.
	GraphSendRole = "Mail.Send"
	// GraphReadWriteRole is the Graph permission drafts and upload
	// sessions need (messages over Graph's request limit).
	GraphReadWriteRole = "Mail.ReadWrite"
)

// isGraphResource reports whether res names Microsoft Graph.
func isGraphResource(res string) bool {
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
	if isGraphResource(res) {
		return perm == GraphSendRole || perm == GraphReadWriteRole
	}
	return perm == DelegatedScope
}

// graphScp is the scp claim of a delegated Graph token: the Graph
// permissions asked for (Mail.Send for .default).
func graphScp(scopes []string) string {
	var perms []string
	for _, s := range scopes {
		i := strings.LastIndex(s, "/")
		if i < 0 || !isGraphResource(s[:i]) {
			continue
		}
		p := s[i+1:]
		if p == ".default" {
			p = GraphSendRole
		}
		if !slices.Contains(perms, p) {
			perms = append(perms, p)
		}
	}
	if len(perms) == 0 {
		perms = []string{GraphSendRole}
	}
	return strings.Join(perms, " ")
}

// VerifyGraph checks an access token the way Microsoft Graph does before
// it lets the caller act on mailbox: signature, issuer, expiry, a Graph
// audience, and the permission perm (GraphSendRole or GraphReadWriteRole)
// as an application role (the app must be allowed the mailbox, as an
// Exchange RBAC scope or application access policy allows it) or as a
// delegated scope (mailbox must be the signed-in user's or one of their
// mailboxes). Its errors wrap ErrTokenRefused, never contain the token,
// and say in their text whether the audience, the permission or the
// mailbox was wrong.
func (a *Authority) VerifyGraph(accessToken, mailbox, perm string) error {
	claims, err := a.claims(accessToken)
	if err != nil {
		return err
	}
	aud, _ := claims.GetAudience()
	if len(aud) != 1 || !isGraphResource(aud[0]) {
		return fmt.Errorf("%w: audience %q is not Microsoft Graph", ErrTokenRefused, aud)
	}
	if scp, ok := claims["scp"].(string); ok {
		if !slices.Contains(strings.Fields(scp), perm) {
			return fmt.Errorf("%w: permission: scope %q lacks %s", ErrTokenRefused, scp, perm)
		}
		upn, _ := claims["upn"].(string)
		if a.userMaySendAs(upn, mailbox) {
			return nil
		}
		return fmt.Errorf("%w: mailbox: user %s may not send as %s", ErrTokenRefused, upn, mailbox)
	}
	if !slices.Contains(stringList(claims["roles"]), perm) {
		return fmt.Errorf("%w: permission: token has no %s role", ErrTokenRefused, perm)
	}
	appid, _ := claims["appid"].(string)
	app := a.app(appid)
	if app == nil {
		return fmt.Errorf("%w: no service principal for app %s", ErrTokenRefused, appid)
	}
	if !containsFold(app.Mailboxes, mailbox) {
		return fmt.Errorf("%w: mailbox: app %s may not use mailbox %s", ErrTokenRefused, appid, mailbox)
	}
	return nil
}
