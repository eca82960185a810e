package message

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/mimetest"
)

const testMailbox = "alerts@contoso.com"

func TestWriteToMatchesWhatIsSent(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "data.bin")
	content := randomBytes(t, 5000)
	writeFile(t, f, content)
	msg := &Message{From: "alerts@contoso.com", To: []string{"a@example.com"}, Subject: "s", Text: "body", Attachments: []string{f}}
	var buf bytes.Buffer
	n, err := msg.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("WriteTo returned %d, wrote %d", n, buf.Len())
	}
	p := mimetest.Parse(t, buf.Bytes())
	var found bool
	for _, pt := range p.Parts {
		if bytes.Equal(pt.Body, content) {
			found = true
		}
	}
	if !found {
		t.Errorf("attachment not found in WriteTo output; parts %v", mimetest.Types(p.Parts))
	}
}

func TestValidateRejects(t *testing.T) {
	dir := t.TempDir()
	// File names that would break out of a MIME header line; they exist, so
	// only the name can be refused.
	evilInline := filepath.Join(dir, "a.png>\r\nBcc: evil@example.com\r\nX-Evil: <x")
	evilAttach := filepath.Join(dir, "r.pdf\"\nX-Evil: 1")
	tabName := filepath.Join(dir, "t\tab.txt")
	delName := filepath.Join(dir, "d\x7f.txt")
	for _, p := range []string{evilInline, evilAttach, tabName, delName} {
		writeFile(t, p, []byte("x"))
	}
	cases := map[string]*Message{
		"CRLF in inline name":    {To: []string{"a@example.com"}, HTML: "<img src=cid:a.png>", Inline: []string{evilInline}},
		"LF in attachment name":  {To: []string{"a@example.com"}, Attachments: []string{evilAttach}},
		"tab in attachment name": {To: []string{"a@example.com"}, Attachments: []string{tabName}},
		"DEL in attachment name": {To: []string{"a@example.com"}, Attachments: []string{delName}},
		"no recipient":           {Text: "x"},
		"CRLF in subject":        {To: []string{"a@example.com"}, Subject: "hi\r\nBcc: evil@example.com"},
		"LF in from name":        {To: []string{"a@example.com"}, FromName: "A\nB"},
		"CRLF in address":        {To: []string{"a@example.com\r\nRCPT TO:<evil@example.com>"}},
		"CR in header value":     {To: []string{"a@example.com"}, Headers: []string{"X-A: b\rX-Evil: 1"}},
		"malformed address":      {To: []string{"not an address"}},
		"malformed cc":           {To: []string{"a@example.com"}, Cc: []string{"@@"}},
		"header without colon":   {To: []string{"a@example.com"}, Headers: []string{"X-A b"}},
		"reserved header":        {To: []string{"a@example.com"}, Headers: []string{"Bcc: x@example.com"}},
		"raw with parts":         {To: []string{"a@example.com"}, Raw: []byte("Subject: x\r\n\r\nx"), Text: "y"},
		"missing attachment":     {To: []string{"a@example.com"}, Attachments: []string{filepath.Join(dir, "nope")}},
		"directory attached":     {To: []string{"a@example.com"}, Attachments: []string{dir}},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			err := m.Validate()
			if !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("Validate = %v, want ErrInvalidMessage", err)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("error message spans lines: %q", err)
			}
		})
	}
	t.Run("injection named", func(t *testing.T) {
		for _, m := range []*Message{
			{To: []string{"a@example.com"}, Subject: "a\nb"},
			{To: []string{"a@example.com"}, Inline: []string{evilInline}},
			{To: []string{"a@example.com"}, Attachments: []string{evilAttach}},
			// net/mail parses this, CR LF and all, into a display name
			// taken from the comment.
			{To: []string{"a@b.com (x\r\nBcc: y@z.com)"}},
			{To: []string{"a@example.com"}, From: "a@b.com (x\r\nBcc: y@z.com)"},
		} {
			err := m.Validate()
			if err == nil || !strings.Contains(err.Error(), "header injection") {
				t.Errorf("error %v does not say header injection", err)
			}
		}
	})
}

// Header lines keep to 998 octets: a value with spaces is folded, one
// that cannot be folded is refused before connecting.
func TestHeaderLinesFoldedOrRefused(t *testing.T) {
	name := strings.Repeat("Very Long Name ", 70000) // over 1 MB
	m := &Message{From: "a@example.com", FromName: name, To: []string{"b@example.com"},
		Subject: strings.Repeat("subject ", 500), Headers: []string{"X-Words: " + strings.Repeat("w ", 2000)}, Text: "x"}
	var out bytes.Buffer
	if _, err := m.WriteTo(&out); err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(out.String(), "\r\n") {
		if len(l) > 998 {
			t.Fatalf("line %d has %d octets: %.60q", i+1, len(l), l)
		}
	}
	p := mimetest.Parse(t, out.Bytes())
	if got := p.Header["Subject"]; len(got) != 1 || got[0] != strings.TrimSpace(strings.Repeat("subject ", 500)) {
		t.Error("the folded Subject does not unfold to what was given")
	}

	long := strings.Repeat("x", 1000)
	for name, m := range map[string]*Message{
		"FromName": {FromName: long, To: []string{"b@example.com"}, Text: "x"},
		"Subject":  {Subject: "a " + long, To: []string{"b@example.com"}, Text: "x"},
		"header":   {Headers: []string{"X-Long: " + long}, To: []string{"b@example.com"}, Text: "x"},
	} {
		err := m.Validate()
		if failure.KindOf(err) != failure.BadMessage || !strings.Contains(failure.HintOf(err), "998") {
			t.Errorf("%s with a 1000-octet word: %v (kind %v)", name, err, failure.KindOf(err))
		}
	}
}

// A text part says its charset truthfully; text that is not UTF-8 is
// refused.
func TestCharsetIsTruthful(t *testing.T) {
	for _, c := range []struct {
		text, html, want string
	}{
		{text: "plain ascii", want: "us-ascii"},
		{text: "grüße", want: "utf-8"},
		{html: "<p>ascii</p>", want: "us-ascii"},
		{text: "ascii", html: "<p>grüße</p>", want: "us-ascii utf-8"},
	} {
		m := &Message{From: "a@example.com", To: []string{"b@example.com"}, Text: c.text, HTML: c.html}
		var out bytes.Buffer
		if _, err := m.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, part := range mimetest.Parse(t, out.Bytes()).Parts {
			got = append(got, strings.ToLower(part.Params["charset"]))
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%q/%q: charsets %q, want %q", c.text, c.html, got, c.want)
		}
	}
	for _, m := range []*Message{
		{To: []string{"b@example.com"}, Text: "latin-1 \xe9t\xe9"},
		{To: []string{"b@example.com"}, HTML: "\xff"},
		{To: []string{"b@example.com"}, Subject: "\xff", Text: "x"},
	} {
		if err := m.Validate(); failure.KindOf(err) != failure.BadMessage {
			t.Errorf("%+q: %v", m.Text+m.HTML+m.Subject, err)
		}
	}
}

func TestRawFileExcludesOtherContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.eml")
	writeFile(t, path, []byte("From: alerts@contoso.com\nTo: ops@example.com\nSubject: x\n\nbody\n"))
	for _, m := range []*Message{
		{To: []string{"ops@example.com"}, RawFile: path, Raw: []byte("x")},
		{To: []string{"ops@example.com"}, RawFile: path, Text: "x"},
		{To: []string{"ops@example.com"}, RawFile: filepath.Dir(path)},
		{To: []string{"ops@example.com"}, RawFile: path + ".missing"},
	} {
		if err := m.Validate(); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidMessage", m, err)
		}
	}
}

// FuzzRaw sends a raw message (--raw) through WriteTo: what comes out is
// the input with its bare LFs made CRLF and a final CRLF, nothing else
// changed; the Message-ID is read without failing.
func FuzzRaw(f *testing.F) {
	f.Add([]byte("From: Alerts <alerts@contoso.com>\nTo: ann@example.com\nSubject: raw\nMessage-ID: <abc@contoso.com>\n\n.starts with a dot\nbare CR\rstays\nno final newline"))
	f.Add([]byte("Subject: x\r\n\r\nbody\r\n"))
	f.Add([]byte("\r"))
	f.Add([]byte("a\r\r\n\n\r"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := &Message{To: []string{"a@example.com"}, Raw: raw}
		if m.Validate() != nil {
			return
		}
		_ = rawMessageID(raw)
		var out bytes.Buffer
		if _, err := m.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		if want := crlfReference(raw); !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("WriteTo(%q)\n= %q\nwant %q", raw, out.Bytes(), want)
		}
	})
}

// crlfReference is the plain definition of what a raw message becomes.
func crlfReference(raw []byte) []byte {
	var out []byte
	for i, c := range raw {
		if c == '\n' && (i == 0 || raw[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	switch {
	case len(out) == 0, out[len(out)-1] == '\n':
	case out[len(out)-1] == '\r':
		out = append(out, '\n')
	default:
		out = append(out, '\r', '\n')
	}
	return out
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
