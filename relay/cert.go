package relay

import (
	"crypto/tls"
	"time"

	"github.com/m365send/m365send/relay/relaycert"
)

// Names of the generated certificate and key in the state folder.
const (
	GeneratedCertFile = relaycert.GeneratedCertFile
	GeneratedKeyFile  = relaycert.GeneratedKeyFile
)

// Certificate returns the relay's TLS certificate: the one of
// tls_cert_file and tls_key_file, or else the self-signed one kept in
// stateDir, generated there (ECDSA P-256, valid ten years, for Hostname,
// localhost and the loopback addresses) the first time (see
// relay/relaycert). generated says whether it was made now. Its SHA-256
// fingerprint is Fingerprint(cert).
func Certificate(c *Config, stateDir string, now time.Time) (cert tls.Certificate, generated bool, err error) {
	return relaycert.Load(c.TLSCertFile, c.TLSKeyFile, c.Hostname, stateDir, now)
}

// Fingerprint returns the SHA-256 fingerprint of cert's leaf certificate
// as colon-separated upper-case hex, the form clients show when they ask
// whether to trust a certificate.
func Fingerprint(cert tls.Certificate) string { return relaycert.Fingerprint(cert) }
