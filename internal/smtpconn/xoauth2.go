package smtpconn

import (
	"errors"
	"slices"
	"strings"

	"github.com/wneessen/go-mail/smtp"
)

// ErrNotEncrypted and ErrNoXOAuth2 stop AUTH before anything is sent.
var (
	ErrNotEncrypted = errors.New("refusing to authenticate on a connection without TLS")
	ErrNoXOAuth2    = errors.New("server does not offer AUTH XOAUTH2")
)

// XOAuth2 wraps go-mail's XOAuth2Auth, which sends the initial response
// and answers a 334 challenge with an empty line (so the server's final
// reply, e.g. 535, is what the caller sees), but does not itself check
// that the connection is encrypted or that the server offers XOAUTH2. This
// wrapper refuses both cases, so a token never crosses a plain connection
// and there is no fallback to another mechanism.
type XOAuth2 struct {
	inner smtp.Auth
}

// NewXOAuth2 is XOAuth2 for user and token.
func NewXOAuth2(user, token string) smtp.Auth {
	return &XOAuth2{inner: smtp.XOAuth2Auth(user, token)}
}

// Start refuses a connection without TLS and a server without XOAUTH2.
func (a *XOAuth2) Start(si *smtp.ServerInfo) (string, []byte, error) {
	if !si.TLS {
		return "", nil, ErrNotEncrypted
	}
	if !slices.ContainsFunc(si.Auth, func(m string) bool { return strings.EqualFold(m, "XOAUTH2") }) {
		return "", nil, ErrNoXOAuth2
	}
	return a.inner.Start(si)
}

// Next answers the server as go-mail's XOAuth2Auth does.
func (a *XOAuth2) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.inner.Next(fromServer, more)
}
