package queue_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/spool"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/sender/smtptest"
)

const mailbox = "alerts@contoso.com"

// clock is a fake clock: the Deliverer's waits jump it forward when no
// delivery is in flight, and otherwise wait for a delivery to end.
type clock struct {
	mu sync.Mutex
	t  time.Time
	// idle, when set, is called each time the Deliverer waits with no
	// delivery in flight.
	idle func()
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Wait(ctx context.Context, until time.Time, idle bool, wake <-chan struct{}) error {
	if idle {
		c.mu.Lock()
		if until.After(c.t) {
			c.t = until
		}
		f := c.idle
		c.mu.Unlock()
		if f != nil {
			f()
		}
		return ctx.Err()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-wake:
		return nil
	}
}

// tokens is a token source that fails while the fake authority is down.
type tokens struct {
	clk    *clock
	downTo time.Time
	mu     sync.Mutex
	calls  int
}

func (ts *tokens) Token() (*oauth2.Token, error) {
	ts.mu.Lock()
	ts.calls++
	ts.mu.Unlock()
	if ts.clk.Now().Before(ts.downTo) {
		return nil, errors.New("authority unreachable (fake outage)")
	}
	return &oauth2.Token{AccessToken: "eyJ0eXAi.fake.token", Expiry: time.Now().Add(time.Hour)}, nil
}

// counting wraps a Transport and records how many Sends run at once and
// when (on the fake clock) each message was accepted.
type counting struct {
	queue.Transport
	clk      *clock
	mu       sync.Mutex
	now      int
	peak     int
	accepted []time.Time
	// sentBefore holds each message's SentBefore, in the order sent.
	sentBefore []bool
}

func (c *counting) Send(ctx context.Context, msgs ...*sender.Message) ([]sender.Result, error) {
	return c.SendEach(ctx, nil, msgs...)
}

// SendEach passes each on to the wrapped Transport when it is a
// queue.EachTransport.
func (c *counting) SendEach(ctx context.Context, each func(int, sender.Result), msgs ...*sender.Message) ([]sender.Result, error) {
	c.mu.Lock()
	c.now++
	c.peak = max(c.peak, c.now)
	for _, m := range msgs {
		c.sentBefore = append(c.sentBefore, m.SentBefore)
	}
	c.mu.Unlock()
	var res []sender.Result
	var err error
	if et, ok := c.Transport.(queue.EachTransport); ok && each != nil {
		res, err = et.SendEach(ctx, each, msgs...)
	} else {
		res, err = c.Transport.Send(ctx, msgs...)
	}
	c.mu.Lock()
	c.now--
	for _, r := range res {
		if r.Err == nil {
			c.accepted = append(c.accepted, c.clk.Now())
		}
	}
	c.mu.Unlock()
	return res, err
}

type world struct {
	clk   *clock
	srv   *smtptest.Server
	q     *spool.Spool
	toks  *tokens
	tr    *counting
	d     *queue.Deliverer
	calls map[string]int
	log   tlog
	// routeRate is the Route's RatePerMinute.
	routeRate int
}

func newWorld(t *testing.T, opts smtptest.Options, pol queue.Policy) *world {
	t.Helper()
	return newWorldIn(t, opts, pol, t.TempDir(), time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC))
}

// newWorldIn is newWorld with the spool in dir and the fake clock at
// start.
func newWorldIn(t *testing.T, opts smtptest.Options, pol queue.Policy, dir string, start time.Time) *world {
	t.Helper()
	clk := &clock{t: start}
	opts.Now = clk.Now
	srv, err := smtptest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	q, err := spool.Open(dir, spool.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	w := &world{clk: clk, srv: srv, q: q, toks: &tokens{clk: clk}, calls: map[string]int{}, log: tlog{t, new(sync.Mutex), new(strings.Builder)}}
	s, err := sender.New(sender.Config{
		Tokens: w.toks, Mailbox: mailbox,
		Host: srv.Host(), Port: srv.Port(), RootCAs: srv.RootCAs(),
		MaxAttempts: 1, RatePerMinute: -1, CommandTimeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.tr = &counting{Transport: s, clk: clk}
	var mu sync.Mutex
	w.d, err = queue.NewDeliverer(queue.DelivererConfig{
		Queue: q,
		Route: func(_ context.Context, profile string) (queue.Route, error) {
			mu.Lock()
			w.calls[profile]++
			mu.Unlock()
			return queue.Route{Mailbox: mailbox, Transport: w.tr, RatePerMinute: w.routeRate}, nil
		},
		Policy:       pol,
		ReportingMTA: "relay.test",
		Now:          clk.Now,
		Wait:         clk.Wait,
		Logger:       slog.New(slog.NewTextHandler(w.log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// run runs the Deliverer until smtptest has n messages and the queue is
// empty (checked whenever the Deliverer is idle), and returns the
// messages.
func (w *world) run(t *testing.T, n int) []smtptest.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	w.clk.mu.Lock()
	w.clk.idle = func() {
		if len(w.srv.Messages()) < n {
			return
		}
		if left, err := w.q.List(ctx, queue.Filter{}); err == nil && len(left) == 0 {
			cancel()
		}
	}
	w.clk.mu.Unlock()
	_ = w.d.Run(ctx)
	msgs := w.srv.Messages()
	if len(msgs) < n {
		t.Fatalf("smtptest got %d messages, want %d (fake time %v)", len(msgs), n, w.clk.Now())
	}
	return msgs
}

func (w *world) enqueue(t *testing.T, from, to, subject string) queue.ID {
	t.Helper()
	data := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@contoso.com>\r\n\r\nbody\r\n", mailbox, to, subject, strings.ReplaceAll(subject, " ", "-"))
	id, err := w.q.Enqueue(context.Background(), queue.Envelope{From: from, To: strings.Split(to, ","), Profile: "alerts"}, strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestDeliveryKeepsExchangeLimits(t *testing.T) {
	w := newWorld(t, smtptest.Options{RatePerMinute: 30}, queue.Policy{})
	start := w.clk.Now()
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Go(func() {
			for i := range 10 {
				w.enqueue(t, mailbox, "ops@example.com", fmt.Sprintf("message %d-%d", g, i))
			}
		})
	}
	wg.Wait()
	msgs := w.run(t, 200)

	if got := w.srv.PeakConns(mailbox); got > 3 {
		t.Errorf("smtptest saw %d connections at once for the mailbox", got)
	}
	if w.tr.peak > 3 {
		t.Errorf("%d Sends at once", w.tr.peak)
	}
	// Over the rate, smtptest refuses MAIL FROM with 4.4.2: every MAIL
	// FROM must have carried one of the 200.
	if got := w.srv.Count(smtptest.StageMail); got != 200 {
		t.Errorf("%d MAIL FROM for 200 messages: the pace was exceeded", got)
	}
	acc := slices.Clone(w.tr.accepted)
	slices.SortFunc(acc, time.Time.Compare)
	for i := 30; i < len(acc); i++ {
		if acc[i].Sub(acc[i-30]) < time.Minute {
			t.Fatalf("31 messages within %v (at %v)", acc[i].Sub(acc[i-30]), acc[i])
		}
	}
	if el := w.clk.Now().Sub(start); el < 6*time.Minute {
		t.Errorf("200 messages in %v of fake time; 30 a minute takes over 6 minutes", el)
	}
	if conns := w.srv.Count(smtptest.StageGreeting); conns > 40 {
		t.Errorf("%d connections for 200 messages: not many messages per connection", conns)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		seen[string(m.Data)] = true
	}
	if len(seen) != 200 {
		t.Errorf("%d distinct messages delivered, want 200", len(seen))
	}
	if left, _ := w.q.List(context.Background(), queue.Filter{}); len(left) != 0 {
		t.Errorf("%d messages left in the queue", len(left))
	}
	if w.calls["alerts"] != 1 {
		t.Errorf("Route asked %d times for one profile", w.calls["alerts"])
	}
}

// A profile's rate_per_minute reaches the Deliverer through its Route:
// -1 turns pacing off for the mailbox, a number replaces the 30.
func TestRouteRateReplacesThePace(t *testing.T) {
	for _, tc := range []struct {
		rate, n  int
		min, max time.Duration // of fake time
	}{
		{rate: -1, n: 90, max: time.Minute},
		{rate: 10, n: 25, min: 2 * time.Minute, max: 3 * time.Minute},
	} {
		t.Run(fmt.Sprint(tc.rate), func(t *testing.T) {
			w := newWorld(t, smtptest.Options{}, queue.Policy{})
			w.routeRate = tc.rate
			start := w.clk.Now()
			for i := range tc.n {
				w.enqueue(t, mailbox, "ops@example.com", fmt.Sprintf("message %d", i))
			}
			w.run(t, tc.n)
			if el := w.clk.Now().Sub(start); el < tc.min || el >= tc.max {
				t.Errorf("%d messages in %v of fake time, want at least %v and under %v", tc.n, el, tc.min, tc.max)
			}
		})
	}
}

func TestMessagesWaitWhileTheAuthorityIsDown(t *testing.T) {
	w := newWorld(t, smtptest.Options{}, queue.Policy{})
	start := w.clk.Now()
	w.toks.downTo = start.Add(20 * time.Minute)
	id := w.enqueue(t, mailbox, "ops@example.com", "while down")
	w.enqueue(t, mailbox, "ops@example.com", "while down 2")
	msgs := w.run(t, 2)
	if len(msgs) != 2 {
		t.Fatalf("delivered %d", len(msgs))
	}
	if w.clk.Now().Before(w.toks.downTo) {
		t.Errorf("delivered at %v, while the authority was down", w.clk.Now())
	}
	if w.toks.calls < 3 {
		t.Errorf("token asked %d times: the outage was not retried", w.toks.calls)
	}
	if w.clk.Now().After(w.toks.downTo.Add(30 * time.Minute)) {
		t.Errorf("delivered at %v, long after the outage ended at %v", w.clk.Now(), w.toks.downTo)
	}
	if _, err := w.q.Get(context.Background(), id); !errors.Is(err, queue.ErrNotFound) {
		t.Errorf("delivered message still queued: %v", err)
	}
}

// tlog writes the Deliverer's log to the test's log, and keeps it for
// tests that look at it.
type tlog struct {
	t   *testing.T
	mu  *sync.Mutex
	buf *strings.Builder
}

func (l tlog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	return len(p), nil
}

// logged returns what the Deliverer logged so far.
func (w *world) logged() string {
	w.log.mu.Lock()
	defer w.log.mu.Unlock()
	return w.log.buf.String()
}

func TestPermanentRefusalIsReportedToTheSender(t *testing.T) {
	w := newWorld(t, smtptest.Options{Faults: []smtptest.Fault{
		{Stage: smtptest.StageRcpt, N: 1, Reply: "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"},
	}}, queue.Policy{})
	w.enqueue(t, mailbox, "gone@example.com,ops@example.com", "quarterly report")
	msgs := w.run(t, 2)
	if len(msgs) != 2 {
		t.Fatalf("smtptest got %d messages", len(msgs))
	}
	if got := msgs[0].To; len(got) != 1 || got[0] != "ops@example.com" {
		t.Errorf("the message went to %v, want only the recipient not refused", got)
	}
	dsn := msgs[1]
	if len(dsn.To) != 1 || dsn.To[0] != mailbox {
		t.Errorf("the notification went to %v", dsn.To)
	}
	h, types, rcpts, headers := queue.ParseDSN(t, dsn.Data)
	if len(types) != 3 || len(rcpts) != 1 || rcpts[0].Get("Final-Recipient") != "rfc822; gone@example.com" || rcpts[0].Get("Status") != "5.1.10" {
		t.Errorf("notification parts %v, recipients %v", types, rcpts)
	}
	if !strings.Contains(headers, "Subject: quarterly report") || h.Get("In-Reply-To") != "<quarterly-report@contoso.com>" {
		t.Errorf("notification header %v, original header %q", h, headers)
	}
	if dead, _ := w.q.List(context.Background(), queue.Filter{Dead: true}); len(dead) != 0 {
		t.Errorf("dead letters: %v", dead)
	}
}

func TestExpiryIsReportedAndTheNullSenderDeadLettered(t *testing.T) {
	w := newWorld(t, smtptest.Options{}, queue.Policy{RetryFor: time.Hour})
	start := w.clk.Now()
	w.toks.downTo = start.Add(2 * time.Hour)
	w.enqueue(t, mailbox, "ops@example.com", "expires")
	null := w.enqueue(t, "", "ops@example.com", "from the null sender")
	msgs := w.run(t, 1)
	if len(msgs) != 1 {
		t.Fatalf("smtptest got %d messages, want only the notification", len(msgs))
	}
	_, _, rcpts, _ := queue.ParseDSN(t, msgs[0].Data)
	if len(rcpts) != 1 || rcpts[0].Get("Status") != "5.4.7" || !strings.Contains(rcpts[0].Get("Diagnostic-Code"), "fake outage") {
		t.Errorf("notification recipients %v", rcpts)
	}
	dead, err := w.q.List(context.Background(), queue.Filter{Dead: true})
	if err != nil || len(dead) != 1 || dead[0].ID != null || !strings.Contains(dead[0].DeadReason, "null sender") {
		t.Fatalf("dead letters %v, %v", dead, err)
	}
	if dead[0].Recipients[0].Status != queue.Failed || dead[0].LastError == nil {
		t.Errorf("dead letter state %+v", dead[0])
	}
}
