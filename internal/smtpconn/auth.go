package smtpconn

import (
	"crypto/tls"
	"encoding/base64"
	"errors"

	"github.com/wneessen/go-mail/smtp"
)

// OverTLS tells the mechanism whether the connection is encrypted:
// go-mail's client runs on a ReplyConn, not on the *tls.Conn, so it
// cannot tell (ServerInfo.TLS is false); XOAuth2 refuses to start unless
// it is true.
type OverTLS struct {
	smtp.Auth
	TC *tls.Conn
}

// Start reports TLS as the *tls.Conn underneath says.
func (a OverTLS) Start(si *smtp.ServerInfo) (string, []byte, error) {
	info := *si
	info.TLS = a.TC != nil && a.TC.ConnectionState().HandshakeComplete
	return a.Auth.Start(&info)
}

// XOAuth2Secrets lists the forms a token can take on the wire.
func XOAuth2Secrets(user, token string) []string {
	ir := "user=" + user + "\x01auth=Bearer " + token + "\x01\x01"
	return []string{base64.StdEncoding.EncodeToString([]byte(ir)), token}
}

// ErrBadChallenge reports a 334 challenge whose text is not base64.
var ErrBadChallenge = errors.New("the server answered AUTH XOAUTH2 with a 334 challenge that is not base64, which means it refused the token")

// FinishChallenge turns go-mail's base64 decoding error for a 334
// challenge into ErrBadChallenge. go-mail decodes the challenge before
// answering it and, when that fails, sends QUIT in place of the empty line
// and drops the server's final reply, so that reply cannot be reported;
// going around go-mail's AUTH for a case Office 365 never produces (it
// answers 535 5.7.3 at once) is not worth a second AUTH implementation.
func FinishChallenge(err error) error {
	var corrupt base64.CorruptInputError
	if errors.As(err, &corrupt) {
		return ErrBadChallenge
	}
	return err
}
