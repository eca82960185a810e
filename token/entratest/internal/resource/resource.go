// Package resource plays the services the fake Entra ID's
// (token/entratest) access tokens are for: how Exchange Online (SMTP
// AUTH) and Microsoft Graph judge a token's claims before they let its
// bearer use a mailbox.
package resource

import (
	"fmt"
	"slices"
	"strings"

	"github.com/m365send/m365send/token/entratest/internal/mint"
	"github.com/m365send/m365send/token/entratest/internal/scope"
)

// Directory is what a service asks the tenant about mailboxes.
type Directory interface {
	// AppMailboxes returns the mailboxes the service principal of app
	// appID may use, and false when the tenant has none for it.
	AppMailboxes(appID string) ([]string, bool)
	// UserMailboxes returns the mailboxes user upn may send as besides
	// their own.
	UserMailboxes(upn string) []string
}

// Exchange judges claims as Exchange Online does before it lets the
// bearer send as mailbox: an audience rules.IsExchange takes, and either
// the role (app-only; the app must be allowed the mailbox) or the scope
// scp (delegated; the mailbox must be the user's or one of theirs).
func Exchange(claims mint.Claims, rules scope.Rules, role, scp, mailbox string, dir Directory) error {
	if aud := claims.Audience; len(aud) != 1 || !rules.IsExchange(aud[0]) {
		return fmt.Errorf("audience %q is not the Exchange resource %s", aud, rules.Exchange)
	}
	if claims.Delegated {
		if !slices.Contains(strings.Fields(claims.Scp), scp) {
			return fmt.Errorf("scope %q lacks %s", claims.Scp, scp)
		}
		if maySendAs(dir, claims.UPN, mailbox) {
			return nil
		}
		return fmt.Errorf("user %s may not send as %s", claims.UPN, mailbox)
	}
	if !slices.Contains(claims.Roles, role) {
		return fmt.Errorf("token has no %s role", role)
	}
	boxes, ok := dir.AppMailboxes(claims.AppID)
	if !ok {
		return fmt.Errorf("no service principal for app %s", claims.AppID)
	}
	if !containsFold(boxes, mailbox) {
		return fmt.Errorf("app %s has no permission on mailbox %s (Add-MailboxPermission)", claims.AppID, mailbox)
	}
	return nil
}

// Graph judges claims as Microsoft Graph does before it lets the bearer
// act on mailbox: a Graph audience, and the permission perm as an
// application role (the app must be allowed the mailbox) or as a
// delegated scope (the mailbox must be the user's or one of theirs). Its
// errors say whether the audience, the permission or the mailbox was
// wrong.
func Graph(claims mint.Claims, perm, mailbox string, dir Directory) error {
	if aud := claims.Audience; len(aud) != 1 || !scope.IsGraph(aud[0]) {
		return fmt.Errorf("audience %q is not Microsoft Graph", aud)
	}
	if claims.Delegated {
		if !slices.Contains(strings.Fields(claims.Scp), perm) {
			return fmt.Errorf("permission: scope %q lacks %s", claims.Scp, perm)
		}
		if maySendAs(dir, claims.UPN, mailbox) {
			return nil
		}
		return fmt.Errorf("mailbox: user %s may not send as %s", claims.UPN, mailbox)
	}
	if !slices.Contains(claims.Roles, perm) {
		return fmt.Errorf("permission: token has no %s role", perm)
	}
	boxes, ok := dir.AppMailboxes(claims.AppID)
	if !ok {
		return fmt.Errorf("no service principal for app %s", claims.AppID)
	}
	if !containsFold(boxes, mailbox) {
		return fmt.Errorf("mailbox: app %s may not use mailbox %s", claims.AppID, mailbox)
	}
	return nil
}

// maySendAs reports whether the signed-in user upn may send as mailbox:
// their own, or one of theirs.
func maySendAs(dir Directory, upn, mailbox string) bool {
	return strings.EqualFold(upn, mailbox) || containsFold(dir.UserMailboxes(upn), mailbox)
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
