// Package ids makes the identifiers the fake Entra ID (token/entratest)
// hands out: GUID-shaped object IDs and random codes and secrets.
package ids

import (
	"crypto/rand"
	"crypto/sha1" // #nosec G505 -- a stable ID, not a security hash
	"encoding/hex"
)

// Derived makes a stable GUID-shaped ID from s.
func Derived(s string) string {
	h := sha1.Sum([]byte(s)) // #nosec G401
	return guid(h[:16])
}

// New makes a random GUID-shaped ID.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return guid(b[:])
}

func guid(b []byte) string {
	x := hex.EncodeToString(b)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// Random returns n random characters from an unambiguous alphabet.
func Random(n int) string {
	const alphabet = "BCDFGHJKLMNPQRSTVWXZ23456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
