package sendmail

import (
	"bytes"
	"strings"
	"testing"
)

// BenchmarkPrepare measures reading, checking and finishing a 10 MB
// LF-terminated message (a log or a base64 attachment piped in by a
// script), the work sendmail does before it connects.
func BenchmarkPrepare(b *testing.B) {
	line := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=", 3)[:76] + "\n"
	msg := "To: ops@example.com\nSubject: report\n\n" + strings.Repeat(line, (10<<20)/len(line))
	opts := &Options{ExtractRecipients: true}
	fin := FinishOptions{Mailbox: "alerts@contoso.example"}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		raw, err := ReadMessage(strings.NewReader(msg), false)
		if err != nil {
			b.Fatal(err)
		}
		m, err := Parse(raw, opts)
		if err != nil {
			b.Fatal(err)
		}
		out, err := m.Bytes(fin)
		if err != nil {
			b.Fatal(err)
		}
		if !bytes.HasSuffix(out, []byte("\r\n")) {
			b.Fatal("no CRLF")
		}
	}
}
