package sandbox

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/safefile"
	"github.com/m365send/m365send/internal/safetext"
)

// CheckDir refuses a --dir the sandbox must not write into: one
// that is not a folder, or a folder holding anything but what an earlier
// sandbox wrote there (its config file, CA, secret and token cache). The
// sandbox overwrites those files; a real config.toml or anything else of
// the user's is never touched. A missing or empty folder is fine, and an
// existing folder keeps its mode.
func CheckDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return failure.Wrap(failure.Usage, fmt.Errorf("sandbox --dir: %w", err), "")
	}
	if !fi.IsDir() {
		return failure.New(failure.Usage, fmt.Sprintf("sandbox --dir %s is not a folder", dir), "give a new or empty folder")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return failure.Wrap(failure.Usage, fmt.Errorf("sandbox --dir: %w", err), "")
	}
	// The folder is the sandbox's own when its config file says so and it
	// holds nothing else but the sandbox's other files.
	own := len(entries) == 0 || isSandboxConfig(filepath.Join(dir, ConfigFileName))
	for _, e := range entries {
		if !own {
			break
		}
		switch e.Name() {
		case CacheDirName, RelayDirName:
			own = e.IsDir()
		case ConfigFileName, CAFileName, SecretFileName:
			own = e.Type().IsRegular()
		default:
			own = false
		}
	}
	if !own {
		return failure.New(failure.Usage,
			fmt.Sprintf("sandbox --dir %s is not empty and not an earlier sandbox's folder: its files would be overwritten or mixed with the sandbox's", safetext.OneLine(dir)),
			"give a new or empty folder (or one an earlier sandbox used)")
	}
	return nil
}

// isSandboxConfig reports whether the file at path is a config file an
// earlier sandbox wrote: its first line says so.
func isSandboxConfig(path string) bool {
	f, err := safefile.OpenNoFollow(path)
	if err != nil {
		return false
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return false
	}
	defer f.Close()
	first, _, _ := strings.Cut(readHead(f, 256), "\n")
	return strings.HasPrefix(first, "# Written by `m365send sandbox`")
}

// readHead returns up to n bytes from the start of r.
func readHead(r io.Reader, n int) string {
	b := make([]byte, n)
	m, _ := io.ReadFull(r, b)
	return string(b[:m])
}
