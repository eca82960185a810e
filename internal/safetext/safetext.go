// Package safetext makes text from elsewhere (a server's reply, an Entra
// ID error description, a file name, a panic value) safe to print on a
// terminal as one line: control characters cannot move the cursor, ring
// the bell, rewrite the title or start an escape sequence, and line breaks
// cannot forge a second message.
//
// It is a leaf package: it imports nothing of m365send.
package safetext

import (
	"strings"
	"unicode/utf8"
)

// OneLine returns s on one line, safe for a terminal: every C0 control
// character (line breaks, tab and ESC included), DEL, every C1 control
// character and every Unicode bidirectional formatting character becomes
// a space, invalid UTF-8 becomes U+FFFD, and runs of spaces collapse to
// one, with none at either end.
func OneLine(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false // a space is pending
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			r = utf8.RuneError
		case r == ' ' || isControl(r):
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isControl reports whether r is a character a terminal may act on rather
// than show: C0 and C1 controls, DEL, and the bidirectional formatting
// characters that reorder what is shown (U+061C, U+200E, U+200F,
// U+202A-U+202E, U+2066-U+2069), as well as the line and paragraph
// separators.
func isControl(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r == 0x2028, r == 0x2029,
		r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}
