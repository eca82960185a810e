// Package masked decides how a configuration value appears in a message:
// in full, in part, or (when it looks like a client secret) only as its
// length. Package config uses it for every value it echoes.
//
// It is a leaf package: it imports nothing of m365send.
package masked

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Value is how a configuration value appears in an error message, one
// rule for every echoed value, because a secret pasted into the wrong key
// or variable must not end up in a terminal or a CI log:
//   - a value that looks like an Entra ID client secret (it contains "~",
//     or is 30 or more characters of [A-Za-z0-9._~-]) is never shown, not
//     even in part: only its length;
//   - a short (at most 24 characters), printable value is quoted in full;
//   - anything else shows its first 3 characters, "…" and its length.
func Value(s string) string {
	n := utf8.RuneCountInString(s)
	switch {
	case LooksLikeSecret(s):
		return fmt.Sprintf("(%d characters, not shown: it looks like a client secret)", n)
	case n <= 24 && isPlain(s):
		return strconv.Quote(s)
	}
	r := []rune(s)
	return fmt.Sprintf("%q (%d characters)", string(r[:min(3, len(r))])+"…", n)
}

// Path is Value for a value that should be a file path: an absolute
// or ./, ../, ~/ path is shown as it is, unless it looks like a secret.
func Path(p string) string {
	if isPathLike(p) && isPlain(p) && !LooksLikeSecret(p) {
		return p
	}
	return Value(p)
}

// InFull reports whether Value(s) is s itself, quoted; only then
// may a message add details (such as a parser's) that repeat the value.
func InFull(s string) bool { return Value(s) == strconv.Quote(s) }

var secretValueRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{30,}$`)

// LooksLikeSecret reports whether s looks like an Entra ID client
// secret value (these contain "~"; older ones are long random strings).
func LooksLikeSecret(s string) bool {
	return strings.Contains(s, "~") && !strings.HasPrefix(s, "~/") || secretValueRE.MatchString(s)
}

// isPlain reports whether s is printable ASCII.
func isPlain(s string) bool {
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return false
		}
	}
	return true
}

// isPathLike reports whether p is an absolute or ./, ../, ~/ path.
func isPathLike(p string) bool {
	for _, pre := range []string{"/", "./", "../", "~/"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}
