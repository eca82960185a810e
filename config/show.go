package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// shown is how a configuration value appears in an error message, one
// rule for every echoed value, because a secret pasted into the wrong key
// or variable must not end up in a terminal or a CI log:
//   - a value that looks like an Entra ID client secret (it contains "~",
//     or is 30 or more characters of [A-Za-z0-9._~-]) is never shown, not
//     even in part: only its length;
//   - a short (at most 24 characters), printable value is quoted in full;
//   - anything else shows its first 3 characters, "…" and its length.
func shown(s string) string {
	n := utf8.RuneCountInString(s)
	switch {
	case looksLikeSecretValue(s):
		return fmt.Sprintf("(%d characters, not shown: it looks like a client secret)", n)
	case n <= 24 && isPlain(s):
		return strconv.Quote(s)
	}
	r := []rune(s)
	return fmt.Sprintf("%q (%d characters)", string(r[:min(3, len(r))])+"…", n)
}

// shownPath is shown for a value that should be a file path: an absolute
// or ./, ../, ~/ path is shown as it is, unless it looks like a secret.
func shownPath(p string) string {
	if isPathLike(p) && isPlain(p) && !looksLikeSecretValue(p) {
		return p
	}
	return shown(p)
}

// isShownInFull reports whether shown(s) is s itself, quoted; only then
// may a message add details (such as a parser's) that repeat the value.
func isShownInFull(s string) bool { return shown(s) == strconv.Quote(s) }

var secretValueRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{30,}$`)

// looksLikeSecretValue reports whether s looks like an Entra ID client
// secret value (these contain "~"; older ones are long random strings).
func looksLikeSecretValue(s string) bool {
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

func isPathLike(p string) bool {
	for _, pre := range []string{"/", "./", "../", "~/"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}
