// Package certfile reads the file a client-credentials profile signs its
// Entra ID client assertion with: a PEM file holding the certificate (and
// any chain) and its unencrypted private key, or a password-less PKCS#12
// file. Every problem with the file is an *Error of kind failure.Config
// whose message names the file and what is wrong with it and whose hint
// says what to do, so that a profile can be checked when it is loaded,
// before anything is sent. The package is a leaf: it imports nothing of
// m365send but internal/failure.
package certfile

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/m365send/m365send/internal/failure"
	"golang.org/x/crypto/pkcs12"
)

// MaxSize is the largest certificate file read: a certificate, its chain
// and key take a few kilobytes.
const MaxSize = 1 << 20

// Certificate is what a certificate file holds.
type Certificate struct {
	// Leaf is the certificate whose public key matches Key.
	Leaf *x509.Certificate
	// Chain is every certificate in the file, Leaf first.
	Chain []*x509.Certificate
	// Key is the private key (an RSA key, as Entra ID client assertions
	// are signed with RS256/PS256).
	Key *rsa.PrivateKey
}

// PrivateKey returns Key as a crypto.PrivateKey, as MSAL takes it.
func (c *Certificate) PrivateKey() crypto.PrivateKey { return c.Key }

// The problems a certificate file can have; an *Error matches one of them
// with errors.Is.
var (
	// ErrUnreadable: the file cannot be opened or read, is not a regular
	// file, or is larger than MaxSize.
	ErrUnreadable = errors.New("cannot be read")
	// ErrBadPEM: the file holds PEM text that does not parse, or nothing
	// usable at all.
	ErrBadPEM = errors.New("is not a valid PEM certificate file")
	// ErrBadPKCS12: the file is not PEM and cannot be read as a
	// password-less PKCS#12 file.
	ErrBadPKCS12 = errors.New("is neither PEM nor a readable password-less PKCS#12 file")
	// ErrNoCertificate: the file holds no certificate.
	ErrNoCertificate = errors.New("holds no certificate")
	// ErrNoKey: the file holds no private key (or more than one).
	ErrNoKey = errors.New("holds no private key")
	// ErrEncryptedKey: the private key is encrypted.
	ErrEncryptedKey = errors.New("holds an encrypted private key")
	// ErrNotRSA: the private key is not an RSA key.
	ErrNotRSA = errors.New("holds a private key that is not RSA")
	// ErrKeyMismatch: no certificate in the file belongs to the key.
	ErrKeyMismatch = errors.New("holds a private key that matches none of its certificates")
	// ErrExpired: the certificate has expired (or is not valid yet).
	ErrExpired = errors.New("holds a certificate that is not valid now")
)

// Error is a certificate file that cannot be used. Its kind is
// failure.Config.
type Error struct {
	// Path is the certificate file.
	Path string
	// Problem is one of the Err* values above.
	Problem error
	// Detail says more about the problem, or "".
	Detail string
	// Advice is one line saying what to do; Hint returns it.
	Advice string
	// Err is the underlying error, or nil.
	Err error
}

var _ failure.Error = (*Error)(nil)

// Error returns "certificate file PATH PROBLEM[: DETAIL][: ERR]".
func (e *Error) Error() string {
	s := fmt.Sprintf("certificate file %s %s", e.Path, e.Problem)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns Problem and Err.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Problem}
	}
	return []error{e.Problem, e.Err}
}

// Kind is failure.Config.
func (e *Error) Kind() failure.Kind { return failure.Config }

// Hint returns Advice.
func (e *Error) Hint() string { return e.Advice }

// Load reads and checks the certificate file at path (see Parse), as of
// now.
func Load(path string) (*Certificate, error) {
	data, err := read(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, time.Now())
}

// read reads path without following it into a FIFO or device: it opens
// without blocking, accepts only a regular file and reads at most MaxSize.
func read(path string) ([]byte, error) {
	unreadable := func(detail string, err error) error {
		return &Error{Path: path, Problem: ErrUnreadable, Detail: detail, Err: err,
			Advice: "check that " + path + " is the certificate file and that this user can read it"}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in the message already
		}
		return nil, unreadable("", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, unreadable("", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, unreadable(fmt.Sprintf("not a regular file (%s)", fi.Mode().Type()), nil)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, unreadable("", err)
	}
	if len(data) > MaxSize {
		return nil, &Error{Path: path, Problem: ErrUnreadable, Detail: fmt.Sprintf("larger than %d bytes", MaxSize),
			Advice: path + " is too large to be a certificate file: name the PEM or PKCS#12 file that holds the certificate and its key"}
	}
	return data, nil
}

// pemAdvice says what a good PEM certificate file holds.
func pemAdvice(path string) string {
	return "make " + path + " a PEM file holding the certificate (BEGIN CERTIFICATE) and its unencrypted private key (BEGIN PRIVATE KEY), e.g. cat cert.pem key.pem > " + path
}

// Parse checks the contents of a certificate file (path is used in
// messages only): PEM if it contains a PEM block, else a password-less
// PKCS#12 file. It needs at least one certificate and exactly one RSA
// private key that belongs to one of the certificates, and that
// certificate must be valid at now.
func Parse(path string, data []byte, now time.Time) (*Certificate, error) {
	var blocks []*pem.Block
	if bytes.Contains(data, []byte("-----BEGIN")) {
		rest := data
		for {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			blocks = append(blocks, b)
		}
		if len(blocks) == 0 {
			return nil, &Error{Path: path, Problem: ErrBadPEM, Detail: "no PEM block parses (a broken BEGIN/END line or base64)", Advice: pemAdvice(path)}
		}
	} else {
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, &Error{Path: path, Problem: ErrBadPEM, Detail: "the file is empty", Advice: pemAdvice(path)}
		}
		var err error
		blocks, err = pkcs12.ToPEM(data, "")
		if err != nil {
			advice := "convert it to PEM (openssl pkcs12 -in " + path + " -nodes -out cert.pem) and name cert.pem instead; PKCS#12 files with a password or OpenSSL 3's default AES encryption cannot be read"
			if errors.Is(err, pkcs12.ErrIncorrectPassword) {
				return nil, &Error{Path: path, Problem: ErrBadPKCS12, Detail: "it is protected by a password", Advice: advice}
			}
			return nil, &Error{Path: path, Problem: ErrBadPKCS12, Err: err, Advice: advice}
		}
		for _, b := range blocks {
			if b.Type == "PRIVATE KEY" {
				// pkcs12.ToPEM labels PKCS#1 RSA and SEC 1 EC keys
				// "PRIVATE KEY".
				if _, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
					b.Type = "RSA PRIVATE KEY"
				} else if _, err := x509.ParseECPrivateKey(b.Bytes); err == nil {
					b.Type = "EC PRIVATE KEY"
				}
			}
		}
	}
	return fromBlocks(path, blocks, now)
}

// fromBlocks builds a Certificate from PEM blocks.
func fromBlocks(path string, blocks []*pem.Block, now time.Time) (*Certificate, error) {
	var certs []*x509.Certificate
	var key crypto.PrivateKey
	keys := 0
	for _, b := range blocks {
		if _, enc := b.Headers["DEK-Info"]; enc || b.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, &Error{Path: path, Problem: ErrEncryptedKey,
				Advice: "decrypt the key (openssl pkcs8 -topk8 -nocrypt -in key.pem -out plain.pem), put it beside the certificate in " + path + " and protect the file with chmod 600"}
		}
		switch b.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, &Error{Path: path, Problem: ErrBadPEM, Detail: "a CERTIFICATE block does not parse", Err: err, Advice: pemAdvice(path)}
			}
			certs = append(certs, c)
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			keys++
			k, err := parseKey(b)
			if err != nil {
				return nil, &Error{Path: path, Problem: ErrBadPEM, Detail: "the " + b.Type + " block does not parse", Err: err, Advice: pemAdvice(path)}
			}
			key = k
		}
	}
	if len(certs) == 0 {
		return nil, &Error{Path: path, Problem: ErrNoCertificate,
			Advice: "add the certificate (BEGIN CERTIFICATE) that was uploaded to the app registration to " + path + ", beside its key"}
	}
	if keys == 0 {
		return nil, &Error{Path: path, Problem: ErrNoKey,
			Advice: "add the certificate's unencrypted private key (BEGIN PRIVATE KEY) to " + path + ", e.g. cat cert.pem key.pem > " + path}
	}
	if keys > 1 {
		return nil, &Error{Path: path, Problem: ErrNoKey, Detail: fmt.Sprintf("it holds %d private keys, want one", keys),
			Advice: "keep only the key of the certificate uploaded to the app registration in " + path}
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, &Error{Path: path, Problem: ErrNotRSA, Detail: fmt.Sprintf("%T", key),
			Advice: "Entra ID client certificates are signed with RSA here: make an RSA certificate (openssl req -x509 -newkey rsa:2048 ...), upload it to the app registration and put it with its key in " + path}
	}
	var leaf *x509.Certificate
	chain := make([]*x509.Certificate, 0, len(certs))
	for _, c := range certs {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && leaf == nil && pub.Equal(&rk.PublicKey) {
			leaf = c
			continue
		}
		chain = append(chain, c)
	}
	if leaf == nil {
		return nil, &Error{Path: path, Problem: ErrKeyMismatch,
			Advice: "put the certificate and the key it was made with together in " + path + " (openssl x509 -noout -pubkey and openssl pkey -pubout must print the same key)"}
	}
	switch {
	case now.After(leaf.NotAfter):
		return nil, &Error{Path: path, Problem: ErrExpired, Detail: "it expired on " + leaf.NotAfter.UTC().Format(time.DateOnly),
			Advice: "make a new certificate, upload it to the app registration (Certificates & secrets) and put it with its key in " + path}
	case now.Before(leaf.NotBefore):
		return nil, &Error{Path: path, Problem: ErrExpired, Detail: "it is not valid before " + leaf.NotBefore.UTC().Format(time.RFC3339),
			Advice: "check this machine's clock, or wait until the certificate in " + path + " is valid"}
	}
	return &Certificate{Leaf: leaf, Chain: append([]*x509.Certificate{leaf}, chain...), Key: rk}, nil
}

// parseKey parses one private key block.
func parseKey(b *pem.Block) (crypto.PrivateKey, error) {
	switch b.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(b.Bytes)
	}
	return x509.ParsePKCS8PrivateKey(b.Bytes)
}
