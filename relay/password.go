package relay

import "github.com/m365send/m365send/relay/passwordhash"

// Argon2Params are the cost parameters of an argon2id password hash (see
// relay/passwordhash).
type Argon2Params = passwordhash.Params

// DefaultArgon2 are the parameters HashPassword uses: the second
// recommended option of RFC 9106 section 4 (64 MiB, 3 passes, 4 lanes,
// 16-byte salt, 32-byte key), about a tenth of a second on a current
// server core. A relay verifies at most as many passwords at once as it
// has processors, so memory stays bounded under a guessing attack.
var DefaultArgon2 = Argon2Params{Memory: 64 * 1024, Time: 3, Threads: 4, SaltLen: 16, KeyLen: 32}

// HashPassword returns password's argon2id hash in the PHC string format
// ($argon2id$v=19$m=65536,t=3,p=4$salt$key, base64 without padding), made
// with DefaultArgon2 and a random salt, for a user's password_hash.
func HashPassword(password string) (string, error) {
	return passwordhash.Make(password, DefaultArgon2)
}

// hashPassword is HashPassword with the parameters p.
func hashPassword(password string, p Argon2Params) (string, error) {
	return passwordhash.Make(password, p)
}
