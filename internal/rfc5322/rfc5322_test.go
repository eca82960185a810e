package rfc5322

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	label := strings.Repeat("d", 63)
	domain := strings.Join([]string{label, label, label, label[:60]}, ".") // 63*3+60+3 = 252: with "a@", 254
	for _, c := range []struct {
		in, addr, name string
		ok             bool
	}{
		{in: "ann@example.com", addr: "ann@example.com", ok: true},
		{in: "Ann Example <ann@example.com>", addr: "ann@example.com", name: "Ann Example", ok: true},
		{in: "=?utf-8?q?J=C3=B6rg?= <j@example.com>", addr: "j@example.com", name: "Jörg", ok: true},
		{in: "=?x-unknown?q?abc?= <j@example.com>", addr: "j@example.com", name: "abc", ok: true},
		{in: long(64) + "@example.com", addr: long(64) + "@example.com", ok: true},
		{in: long(65) + "@example.com"},
		{in: "a@" + domain, addr: "a@" + domain, ok: true},
		{in: "ab@" + domain},                          // 255 octets, over the path limit
		{in: "a@" + domain + strings.Repeat(".x", 2)}, // the domain alone is 256
		{in: long(64) + "@" + domain},                 // 317 octets
		{in: "ann@example.com\r\nBcc: x@example.com"},
		{in: "not an address"},
		{in: "root"},
		{in: "<>"},
		{in: "a@b@example.com"},
		{in: "a\u009b31m@example.com"},
		{in: "a\x7f@example.com"},
	} {
		a, err := ParseAddress(c.in)
		if (err == nil) != c.ok {
			t.Errorf("ParseAddress(%.40q) error %v, want ok %v", c.in, err, c.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrAddress) {
				t.Errorf("ParseAddress(%.40q) error %v does not wrap ErrAddress", c.in, err)
			}
			continue
		}
		if a.Address != c.addr || a.Name != c.name {
			t.Errorf("ParseAddress(%q) = %q %q, want %q %q", c.in, a.Name, a.Address, c.name, c.addr)
		}
	}
}

func TestParseAddressList(t *testing.T) {
	l, err := ParseAddressList("a@example.com, Bee <b@example.com>")
	if err != nil || len(l) != 2 || l[1].Address != "b@example.com" {
		t.Fatalf("ParseAddressList = %v, %v", l, err)
	}
	if _, err := ParseAddressList("a@example.com, " + strings.Repeat("x", 65) + "@example.com"); !errors.Is(err, ErrAddress) {
		t.Errorf("an over-long local part in a list: %v", err)
	}
}

func TestNewMessageID(t *testing.T) {
	id, err := NewMessageID(bytes.NewReader(make([]byte, 16)), "contoso.com")
	if err != nil || id != "<00000000000000000000000000000000@contoso.com>" {
		t.Errorf("NewMessageID = %q, %v", id, err)
	}
	if _, err := NewMessageID(strings.NewReader("short"), "x"); err == nil {
		t.Error("a short read made an ID")
	}
	a, _ := NewMessageID(nil, "x")
	b, _ := NewMessageID(nil, "x")
	if a == b {
		t.Error("two IDs are equal")
	}
}

func TestDomainAndASCII(t *testing.T) {
	if Domain("a@b.example") != "b.example" || Domain("a@") != "" || Domain("nobody") != "" {
		t.Error("Domain")
	}
	if !IsASCII("plain") || IsASCII("jörg@example.com") {
		t.Error("IsASCII")
	}
	if Truncate("äöü", 3) != "ä..." || Truncate("abc", 3) != "abc" {
		t.Errorf("Truncate = %q", Truncate("äöü", 3))
	}
}

// writeAll writes in through a Writer, whole and split at every point.
func writeAll(t *testing.T, mk func(*bytes.Buffer) *Writer, in string) (string, error) {
	t.Helper()
	var whole bytes.Buffer
	w := mk(&whole)
	_, err := w.Write([]byte(in))
	if err == nil {
		err = w.Close()
	}
	for i := range len(in) + 1 {
		var b bytes.Buffer
		w := mk(&b)
		_, err2 := w.Write([]byte(in[:i]))
		if err2 == nil {
			_, err2 = w.Write([]byte(in[i:]))
		}
		if err2 == nil {
			err2 = w.Close()
		}
		if (err == nil) != (err2 == nil) || (err == nil && b.String() != whole.String()) {
			t.Fatalf("%q split at %d gives %q (%v), whole %q (%v)", in, i, b.String(), err2, whole.String(), err)
		}
	}
	return whole.String(), err
}

// TestCRLF keeps the table of the two CRLF helpers it replaces (sendmail's
// appendCRLF and sender's writeCRLF): bare LFs become CRLF, all else stays.
func TestCRLF(t *testing.T) {
	for in, want := range map[string]string{
		"":          "",
		"a":         "a\r\n",
		"a\n":       "a\r\n",
		"\n\n":      "\r\n\r\n",
		"a\r\nb\nc": "a\r\nb\r\nc\r\n",
		"a\r":       "a\r\n",
		"a\rb\r\n":  "a\rb\r\n",
		"\x00\n":    "\x00\r\n",
	} {
		got, err := writeAll(t, func(b *bytes.Buffer) *Writer { return NewWriter(b) }, in)
		if err != nil || got != want {
			t.Errorf("CRLF(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestRepairWriter(t *testing.T) {
	long := strings.Repeat("x", 1200)
	words := strings.Repeat("word ", 300) // 1500 octets with blanks
	for _, c := range []struct {
		name, in, want string
	}{
		{"CRLF", "A: b\n\nbody\n", "A: b\r\n\r\nbody\r\n"},
		{"lone CR in the body ends the line", "A: b\n\n10%\r50%\r100%\n", "A: b\r\n\r\n10%\r\n50%\r\n100%\r\n"},
		{"lone CR in a header is a space", "A: b\rc\r\r\nD: e\n\nx", "A: b c \r\nD: e\r\n\r\nx\r\n"},
		{"long body line broken with CRLF SP", "A: b\n\n" + long, "A: b\r\n\r\n" + long[:998] + "\r\n " + long[998:] + "\r\n"},
		{"long header folded at a blank", "X-A: " + words + "\n\nb", ""},
		{"long header without a blank broken", "X-A: " + long + "\n\nb", "X-A:\r\n " + long[:997] + "\r\n " + long[997:] + "\r\n\r\nb\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := writeAll(t, func(b *bytes.Buffer) *Writer { return NewRepairWriter(b) }, c.in)
			if err != nil {
				t.Fatal(err)
			}
			if c.want != "" && got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
			checkLines(t, got)
			// Unfolding a folded header gives the header back.
			if strings.HasPrefix(c.name, "long header folded") {
				head, _, _ := strings.Cut(got, "\r\n\r\n")
				if u := strings.ReplaceAll(head, "\r\n", ""); u != "X-A: "+words {
					t.Errorf("unfolded header differs: %q", u)
				}
			}
		})
	}
	var b bytes.Buffer
	if _, err := NewRepairWriter(&b).Write([]byte("A: b\n\nx\x00y")); !errors.Is(err, ErrNUL) {
		t.Errorf("NUL: %v", err)
	}
	if err := CheckText([]byte("ok\x00")); !errors.Is(err, ErrNUL) || CheckText([]byte("ok")) != nil {
		t.Error("CheckText")
	}
}

// checkLines fails unless s is CRLF lines of at most MaxLine octets with
// no other CR or LF.
func checkLines(t *testing.T, s string) {
	t.Helper()
	if s != "" && !strings.HasSuffix(s, "\r\n") {
		t.Errorf("does not end with CRLF: %q", Truncate(s, 40))
	}
	for i, l := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		if len(l) > MaxLine {
			t.Errorf("line %d has %d octets", i+1, len(l))
		}
		if strings.ContainsAny(l, "\r\n\x00") {
			t.Errorf("line %d holds a bare CR, LF or NUL: %q", i+1, Truncate(l, 40))
		}
	}
}

func TestFold(t *testing.T) {
	short := "Subject: hello"
	if got, err := Fold(short); got != short || err != nil {
		t.Errorf("Fold(short) = %q, %v", got, err)
	}
	field := "From: " + strings.Repeat("Firstname Lastname ", 60000) + "<a@example.com>" // over 1 MB
	got, err := Fold(field)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(got, "\r\n") {
		if len(l) > FoldAt {
			t.Fatalf("line %d has %d octets: %q", i+1, len(l), l)
		}
		if i > 0 && l[0] != ' ' {
			t.Fatalf("continuation line %d does not start with a blank", i+1)
		}
	}
	if strings.ReplaceAll(got, "\r\n", "") != field {
		t.Error("unfolding does not give the field back")
	}
	if _, err := Fold("From: " + strings.Repeat("x", MaxLine)); !errors.Is(err, ErrLineTooLong) {
		t.Errorf("unfoldable: %v", err)
	}
	// A word longer than FoldAt but within MaxLine gets a line of its own.
	w := strings.Repeat("y", 200)
	if got, err := Fold("X-A: a " + w + " b"); err != nil || got != "X-A: a\r\n "+w+"\r\n b" {
		t.Errorf("Fold = %q, %v", got, err)
	}
}
