package token

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/m365send/m365send/token/entratest"
)

// The cross-process tests re-run this test binary as helper processes
// (TestHelperProcess) that talk to the parent's entratest authority.
const (
	helperEnv      = "M365SEND_TOKEN_TEST_HELPER" // "token" or "pause"
	helperURL      = "M365SEND_TOKEN_TEST_URL"
	helperCA       = "M365SEND_TOKEN_TEST_CA"
	helperCache    = "M365SEND_TOKEN_TEST_CACHE"
	pausedSentinel = "PAUSED-AFTER-TEMP-WRITE"
)

// TestHelperProcess is not a test: it is the body of a helper process.
// In "token" mode it waits for stdin to close (so all helpers start
// together), gets a token and prints it. In "pause" mode it forces a new
// token and stops inside the cache write, after the temp file is written,
// until it is killed.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process only")
	}
	pemData, err := os.ReadFile(os.Getenv(helperCA))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemData)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig.RootCAs = pool
	s, err := New(Config{
		Flow:          FlowClientCredentials,
		Tenant:        entratest.DefaultTenantDomain,
		ClientID:      testClientID,
		ClientSecret:  testSecret,
		AuthorityHost: os.Getenv(helperURL),
		HTTPClient:    &http.Client{Transport: tr},
		CacheFile:     os.Getenv(helperCache),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	switch mode {
	case "token":
		_, _ = io.Copy(io.Discard, os.Stdin)
		tok, err := s.TokenContext(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(tok.AccessToken)
	case "pause":
		s.store.AfterTempWrite = func() {
			fmt.Println(pausedSentinel)
			select {} // until SIGKILL
		}
		_, err := s.Refresh(ctx)
		fmt.Fprintln(os.Stderr, "pause helper was not killed:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// helperCmd prepares a helper process in mode against a.
func helperCmd(t *testing.T, a *entratest.Authority, cacheFile, mode string) *exec.Cmd {
	t.Helper()
	caFile := filepath.Join(filepath.Dir(cacheFile), "..", "ca.pem")
	if _, err := os.Stat(caFile); err != nil {
		if err := os.WriteFile(caFile, a.CACertPEM(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		helperEnv+"="+mode,
		helperURL+"="+a.URL(),
		helperCA+"="+caFile,
		helperCache+"="+cacheFile,
	)
	return cmd
}

func TestTwentyProcessesShareOneTokenRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 20 processes")
	}
	a := newAuthority(t, entratest.Options{})
	cacheFile := filepath.Join(t.TempDir(), "cache", "alerts.json")
	if err := os.MkdirAll(filepath.Dir(cacheFile), 0o700); err != nil {
		t.Fatal(err)
	}

	run := func() []string {
		const n = 20
		cmds := make([]*exec.Cmd, n)
		outs := make([]*bytes.Buffer, n)
		errs := make([]*bytes.Buffer, n)
		stdins := make([]io.WriteCloser, n)
		for i := range cmds {
			cmd := helperCmd(t, a, cacheFile, "token")
			outs[i], errs[i] = new(bytes.Buffer), new(bytes.Buffer)
			cmd.Stdout, cmd.Stderr = outs[i], errs[i]
			in, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			cmds[i], stdins[i] = cmd, in
		}
		// All started: let them go at once.
		for _, in := range stdins {
			in.Close()
		}
		var tokens []string
		for i, cmd := range cmds {
			if err := cmd.Wait(); err != nil {
				t.Fatalf("helper %d: %v\n%s", i, err, errs[i])
			}
			tokens = append(tokens, strings.TrimSpace(outs[i].String()))
		}
		return tokens
	}

	tokens := run()
	if got := a.Requests(entratest.EndpointToken, ""); got != 1 {
		t.Fatalf("20 processes made %d token requests, want exactly 1", got)
	}
	for i, tok := range tokens {
		if err := a.Verify(tok, testMailbox); err != nil {
			t.Fatalf("helper %d token does not verify: %v", i, err)
		}
		if tok != tokens[0] {
			t.Fatalf("helper %d got a different token", i)
		}
	}
	assertCacheParses(t, cacheFile, 1)

	a.ResetRequests()
	run()
	if got := a.Requests(entratest.EndpointToken, ""); got != 0 {
		t.Fatalf("second run made %d token requests, want 0", got)
	}
}

func TestKilledWhileWritingLeavesPreviousCache(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	first, err := mustNew(t, cfg).TokenContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(cfg.CacheFile)
	if err != nil {
		t.Fatal(err)
	}

	cmd := helperCmd(t, a, cfg.CacheFile, "pause")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != pausedSentinel {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("helper did not pause in the write: %q %v\n%s", line, err, stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if got := a.Requests(entratest.EndpointToken, ""); got != 2 {
		t.Fatalf("token requests = %d, want 2 (first token + the killed refresh)", got)
	}

	after, err := os.ReadFile(cfg.CacheFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("cache file changed although the writer was killed before the rename")
	}
	// The killed process's lock is gone and the old token is still served.
	tok, err := mustNew(t, cfg).TokenContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != first.AccessToken {
		t.Fatal("previous cached token was not used")
	}
	if got := a.Requests(entratest.EndpointToken, ""); got != 2 {
		t.Fatalf("token requests = %d, want still 2", got)
	}
	// The next write sweeps the dead writer's temp file away.
	if stale, _ := filepath.Glob(cfg.CacheFile + ".tmp-*"); len(stale) != 1 {
		t.Fatalf("want the killed writer's temp file, found %v", stale)
	}
	if _, err := mustNew(t, cfg).Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if stale, _ := filepath.Glob(cfg.CacheFile + ".tmp-*"); len(stale) != 0 {
		t.Fatalf("stale temp files remain: %v", stale)
	}
	assertCacheParses(t, cfg.CacheFile, 1)
}

// assertCacheParses checks that file is MSAL cache JSON with wantAT access
// tokens.
func assertCacheParses(t *testing.T, file string, wantAT int) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]map[string]json.RawMessage
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("cache file does not parse: %v", err)
	}
	if got := len(c["AccessToken"]); got != wantAT {
		t.Fatalf("cache holds %d access tokens, want %d", got, wantAT)
	}
}
