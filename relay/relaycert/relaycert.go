// Package relaycert is the relay's TLS certificate: the configured
// certificate and key, or else a self-signed one made once and kept in
// the state folder, and the fingerprint clients are shown to trust it.
package relaycert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/m365send/m365send/internal/failure"
)

// Names of the generated certificate and key in the state folder.
const (
	GeneratedCertFile = "relay-cert.pem"
	GeneratedKeyFile  = "relay-key.pem"
)

// Load returns the relay's TLS certificate: the one of certFile and
// keyFile (tls_cert_file and tls_key_file), or else, when both are "",
// the self-signed one kept in stateDir, generated there (ECDSA P-256,
// valid ten years, for hostname, localhost and the loopback addresses)
// the first time. generated says whether it was made now. Its SHA-256
// fingerprint is Fingerprint(cert).
func Load(certFile, keyFile, hostname, stateDir string, now time.Time) (cert tls.Certificate, generated bool, err error) {
	if certFile != "" || keyFile != "" {
		cert, err = tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return cert, false, failure.Wrap(failure.Config, fmt.Errorf("relay: certificate: %w", err), "tls_cert_file and tls_key_file must be a readable PEM certificate and its key")
		}
		return cert, false, nil
	}
	certPath := filepath.Join(stateDir, GeneratedCertFile)
	keyPath := filepath.Join(stateDir, GeneratedKeyFile)
	cert, err = tls.LoadX509KeyPair(certPath, keyPath)
	if err == nil {
		return cert, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return cert, false, failure.Wrap(failure.Config, fmt.Errorf("relay: generated certificate: %w", err), "remove "+certPath+" and "+keyPath+" to have new ones made")
	}
	certPEM, keyPEM, err := selfSigned(hostname, now)
	if err != nil {
		return cert, false, fmt.Errorf("relay: generate certificate: %w", err)
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return cert, false, failure.Wrap(failure.Config, fmt.Errorf("relay: %w", err), "")
	}
	// The key first, so a certificate file never exists without its key.
	if err := writeNew(keyPath, keyPEM); err != nil {
		return cert, false, err
	}
	if err := writeNew(certPath, certPEM); err != nil {
		return cert, false, err
	}
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return cert, false, fmt.Errorf("relay: generated certificate: %w", err)
	}
	return cert, true, nil
}

// writeNew writes a 0600 file through a temporary file, fsynced and
// renamed, so a crash leaves the whole file or none.
func writeNew(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("relay: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("relay: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	return nil
}

func selfSigned(host string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: host, Organization: []string{"m365send relay"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	} else if host != "localhost" {
		tmpl.DNSNames = append([]string{host}, tmpl.DNSNames...)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

// Fingerprint returns the SHA-256 fingerprint of cert's leaf certificate
// as colon-separated upper-case hex, the form clients show when they ask
// whether to trust a certificate.
func Fingerprint(cert tls.Certificate) string {
	if len(cert.Certificate) == 0 {
		return ""
	}
	sum := sha256.Sum256(cert.Certificate[0])
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}
