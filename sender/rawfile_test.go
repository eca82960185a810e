package sender

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m365send/m365send/sender/smtptest"
)

// writeRawMessage writes a message of about size bytes with bare LF line
// endings and returns its path and its size on the wire (LF made CRLF).
func writeRawMessage(tb testing.TB, size int) (string, int64) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "big.eml")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	head := "From: alerts@contoso.com\nTo: ops@example.com\nSubject: big\nMessage-ID: <big-1@contoso.com>\n\n"
	n, lines := len(head), 5
	fmt.Fprint(w, head)
	line := strings.Repeat("0123456789", 7) + "\n"
	for n < size {
		fmt.Fprint(w, line)
		n += len(line)
		lines++
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path, int64(n + lines)
}

func TestRawFileIsStreamedWithItsSize(t *testing.T) {
	path, wire := writeRawMessage(t, 48<<20)
	srv := startSMTP(t, smtptest.Options{DiscardData: true, MaxSize: 64 << 20})
	var trace bytes.Buffer
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, func(c *Config) { c.Trace = &trace })
	h := startHeapPeak()
	res, err := s.Send(testCtx(t), &Message{To: []string{"ops@example.com"}, RawFile: path})
	peak := h.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if peak > 16<<20 {
		t.Errorf("sending a 48 MB file grew the heap by %d MB; want it streamed (under 16 MB)", peak>>20)
	}
	got := srv.Messages()
	if len(got) != 1 || got[0].Size != wire {
		t.Fatalf("server got %d messages (size %d), want 1 of %d bytes", len(got), got[0].Size, wire)
	}
	if !strings.Contains(trace.String(), fmt.Sprintf("SIZE=%d", wire)) {
		t.Errorf("MAIL FROM has no SIZE=%d", wire)
	}
	if res[0].MessageID != "<big-1@contoso.com>" {
		t.Errorf("MessageID %q, want the file's", res[0].MessageID)
	}
}
