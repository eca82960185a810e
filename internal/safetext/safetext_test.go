package safetext

import (
	"testing"
	"unicode/utf8"
)

func TestOneLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain text", "plain text"},
		{"  padded \t text  ", "padded text"},
		{"AADSTS7000215: bad secret.\r\nTrace ID: x\r\n", "AADSTS7000215: bad secret. Trace ID: x"},
		{"lone\rCR", "lone CR"},
		{"bell\a and \x1b[31mred\x1b[0m", "bell and [31mred [0m"},
		{"title \x1b]0;pwned\x07 set", "title ]0;pwned set"},
		{"del\x7f and C1 \u009b31m", "del and C1 31m"},
		{"nul\x00byte", "nul byte"},
		{"bidi \u202egnp.exe\u202c end", "bidi gnp.exe end"},
		{"line\u2028sep", "line sep"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"naïve café ✓", "naïve café ✓"},
	} {
		if got := OneLine(tc.in); got != tc.want {
			t.Errorf("OneLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzOneLine(f *testing.F) {
	for _, s := range []string{"", "a\r\nb", "\x1b[2J", "612 \"0\r0\"", "\xff\xfe", "\u202e x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := OneLine(s)
		if !utf8.ValidString(out) {
			t.Fatalf("OneLine(%q) = %q: invalid UTF-8", s, out)
		}
		for _, r := range out {
			if isControl(r) {
				t.Fatalf("OneLine(%q) = %q keeps control %U", s, out, r)
			}
		}
		if OneLine(out) != out {
			t.Fatalf("OneLine is not idempotent on %q", s)
		}
	})
}
