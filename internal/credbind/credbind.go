// Package credbind binds cached app-only access tokens to the client
// credential that obtained them (package token uses it), through a
// sidecar file beside the token cache that holds a fingerprint of the
// credential, never the credential.
package credbind

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/m365send/m365send/internal/tokencache"
)

// Cached app-only access tokens are bound to the client credential that
// obtained them. Without the binding, a client-credentials profile whose
// credential was changed to a wrong one (a mistyped new secret, an
// unregistered certificate) would keep working from the cache for up to
// the lifetime of the last token and only then fail.
//
// Whenever Entra ID issues a token for a client credential (so it accepted
// the credential), the Source writes a small sidecar file <cache>.cred
// beside the cache file (0600, with the cache's atomic writer, under the
// cache's lock). It holds a credential fingerprint, never the credential:
//
//   - client secret: HMAC-SHA256 of the secret keyed with a random 32-byte
//     salt that is stored with it (not a plain hash, which a list of
//     guessed secrets could be checked against across files);
//   - certificate: the SHA-256 thumbprint of the signing certificate
//     (public anyway);
//   - federated token file: the file's path (the assertion in it rotates
//     by design).
//
// Before the cache is used, under the lock, the current credential's
// fingerprint is compared with the sidecar's. If the sidecar is missing,
// unreadable or different, cached access tokens are ignored (as Refresh
// does) so Entra ID is asked: a wrong credential fails at once with its
// AADSTS error, a right new one gets a token and rewrites the sidecar. The
// sidecar is metadata of the profile's one cache file: Logout and Forget
// remove it with the cache. Device-code profiles and memory-only caches
// have no sidecar.

// credKind names the kind of a client credential in the sidecar.
const (
	credKindSecret      = "client_secret"
	credKindCertificate = "certificate"
	credKindFederated   = "federated_token_file"
)

// Secret is the ID of a client secret.
func Secret(secret string) *ID { return &ID{kind: credKindSecret, secret: secret} }

// Certificate is the ID of a certificate credential: the SHA-256
// thumbprint of the certificate in certs whose public key matches key.
func Certificate(certs []*x509.Certificate, key any) *ID {
	return &ID{kind: credKindCertificate, public: certThumbprint(certs, key)}
}

// FederatedFile is the ID of a federated token file credential: its path.
func FederatedFile(path string) *ID { return &ID{kind: credKindFederated, public: path} }

// binding is the sidecar's content.
type binding struct {
	// Kind is credKindSecret, credKindCertificate or credKindFederated.
	Kind string `json:"kind"`
	// Salt is the random HMAC key of a secret's fingerprint (hex).
	Salt string `json:"salt,omitempty"`
	// Fingerprint identifies the credential (see the comment above).
	Fingerprint string `json:"fingerprint"`
}

// ID identifies the client credential of a token source. It is built
// with the MSAL client (the first time the Source needs it, as that reads
// the certificate file) and lives only in memory.
type ID struct {
	kind string
	// secret is the client secret (only kept to compute its HMAC).
	secret string
	// public is the certificate thumbprint (hex) or the federated token
	// file's path.
	public string
}

// fingerprint is id's fingerprint under salt (salt is used for a secret
// only).
func (id *ID) fingerprint(salt []byte) string {
	if id.kind == credKindSecret {
		m := hmac.New(sha256.New, salt)
		m.Write([]byte(id.secret))
		return hex.EncodeToString(m.Sum(nil))
	}
	return id.public
}

// matches reports whether b was written for this credential.
func (id *ID) matches(b binding) bool {
	if b.Kind != id.kind || b.Fingerprint == "" {
		return false
	}
	var salt []byte
	if id.kind == credKindSecret {
		var err error
		salt, err = hex.DecodeString(b.Salt)
		if err != nil || len(salt) < 16 {
			return false
		}
	}
	return subtle.ConstantTimeCompare([]byte(id.fingerprint(salt)), []byte(b.Fingerprint)) == 1
}

// newBinding is a fresh sidecar content for id, with a new random salt for
// a secret.
func (id *ID) newBinding() (binding, error) {
	b := binding{Kind: id.kind}
	if id.kind == credKindSecret {
		salt := make([]byte, 32)
		if _, err := rand.Read(salt); err != nil {
			return binding{}, err
		}
		b.Salt = hex.EncodeToString(salt)
		b.Fingerprint = id.fingerprint(salt)
		return b, nil
	}
	b.Fingerprint = id.public
	return b, nil
}

// certThumbprint is the SHA-256 thumbprint (hex) of the certificate whose
// public key matches key (the one MSAL signs with), or of the first one.
func certThumbprint(certs []*x509.Certificate, key any) string {
	if len(certs) == 0 {
		return ""
	}
	signing := certs[0]
	if k, ok := key.(*rsa.PrivateKey); ok {
		for _, c := range certs {
			if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.Equal(&k.PublicKey) {
				signing = c
				break
			}
		}
	}
	sum := sha256.Sum256(signing.Raw)
	return hex.EncodeToString(sum[:])
}

// Bound reports whether the cache file (s)'s access tokens were
// obtained with id. Called with the file lock held; a missing or
// unreadable sidecar means no.
func Bound(s *tokencache.Store, id *ID) bool {
	if s.Path == "" || id == nil {
		return true
	}
	data, err := tokencache.ReadPrivate(s.BindingPath(), tokencache.MaxSize)
	if err != nil {
		return false
	}
	var b binding
	if err := json.Unmarshal(bytes.TrimSpace(data), &b); err != nil {
		return false
	}
	return id.matches(b)
}

// Bind records that the cache's access tokens now come from id. Called
// with the file lock held, after Entra ID issued a token for id.
func Bind(s *tokencache.Store, id *ID) error {
	if s.Path == "" || id == nil {
		return nil
	}
	b, err := id.newBinding()
	if err != nil {
		return fmt.Errorf("token cache credential binding: %w", err)
	}
	data, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("token cache credential binding: %w", err)
	}
	return s.WriteFile(s.BindingPath(), append(data, '\n'), nil)
}
