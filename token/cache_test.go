package token

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365send/m365send/token/entratest"
)

func TestCorruptCacheIsSetAsideWithWarning(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	if err := os.MkdirAll(filepath.Dir(cfg.CacheFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.CacheFile, []byte(`{"AccessToken": {"k": [truncated`), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	tok, err := mustNew(t, cfg).TokenContext(context.Background())
	if err != nil {
		t.Fatalf("corrupt cache broke the flow: %v", err)
	}
	if err := a.Verify(tok.AccessToken, testMailbox); err != nil {
		t.Fatal(err)
	}
	aside, _ := filepath.Glob(cfg.CacheFile + ".corrupt-*")
	if len(aside) != 1 {
		t.Fatalf("corrupt cache not moved aside: %v", aside)
	}
	if b, _ := os.ReadFile(aside[0]); !strings.Contains(string(b), "truncated") {
		t.Error("moved-aside file does not hold the corrupt data")
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "moved") {
		t.Errorf("no warning logged: %s", logs.String())
	}
	assertCacheParses(t, cfg.CacheFile, 1)
	if strings.Contains(logs.String(), tok.AccessToken) || strings.Contains(logs.String(), testSecret) {
		t.Fatal("a token or secret reached the log")
	}
}

func TestCacheReadableByOthersIsRefused(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	if _, err := mustNew(t, cfg).TokenContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(cfg.CacheFile, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := mustNew(t, cfg).TokenContext(context.Background())
	var ce *CacheError
	if !errors.Is(err, ErrInsecureCache) || !errors.As(err, &ce) || ce.Hint() != "chmod 600 "+cfg.CacheFile || ce.Path != cfg.CacheFile {
		t.Fatalf("err = %v (%#v), want a *CacheError wrapping ErrInsecureCache with hint chmod 600", err, ce)
	}
	if strings.HasPrefix(err.Error(), "token: ") || !strings.Contains(err.Error(), cfg.CacheFile) {
		t.Errorf("message %q: want the cache's own message naming the file", err)
	}
}

// A cache folder that cannot be created is a *CacheError saying where to
// put the cache instead, before anything is asked of Entra ID.
func TestCacheFolderThatCannotBeCreated(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.CacheFile = filepath.Join(blocker, "m365send", "alerts.json")
	_, err := mustNew(t, cfg).TokenContext(context.Background())
	var ce *CacheError
	if !errors.As(err, &ce) || !strings.Contains(ce.Hint(), "another folder") || errors.Is(err, ErrInsecureCache) {
		t.Fatalf("err = %v, want a *CacheError with a M365SEND_CACHE_DIR hint", err)
	}
	if got := a.Requests(entratest.EndpointToken, ""); got != 0 {
		t.Errorf("token requests = %d, want 0", got)
	}
}

func TestCacheFolderOpenToOthersIsRefused(t *testing.T) {
	for _, mode := range []os.FileMode{0o777, 0o755, 0o710} {
		t.Run(mode.String(), func(t *testing.T) { testCacheFolderModeIsRefused(t, mode) })
	}
}

func testCacheFolderModeIsRefused(t *testing.T, mode os.FileMode) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	dir := filepath.Dir(cfg.CacheFile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
	_, err := mustNew(t, cfg).TokenContext(context.Background())
	var ce *CacheError
	if !errors.Is(err, ErrInsecureCache) || !errors.As(err, &ce) || ce.Hint() != "chmod 700 "+dir {
		t.Fatalf("err = %v, want a *CacheError wrapping ErrInsecureCache with hint chmod 700", err)
	}
	if got := a.Requests(entratest.EndpointToken, ""); got != 0 {
		t.Errorf("token requests = %d, want 0", got)
	}
}

// A cached token is used only while MinValidity of it remains: with 75
// minute tokens, a 70 minute margin reuses it and an 80 minute one cannot.
func TestCachedTokenNeedsMinValidityLeft(t *testing.T) {
	for _, c := range []struct {
		margin   time.Duration
		requests int
	}{
		{70 * time.Minute, 1},
		{80 * time.Minute, 2},
	} {
		t.Run(c.margin.String(), func(t *testing.T) {
			a := newAuthority(t, entratest.Options{AccessTokenLifetime: 75 * time.Minute})
			cfg := appConfig(t, a)
			cfg.MinValidity = c.margin
			if _, err := mustNew(t, cfg).TokenContext(context.Background()); err != nil {
				t.Fatal(err)
			}
			s := mustNew(t, cfg)
			if _, err := s.TokenContext(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := a.Requests(entratest.EndpointToken, ""); got != c.requests {
				t.Fatalf("token requests = %d, want %d", got, c.requests)
			}
			// The same Source's in-memory copy follows the same rule.
			if _, err := s.TokenContext(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := c.requests
			if c.requests == 2 {
				want = 3
			}
			if got := a.Requests(entratest.EndpointToken, ""); got != want {
				t.Fatalf("after a repeat call: token requests = %d, want %d", got, want)
			}
		})
	}
}

func TestMinValidityHasAFloorOfTenMinutes(t *testing.T) {
	a := newAuthority(t, entratest.Options{AccessTokenLifetime: 9 * time.Minute})
	cfg := appConfig(t, a)
	cfg.MinValidity = time.Minute
	s := mustNew(t, cfg)
	for range 2 {
		if _, err := s.TokenContext(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := a.Requests(entratest.EndpointToken, ""); got != 2 {
		t.Fatalf("a 9-minute token was reused: %d requests, want 2", got)
	}
}

func TestRefreshBypassesCachedAppToken(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	s := mustNew(t, cfg)
	first, err := s.TokenContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := s.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == first.AccessToken || a.Requests(entratest.EndpointToken, "") != 2 {
		t.Fatal("Refresh did not get a new token")
	}
	// The fresh token replaced the old one in the cache file.
	again, err := mustNew(t, cfg).TokenContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if again.AccessToken != fresh.AccessToken {
		t.Fatal("cache does not hold the refreshed token")
	}
	assertCacheParses(t, cfg.CacheFile, 1)
}

func TestMemoryOnlyCache(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	cfg.CacheFile = ""
	s := mustNew(t, cfg)
	s.noMemo = true // exercise MSAL's in-memory cache through the store
	for range 3 {
		if _, err := s.TokenContext(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := a.Requests(entratest.EndpointToken, ""); got != 1 {
		t.Fatalf("token requests = %d, want 1", got)
	}
}

func TestConcurrentSourcesInOneProcessShareOneRequest(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			s, err := New(cfg)
			if err == nil {
				_, err = s.TokenContext(context.Background())
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := a.Requests(entratest.EndpointToken, ""); got != 1 {
		t.Fatalf("token requests = %d, want 1", got)
	}
}

func TestLockWaitHonoursContext(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.lock")
	held, err := testLock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := testLock(ctx, path); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	held.Unlock()
	l, err := testLock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	l.Unlock()
}

// BenchmarkTokenCacheHit measures Token() when a valid token is cached:
// "memory" is a Source's repeat call, "file" is what each new process pays
// (file lock, read and filter the cache file, MSAL lookup). Neither touches
// the network; the benchmark fails if one does.
func BenchmarkTokenCacheHit(b *testing.B) {
	a := newAuthority(b, entratest.Options{})
	cfg := appConfig(b, a)
	for _, mode := range []string{"memory", "file"} {
		b.Run(mode, func(b *testing.B) {
			s := mustNew(b, cfg)
			s.noMemo = mode == "file"
			if _, err := s.Token(); err != nil {
				b.Fatal(err)
			}
			before := a.Requests(entratest.EndpointToken, "")
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Token(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if got := a.Requests(entratest.EndpointToken, ""); got != before {
				b.Fatalf("cache hits made %d token requests", got-before)
			}
		})
	}
}

func TestUnreadableCacheIsSetAside(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	// A folder where the cache file should be cannot be read as a file.
	if err := os.MkdirAll(cfg.CacheFile, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := mustNew(t, cfg).TokenContext(context.Background()); err != nil {
		t.Fatalf("unreadable cache broke the flow: %v", err)
	}
	if aside, _ := filepath.Glob(cfg.CacheFile + ".corrupt-*"); len(aside) != 1 {
		t.Fatalf("unreadable cache not moved aside: %v", aside)
	}
	assertCacheParses(t, cfg.CacheFile, 1)
}

// corruptCache cuts the cache file short, as a crash or a full disk might,
// leaving the refresh token's text in it.
func corruptCache(t *testing.T, file string) []byte {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cut := data[:len(data)-3]
	if err := os.WriteFile(file, cut, 0o600); err != nil {
		t.Fatal(err)
	}
	return cut
}

func TestLogoutRemovesSetAsideCopies(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := userConfig(t, a)
	cfg.DeviceCodePrompt = approvingPrompt(t, a, testUser, nil)
	s := mustNew(t, cfg)
	if _, err := s.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	rts := readCache(t, cfg.CacheFile).RefreshToken
	if len(rts) != 1 {
		t.Fatalf("cache holds %d refresh tokens, want 1", len(rts))
	}
	var rt string
	for _, v := range rts {
		rt = v.Secret
	}
	corruptCache(t, cfg.CacheFile)
	s = mustNew(t, cfg)
	if _, err := s.TokenContext(context.Background()); !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("corrupt cache: err = %v, want ErrLoginRequired", err)
	}
	if aside, _ := filepath.Glob(cfg.CacheFile + ".corrupt-*"); len(aside) != 1 {
		t.Fatalf("corrupt cache not set aside: %v", aside)
	}
	if err := s.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Dir(cfg.CacheFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".lock") {
			continue
		}
		b, _ := os.ReadFile(filepath.Join(filepath.Dir(cfg.CacheFile), e.Name()))
		if strings.Contains(string(b), rt) || strings.Contains(string(b), "RefreshToken") {
			t.Errorf("after logout %s still holds the refresh token", e.Name())
		}
		if strings.Contains(e.Name(), ".corrupt-") {
			t.Errorf("after logout the set-aside copy %s remains", e.Name())
		}
	}
}

func TestOnlyTheNewestSetAsideCopyIsKept(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	if err := os.MkdirAll(filepath.Dir(cfg.CacheFile), 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		corrupt := fmt.Sprintf(`{"AccessToken": {"k%d": [truncated`, i)
		if err := os.WriteFile(cfg.CacheFile, []byte(corrupt), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := mustNew(t, cfg).TokenContext(context.Background()); err != nil {
			t.Fatal(err)
		}
		aside, _ := filepath.Glob(cfg.CacheFile + ".corrupt-*")
		if len(aside) != 1 {
			t.Fatalf("after %d corruptions: set-aside copies %v, want only the newest", i+1, aside)
		}
		if b, _ := os.ReadFile(aside[0]); string(b) != corrupt {
			t.Fatalf("after %d corruptions the set-aside copy holds %q, want the newest %q", i+1, b, corrupt)
		}
		if fi, err := os.Stat(aside[0]); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("set-aside copy mode: %v %v, want 0600", fi, err)
		}
	}
}

func TestLogSaysWhereTheAccessTokenCameFrom(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	var logs bytes.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	tok, err := mustNew(t, cfg).TokenContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "new access token from Entra ID") || !strings.Contains(logs.String(), `credential="client secret"`) {
		t.Errorf("first token: log does not say it is new and which credential got it:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "from the token cache") {
		t.Errorf("first token logged as cached:\n%s", logs.String())
	}
	// Another process (a new Source) finds it in the cache file.
	logs.Reset()
	if _, err := mustNew(t, cfg).TokenContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "access token from the token cache "+cfg.CacheFile) || !strings.Contains(logs.String(), "expires_in=") {
		t.Errorf("second token: log does not say it came from the cache and how long it has left:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "new access token") {
		t.Errorf("cached token logged as new:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), tok.AccessToken) || strings.Contains(logs.String(), testSecret) {
		t.Fatal("a token or secret reached the log")
	}
}

func TestForgetRemovesTheCacheWithoutASource(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := userConfig(t, a)
	cfg.DeviceCodePrompt = approvingPrompt(t, a, testUser, nil)
	if _, err := mustNew(t, cfg).Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	aside := cfg.CacheFile + ".corrupt-20260101T000000.000000000Z"
	if err := os.WriteFile(aside, []byte(`{"RefreshToken": {`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Forget(context.Background(), cfg.CacheFile); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{cfg.CacheFile, aside} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s remains after Forget (%v)", f, err)
		}
	}
	if _, err := mustNew(t, cfg).TokenContext(context.Background()); !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("after Forget: err = %v, want ErrLoginRequired", err)
	}
	if err := Forget(context.Background(), cfg.CacheFile); err != nil {
		t.Fatalf("Forget with nothing cached: %v", err)
	}
}
