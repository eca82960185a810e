package filelock

import (
	"os"
	"path/filepath"
	"testing"
)

func open(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestTwoOpensContend: two opens of one file in one process exclude each
// other, as two processes do; Unlock and Close release; the file's data
// stays readable and writable by the others while it is locked.
func TestTwoOpensContend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	a, b := open(t, path), open(t, path)
	if ok, err := TryLock(a); !ok || err != nil {
		t.Fatalf("TryLock(a) = %v, %v; want the free lock", ok, err)
	}
	if ok, err := TryLock(b); ok || err != nil {
		t.Fatalf("TryLock(b) while a holds it = %v, %v; want false, nil", ok, err)
	}
	if _, err := b.WriteAt([]byte("42\n"), 0); err != nil {
		t.Fatalf("write through another open while locked: %v", err)
	}
	buf := make([]byte, 3)
	if _, err := a.ReadAt(buf, 0); err != nil || string(buf) != "42\n" {
		t.Fatalf("read while locked: %q, %v", buf, err)
	}

	// b waits for a's Unlock.
	got := make(chan error, 1)
	go func() { got <- Lock(b) }()
	select {
	case err := <-got:
		t.Fatalf("Lock(b) returned %v while a held the lock", err)
	default:
	}
	if err := Unlock(a); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("Lock(b) after a's Unlock: %v", err)
	}
	if ok, err := TryLock(a); ok || err != nil {
		t.Fatalf("TryLock(a) while b holds it = %v, %v; want false, nil", ok, err)
	}

	// Closing releases too.
	b.Close()
	c := open(t, path)
	if ok, err := TryLock(c); !ok || err != nil {
		t.Fatalf("TryLock after the holder closed = %v, %v; want the lock", ok, err)
	}
}
