package sendmail

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/rfc5322"
)

// FuzzMessage reads, parses and finishes a message as the sendmail
// command does: it never panics; a refusal is a *MessageError; what is
// finished is CRLF lines of at most 998 octets without NUL or a bare CR
// or LF, every recipient is an address SMTP can carry, and no Bcc field
// is left in the header block.
func FuzzMessage(f *testing.F) {
	f.Add([]byte("From: root (Cron Daemon)\nTo: ops@example.com\nSubject: Cron <root@web01> backup\n\nbackup done\n"), true, false)
	f.Add([]byte("To: Ann <ann@example.com>, bob@example.com\nBcc: hidden@example.com,\n  also@example.com\nSubject: s\n\nbody\n.\nafter the dot\n"), true, false)
	f.Add([]byte("hello world\nsecond: line\n"), false, true)
	f.Add([]byte("From root@host Mon Nov 23 10:00:00 2026\nSubject: x\r\n\r\nä\rb\n\tc\r\nno newline at end"), false, false)
	f.Add([]byte("Subject: "+strings.Repeat("x", 1200)+"\n\n"+strings.Repeat("y", 2000)+"\n"), false, true)
	f.Add([]byte("Cc: =?windows-1252?q?J=F6rg?= <jorg@example.com>\nTo: undisclosed-recipients:;\n\nb\n"), true, true)
	f.Fuzz(func(t *testing.T, in []byte, extract, ignoreDots bool) {
		raw, err := ReadMessage(bytes.NewReader(in), ignoreDots)
		if err != nil {
			t.Fatalf("ReadMessage: %v", err)
		}
		m, err := Parse(raw, &Options{ExtractRecipients: extract, Recipients: []string{"arg@example.com"}})
		sameAsSpool(t, in, m, err, &Options{ExtractRecipients: extract, IgnoreDots: ignoreDots, Recipients: []string{"arg@example.com"}})
		if err != nil {
			var me *MessageError
			if !errors.As(err, &me) || me.Msg == "" {
				t.Fatalf("Parse error %T %v", err, err)
			}
			return
		}
		for _, r := range m.Recipients {
			if err := rfc5322.CheckAddress(r); err != nil {
				t.Fatalf("recipient %q: %v", r, err)
			}
		}
		out, err := m.Bytes(FinishOptions{Mailbox: "m@example.com", Now: func() time.Time { return time.Unix(0, 0) }, Rand: bytes.NewReader(make([]byte, 16))})
		if err != nil {
			t.Fatalf("Bytes: %v", err)
		}
		if !bytes.HasSuffix(out, []byte("\r\n")) {
			t.Fatalf("does not end with CRLF: %q", out)
		}
		inHeader := true
		for i, l := range bytes.Split(bytes.TrimSuffix(out, []byte("\r\n")), []byte("\r\n")) {
			if len(l) > rfc5322.MaxLine || bytes.ContainsAny(l, "\r\n\x00") {
				t.Fatalf("line %d (%d octets): %.80q", i+1, len(l), l)
			}
			if len(l) == 0 {
				inHeader = false
			}
			if inHeader && len(l) > 0 && l[0] != ' ' && l[0] != '\t' {
				if name, _, _ := bytes.Cut(l, []byte(":")); strings.EqualFold(strings.TrimSpace(string(name)), "bcc") {
					t.Fatalf("a Bcc field was sent: %q", l)
				}
			}
		}
	})
}

// FuzzArgs parses sendmail command lines (the input split at NUL bytes):
// it never panics, refuses only with a *UsageError, and gives the same
// result twice.
func FuzzArgs(f *testing.F) {
	for _, args := range [][]string{
		{"-t", "-i"},
		{"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "ops@example.com"},
		{"-tfADDR", "a@example.com", "--", "-notanoption"},
		{"-f", "<>", "-r"},
		{"-bs"},
		{"-q1h"},
		{"--version"},
		{"-oi", "-O", "IgnoreDots", "-C", "/etc/m365send.toml", "-v", "x@example.com"},
	} {
		f.Add(strings.Join(args, "\x00"))
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		o, err := ParseArgs(args)
		o2, err2 := ParseArgs(args)
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) || ue.Msg == "" || err2 == nil || err.Error() != err2.Error() {
				t.Fatalf("ParseArgs(%q) = %T %v, then %v", args, err, err, err2)
			}
			return
		}
		if err2 != nil || !reflect.DeepEqual(o, o2) {
			t.Fatalf("ParseArgs(%q) differs between calls", args)
		}
		if len(o.Recipients) > len(args) {
			t.Fatalf("more recipients than arguments: %q", o.Recipients)
		}
	})
}

// sameAsSpool checks that Spool reads in as ReadMessage and Parse read it
// (giving m or err): the same refusal, or the same recipients and the
// same finished message.
func sameAsSpool(t *testing.T, in []byte, m *Message, err error, opts *Options) {
	t.Helper()
	sm, serr := Spool(bytes.NewReader(in), opts, t.TempDir())
	if (err == nil) != (serr == nil) || err != nil && err.Error() != serr.Error() {
		t.Fatalf("Parse: %v; Spool: %v", err, serr)
	}
	if err != nil {
		return
	}
	defer sm.Remove()
	if !reflect.DeepEqual(m.Recipients, sm.Recipients) || m.Sender != sm.Sender {
		t.Fatalf("recipients %q from %q; Spool: %q from %q", m.Recipients, m.Sender, sm.Recipients, sm.Sender)
	}
	fo := FinishOptions{Mailbox: "m@example.com", Now: func() time.Time { return time.Unix(0, 0) }}
	fo.Rand = bytes.NewReader(make([]byte, 16))
	want, werr := m.Bytes(fo)
	fo.Rand = bytes.NewReader(make([]byte, 16))
	path, gerr := sm.FinishFile(t.TempDir(), fo)
	if werr != nil || gerr != nil {
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("Bytes: %v; FinishFile: %v", werr, gerr)
		}
		return
	}
	got, rerr := os.ReadFile(path)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Spool and FinishFile:\n%q\nParse and Bytes:\n%q", got, want)
	}
}
