package sender

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
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

// parsed is a received message split into its parts.
type parsed struct {
	header mail.Header
	parts  []part // leaves of the MIME tree, in order
}

type part struct {
	header map[string][]string
	ctype  string
	params map[string]string
	body   []byte // decoded
}

func parseMessage(t *testing.T, data []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	p := parsed{header: m.Header}
	walk(t, map[string][]string(m.Header), m.Body, &p.parts)
	return p
}

func walk(t *testing.T, h map[string][]string, body io.Reader, out *[]part) {
	t.Helper()
	get := func(k string) string {
		if v := h[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	ct := get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		t.Fatalf("content type %q: %v", ct, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			pp, err := mr.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("multipart: %v", err)
			}
			walk(t, pp.Header, pp, out)
		}
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	*out = append(*out, part{header: h, ctype: mt, params: params, body: decodeBody(t, get("Content-Transfer-Encoding"), raw)})
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
