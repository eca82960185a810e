package config

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"golang.org/x/crypto/pkcs12"
)

// certWhat names a certificate file in messages.
const certWhat = "certificate file (it holds the private key)"

// checkCertificate reads the certificate file path when the profile loads,
// so that a file with no key, a garbage PEM or an unreadable PKCS#12 is a
// configuration error naming the file, not a failure at the first token
// request. It checks the file as a secret file (openChecked) and that
// parseCertificate accepts it.
func checkCertificate(path string) error {
	data, err := readPrivateFile(path, certWhat, maxSecretFileSize)
	if err != nil {
		return secretFileError(path, certWhat, err)
	}
	if msg, advice := parseCertificate(data); msg != "" {
		return &Error{File: shownPath(path), Msg: "certificate file: " + msg, Advice: advice}
	}
	return nil
}

// parseCertificate says what is wrong with data as a certificate file, a
// PEM file with the certificate (chain) and its unencrypted private key or
// a password-less PKCS#12 file, and what to do; "", "" when nothing is.
func parseCertificate(data []byte) (msg, advice string) {
	const pemAdvice = "certificate_file is one PEM file holding the certificate and its unencrypted private key (cat app.crt app.key > app.pem), or a password-less PKCS#12 (.pfx) file"
	var blocks []*pem.Block
	if bytes.Contains(data, []byte("-----BEGIN")) {
		for rest := data; ; {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				break
			}
			blocks = append(blocks, b)
		}
		if len(blocks) == 0 {
			return "not a valid PEM file: no block decodes", pemAdvice
		}
	} else {
		var err error
		if blocks, err = pkcs12.ToPEM(data, ""); err != nil {
			if errors.Is(err, pkcs12.ErrIncorrectPassword) {
				return "the PKCS#12 file has a password", "export it again without a password, or convert it to PEM: openssl pkcs12 -in app.pfx -nodes -out app.pem"
			}
			return "neither PEM nor a readable password-less PKCS#12 file", pemAdvice
		}
	}
	var certs []*x509.Certificate
	var key crypto.PrivateKey
	for _, b := range blocks {
		switch b.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return fmt.Sprintf("a CERTIFICATE block does not parse (%v)", err), pemAdvice
			}
			certs = append(certs, c)
		case "ENCRYPTED PRIVATE KEY":
			return "the private key is encrypted", "decrypt it: openssl pkey -in app.key -out app-plain.key, then put it in the PEM file with the certificate"
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			k, err := parsePrivateKey(b.Bytes)
			if err != nil {
				return fmt.Sprintf("the %s block does not parse (%v)", b.Type, err), pemAdvice
			}
			key = k
		}
	}
	switch {
	case len(certs) == 0:
		return "no certificate in it", pemAdvice
	case key == nil:
		return "a certificate but no private key", "add the private key to the file: cat app.crt app.key > app.pem (the key that was made with the certificate uploaded to the app registration)"
	}
	pub, ok := key.(interface{ Public() crypto.PublicKey })
	if !ok {
		return "the private key is of a kind Entra ID does not take", pemAdvice
	}
	if eq, ok := certs[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(pub.Public()) {
		return "the private key does not belong to the (first) certificate", "put the certificate and the key made with it in the file, the certificate first"
	}
	return "", ""
}

// parsePrivateKey parses a PKCS#8, PKCS#1 (RSA) or SEC 1 (EC) private key.
func parsePrivateKey(der []byte) (crypto.PrivateKey, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParseECPrivateKey(der)
	if err != nil {
		return nil, errors.New("not a PKCS#8, PKCS#1 or SEC 1 private key")
	}
	return k, nil
}
