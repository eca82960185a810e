// Package certfile reads the file a client-credentials profile signs its
// Entra ID client assertion with: a PEM file holding the certificate (and
// any chain) and its unencrypted private key, or a PKCS#12 file (as
// OpenSSL 3 writes it, AES and SHA-256, or the legacy 3DES/RC2 and SHA-1
// kind) with or without a password. Every problem with the file is an *Error of kind failure.Config
// whose message names the file and what is wrong with it and whose hint
// says what to do, so that a profile can be checked when it is loaded,
// before anything is sent. The package is a leaf: it imports nothing of
// m365send but internal/failure (and go-pkcs12, a maintained PKCS#12
// reader: golang.org/x/crypto/pkcs12 is frozen and reads neither AES nor
// SHA-256 MACs).
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
	"software.sslmate.com/src/go-pkcs12"
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
	// ErrBadPKCS12: the file is not PEM and cannot be read as a PKCS#12
	// file.
	ErrBadPKCS12 = errors.New("is neither PEM nor a readable PKCS#12 file")
	// ErrNeedsPassword: the file is a PKCS#12 file protected by a
	// password, and none was given.
	ErrNeedsPassword = errors.New("is a PKCS#12 file protected by a password")
	// ErrWrongPassword: the password given does not open the PKCS#12
	// file.
	ErrWrongPassword = errors.New("is a PKCS#12 file the password given does not open")
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
// now. password opens a PKCS#12 file ("" for none).
func Load(path, password string) (*Certificate, error) {
	data, err := read(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, password, time.Now())
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
// messages only): PEM if it contains a PEM block, else PKCS#12, opened
// with password ("" opens a file without a password or with an empty
// one; a PEM file ignores it). It needs at least one certificate and
// exactly one RSA private key that belongs to one of the certificates,
// and that certificate must be valid at now.
func Parse(path string, data []byte, password string, now time.Time) (*Certificate, error) {
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, &Error{Path: path, Problem: ErrBadPEM, Detail: "the file is empty", Advice: pemAdvice(path)}
		}
		return parsePKCS12(path, data, password, now)
	}
	var blocks []*pem.Block
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
	return fromBlocks(path, blocks, now)
}

// passwordAdvice says where a PKCS#12 file's password comes from.
func passwordAdvice(path string) string {
	return "put the password of " + path + " in an environment variable and name it with certificate_password_env (or set AZURE_CLIENT_CERTIFICATE_PASSWORD)"
}

// parsePKCS12 reads a PKCS#12 file: its certificates and its one key.
func parsePKCS12(path string, data []byte, password string, now time.Time) (*Certificate, error) {
	key, leaf, chain, err := pkcs12.DecodeChain(data, password)
	switch {
	case err == nil:
	case errors.Is(err, pkcs12.ErrIncorrectPassword) && password == "":
		return nil, &Error{Path: path, Problem: ErrNeedsPassword, Advice: passwordAdvice(path)}
	case errors.Is(err, pkcs12.ErrIncorrectPassword), errors.Is(err, pkcs12.ErrDecryption):
		return nil, &Error{Path: path, Problem: ErrWrongPassword,
			Advice: "check the password (openssl pkcs12 -in " + path + " -noout asks for it); " + passwordAdvice(path)}
	case err.Error() == "pkcs12: private key missing":
		// go-pkcs12 has no error value for these two.
		return nil, &Error{Path: path, Problem: ErrNoKey,
			Advice: "export the certificate with its private key (openssl pkcs12 -export -in cert.pem -inkey key.pem -out " + path + ")"}
	case err.Error() == "pkcs12: certificate missing":
		return nil, &Error{Path: path, Problem: ErrNoCertificate,
			Advice: "export the certificate uploaded to the app registration with its key (openssl pkcs12 -export -in cert.pem -inkey key.pem -out " + path + ")"}
	default:
		return nil, &Error{Path: path, Problem: ErrBadPKCS12, Err: err,
			Advice: "check that " + path + " is the certificate file (openssl pkcs12 -in " + path + " -noout reads it), or convert it to PEM (openssl pkcs12 -in " + path + " -nodes -out cert.pem) and name cert.pem instead"}
	}
	return assemble(path, append([]*x509.Certificate{leaf}, chain...), []crypto.PrivateKey{key}, now)
}

// fromBlocks builds a Certificate from PEM blocks.
func fromBlocks(path string, blocks []*pem.Block, now time.Time) (*Certificate, error) {
	var certs []*x509.Certificate
	var keys []crypto.PrivateKey
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
			k, err := parseKey(b)
			if err != nil {
				return nil, &Error{Path: path, Problem: ErrBadPEM, Detail: "the " + b.Type + " block does not parse", Err: err, Advice: pemAdvice(path)}
			}
			keys = append(keys, k)
		}
	}
	return assemble(path, certs, keys, now)
}

// assemble checks a file's certificates and keys: one RSA key, the
// certificate it belongs to, valid at now.
func assemble(path string, certs []*x509.Certificate, keys []crypto.PrivateKey, now time.Time) (*Certificate, error) {
	if len(certs) == 0 {
		return nil, &Error{Path: path, Problem: ErrNoCertificate,
			Advice: "add the certificate (BEGIN CERTIFICATE) that was uploaded to the app registration to " + path + ", beside its key"}
	}
	if len(keys) == 0 {
		return nil, &Error{Path: path, Problem: ErrNoKey,
			Advice: "add the certificate's unencrypted private key (BEGIN PRIVATE KEY) to " + path + ", e.g. cat cert.pem key.pem > " + path}
	}
	if len(keys) > 1 {
		return nil, &Error{Path: path, Problem: ErrNoKey, Detail: fmt.Sprintf("it holds %d private keys, want one", len(keys)),
			Advice: "keep only the key of the certificate uploaded to the app registration in " + path}
	}
	rk, ok := keys[0].(*rsa.PrivateKey)
	if !ok {
		return nil, &Error{Path: path, Problem: ErrNotRSA, Detail: fmt.Sprintf("%T", keys[0]),
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
