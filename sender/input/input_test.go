package input

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/sender"
)

func TestSpoolIsPrivateAndSized(t *testing.T) {
	dir := t.TempDir()
	sp, err := Spool(strings.NewReader("Subject: x\n\nhello\n"), dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(sp.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || sp.Size != 18 || filepath.Dir(sp.Path) != dir {
		t.Errorf("spool %s: mode %v, size %d; want 0600 and 18 bytes in %s", sp.Path, fi.Mode().Perm(), sp.Size, dir)
	}
	if err := sp.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sp.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("spool file still there after Remove: %v", err)
	}
}

func TestInputOverTheLimitIsRefused(t *testing.T) {
	dir := t.TempDir()
	in := strings.Repeat("x", 1001)
	_, err := Spool(strings.NewReader(in), dir, 1000)
	if !errors.Is(err, sender.ErrInvalidMessage) || failure.KindOf(err) != failure.BadMessage || failure.HintOf(err) == "" {
		t.Errorf("Spool over the limit: %v (kind %v), want a bad-message error with a hint", err, failure.KindOf(err))
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("refused spool left %d files behind", len(left))
	}
	if _, err := Read(strings.NewReader(in), 1000); failure.KindOf(err) != failure.BadMessage {
		t.Errorf("Read over the limit: %v", err)
	}
	if b, err := Read(strings.NewReader(in[:1000]), 1000); err != nil || len(b) != 1000 {
		t.Errorf("Read at the limit: %d bytes, %v", len(b), err)
	}
}

// zeros is an endless stream.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// allocated is how many bytes f allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestSpoolKeepsMemoryFlat(t *testing.T) {
	dir := t.TempDir()
	var sp *File
	var err error
	n := allocated(func() { sp, err = Spool(io.LimitReader(zeros{}, 64<<20), dir, 0) })
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Remove()
	if sp.Size != 64<<20 {
		t.Errorf("spooled %d bytes, want 64 MB", sp.Size)
	}
	if n > 4<<20 {
		t.Errorf("spooling 64 MB allocated %d MB; want it copied in small pieces", n>>20)
	}
}
