package rfc5322

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzRepairWriter writes text through a repairing Writer, whole and in
// two pieces: the two results agree, every line is CRLF-terminated and at
// most MaxLine octets with no other CR, LF or NUL, and removing what the
// repair adds gives back the input's bytes (bar CR, LF, and the blanks put
// in for lone CRs).
func FuzzRepairWriter(f *testing.F) {
	f.Add([]byte("A: b\n\n10%\r50%\r100%\n"), 3)
	f.Add([]byte("X-A: "+strings.Repeat("word ", 300)+"\n\nb"), 500)
	f.Add([]byte("A: b\rc\r\r\nD: e\n\nx"), 0)
	f.Add([]byte(strings.Repeat("x", 2500)), 999)
	f.Add([]byte("a\x00b"), 1)
	f.Fuzz(func(t *testing.T, in []byte, split int) {
		write := func(parts ...[]byte) ([]byte, error) {
			var b bytes.Buffer
			w := NewRepairWriter(&b)
			for _, p := range parts {
				if _, err := w.Write(p); err != nil {
					return nil, err
				}
			}
			err := w.Close()
			return b.Bytes(), err
		}
		whole, err := write(in)
		if split < 0 {
			split = -split
		}
		split %= len(in) + 1
		halves, err2 := write(in[:split], in[split:])
		if (err == nil) != (err2 == nil) || err == nil && !bytes.Equal(whole, halves) {
			t.Fatalf("whole %q (%v) != split at %d %q (%v)", whole, err, split, halves, err2)
		}
		if err != nil {
			if !errors.Is(err, ErrNUL) || bytes.IndexByte(in, 0) < 0 {
				t.Fatalf("error %v for %q", err, in)
			}
			return
		}
		if len(in) > 0 && !bytes.HasSuffix(whole, []byte("\r\n")) {
			t.Fatalf("does not end with CRLF: %q", whole)
		}
		for i, l := range bytes.Split(bytes.TrimSuffix(whole, []byte("\r\n")), []byte("\r\n")) {
			if len(l) > MaxLine || bytes.ContainsAny(l, "\r\n\x00") {
				t.Fatalf("line %d (%d octets): %.60q", i+1, len(l), l)
			}
		}
		strip := func(b []byte) []byte {
			return bytes.Map(func(r rune) rune {
				if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
					return -1
				}
				return r
			}, b)
		}
		if !bytes.Equal(strip(in), strip(whole)) {
			t.Fatalf("content changed:\n in %q\nout %q", in, whole)
		}
	})
}

// FuzzParseAddress: an address that parses keeps to SMTP's limits and
// survives its own formatting.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"ann@example.com", "Ann Example <ann@example.com>", "=?utf-8?q?J=C3=B6rg?= <j@example.com>",
		"\"a b\"@example.com", "Jörg <jörg@bücher.example>", strings.Repeat("a", 64) + "@example.com", "a@b@c", "<>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			if !errors.Is(err, ErrAddress) {
				t.Fatalf("error %v does not wrap ErrAddress", err)
			}
			return
		}
		if err := CheckAddress(a.Address); err != nil {
			t.Fatalf("ParseAddress(%q) gave %q, which CheckAddress refuses: %v", s, a.Address, err)
		}
		b, err := ParseAddress(a.String())
		if err != nil || b.Address != a.Address {
			t.Fatalf("%q → %q → %v, %v", s, a.String(), b, err)
		}
	})
}

// FuzzFold: a folded field unfolds to itself and keeps to MaxLine.
func FuzzFold(f *testing.F) {
	f.Add("Subject: " + strings.Repeat("word ", 40))
	f.Add("From: \"" + strings.Repeat("Name ", 300) + "\" <a@example.com>")
	f.Add("X-A:\t" + strings.Repeat("y", 200) + " z")
	f.Fuzz(func(t *testing.T, field string) {
		if strings.ContainsAny(field, "\r\n") {
			return
		}
		got, err := Fold(field)
		if err != nil {
			if !errors.Is(err, ErrLineTooLong) {
				t.Fatal(err)
			}
			return
		}
		if strings.ReplaceAll(got, "\r\n", "") != field {
			t.Fatalf("Fold(%q) = %q does not unfold to the field", field, got)
		}
		for _, l := range strings.Split(got, "\r\n") {
			if len(l) > MaxLine {
				t.Fatalf("a %d-octet line", len(l))
			}
		}
	})
}

// TestDisplayNamesThatCannotBeWrittenBack: names that net/mail parses but
// cannot format into a header that parses again are refused with
// ErrAddress instead of producing an unreadable From or To line.
func TestDisplayNamesThatCannotBeWrittenBack(t *testing.T) {
	for _, s := range []string{
		"0@0(\\\\\x00)",                      // the fuzzer's find: a NUL in a comment used as the name
		"\"J\u00f6rg \\\\\" <j@example.com>", // non-ASCII and a backslash: Q-encoded with the backslash kept
		"\"a\x1bb\" <a@example.com>",         // an escape character
	} {
		if a, err := ParseAddress(s); !errors.Is(err, ErrAddress) {
			t.Errorf("ParseAddress(%q) = %v, %v; want ErrAddress", s, a, err)
		}
		if l, err := ParseAddressList("x@example.com, " + s); !errors.Is(err, ErrAddress) {
			t.Errorf("ParseAddressList(..., %q) = %v, %v; want ErrAddress", s, l, err)
		}
	}
	if a, err := ParseAddress("\"J\u00f6rg M\u00fcller\" <j@example.com>"); err != nil || a.Name != "J\u00f6rg M\u00fcller" {
		t.Errorf("a plain non-ASCII name: %v, %v", a, err)
	}
}
