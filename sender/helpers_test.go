package sender

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365send/m365send/sender/smtptest"
)

const testMailbox = "alerts@contoso.com"

// tokens is a token source for tests: it hands out current, and Refresh
// switches to next (when set).
type tokens struct {
	mu        sync.Mutex
	current   string
	next      string
	calls     int
	refreshes int
	err       error
}

func (t *tokens) Token() (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls++
	if t.err != nil {
		return nil, t.err
	}
	return &oauth2.Token{AccessToken: t.current, TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
}

// refreshingTokens is a tokens that is also a Refresher.
type refreshingTokens struct{ tokens }

func (t *refreshingTokens) Refresh(context.Context) (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refreshes++
	if t.next == "" {
		return nil, errors.New("no fresh token available")
	}
	t.current, t.next = t.next, ""
	return &oauth2.Token{AccessToken: t.current, TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
}

// verifier accepts the tokens in its set for the mailbox only.
type verifier struct {
	mu    sync.Mutex
	valid map[string]bool
}

func newVerifier(toks ...string) *verifier {
	v := &verifier{valid: map[string]bool{}}
	for _, t := range toks {
		v.valid[t] = true
	}
	return v
}

func (v *verifier) Verify(tok, user string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.valid[tok] {
		return errors.New("token not valid")
	}
	if !strings.EqualFold(user, testMailbox) {
		return errors.New("token may not use this mailbox")
	}
	return nil
}

// fakeClock records sleeps instead of waiting, advancing its own time.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d)
	return ctx.Err()
}

func (c *fakeClock) slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// newTestSender makes a Sender for srv with a fake clock and no pacing
// unless cfg says otherwise.
func newTestSender(t testing.TB, srv *smtptest.Server, ts oauth2.TokenSource, mod func(*Config)) (*Sender, *fakeClock) {
	t.Helper()
	cfg := Config{
		Tokens:         ts,
		Mailbox:        testMailbox,
		Host:           srv.Host(),
		Port:           srv.Port(),
		RootCAs:        srv.RootCAs(),
		RatePerMinute:  -1,
		CommandTimeout: 10 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.now, s.sleep = clk.now, clk.sleep
	return s, clk
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startSMTP starts a fake Office 365 for one test and closes it when the
// test ends.
func startSMTP(tb testing.TB, opts smtptest.Options) *smtptest.Server {
	tb.Helper()
	s, err := smtptest.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
