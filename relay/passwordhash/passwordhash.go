// Package passwordhash hashes and checks the relay users' passwords with
// argon2id, in the PHC string format a [[relay.users]] password_hash holds.
package passwordhash

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the cost parameters of an argon2id password hash.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// Make returns password's argon2id hash in the PHC string format
// ($argon2id$v=19$m=65536,t=3,p=4$salt$key, base64 without padding), made
// with p and a random salt.
func Make(password string, p Params) (string, error) {
	if password == "" {
		return "", errors.New("relay: empty password")
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("relay: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encodeHash(p, salt, key), nil
}

func encodeHash(p Params, salt, key []byte) string {
	b := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, b.EncodeToString(salt), b.EncodeToString(key))
}

// Hash is a parsed PHC string.
type Hash struct {
	p         Params
	salt, key []byte
}

// Params are the parameters the hash was made with.
func (h *Hash) Params() Params { return h.p }

// Limits on what a password_hash may ask for, so a mistyped parameter
// cannot make each login take minutes or gigabytes.
const (
	maxMemory = 1 << 21 // KiB: 2 GiB
	maxTime   = 100
)

// Parse parses an argon2id PHC string, refusing parameters beyond the
// limits above.
func Parse(s string) (*Hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, errors.New("relay: not an argon2id PHC string")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return nil, errors.New("relay: unsupported argon2 version")
	}
	var h Hash
	var m, t uint32
	var th uint8
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &th); err != nil || n != 3 || m < 8 || m > maxMemory || t < 1 || t > maxTime || th < 1 {
		return nil, errors.New("relay: bad argon2id parameters")
	}
	b := base64.RawStdEncoding
	salt, err := b.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return nil, errors.New("relay: bad argon2id salt")
	}
	key, err := b.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 128 {
		return nil, errors.New("relay: bad argon2id key")
	}
	h.p = Params{Memory: m, Time: t, Threads: th, SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	h.salt, h.key = salt, key
	return &h, nil
}

// Verify reports whether password matches h, comparing in constant time.
func (h *Hash) Verify(password string) bool {
	key := argon2.IDKey([]byte(password), h.salt, h.p.Time, h.p.Memory, h.p.Threads, h.p.KeyLen)
	return subtle.ConstantTimeCompare(key, h.key) == 1
}

// Decoy returns a hash with p's cost that no password matches, to spend on
// an unknown user the time a known one costs.
func Decoy(p Params) *Hash {
	salt := make([]byte, p.SaltLen)
	key := make([]byte, p.KeyLen)
	rand.Read(salt)
	rand.Read(key)
	return &Hash{p: p, salt: salt, key: key}
}
