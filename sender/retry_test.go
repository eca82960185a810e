package sender

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/mimetest"
	"github.com/m365send/m365send/internal/smtpconn"

	"github.com/wneessen/go-mail/log"
	"golang.org/x/oauth2"

	"github.com/m365send/m365send/sender/smtptest"
)

func batch(n int) []*Message {
	msgs := make([]*Message, n)
	for i := range msgs {
		msgs[i] = &Message{To: []string{"ops@example.com"}, Subject: fmt.Sprintf("msg %02d", i+1), Text: fmt.Sprintf("body %d", i+1)}
	}
	return msgs
}

// exactlyOnce checks that the server accepted each of n batch messages once.
func exactlyOnce(t *testing.T, srv *smtptest.Server, n int) {
	t.Helper()
	got := map[string]int{}
	for _, m := range srv.Messages() {
		p := mimetest.Parse(t, m.Data)
		got[p.Header.Get("Subject")]++
	}
	for i := 1; i <= n; i++ {
		subj := fmt.Sprintf("msg %02d", i)
		if got[subj] != 1 {
			t.Errorf("%s arrived %d times, want once", subj, got[subj])
		}
	}
	if len(srv.Messages()) != n {
		t.Errorf("server accepted %d messages, want %d", len(srv.Messages()), n)
	}
}

func TestSendSurvivesConnectionDroppedMidData(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageBody, N: 4, Drop: true}}})
	s, clk := newTestSender(t, srv, &tokens{current: "t"}, nil)
	res, err := s.Send(testCtx(t), batch(10)...)
	if err != nil {
		t.Fatalf("Send: %v (%+v)", err, res)
	}
	exactlyOnce(t, srv, 10)
	if n := srv.Count(smtptest.StageGreeting); n != 2 {
		t.Errorf("%d connections, want 2 (one re-dial)", n)
	}
	if len(clk.slept()) != 1 {
		t.Errorf("backoff sleeps %v, want one", clk.slept())
	}
}

func TestSendRetriesAfter451OnThirdOfTen(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageEndOfData, N: 3, Reply: "451 4.7.0 Temporary server error. Please try again later. PRX4"}}})
	s, clk := newTestSender(t, srv, &tokens{current: "t"}, nil)
	if _, err := s.Send(testCtx(t), batch(10)...); err != nil {
		t.Fatal(err)
	}
	exactlyOnce(t, srv, 10)
	if n := srv.Count(smtptest.StageGreeting); n != 1 {
		t.Errorf("%d connections, want 1 (a 451 keeps the connection)", n)
	}
	if sl := clk.slept(); len(sl) != 1 || sl[0] < backoffBase/2 || sl[0] > backoffBase {
		t.Errorf("backoff sleeps %v, want one between %v and %v", sl, backoffBase/2, backoffBase)
	}
}

func TestSendRetriesAfter432OnConnect(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageAuth, N: 1, Reply: "432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information."}}})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, nil)
	if _, err := s.Send(testCtx(t), batch(10)...); err != nil {
		t.Fatal(err)
	}
	exactlyOnce(t, srv, 10)
	if n := srv.Count(smtptest.StageGreeting); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

func TestSendReconnectsWithFreshTokenWhenTokenExpiresMidBatch(t *testing.T) {
	var srv *smtptest.Server
	var expired atomic.Bool
	verify := func(tok, user string) error {
		if user != testMailbox {
			return errors.New("wrong mailbox")
		}
		switch {
		case tok == "token-A" && !expired.Load():
			return nil
		case tok == "token-B":
			return nil
		}
		return errors.New("token expired")
	}
	srv = startSMTP(t, smtptest.Options{Verify: verify})
	// After the 5th message the token expires and the server drops the
	// session at the next MAIL FROM.
	srv.AddFault(smtptest.Fault{Stage: smtptest.StageMail, N: 6, Drop: true})
	ts := &refreshingTokens{tokens{current: "token-A", next: "token-B"}}
	s, _ := newTestSender(t, srv, ts, nil)

	msgs := batch(10)
	ctx := testCtx(t)
	res, err := s.Send(ctx, msgs[:5]...)
	if err != nil {
		t.Fatal(err, res)
	}
	expired.Store(true)
	if res, err := s.Send(ctx, msgs[5:]...); err != nil {
		t.Fatal(err, res)
	}
	exactlyOnce(t, srv, 10)
	if ts.refreshes != 1 {
		t.Errorf("Refresh called %d times, want 1", ts.refreshes)
	}
}

func TestSendTokenExpiresWithinOneBatch(t *testing.T) {
	var srv *smtptest.Server
	verify := func(tok, user string) error {
		if tok == "token-B" || tok == "token-A" && len(srv.Messages()) < 5 {
			return nil
		}
		return errors.New("token expired")
	}
	srv = startSMTP(t, smtptest.Options{Verify: verify, Faults: []smtptest.Fault{{Stage: smtptest.StageMail, N: 6, Drop: true}}})
	ts := &refreshingTokens{tokens{current: "token-A", next: "token-B"}}
	s, _ := newTestSender(t, srv, ts, nil)
	if res, err := s.Send(testCtx(t), batch(10)...); err != nil {
		t.Fatal(err, res)
	}
	exactlyOnce(t, srv, 10)
	for _, m := range srv.Messages()[5:] {
		if m.Conn == 1 {
			t.Errorf("message %d went over the first connection", m.Seq)
		}
	}
	if ts.refreshes != 1 {
		t.Errorf("Refresh called %d times, want 1", ts.refreshes)
	}
}

func TestSendGivesUpAfter535WithoutRefresher(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Verify: func(string, string) error { return errors.New("no") }})
	ts := &tokens{current: "t"}
	s, clk := newTestSender(t, srv, ts, nil)
	res, err := s.Send(testCtx(t), batch(3)...)
	var e *Error
	if !errors.As(err, &e) || e.Code != 535 || e.Temporary {
		t.Fatalf("err = %v", err)
	}
	for i, r := range res {
		if r.Err == nil {
			t.Errorf("message %d reported sent", i)
		}
	}
	if n := srv.Count(smtptest.StageGreeting); n != 1 || len(clk.slept()) != 0 {
		t.Errorf("%d connections, sleeps %v; want 1 connection and no retry", n, clk.slept())
	}
}

func TestSendRefreshesOnlyOnceAfter535(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Verify: func(string, string) error { return errors.New("no") }})
	ts := &refreshingTokens{tokens{current: "A", next: "B"}}
	s, _ := newTestSender(t, srv, ts, nil)
	_, err := s.Send(testCtx(t), batch(1)...)
	var e *Error
	if !errors.As(err, &e) || e.EnhancedCode != "5.7.3" {
		t.Fatalf("err = %v", err)
	}
	if ts.refreshes != 1 || srv.Count(smtptest.StageAuth) != 2 {
		t.Errorf("refreshes %d, AUTH %d; want 1 and 2", ts.refreshes, srv.Count(smtptest.StageAuth))
	}
}

func TestSendFailsFastOn5xxAndGoesOn(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageEndOfData, N: 2, Reply: "554 5.2.2 mailbox full; STOREDRV.Submission.Exception:QuotaExceededException"}}})
	s, clk := newTestSender(t, srv, &tokens{current: "t"}, nil)
	res, err := s.Send(testCtx(t), batch(3)...)
	if err == nil || res[1].Err == nil || res[0].Err != nil || res[2].Err != nil {
		t.Fatalf("err %v, results %+v", err, res)
	}
	if n := srv.Count(smtptest.StageEndOfData); n != 3 || len(clk.slept()) != 0 {
		t.Errorf("%d messages transmitted, sleeps %v; want 3 and none", n, clk.slept())
	}
}

func TestSendStopsAfterMaxAttempts(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageEndOfData, Reply: "451 4.7.0 Temporary server error"}}})
	s, clk := newTestSender(t, srv, &tokens{current: "t"}, func(c *Config) { c.MaxAttempts = 4 })
	_, err := s.Send(testCtx(t), batch(1)...)
	var e *Error
	if !errors.As(err, &e) || !e.Temporary {
		t.Fatalf("err = %v", err)
	}
	sl := clk.slept()
	if len(sl) != 3 {
		t.Fatalf("sleeps %v, want 3", sl)
	}
	for i, d := range sl {
		lo, hi := (backoffBase<<i)/2, backoffBase<<i
		if d < lo || d > hi {
			t.Errorf("sleep %d = %v, want in [%v, %v]", i, d, lo, hi)
		}
	}
}

func TestSendRecoversFromStalledServer(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageMail, N: 2, Stall: true}}})
	// The timeout only has to end the stall eventually; it is long enough
	// that a slow reply on a loaded machine (-race) is not taken for one:
	// a late reply to the final dot would cause a resend.
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, func(c *Config) { c.CommandTimeout = 3 * time.Second })
	if res, err := s.Send(testCtx(t), batch(3)...); err != nil {
		t.Fatal(err, res)
	}
	exactlyOnce(t, srv, 3)
}

func TestSendHonoursContextCancel(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageMail, N: 1, Stall: true}}})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, nil)
	ctx, cancel := context.WithCancel(testCtx(t))
	go func() {
		// Cancel once the server is stuck in the stall.
		deadline := time.Now().Add(10 * time.Second)
		for srv.Count(smtptest.StageMail) == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	res, err := s.Send(ctx, batch(2)...)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if res[0].Err == nil || res[1].Err == nil {
		t.Errorf("results %+v", res)
	}
}

func TestSendPacesToRatePerMinute(t *testing.T) {
	var clk *fakeClock
	now := func() time.Time { return clk.now() }
	srv := startSMTP(t, smtptest.Options{RatePerMinute: 3, Now: now})
	s, c := newTestSender(t, srv, &tokens{current: "t"}, func(c *Config) { c.RatePerMinute = 3 })
	clk = c
	start := clk.now()
	if res, err := s.Send(testCtx(t), batch(7)...); err != nil {
		t.Fatal(err, res)
	}
	exactlyOnce(t, srv, 7)
	if el := clk.now().Sub(start); el != 2*time.Minute {
		t.Errorf("7 messages at 3/minute took %v of clock, want 2m", el)
	}
	if n := srv.Count(smtptest.StageGreeting); n != 1 {
		t.Errorf("%d connections: the server's own limit was hit", n)
	}
}

// TestAtMostMaxConnsConnections holds maxConns connections in AUTH until
// the other Sends are waiting for a connection slot, so a missing limit
// shows as a third connection reaching AUTH, whatever the timing.
func TestAtMostMaxConnsConnections(t *testing.T) {
	const maxConns, sends = 2, 5
	var (
		mu       sync.Mutex
		inflight int
		waiting  int
		over     int
		release  = make(chan struct{})
		released bool
	)
	// open releases the gate once maxConns connections are in AUTH and
	// the rest wait for a slot, or at once after a breach; mu is held.
	open := func() {
		if !released && (over > 0 || inflight == maxConns && waiting == sends-maxConns) {
			released = true
			close(release)
		}
	}
	verify := func(string, string) error {
		mu.Lock()
		inflight++
		if inflight > maxConns {
			over = max(over, inflight)
		}
		open()
		mu.Unlock()
		<-release
		mu.Lock()
		inflight--
		mu.Unlock()
		return nil
	}
	srv := startSMTP(t, smtptest.Options{Verify: verify})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, func(c *Config) { c.MaxConns = maxConns })
	s.slotWait = func() {
		mu.Lock()
		defer mu.Unlock()
		waiting++
		open()
	}
	var wg sync.WaitGroup
	errs := make(chan error, sends)
	for i := range sends {
		wg.Go(func() {
			if _, err := s.Send(testCtx(t), batch(1)...); err != nil {
				errs <- fmt.Errorf("send %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if over > 0 || srv.PeakConns(testMailbox) > maxConns {
		t.Errorf("%d connections in AUTH at once, peak %d authenticated; want at most %d", over, srv.PeakConns(testMailbox), maxConns)
	}
	if waiting != sends-maxConns {
		t.Errorf("%d Sends waited for a slot, want %d", waiting, sends-maxConns)
	}
	if len(srv.Messages()) != sends {
		t.Errorf("%d messages arrived, want %d", len(srv.Messages()), sends)
	}
}

func TestTraceRedactsToken(t *testing.T) {
	const token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret-part"
	for _, challenge := range []bool{false, true} {
		t.Run(fmt.Sprintf("challenge=%v", challenge), func(t *testing.T) {
			refused := challenge
			srv := startSMTP(t, smtptest.Options{Challenge: challenge, Verify: func(tok, _ string) error {
				if refused || tok != token {
					return errors.New("refused")
				}
				return nil
			}})
			var trace bytes.Buffer
			s, _ := newTestSender(t, srv, &tokens{current: token}, func(c *Config) { c.Trace = &trace })
			_, err := s.Send(testCtx(t), batch(1)...)
			if challenge {
				var e *Error
				if !errors.As(err, &e) || e.Code != 535 || e.EnhancedCode != "5.7.3" {
					t.Fatalf("after a 334 challenge: err = %v, want the final 535 5.7.3", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			tr := trace.String()
			t.Logf("trace:\n%s", tr)
			b64 := smtpconn.XOAuth2Secrets(testMailbox, token)[0]
			for _, secret := range []string{token, "secret-part", b64, b64[:40]} {
				if strings.Contains(tr, secret) || (err != nil && strings.Contains(fmt.Sprint(err), secret)) {
					t.Errorf("trace or error contains %q:\n%s", secret, tr)
				}
			}
			for _, want := range []string{"C: EHLO", "C: STARTTLS", "TLS 1.3 established", "S: AUTH LOGIN XOAUTH2", "C: AUTH XOAUTH2 [redacted]\n", "C: QUIT\n"} {
				if !strings.Contains(tr, want) {
					t.Errorf("trace lacks %q:\n%s", want, tr)
				}
			}
			// After a refused AUTH, go-mail's QUIT is shown as QUIT.
			if strings.Contains(tr, "auth data redacted") {
				t.Errorf("trace hides a line as auth data:\n%s", tr)
			}
			if challenge && !strings.Contains(tr, "S: 535 5.7.3") {
				t.Errorf("trace lacks the final 535:\n%s", tr)
			}
			if !challenge && !strings.Contains(tr, "S: 235 2.7.0") {
				t.Errorf("trace lacks the AUTH result:\n%s", tr)
			}
		})
	}
}

// A 334 challenge that is not base64 (servers differ) is reported as a
// refused token, not as a decoding error, and is not retried.
func TestSendReportsNonBase64ChallengeAsRefusal(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Challenge: true, ChallengeText: "not base64 at all!",
		Verify: func(string, string) error { return errors.New("refused") }})
	var trace bytes.Buffer
	s, _ := newTestSender(t, srv, &tokens{current: "refused-token"}, func(c *Config) { c.Trace = &trace })
	_, err := s.Send(testCtx(t), batch(1)...)
	var e *Error
	if !errors.As(err, &e) || e.Stage != StageAuth || e.Temporary || e.Hint() == "" || !strings.Contains(err.Error(), "refused the token") {
		t.Fatalf("err = %#v (%v), want a permanent auth refusal with a hint", err, err)
	}
	if n := srv.Count(smtptest.StageAuth); n != 1 {
		t.Errorf("AUTH tried %d times, want 1 (no retry of a refusal)", n)
	}
	if strings.Contains(trace.String(), "refused-token") || strings.Contains(err.Error(), "refused-token") {
		t.Errorf("trace or error holds the token:\n%s", trace.String())
	}
	if len(srv.Messages()) != 0 {
		t.Error("a message arrived without AUTH")
	}
}

// TestTraceLoggerRedactsItself drives the trace wrapper directly, as if
// go-mail's own hiding of AUTH data were off: neither the token nor its
// XOAUTH2 form may reach the trace.
func TestTraceLoggerRedactsItself(t *testing.T) {
	const tok = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.unit-secret"
	b64 := smtpconn.XOAuth2Secrets(testMailbox, tok)[0]
	var out bytes.Buffer
	tl := &smtpconn.Trace{Mu: &sync.Mutex{}, W: &out, Secrets: smtpconn.XOAuth2Secrets(testMailbox, tok)}
	tl.Debugf(log.Log{Direction: log.DirClientToServer, Format: "AUTH XOAUTH2 %s", Messages: []any{b64}})
	tl.Debugf(log.Log{Direction: log.DirClientToServer, Format: "%s", Messages: []any{b64}})
	tl.Debugf(log.Log{Direction: log.DirClientToServer, Format: "QUIT"})
	tl.Debugf(log.Log{Direction: log.DirServerToClient, Format: "%d %s", Messages: []any{535, "5.7.3 token " + tok + " refused"}})
	got := out.String()
	t.Logf("trace:\n%s", got)
	for _, secret := range []string{tok, "unit-secret", b64, b64[:40]} {
		if strings.Contains(got, secret) {
			t.Errorf("trace holds %q:\n%s", secret, got)
		}
	}
	for _, want := range []string{"C: AUTH XOAUTH2 [redacted]\nC: [redacted]\nC: QUIT\n", "S: 535 5.7.3 token "} {
		if !strings.Contains(got, want) {
			t.Errorf("trace lacks %q:\n%s", want, got)
		}
	}
}

func TestRedactLine(t *testing.T) {
	got := smtpconn.RedactAuthLine("AUTH XOAUTH2 dXNlcj1hQGIBYXV0aD1CZWFyZXIgeHl6AQE=", nil)
	if got != "AUTH XOAUTH2 [redacted]" {
		t.Errorf("smtpconn.RedactAuthLine = %q", got)
	}
	if got := smtpconn.RedactAuthLine("S: 334 abc token123 x", []string{"token123"}); strings.Contains(got, "token123") {
		t.Errorf("secret kept: %q", got)
	}
}

func TestSendResendsWhenDroppedAfterFinalDot(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageEndOfData, N: 2, Drop: true}}})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, nil)
	if res, err := s.Send(testCtx(t), batch(4)...); err != nil {
		t.Fatal(err, res)
	}
	exactlyOnce(t, srv, 4)
	if n := srv.Count(smtptest.StageGreeting); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// TestSendDuplicatesWhenReplyToFinalDotIsLost documents a limit of SMTP:
// the server accepts a message but the connection breaks before its 250
// reaches the client. The sender cannot tell this from a message that did
// not arrive, so it sends it again: it arrives twice, with the same
// Message-ID.
func TestSendDuplicatesWhenReplyToFinalDotIsLost(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageEndOfData, N: 2, AcceptThenDrop: true}}})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, nil)
	res, err := s.Send(testCtx(t), batch(3)...)
	if err != nil {
		t.Fatal(err, res)
	}
	got := srv.Messages()
	var subjects, ids []string
	for _, m := range got {
		p := mimetest.Parse(t, m.Data)
		subjects = append(subjects, p.Header.Get("Subject"))
		ids = append(ids, p.Header.Get("Message-Id"))
	}
	if want := []string{"msg 01", "msg 02", "msg 02", "msg 03"}; !slices.Equal(subjects, want) {
		t.Fatalf("server recorded %q, want %q", subjects, want)
	}
	if ids[1] != ids[2] || ids[1] != res[1].MessageID {
		t.Errorf("the copies' Message-IDs %q and %q differ (Result: %q)", ids[1], ids[2], res[1].MessageID)
	}
	if got[1].Conn == got[2].Conn {
		t.Errorf("both copies on connection %d, want a re-dial", got[1].Conn)
	}
}

func TestRefusedRecipientIsNamed(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageRcpt, N: 2, Reply: "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"}}})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, nil)
	_, err := s.Send(testCtx(t), &Message{To: []string{"a@example.com", "nobody@example.com"}, Text: "x"})
	var e *Error
	if !errors.As(err, &e) || e.Stage != StageRcpt || e.Recipient != "nobody@example.com" || e.EnhancedCode != "5.1.10" {
		t.Fatalf("err = %#v", err)
	}
	if want := srv.Addr() + ": rcpt <nobody@example.com>: 550 5.1.10 RESOLVER.ADR.RecipientNotFound"; !strings.HasPrefix(e.Error(), want) {
		t.Errorf("Error() = %q, want prefix %q", e.Error(), want)
	}
	if len(srv.Messages()) != 0 {
		t.Error("message sent despite a refused recipient")
	}
}

// ctxTokens is a ContextTokenSource whose TokenContext blocks until its
// context ends, like a token endpoint that does not answer. Token (no
// context) fails at once, so a sender that ignores the context shows.
// ctxTokens blocks in TokenContext until the caller's context ends; on
// entering it calls onEnter (if set), so a test can end the context exactly
// while the token is being fetched.
type ctxTokens struct {
	entered atomic.Int32
	onEnter func()
}

func (c *ctxTokens) Token() (*oauth2.Token, error) {
	return nil, errors.New("Token called: the caller's context is ignored")
}

func (c *ctxTokens) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	c.entered.Add(1)
	if c.onEnter != nil {
		c.onEnter()
	}
	<-ctx.Done()
	return nil, fmt.Errorf("token endpoint: %w", ctx.Err())
}

func TestSendContextCoversTokenFetch(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{})
	// The context ends while the token source is waiting, whatever the
	// machine's speed: Send must give up then instead of waiting for a
	// token that never comes.
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	ts := &ctxTokens{onEnter: cancel}
	s, _ := newTestSender(t, srv, ts, nil)
	res, err := s.Send(ctx, batch(1)...)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Send error = %v, want context.Canceled", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Stage != StageToken {
		t.Errorf("error %#v, want stage %s", err, StageToken)
	}
	if res[0].Err == nil || ts.entered.Load() != 1 {
		t.Errorf("results %+v, TokenContext calls %d", res, ts.entered.Load())
	}
	if len(srv.Messages()) != 0 {
		t.Error("message sent without a token")
	}
}

// After a refused RCPT the transaction is reset (RSET) and the batch goes
// on over the same connection: the server answers a MAIL inside an open
// transaction with 503 5.5.2, so a missing RSET fails the next message.
func TestRefusedRecipientResetsAndBatchGoesOn(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageRcpt, N: 2, Reply: "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"}}})
	s, clk := newTestSender(t, srv, &tokens{current: "t"}, nil)
	res, err := s.Send(testCtx(t), batch(3)...)
	if err == nil {
		t.Fatal("Send reported no error for a refused recipient")
	}
	if res[0].Err != nil || res[2].Err != nil {
		t.Errorf("messages 1 and 3 failed: %v / %v", res[0].Err, res[2].Err)
	}
	var e *Error
	if !errors.As(res[1].Err, &e) || e.Stage != StageRcpt || e.Recipient != "ops@example.com" || e.Code != 550 ||
		!strings.Contains(e.Error(), "ops@example.com") {
		t.Errorf("message 2: err = %#v, want a 550 at RCPT naming ops@example.com", res[1].Err)
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("server accepted %d messages, want 2", n)
	}
	if n := srv.Count(smtptest.StageGreeting); n != 1 || len(clk.slept()) != 0 {
		t.Errorf("%d connections, sleeps %v; want 1 connection and no retry", n, clk.slept())
	}
}

// A token source that fails stops Send before any SMTP connection is made:
// nothing is held open, and nothing is asked of the server, for a message
// that cannot be authenticated.
func TestSendGetsTheTokenBeforeConnecting(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{})
	s, _ := newTestSender(t, srv, &tokens{err: errors.New("sign-in required: run `m365send login`")}, nil)
	_, err := s.Send(testCtx(t), batch(1)...)
	var e *Error
	if !errors.As(err, &e) || e.Stage != StageToken || !strings.Contains(err.Error(), "sign-in required") {
		t.Fatalf("err = %v, want the token source's error at stage %s", err, StageToken)
	}
	if n := srv.Count(smtptest.StageGreeting); n != 0 {
		t.Errorf("%d SMTP connections were made for a message without a token", n)
	}
}
