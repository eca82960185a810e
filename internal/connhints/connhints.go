// Package connhints gives a submission failure that is not a server reply
// (DNS, TCP, TLS, a server without what the sender needs) its kind of
// failure and a one-line hint: the other half of internal/replyhints,
// which reads replies. Package sender uses it for its errors; the
// connection hints are the ones `doctor` shows for its dns, tcp and
// starttls steps.
package connhints

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/smtpconn"
)

// Hints for failures that are not server replies. The connection hints
// are the ones `doctor` gives for its dns, tcp and starttls steps.
const (
	hintNoXOAuth2   = "the server is not Office 365's submission endpoint or OAuth is not available there: check smtp_host"
	hintNotEncrypt  = "the sender never authenticates without TLS: check smtp_host and smtp_port (Office 365: port 587)"
	hintChallenge   = "the token was refused: check its audience/scope, the Exchange service principal and the mailbox permission"
	hintUnknownCA   = "the server's certificate is not signed by a trusted authority: behind a TLS-inspecting proxy or in a private cloud, set ca_file (M365SEND_CA_FILE) to its root certificate"
	hintHostname    = "the server's certificate does not match the host name: check smtp_host"
	hintCertInvalid = "the server's certificate is invalid or expired: check the system clock and ca_file"
	hintTLSAlert    = "the TLS handshake failed: Office 365 requires TLS 1.2 or later; a proxy may be interfering"
	hintTLSProxy    = "a proxy may be inspecting TLS: add its root to ca_file"
	hintNoSMTPUTF8  = "the server does not take addresses with non-ASCII characters (it does not offer SMTPUTF8): use the address's ASCII form, if it has one"
	hintStalled     = "the server stopped answering: check the network (a firewall or proxy may hold SMTP connections), then try again later"
)

// hintDNS and hintTCP name the host and port of server ("host:port").
func hintDNS(server string) string {
	host, _, _ := net.SplitHostPort(server)
	return "the SMTP host name does not resolve: check smtp_host (" + host + ") and this machine's DNS"
}

func hintTCP(server string) string {
	_, port, err := net.SplitHostPort(server)
	if err != nil || port == "" {
		port = "587"
	}
	return "check that outbound TCP " + port + " is allowed (many networks block SMTP) and smtp_host/smtp_port"
}

// Describe gives err, a failure that is not a server reply (the network,
// TLS, the server's extensions), its kind and a hint: err was met at
// stage (one of sender's Stage names) talking to server ("host:port"),
// and temporary says whether trying again may succeed. A nil err is only
// temporary or not.
func Describe(err error, stage, server string, temporary bool) (failure.Kind, string) {
	var (
		uae  x509.UnknownAuthorityError
		hne  x509.HostnameError
		cie  x509.CertificateInvalidError
		alrt tls.AlertError
		dnse *net.DNSError
	)
	switch {
	case err == nil:
		if temporary {
			return failure.Temporary, ""
		}
		return failure.Internal, ""
	case errors.Is(err, context.Canceled):
		return failure.Temporary, ""
	case errors.Is(err, smtpconn.ErrNotEncrypted):
		return failure.Unavailable, hintNotEncrypt
	case errors.Is(err, smtpconn.ErrNoXOAuth2):
		return failure.Unavailable, hintNoXOAuth2
	case errors.Is(err, smtpconn.ErrBadChallenge):
		return failure.Permission, hintChallenge
	case errors.Is(err, smtpconn.ErrNoSMTPUTF8):
		return failure.BadAddress, hintNoSMTPUTF8
	case errors.As(err, &uae):
		return failure.Config, hintUnknownCA
	case errors.As(err, &hne):
		return failure.Config, hintHostname
	case errors.As(err, &cie):
		return failure.Config, hintCertInvalid
	case errors.As(err, &alrt):
		return failure.Unavailable, hintTLSAlert
	case errors.As(err, &dnse):
		if dnse.IsNotFound {
			return failure.Config, hintDNS(server)
		}
		return failure.Temporary, hintDNS(server)
	}
	if !temporary {
		return failure.Internal, ""
	}
	switch stage {
	case "dns":
		return failure.Temporary, hintDNS(server)
	case "connect", "greeting":
		return failure.Temporary, hintTCP(server)
	case "starttls":
		return failure.Temporary, hintTLSProxy
	}
	if errors.Is(err, context.DeadlineExceeded) || IsTimeout(err) {
		return failure.Temporary, hintStalled
	}
	return failure.Temporary, ""
}

// IsTimeout reports a network timeout.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// IsCertificateError reports a certificate the TLS handshake refused.
func IsCertificateError(err error) bool {
	var (
		uae x509.UnknownAuthorityError
		hne x509.HostnameError
		cie x509.CertificateInvalidError
		cve *tls.CertificateVerificationError
	)
	return errors.As(err, &uae) || errors.As(err, &hne) || errors.As(err, &cie) || errors.As(err, &cve)
}

// IsNetworkish reports a failure of the connection itself: a reset, EOF
// from a dropped connection, a refused or closed connection.
func IsNetworkish(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	s := err.Error()
	for _, w := range []string{"EOF", "connection reset", "broken pipe", "use of closed network connection", "connection refused"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}
