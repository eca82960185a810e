package entratest

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"

	"github.com/m365send/m365send/token/entratest/internal/resource"
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

// ErrTokenRefused is wrapped by every error Verify returns.
var ErrTokenRefused = errors.New("access token refused")

// Verify checks an access token the way Exchange Online does before it
// lets user send: the authority's RS256 signature, issuer, expiry, audience
// (the Exchange resource), and either the SMTP.SendAsApp role (app-only; the
// mailbox must be one the app may use) or the SMTP.Send scope (delegated;
// user must be the signed-in user or one of their mailboxes). Its errors
// wrap ErrTokenRefused and never contain the token.
func (a *Authority) Verify(accessToken, user string) error {
	claims, err := a.signer.Check(accessToken, a.opts.TenantID)
	if err == nil {
		err = resource.Exchange(claims, a.scopes, DefaultRole, DelegatedScope, user, directory{a})
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrTokenRefused, err)
	}
	return nil
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
	claims, err := a.signer.Check(accessToken, a.opts.TenantID)
	if err == nil {
		err = resource.Graph(claims, perm, mailbox, directory{a})
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrTokenRefused, err)
	}
	return nil
}

// directory answers the services' questions about the tenant's apps and
// users.
type directory struct{ a *Authority }

func (d directory) AppMailboxes(appID string) ([]string, bool) {
	app := d.a.app(appID)
	if app == nil {
		return nil, false
	}
	return app.Mailboxes, true
}

func (d directory) UserMailboxes(upn string) []string {
	d.a.mu.Lock()
	defer d.a.mu.Unlock()
	if u := d.a.users[strings.ToLower(upn)]; u != nil {
		return u.Mailboxes
	}
	return nil
}

// PublicKey is the key access tokens are signed with.
func (a *Authority) PublicKey() *rsa.PublicKey { return a.signer.PublicKey() }
