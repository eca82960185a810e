//go:build unix

package certfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestLoadRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.pem")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, make([]byte, MaxSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing.pem"), dir, fifo, big} {
		_, err := Load(path, "") // a FIFO with no writer must not hang
		checkError(t, err, path, ErrUnreadable, path)
	}
}
