package sender

import (
	"errors"
	"slices"
	"strings"

	"github.com/wneessen/go-mail/smtp"
)

// errNotEncrypted and errNoXOAuth2 stop AUTH before anything is sent.
var (
	errNotEncrypted = errors.New("refusing to authenticate on a connection without TLS")
	errNoXOAuth2    = errors.New("server does not offer AUTH XOAUTH2")
)

// xoauth2 wraps go-mail's XOAuth2Auth, which sends the initial response
// and answers a 334 challenge with an empty line (so the server's final
// reply, e.g. 535, is what the caller sees), but does not itself check
// that the connection is encrypted or that the server offers XOAUTH2. This
// wrapper refuses both cases, so a token never crosses a plain connection
// and there is no fallback to another mechanism.
type xoauth2 struct {
	inner smtp.Auth
}

func newXOAuth2(user, token string) smtp.Auth {
	return &xoauth2{inner: smtp.XOAuth2Auth(user, token)}
}

func (a *xoauth2) Start(si *smtp.ServerInfo) (string, []byte, error) {
	if !si.TLS {
		return "", nil, errNotEncrypted
	}
	if !slices.ContainsFunc(si.Auth, func(m string) bool { return strings.EqualFold(m, "XOAUTH2") }) {
		return "", nil, errNoXOAuth2
	}
	return a.inner.Start(si)
}

func (a *xoauth2) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.inner.Next(fromServer, more)
}
