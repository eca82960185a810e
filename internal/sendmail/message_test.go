package sendmail

import (
	"bytes"
	"errors"
	"net/mail"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/failure"
)

// fixed makes Bytes deterministic.
var fixed = FinishOptions{
	Mailbox:  "alerts@contoso.example",
	FromName: "Contoso Alerts",
	Now:      func() time.Time { return time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) },
	Rand:     bytes.NewReader(bytes.Repeat([]byte{0xab}, 16)),
}

func finish(t *testing.T, m *Message, o FinishOptions) string {
	t.Helper()
	if o.Rand == nil {
		o.Rand = bytes.NewReader(bytes.Repeat([]byte{0xab}, 16))
	}
	b, err := m.Bytes(o)
	if err != nil {
		t.Fatalf("Bytes: %v", err)
	}
	return string(b)
}

const (
	wantDate = "Date: Tue, 24 Nov 2026 12:00:00 +0000\r\n"
	wantID   = "Message-ID: <abababababababababababababababab@contoso.example>\r\n"
	wantFrom = "From: \"Contoso Alerts\" <alerts@contoso.example>\r\n"
)

func TestPrepare(t *testing.T) {
	complete := "From: a@example.com\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <x@example.com>\n"
	tests := []struct {
		name     string
		args     []string
		in       string
		wantRcpt []string
		want     string
	}{
		{
			name:     "complete message with LF is only made CRLF",
			args:     []string{"to@example.com"},
			in:       complete + "Subject: hi\n\nbody line\n\n  indented\n",
			wantRcpt: []string{"to@example.com"},
			want:     "From: a@example.com\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@example.com>\r\nSubject: hi\r\n\r\nbody line\r\n\r\n  indented\r\n",
		},
		{
			name:     "CRLF input unchanged",
			args:     []string{"to@example.com"},
			in:       "From: a@example.com\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@example.com>\r\n\r\nbody\r\n",
			wantRcpt: []string{"to@example.com"},
			want:     "From: a@example.com\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@example.com>\r\n\r\nbody\r\n",
		},
		{
			// A lone CR may not appear in a message (RFC 5322 2.3): in the
			// body it ends its line, as a terminal shows it.
			name:     "mixed endings, lone CR repaired, 8-bit kept",
			args:     []string{"to@example.com"},
			in:       complete + "\r\nä\rb\n\tc\r\nno newline at end",
			wantRcpt: []string{"to@example.com"},
			want:     "From: a@example.com\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@example.com>\r\n\r\nä\r\nb\r\n\tc\r\nno newline at end\r\n",
		},
		{
			name:     "a lone CR in a header is a space",
			args:     []string{"to@example.com"},
			in:       complete + "Subject: a\rb\n\nbody\n",
			wantRcpt: []string{"to@example.com"},
			want:     "From: a@example.com\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@example.com>\r\nSubject: a b\r\n\r\nbody\r\n",
		},
		{
			name:     "a body line over 998 octets is broken with CRLF SP",
			args:     []string{"to@example.com"},
			in:       complete + "\n" + strings.Repeat("x", 1000) + "\n",
			wantRcpt: []string{"to@example.com"},
			want:     "From: a@example.com\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@example.com>\r\n\r\n" + strings.Repeat("x", 998) + "\r\n xx\r\n",
		},
		{
			name:     "missing Date, Message-ID and From added after the headers",
			args:     []string{"to@example.com"},
			in:       "Subject: hi\nX-Folded: a\n  b\n\nbody\n",
			wantRcpt: []string{"to@example.com"},
			want:     "Subject: hi\r\nX-Folded: a\r\n  b\r\n" + wantFrom + wantDate + wantID + "\r\nbody\r\n",
		},
		{
			name:     "-F names the added From; -f is its address and the Message-ID domain",
			args:     []string{"-F", "Cron Daemon", "-f", "ops@fabrikam.example", "to@example.com"},
			in:       "Subject: hi\n\nbody\n",
			wantRcpt: []string{"to@example.com"},
			want:     "Subject: hi\r\nFrom: \"Cron Daemon\" <ops@fabrikam.example>\r\n" + wantDate + "Message-ID: <abababababababababababababababab@fabrikam.example>\r\n\r\nbody\r\n",
		},
		{
			name:     "non-ASCII -F name is encoded",
			args:     []string{"-FRené", "to@example.com"},
			in:       "Date: x\nMessage-ID: <y@z>\n\nb\n",
			wantRcpt: []string{"to@example.com"},
			want:     "Date: x\r\nMessage-ID: <y@z>\r\nFrom: =?utf-8?q?Ren=C3=A9?= <alerts@contoso.example>\r\n\r\nb\r\n",
		},
		{
			name:     "existing header names match without regard to case",
			args:     []string{"to@example.com"},
			in:       "FROM: a@example.com\ndate: x\nmessage-id: <y@z>\n\nb\n",
			wantRcpt: []string{"to@example.com"},
			want:     "FROM: a@example.com\r\ndate: x\r\nmessage-id: <y@z>\r\n\r\nb\r\n",
		},
		{
			name:     "headers only, no body, no final newline",
			args:     []string{"to@example.com"},
			in:       "Subject: only headers",
			wantRcpt: []string{"to@example.com"},
			want:     "Subject: only headers\r\n" + wantFrom + wantDate + wantID,
		},
		{
			name:     "headers only, ending in a lone CR: one CRLF, not two",
			args:     []string{"to@example.com"},
			in:       "Subject: only headers\r",
			wantRcpt: []string{"to@example.com"},
			want:     "Subject: only headers\r\n" + wantFrom + wantDate + wantID,
		},
		{
			name:     "no header block: the input is the body",
			args:     []string{"to@example.com"},
			in:       "hello world\nsecond: line\n",
			wantRcpt: []string{"to@example.com"},
			want:     wantFrom + wantDate + wantID + "\r\nhello world\r\nsecond: line\r\n",
		},
		{
			name:     "message starting with a blank line has an empty header block",
			args:     []string{"to@example.com"},
			in:       "\nbody\n",
			wantRcpt: []string{"to@example.com"},
			want:     wantFrom + wantDate + wantID + "\r\nbody\r\n",
		},
		{
			name:     "leading Unix From line dropped",
			args:     []string{"to@example.com"},
			in:       "From root@host Mon Nov 23 10:00:00 2026\n" + complete + "\nb\n",
			wantRcpt: []string{"to@example.com"},
			want:     "From: a@example.com\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@example.com>\r\n\r\nb\r\n",
		},
		{
			name:     "-t takes To, Cc and Bcc; Bcc (folded) is stripped",
			args:     []string{"-t"},
			in:       complete + "To: Ann <ann@example.com>, bob@example.com\nBcc: hidden@example.com,\n  also-hidden@example.com\nCc: \"Carl, C.\" <carl@example.com>\nSubject: s\n\nbody\nBcc: in body stays\n",
			wantRcpt: []string{"ann@example.com", "bob@example.com", "carl@example.com", "hidden@example.com", "also-hidden@example.com"},
			want:     "From: a@example.com\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@example.com>\r\nTo: Ann <ann@example.com>, bob@example.com\r\nCc: \"Carl, C.\" <carl@example.com>\r\nSubject: s\r\n\r\nbody\r\nBcc: in body stays\r\n",
		},
		{
			name:     "-t plus arguments: both, each once",
			args:     []string{"-t", "extra@example.com", "BOB@example.com"},
			in:       complete + "To: bob@example.com\n\nb\n",
			wantRcpt: []string{"extra@example.com", "BOB@example.com"},
			want:     "From: a@example.com\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@example.com>\r\nTo: bob@example.com\r\n\r\nb\r\n",
		},
		{
			name:     "without -t headers name no recipients, Bcc still stripped",
			args:     []string{"arg@example.com"},
			in:       complete + "To: header@example.com\nBCC: secret@example.com\nResent-Bcc: r@example.com\n\nb\n",
			wantRcpt: []string{"arg@example.com"},
			want:     "From: a@example.com\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@example.com>\r\nTo: header@example.com\r\n\r\nb\r\n",
		},
		{
			name:     "Bcc as the last header before a body-less end",
			args:     []string{"-t"},
			in:       complete + "Bcc: b@example.com",
			wantRcpt: []string{"b@example.com"},
			want:     "From: a@example.com\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@example.com>\r\n",
		},
		{
			name:     "argument address list, group and encoded names",
			args:     []string{"-t", "a@example.com, B <b@example.com>"},
			in:       complete + "To: undisclosed-recipients:;\nCc: =?windows-1252?q?J=F6rg?= <jorg@example.com>\n\nb\n",
			wantRcpt: []string{"a@example.com", "b@example.com", "jorg@example.com"},
			want:     "From: a@example.com\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@example.com>\r\nTo: undisclosed-recipients:;\r\nCc: =?windows-1252?q?J=F6rg?= <jorg@example.com>\r\n\r\nb\r\n",
		},
		{
			name:     "Debian cron: From without a domain gives way to the added From",
			args:     []string{"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "ops@example.com"},
			in:       "From: root (Cron Daemon)\nTo: ops@example.com\nSubject: Cron <root@web01> backup\nX-Cron-Env: <SHELL=/bin/sh>\n\nbackup done\n",
			wantRcpt: []string{"ops@example.com"},
			want:     "To: ops@example.com\r\nSubject: Cron <root@web01> backup\r\nX-Cron-Env: <SHELL=/bin/sh>\r\nFrom: \"CronDaemon\" <alerts@contoso.example>\r\n" + wantDate + wantID + "\r\nbackup done\r\n",
		},
		{
			name:     "leading dot lines are kept",
			args:     []string{"to@example.com"},
			in:       complete + "\n.hidden\n..\n",
			wantRcpt: []string{"to@example.com"},
			want:     "From: a@example.com\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@example.com>\r\n\r\n.hidden\r\n..\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := ParseArgs(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse([]byte(tt.in), opts)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			ro := *opts
			ro.IgnoreDots = true
			sameAsSpool(t, []byte(tt.in), m, nil, &ro)
			if !reflect.DeepEqual(m.Recipients, tt.wantRcpt) {
				t.Errorf("Recipients = %q, want %q", m.Recipients, tt.wantRcpt)
			}
			o := fixed
			o.Rand = nil
			if got := finish(t, m, o); got != tt.want {
				t.Errorf("Bytes:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestParseSender(t *testing.T) {
	for _, tt := range []struct{ arg, want string }{
		{"ops@example.com", "ops@example.com"},
		{"<ops@example.com>", "ops@example.com"},
		{"Ops <ops@example.com>", "ops@example.com"},
	} {
		m, err := Parse([]byte("Subject: x\n\nb\n"), &Options{Sender: tt.arg, Recipients: []string{"to@example.com"}})
		if err != nil {
			t.Fatalf("-f %q: %v", tt.arg, err)
		}
		if m.Sender != tt.want {
			t.Errorf("-f %q: Sender = %q, want %q", tt.arg, m.Sender, tt.want)
		}
	}
}

func TestEnvelopeSender(t *testing.T) {
	const in = "From: Ops <ops@example.com>\nSubject: x\n\nb\n"
	for _, tt := range []struct{ sender, want string }{
		{"", "mailbox@example.com"},
		{"Other <other@example.com>", "other@example.com"},
	} {
		m, err := Parse([]byte(in), &Options{Sender: tt.sender, Recipients: []string{"to@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.EnvelopeSender("mailbox@example.com"); got != tt.want {
			t.Errorf("-f %q: EnvelopeSender = %q, want %q (never the From header)", tt.sender, got, tt.want)
		}
	}
}

func TestParseMessageErrors(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		in       string
		want     string // in the message
		wantLine int
		wantHint string // in the hint
	}{
		{name: "empty", opts: Options{Recipients: []string{"a@example.com"}}, in: "", want: "empty message"},
		{name: "blank only", opts: Options{Recipients: []string{"a@example.com"}}, in: "\r\n\n \n", want: "empty message"},
		{name: "mbox line only", opts: Options{Recipients: []string{"a@example.com"}}, in: "From x Mon Nov 23 10:00:00 2026\n", want: "empty message"},
		{name: "no recipients", opts: Options{}, in: "Subject: x\n\nb\n", want: "no recipients: name them as arguments", wantHint: "or use -t with To/Cc/Bcc headers"},
		{name: "no recipients, the caller's hint", opts: Options{ExtractRecipients: true, NoRecipientsHint: "add To/Cc/Bcc headers or pass --to"}, in: "Subject: x\n\nb\n",
			want: "To, Cc and Bcc headers name nobody", wantHint: "add To/Cc/Bcc headers or pass --to"},
		{name: "no recipients with -t", opts: Options{ExtractRecipients: true}, in: "Subject: x\nTo: undisclosed-recipients:;\n\nb\n", want: "To, Cc and Bcc headers name nobody"},
		{name: "header line without colon", opts: Options{Recipients: []string{"a@example.com"}}, in: "Subject: x\nthis is not a header\n\nb\n", want: "line 2 is in the header block but is not a header", wantLine: 2},
		{name: "header line without colon after mbox line", opts: Options{Recipients: []string{"a@example.com"}}, in: "From x y\nSubject: x\nTo: a@example.com\nbad\n\nb\n", want: "line 4", wantLine: 4},
		{name: "header line without colon after Bcc", opts: Options{Recipients: []string{"a@example.com"}}, in: "Bcc: b@example.com\nbad line\n\nb\n", want: "line 2", wantLine: 2},
		{name: "space in field name", opts: Options{Recipients: []string{"a@example.com"}}, in: "Subject: x\nX Bad: y\n\nb\n", want: "line 2", wantLine: 2},
		{name: "malformed argument", opts: Options{Recipients: []string{"not an address"}}, in: "Subject: x\n\nb\n", want: `malformed address in recipient argument "not an address"`, wantHint: "full addresses"},
		{name: "bare local name", opts: Options{Recipients: []string{"root"}}, in: "Subject: x\n\nb\n", want: `malformed address in recipient argument "root"`, wantHint: "MAILTO"},
		{name: "malformed To with -t", opts: Options{ExtractRecipients: true}, in: "To: a@example.com, <broken\n\nb\n", want: "malformed address in To header"},
		{name: "malformed Bcc with -t", opts: Options{ExtractRecipients: true}, in: "To: a@example.com\nBcc: @@\n\nb\n", want: "malformed address in Bcc header"},
		{name: "malformed sender", opts: Options{Sender: "not valid", Recipients: []string{"a@example.com"}}, in: "Subject: x\n\nb\n", want: `malformed sender address "not valid"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.in), &tt.opts)
			ro := tt.opts
			ro.IgnoreDots = true
			sameAsSpool(t, []byte(tt.in), m, err, &ro)
			var me *MessageError
			if !errors.As(err, &me) {
				t.Fatalf("Parse = %+v, %v; want a *MessageError", m, err)
			}
			if !strings.Contains(me.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", me.Error(), tt.want)
			}
			if me.Line != tt.wantLine {
				t.Errorf("Line = %d, want %d", me.Line, tt.wantLine)
			}
			if !strings.Contains(me.Hint(), tt.wantHint) {
				t.Errorf("Hint %q does not contain %q", me.Hint(), tt.wantHint)
			}
		})
	}
}

func TestBytesNeedsMailboxForFrom(t *testing.T) {
	m, err := Parse([]byte("Subject: x\n\nb\n"), &Options{Recipients: []string{"a@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Bytes(FinishOptions{}); err == nil {
		t.Error("Bytes without a From header or a mailbox succeeded")
	}
}

func TestBytesMessageIDsDiffer(t *testing.T) {
	m, err := Parse([]byte("Subject: x\n\nb\n"), &Options{Recipients: []string{"a@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := m.Bytes(FinishOptions{Mailbox: "m@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Bytes(FinishOptions{Mailbox: "m@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Error("two finished copies have the same Message-ID")
	}
	if !bytes.Contains(a, []byte("@example.com>\r\n")) {
		t.Errorf("Message-ID not at the mailbox's domain: %q", a)
	}
}

// What a caller pipes in that mail cannot carry is refused (NUL, an
// address past SMTP's limits) or repaired (long lines); every line that
// leaves is CRLF-terminated and at most 998 octets.
func TestProtocolLimits(t *testing.T) {
	if _, err := Parse([]byte("Subject: x\n\nbinary\x00data\n"), &Options{Recipients: []string{"a@example.com"}}); err == nil {
		t.Error("a NUL octet was accepted")
	} else if me := (*MessageError)(nil); !errors.As(err, &me) || failure.KindOf(err) != failure.BadMessage || me.Hint() == "" {
		t.Errorf("NUL: %v (kind %v)", err, failure.KindOf(err))
	}
	long := strings.Repeat("x", 65) + "@example.com"
	for _, opts := range []*Options{{Recipients: []string{long}}, {Recipients: []string{"a@example.com"}, Sender: long}} {
		_, err := Parse([]byte("Subject: x\n\nb\n"), opts)
		if failure.KindOf(err) != failure.BadAddress {
			t.Errorf("%+v: %v (kind %v), want a bad address", opts, err, failure.KindOf(err))
		}
	}
	if _, err := Parse([]byte("Subject: x\n\nb\n"), &Options{}); failure.KindOf(err) != failure.BadAddress {
		t.Errorf("no recipient: kind %v", failure.KindOf(err))
	}

	// A 1 MB display name (-F) is folded, and so are long header lines.
	name := strings.Repeat("Name ", 200000)
	in := "Subject: " + strings.Repeat("word ", 400) + "\nX-Long: " + strings.Repeat("y", 3000) + "\n\n" + strings.Repeat("z", 5000) + "\n"
	m, err := Parse([]byte(in), &Options{Recipients: []string{"a@example.com"}, FullName: name})
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Bytes(FinishOptions{Mailbox: "m@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(out, []byte("\r\n")) {
		t.Error("the message does not end with CRLF")
	}
	lines := bytes.Split(bytes.TrimSuffix(out, []byte("\r\n")), []byte("\r\n"))
	for i, l := range lines {
		if len(l) > 998 || bytes.ContainsAny(l, "\r\n\x00") {
			t.Fatalf("line %d: %d octets: %.60q", i+1, len(l), l)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get("Subject"); got != strings.TrimSpace(strings.Repeat("word ", 400)) {
		t.Errorf("the folded Subject does not unfold to what was given (%d octets)", len(got))
	}
	from, err := msg.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Address != "m@example.com" || from[0].Name != name {
		t.Errorf("From did not survive folding: %v", err)
	}
}
