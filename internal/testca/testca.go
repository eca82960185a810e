// Package testca makes a throwaway certificate authority and a loopback
// server certificate for the in-process fakes (token/entratest,
// sender/smtptest) and the sandbox. Clients trust the CA explicitly through
// a CertPool or a PEM file; certificate verification is never turned off.
//
// It is not for production use: keys are generated fresh in memory and
// certificates are valid for a day.
package testca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// CA is a throwaway certificate authority with one server certificate for
// localhost, 127.0.0.1 and ::1.
type CA struct {
	// CertPEM is the CA certificate in PEM form, for a ca_file.
	CertPEM []byte
	// Pool holds the CA certificate, for a client's RootCAs.
	Pool *x509.CertPool
	// ServerCert is a certificate and key for loopback names, signed by the CA.
	ServerCert tls.Certificate
}

// New makes a fresh CA and a loopback server certificate signed by it.
func New() (*CA, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testca: generate CA key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "m365send test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("testca: create CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("testca: parse CA certificate: %w", err)
	}

	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testca: generate server key: %w", err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("testca: create server certificate: %w", err)
	}

	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &CA{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Pool:    pool,
		ServerCert: tls.Certificate{
			Certificate: [][]byte{srvDER, caDER},
			PrivateKey:  srvKey,
		},
	}, nil
}

// FromCertificate takes a server certificate whose chain ends with the
// certificate of the CA that signed it (as CA.ServerCert's does) and returns
// that CA, for a fake given its certificate from outside. The CA's key is
// not needed: only the pool and PEM clients trust are derived.
func FromCertificate(cert tls.Certificate) (*CA, error) {
	if len(cert.Certificate) < 2 {
		return nil, errors.New("testca: the certificate chain must end with its CA certificate")
	}
	caDER := cert.Certificate[len(cert.Certificate)-1]
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("testca: parse CA certificate: %w", err)
	}
	if !caCert.IsCA {
		return nil, errors.New("testca: the last certificate of the chain is not a CA certificate")
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &CA{
		CertPEM:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Pool:       pool,
		ServerCert: cert,
	}, nil
}

// NewOrFrom is FromCertificate(*cert) when cert is set, else New: the
// fakes take an optional certificate in their options (the sandbox gives
// them all one), and make their own when there is none.
func NewOrFrom(cert *tls.Certificate) (*CA, error) {
	if cert != nil {
		return FromCertificate(*cert)
	}
	return New()
}

// ServerTLSConfig returns a server configuration that presents the loopback
// certificate and accepts TLS 1.2 or later, as Office 365 and Entra ID do.
func (ca *CA) ServerTLSConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{ca.ServerCert},
		MinVersion:   tls.VersionTLS12,
	}
}

// ClientTLSConfig returns a client configuration that trusts only this CA.
func (ca *CA) ClientTLSConfig() *tls.Config {
	return &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS12}
}

// WriteCertFile writes the CA certificate to path (mode 0644), for a
// profile's ca_file.
func (ca *CA) WriteCertFile(path string) error {
	if err := os.WriteFile(path, ca.CertPEM, 0o644); err != nil {
		return fmt.Errorf("testca: write CA certificate: %w", err)
	}
	return nil
}
