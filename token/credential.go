package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"golang.org/x/crypto/pkcs12"
)

// credential builds the MSAL credential for client credentials. A
// certificate is read once, when the Source first needs it; a federated
// assertion file is read on every acquisition, because the platform
// (Kubernetes, GitHub Actions, ...) rotates it. It also returns the
// credential's identity, which binds cached tokens to it (binding.go).
func (c *Config) credential() (confidential.Credential, *credentialID, error) {
	switch {
	case c.ClientSecret != "":
		cred, err := confidential.NewCredFromSecret(c.ClientSecret)
		return cred, &credentialID{kind: credKindSecret, secret: c.ClientSecret}, err
	case c.CertificateFile != "":
		certs, key, err := loadCertificate(c.CertificateFile)
		if err != nil {
			return confidential.Credential{}, nil, err
		}
		cred, err := confidential.NewCredFromCert(certs, key)
		return cred, &credentialID{kind: credKindCertificate, public: certThumbprint(certs, key)}, err
	case c.FederatedTokenFile != "":
		path := c.FederatedTokenFile
		id := &credentialID{kind: credKindFederated, public: path}
		return confidential.NewCredFromAssertionCallback(func(context.Context, confidential.AssertionRequestOptions) (string, error) {
			b, err := os.ReadFile(path)
			if err != nil {
				return "", fmt.Errorf("read federated token file: %w", err)
			}
			a := strings.TrimSpace(string(b))
			if a == "" {
				return "", fmt.Errorf("federated token file %s is empty", path)
			}
			return a, nil
		}), id, nil
	}
	return confidential.Credential{}, nil, errors.New("no client credential: set a client secret, a certificate file or a federated token file")
}

// loadCertificate reads a PEM file (certificate chain + private key) or a
// password-less PKCS#12 file.
func loadCertificate(path string) ([]*x509.Certificate, crypto.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read certificate file: %w", err)
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		certs, key, err := confidential.CertFromPEM(data, "")
		if err != nil {
			return nil, nil, fmt.Errorf("certificate file %s: %w", path, err)
		}
		return certs, key, nil
	}
	blocks, err := pkcs12.ToPEM(data, "")
	if err != nil {
		return nil, nil, fmt.Errorf("certificate file %s is neither PEM nor a password-less PKCS#12 file: %w", path, err)
	}
	var pemData []byte
	for _, b := range blocks {
		if b.Type == "PRIVATE KEY" {
			// pkcs12.ToPEM labels PKCS#1 RSA and SEC 1 EC keys "PRIVATE KEY".
			if _, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
				b.Type = "RSA PRIVATE KEY"
			} else if _, err := x509.ParseECPrivateKey(b.Bytes); err == nil {
				b.Type = "EC PRIVATE KEY"
			}
		}
		pemData = append(pemData, pem.EncodeToMemory(&pem.Block{Type: b.Type, Bytes: b.Bytes})...)
	}
	certs, key, err := confidential.CertFromPEM(pemData, "")
	if err != nil {
		return nil, nil, fmt.Errorf("certificate file %s: %w", path, err)
	}
	return certs, key, nil
}
