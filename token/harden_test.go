//go:build linux

// The hardening tests use Linux's tmpfs mounts, FIFOs and file modes.

package token

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/tokencache"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/token/entratest"
)

// logBuffer collects a Source's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func withLog(cfg Config) (Config, *logBuffer) {
	lb := &logBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(lb, nil))
	return cfg, lb
}

// tokenWithin runs TokenContext and fails the test if it hangs.
func tokenWithin(t *testing.T, s *Source) error {
	t.Helper()
	done := make(chan callResult, 1)
	go func() {
		_, err := s.TokenContext(context.Background())
		done <- callResult{err}
	}()
	return within(t, done, "TokenContext")
}

func wantInsecure(t *testing.T, err error, path string) {
	t.Helper()
	var ce *CacheError
	if !errors.Is(err, ErrInsecureCache) || !errors.As(err, &ce) || ce.Path != path || failure.KindOf(err) != failure.Config || failure.HintOf(err) == "" {
		t.Fatalf("err = %v, want a config *CacheError for %s", err, path)
	}
}

// A cache folder that belongs to another user is refused, even with mode
// 0700: its owner can read and replace everything in it.
func TestCacheFolderOfAnotherUserIsRefused(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	dir := filepath.Dir(cfg.CacheFile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s := mustNew(t, cfg)
	if os.Getuid() == 0 {
		if err := os.Chown(dir, 4242, 4242); err != nil {
			t.Fatal(err)
		}
	} else {
		s.store.UID = os.Getuid() + 1 // the folder is this test's, so another user's for s
	}
	err := tokenWithin(t, s)
	wantInsecure(t, err, dir)
	if !strings.Contains(err.Error(), "another user") {
		t.Errorf("message %q", err)
	}
}

// A cache file that is a symbolic link is refused: planted by another
// user, it would make this process read or replace what it points to.
func TestSymlinkedCacheFileIsRefused(t *testing.T) {
	for _, target := range []string{"world-readable", "/dev/zero"} {
		t.Run(filepath.Base(target), func(t *testing.T) {
			a := newAuthority(t, entratest.Options{})
			cfg := appConfig(t, a)
			if err := os.MkdirAll(filepath.Dir(cfg.CacheFile), 0o700); err != nil {
				t.Fatal(err)
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(t.TempDir(), target)
				if err := os.WriteFile(target, []byte("{}"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink(target, cfg.CacheFile); err != nil {
				t.Fatal(err)
			}
			wantInsecure(t, tokenWithin(t, mustNew(t, cfg)), cfg.CacheFile)
		})
	}
}

// A cache file that is a FIFO or a folder is set aside without hanging;
// one over the size limit is set aside without being read whole.
func TestOddCacheFilesAreSetAside(t *testing.T) {
	for name, make := range map[string]func(string) error{
		"fifo":   func(p string) error { return syscall.Mkfifo(p, 0o600) },
		"folder": func(p string) error { return os.Mkdir(p, 0o700) },
		"huge":   func(p string) error { return os.WriteFile(p, bytes.Repeat([]byte(" "), tokencache.MaxSize+1), 0o600) },
	} {
		t.Run(name, func(t *testing.T) {
			a := newAuthority(t, entratest.Options{})
			cfg := appConfig(t, a)
			if err := os.MkdirAll(filepath.Dir(cfg.CacheFile), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := make(cfg.CacheFile); err != nil {
				t.Fatal(err)
			}
			if err := tokenWithin(t, mustNew(t, cfg)); err != nil {
				t.Fatal(err)
			}
			if aside, _ := filepath.Glob(cfg.CacheFile + ".corrupt-*"); len(aside) != 1 {
				t.Fatalf("not set aside: %v", aside)
			}
			assertCacheParses(t, cfg.CacheFile, 1)
		})
	}
}

// A lock file planted as a symbolic link is refused and its target is not
// created; a FIFO as the lock file is refused without hanging.
func TestOddLockFilesAreRefused(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	lock := cfg.CacheFile + ".lock"
	if err := os.MkdirAll(filepath.Dir(cfg.CacheFile), 0o700); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.Symlink(victim, lock); err != nil {
		t.Fatal(err)
	}
	wantInsecure(t, tokenWithin(t, mustNew(t, cfg)), lock)
	if _, err := os.Lstat(victim); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the link's target was created: %v", err)
	}

	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(lock, 0o600); err != nil {
		t.Fatal(err)
	}
	wantInsecure(t, tokenWithin(t, mustNew(t, cfg)), lock)
}

// The lock holder's PID is in the lock file; a waiting request says who
// holds it, and gives up after LockTimeout with a temporary error naming
// the PID.
func TestLockWaitNamesTheHolderAndIsBounded(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg, lb := withLog(appConfig(t, a))
	cfg.LockTimeout = 300 * time.Millisecond
	s := mustNew(t, cfg)
	s.store.LockWarn = time.Millisecond
	if err := s.store.Prepare(); err != nil {
		t.Fatal(err)
	}
	held, err := testLock(context.Background(), s.store.LockPath())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	content, err := os.ReadFile(s.store.LockPath())
	pid := strconv.Itoa(os.Getpid())
	if err != nil || strings.TrimSpace(string(content)) != pid {
		t.Fatalf("lock file holds %q (%v), want the PID %s", content, err, pid)
	}

	err = tokenWithin(t, s)
	var le *LockError
	if !errors.As(err, &le) || le.PID != os.Getpid() || failure.KindOf(err) != failure.Temporary ||
		!strings.Contains(failure.HintOf(err), "process "+pid) || !strings.Contains(err.Error(), pid) {
		t.Fatalf("err = %v (hint %q), want a temporary *LockError naming PID %s", err, failure.HintOf(err), pid)
	}
	if log := lb.String(); !strings.Contains(log, "level=WARN") || !strings.Contains(log, "pid="+pid) {
		t.Errorf("no warning naming the holder:\n%s", log)
	}
	if got := a.Requests(entratest.EndpointToken, ""); got != 0 {
		t.Errorf("%d token requests while locked out", got)
	}
}

// mountTmpfs mounts a tmpfs of the given size on a fresh folder, or
// returns "" when this process may not mount.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Logf("cannot mount a tmpfs (%v)", err)
		return ""
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// With the cache's file system full, a token is still had (kept in memory
// with a warning that says the disk is full), and a sign-in that cannot be
// saved says so instead of blaming the network. It uses a tiny tmpfs where
// the test may mount one, else an injected ENOSPC.
func TestFullDiskKeepsTheTokenAndSaysSo(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	tmp := mountTmpfs(t, "16k")
	fill := func(cfg Config) {}
	if tmp != "" {
		fill = func(cfg Config) {
			t.Helper()
			if err := os.MkdirAll(filepath.Dir(cfg.CacheFile), 0o700); err != nil {
				t.Fatal(err)
			}
			err := os.WriteFile(filepath.Join(filepath.Dir(cfg.CacheFile), "filler"), make([]byte, 64<<10), 0o600)
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the tmpfs: %v", err)
			}
		}
	}
	newSource := func(cfg Config, name string) (*Source, *logBuffer) {
		if tmp != "" {
			cfg.CacheFile = filepath.Join(tmp, name, "cache.json")
		}
		fill(cfg)
		cfg, lb := withLog(cfg)
		s := mustNew(t, cfg)
		if tmp == "" {
			s.store.WriteFault = syscall.ENOSPC
		}
		return s, lb
	}

	s, lb := newSource(appConfig(t, a), "app")
	tok, err := s.TokenContext(context.Background())
	if err != nil {
		t.Fatalf("full disk: %v", err)
	}
	if err := a.Verify(tok.AccessToken, testMailbox); err != nil {
		t.Fatal(err)
	}
	if log := lb.String(); !strings.Contains(log, "level=WARN") || !strings.Contains(log, "is full") || !strings.Contains(log, "this run only") {
		t.Errorf("no warning that the disk is full:\n%s", log)
	}
	if _, err := s.TokenContext(context.Background()); err != nil || a.Requests(entratest.EndpointToken, "") != 1 {
		t.Errorf("second token: %v, %d requests, want the one in memory", err, a.Requests(entratest.EndpointToken, ""))
	}

	cfg := userConfig(t, a)
	cfg.DeviceCodePrompt = approvingPrompt(t, a, testUser, nil)
	s, _ = newSource(cfg, "user")
	_, err = s.Login(context.Background())
	if err == nil || !strings.Contains(err.Error(), "is full") || strings.Contains(err.Error(), "reach") ||
		failure.KindOf(err) != failure.Config || !strings.Contains(failure.HintOf(err), "space") {
		t.Fatalf("login on a full disk: err = %v (kind %v, hint %q)", err, failure.KindOf(err), failure.HintOf(err))
	}
}

// A cache folder that cannot be written does not stop tokens: a signed-in
// profile's cache is read, a new token is used for this run with a
// warning. Root makes it a read-only tmpfs; another user a 0500 folder.
func TestReadOnlyCacheStillGivesTokens(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := userConfig(t, a)
	cfg.DeviceCodePrompt = approvingPrompt(t, a, testUser, nil)
	var dir string
	if os.Getuid() == 0 {
		dir = mountTmpfs(t, "1m")
		if dir == "" {
			t.Skip("root, but cannot mount a tmpfs to make read-only")
		}
		cfg.CacheFile = filepath.Join(dir, "me.json")
	} else {
		dir = filepath.Dir(cfg.CacheFile)
	}
	if _, err := mustNew(t, cfg).Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(cfg.CacheFile + ".lock"); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
			t.Fatal(err)
		}
	} else {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	}
	cfg, lb := withLog(cfg)
	s := mustNew(t, cfg)
	if _, err := s.Refresh(context.Background()); err != nil {
		t.Fatalf("read-only cache: %v", err)
	}
	if log := lb.String(); !strings.Contains(log, "level=WARN") || !strings.Contains(log, "cannot be written") {
		t.Errorf("no warning about the read-only cache:\n%s", log)
	}
}

// A local file failure reaching wrapErr is not told as a network one
// (*fs.PathError has a Timeout method, which once made a full disk read
// "cannot reach Entra ID ... check HTTPS_PROXY").
func TestFileErrorIsNotANetworkError(t *testing.T) {
	err := wrapErr("token: client credentials", &fs.PathError{Op: "write", Path: "/c/p.json.tmp-1", Err: syscall.ENOSPC})
	var te *Error
	if errors.As(err, &te) || strings.Contains(err.Error(), "reach") || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err = %v", err)
	}
}
