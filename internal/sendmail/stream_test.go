package sendmail

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/failure"
)

// TestSpoolFiles checks that Spool's and FinishFile's files are private,
// that Remove deletes the body file, and that a refusal leaves no file.
func TestSpoolFiles(t *testing.T) {
	dir := t.TempDir()
	m, err := Spool(strings.NewReader("To: a@example.com\n\nbody\n.\nafter the dot\n"), &Options{ExtractRecipients: true}, dir)
	if err != nil {
		t.Fatal(err)
	}
	path, err := m.FinishFile(dir, FinishOptions{Mailbox: "m@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{m.bodyFile, path} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want 0600", p, err, fi.Mode())
		}
	}
	got, _ := os.ReadFile(path)
	if !bytes.HasSuffix(got, []byte("\r\n\r\nbody\r\n")) {
		t.Errorf("finished message %q does not end with the body before the dot", got)
	}
	_ = os.Remove(path)
	if err := m.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(); err != nil {
		t.Errorf("a second Remove: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("files left: %q", left)
	}

	for _, in := range []string{"", "To: a@example.com\n\nNUL\x00\n", "To: a@example.com\nno colon\n\nb\n"} {
		if _, err := Spool(strings.NewReader(in), &Options{ExtractRecipients: true}, dir); err == nil {
			t.Errorf("%q: no refusal", in)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("files left after refusals: %q", left)
	}
}

// TestSpoolLimits checks the bounds of what Spool holds and reads: a
// header block over MaxHeaderSize is refused, a first line that long
// with no field name is a body, and a message over the limit is refused
// before an empty or NUL one.
func TestSpoolLimits(t *testing.T) {
	opts := &Options{Recipients: []string{"a@example.com"}}
	big := strings.Repeat("x", MaxHeaderSize+10)
	_, err := Spool(strings.NewReader("Subject: "+big+"\n\nb\n"), opts, t.TempDir())
	var me *MessageError
	if !errors.As(err, &me) || !strings.Contains(me.Msg, "header block is larger than 1 MB") {
		t.Errorf("a 1 MB Subject: %v", err)
	}
	_, err = Spool(strings.NewReader("To: a@example.com\n"+strings.Repeat("X-A: b\n", MaxHeaderSize/7+1)+"\nb\n"), opts, t.TempDir())
	if !errors.As(err, &me) || !strings.Contains(me.Msg, "header block is larger") {
		t.Errorf("1 MB of fields: %v", err)
	}
	m, err := Spool(strings.NewReader(big+"\nsecond\n"), opts, t.TempDir())
	if err != nil {
		t.Fatalf("a long first line without a field name: %v", err)
	}
	defer m.Remove()
	b, err := m.Bytes(FinishOptions{Mailbox: "m@example.com"})
	if err != nil || !bytes.Contains(b, []byte("\r\n\r\nxxx")) || !bytes.HasSuffix(b, []byte("x\r\nsecond\r\n")) {
		t.Errorf("headerless body not kept: %v, %d bytes", err, len(b))
	}

	_, err = spool(strings.NewReader(strings.Repeat(" ", 2000)+"\x00"), &Options{IgnoreDots: true}, t.TempDir(), 1000)
	if !errors.As(err, &me) || !strings.Contains(me.Msg, "too large") {
		t.Errorf("over the limit: %v", err)
	}
	_, err = spool(strings.NewReader(strings.Repeat(" ", 1000)), opts, t.TempDir(), 1000)
	if !errors.As(err, &me) || !strings.Contains(me.Msg, "empty message") {
		t.Errorf("exactly the limit, blank: %v", err)
	}
}

// TestSpoolUnwritableFolder checks that a temporary folder that cannot
// take the message is a temporary failure with a hint, not a bad message.
func TestSpoolUnwritableFolder(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	_, err := Spool(strings.NewReader("Subject: x\n\nb\n"), &Options{Recipients: []string{"a@example.com"}}, missing)
	if failure.KindOf(err) != failure.Temporary || !strings.Contains(failure.HintOf(err), "TMPDIR") {
		t.Errorf("Spool into a missing folder: %v (kind %v, hint %q)", err, failure.KindOf(err), failure.HintOf(err))
	}
	m, err := Spool(strings.NewReader("Subject: x\n\nb\n"), &Options{Recipients: []string{"a@example.com"}}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Remove()
	if _, err := m.FinishFile(missing, FinishOptions{Mailbox: "m@example.com"}); failure.KindOf(err) != failure.Temporary {
		t.Errorf("FinishFile into a missing folder: %v (kind %v)", err, failure.KindOf(err))
	}
}
