package config

import (
	"errors"
	"fmt"
	"time"

	"github.com/m365send/m365send/internal/certfile"
)

// certWhat names a certificate file in messages.
const certWhat = "certificate file (it holds the private key)"

// checkCertificate reads the certificate file path (a PKCS#12 file opened
// with password) when the profile loads,
// so that a file with no key, a garbage PEM, an unreadable PKCS#12, a key
// of another certificate or an expired certificate is a configuration
// error naming the file, what is wrong and what to do, not a failure at
// the first token request. The file is opened as any secret file is
// (openChecked) and its content checked by internal/certfile, which the
// token package reads it with too. The *Error unwraps to the
// *certfile.Error, so errors.Is(err, certfile.ErrNoKey) and the like hold.
func checkCertificate(path, password string) error {
	data, err := readPrivateFile(path, certWhat, certfile.MaxSize)
	if err != nil {
		return secretFileError(path, certWhat, err)
	}
	_, err = certfile.Parse(path, data, password, time.Now())
	var ce *certfile.Error
	if errors.As(err, &ce) {
		msg := "certificate file " + ce.Problem.Error()
		if ce.Detail != "" {
			msg += ": " + ce.Detail
		}
		return &Error{File: shownPath(path), Msg: msg, Advice: ce.Advice, Err: err}
	}
	return err
}

// CertificatePassword returns the password of the certificate file
// (AZURE_CLIENT_CERTIFICATE_PASSWORD, or the variable
// certificate_password_env names), or "" when the profile names none.
// Errors are *Error and never contain the password.
func (p *Profile) CertificatePassword() (string, error) {
	switch {
	case p.certificatePassword != "":
		return p.certificatePassword, nil
	case p.CertificatePasswordEnv != "":
		v := ""
		if p.env != nil {
			v = p.env(p.CertificatePasswordEnv)
		}
		if v == "" {
			return "", &Error{File: p.File, Key: "certificate_password_env",
				Msg:    fmt.Sprintf("environment variable %s (named by certificate_password_env) is empty or not set", p.CertificatePasswordEnv),
				Advice: fmt.Sprintf("export %s=<the certificate file's password>", p.CertificatePasswordEnv)}
		}
		return v, nil
	}
	return "", nil
}
