package queue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/m365send/m365send/sender"
)

// The Deliverer's event messages: it logs exactly one record with one of
// them per event, which package internal/metrics counts (docs/relay.md).
const (
	// EventDelivered: a message reached all its remaining recipients (Info).
	EventDelivered = "queue: delivered"
	// EventDeferred: an attempt failed temporarily; tried again later (Info).
	EventDeferred = "queue: deferred"
	// EventRefused: a recipient was refused permanently (Warn).
	EventRefused = "queue: refused"
	// EventExpired: a message's retry period ended undelivered (Warn).
	EventExpired = "queue: retry period over"
	// EventBounced: a failure notification was queued for the sender (Warn).
	EventBounced = "queue: bounced"
	// EventDeadLetter: a message moved to the dead letters (Warn), or
	// moving it failed (Error).
	EventDeadLetter = "queue: dead letter"
	// EventMaybeDelivered: the reply to a message was lost; it is not
	// sent again (Warn).
	EventMaybeDelivered = "queue: maybe delivered, not tried again"
)

// Transport submits messages for one mailbox; *sender.Sender is one.
// Build it with MaxAttempts 1 and RatePerMinute -1: the Deliverer retries
// and paces, across all the messages of the mailbox.
type Transport interface {
	Send(ctx context.Context, msgs ...*sender.Message) ([]sender.Result, error)
}

// EachTransport is a Transport that reports each message's Result as
// soon as it is known, before it sends the next (*sender.Sender is one):
// the Deliverer records every message the moment its reply comes, so
// that a crash mid-batch sends again at most the one message whose reply
// came but was not recorded yet. A Transport that is not an
// EachTransport gets one message per Send call.
type EachTransport interface {
	Transport
	SendEach(ctx context.Context, each func(i int, r sender.Result), msgs ...*sender.Message) ([]sender.Result, error)
}

// Route is where the messages of one profile go.
type Route struct {
	// Mailbox is the mailbox the Transport signs in as: the limits hold
	// per mailbox (compared without case), and notifications come from it.
	Mailbox string
	// Transport submits the messages. Give every profile of one mailbox
	// the same Transport, so that they share one token source.
	Transport Transport
	// RatePerMinute, when not 0, replaces DelivererConfig.RatePerMinute
	// for the mailbox (negative: no pacing), as a profile's
	// rate_per_minute does; the first route of a mailbox sets it.
	RatePerMinute int
}

// Defaults of DelivererConfig.
const (
	DefaultMaxConns      = 3  // Exchange Online's concurrent connections per mailbox
	DefaultRatePerMinute = 30 // Exchange Online's messages per minute per mailbox
	DefaultBatch         = 10 // messages per connection
	DefaultPoll          = 10 * time.Second
	DefaultGrace         = 30 * time.Second
)

// DelivererConfig configures a Deliverer. Queue and Route are required;
// zero values of the rest are the defaults.
type DelivererConfig struct {
	// Queue holds the messages.
	Queue Queue
	// Route returns the route of a profile; it is called once per
	// profile and the answer kept. An error defers the profile's messages
	// like a temporary failure.
	Route func(ctx context.Context, profile string) (Route, error)
	// Policy is the retry schedule.
	Policy Policy

	// MaxConns caps concurrent connections per mailbox over the whole
	// process (default and at most 3).
	MaxConns int
	// RatePerMinute caps messages per mailbox in any minute over the whole
	// process (default 30; negative: no pacing).
	RatePerMinute int
	// Batch is how many messages go over one connection at most (default
	// 10); a batch also stops at 64 MB of data, which it holds in memory.
	Batch int
	// Lease is how long a claimed message is held (default DefaultLease).
	Lease time.Duration
	// Poll is how often the queue is looked at for messages that another
	// process enqueued (default 10s; Kick wakes the Deliverer at once).
	Poll time.Duration
	// ReportingMTA names this relay in notifications (a host name).
	ReportingMTA string
	// Grace is how long deliveries in flight may go on after Run's
	// context ends (default 30s); then they are cut off, and their
	// messages stay queued with the try recorded.
	Grace time.Duration

	// Limiter, when set, shares the per-mailbox limits with other
	// processes (other relays on one database): every connection asks it
	// first, on top of MaxConns and RatePerMinute in this process.
	Limiter Limiter

	// Now is the clock (default time.Now).
	Now func() time.Time
	// Wait waits until until, or until wake has a value, or ctx ends.
	// idle tells it that no delivery is in flight. The default waits on a
	// real timer; tests pass a fake clock that jumps to until when idle.
	Wait func(ctx context.Context, until time.Time, idle bool, wake <-chan struct{}) error
	// Logger receives one line per event: delivered, deferred (with
	// reason and hint), bounced, dead-lettered (nil: discard).
	Logger *slog.Logger
}

// Deliverer delivers what is due in a Queue, per mailbox at most MaxConns
// connections at once and RatePerMinute messages a minute, many messages
// per connection. Run it once per process (per Queue).
type Deliverer struct {
	cfg  DelivererConfig
	log  *slog.Logger
	wake chan struct{}

	kicked atomic.Bool // Kick was called: look at the queue

	mu      sync.Mutex
	routes  map[string]*route   // by profile
	boxes   map[string]*mailbox // by lower-case mailbox
	active  int                 // workers in flight
	soonest time.Time           // the earliest NextAttempt this Deliverer set
	wg      sync.WaitGroup
}

type route struct {
	Route
	box *mailbox
	err error // from cfg.Route; retried after until
	// until is when a failed Route is asked again.
	until time.Time
}

// mailbox is the shared state of one mailbox's deliveries.
type mailbox struct {
	name     string
	rate     int         // messages a minute; negative: no pacing
	conns    int         // connections in use
	sent     []time.Time // starts of the submissions in the pacing window
	hold     time.Time   // nothing is tried before this (quota, busy, down)
	shared   time.Time   // the Limiter said to ask again at this time
	backlog  []*Message  // claimed, waiting for a connection or the pace
	profiles []string
}

// NewDeliverer checks cfg and returns a Deliverer; Run starts it.
func NewDeliverer(cfg DelivererConfig) (*Deliverer, error) {
	if cfg.Queue == nil || cfg.Route == nil {
		return nil, errors.New("queue: deliverer: Queue and Route are required")
	}
	if cfg.MaxConns <= 0 || cfg.MaxConns > DefaultMaxConns {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.RatePerMinute == 0 {
		cfg.RatePerMinute = DefaultRatePerMinute
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Wait == nil {
		cfg.Wait = WaitUntil
	}
	cfg.Policy = cfg.Policy.WithDefaults()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Deliverer{
		cfg:    cfg,
		log:    log,
		wake:   make(chan struct{}, 1),
		routes: map[string]*route{},
		boxes:  map[string]*mailbox{},
	}, nil
}

// WaitUntil is the Deliverer's default Wait: it returns at until, when
// wake receives, or with ctx's error when ctx ends. A custom Wait (queue
// flush's, for one) can end with it after its own checks.
func WaitUntil(ctx context.Context, until time.Time, _ bool, wake <-chan struct{}) error {
	t := time.NewTimer(time.Until(until))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-wake:
	case <-t.C:
	}
	return nil
}

// Kick wakes the Deliverer, e.g. after an Enqueue in this process.
func (d *Deliverer) Kick() {
	d.kicked.Store(true)
	d.poke()
}

// poke wakes the loop without asking for a new look at the queue.
func (d *Deliverer) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then waits for the deliveries in flight
// (for at most Grace) and gives back the messages it held.
func (d *Deliverer) Run(ctx context.Context) error {
	// Deliveries run under their own context, cut off Grace after ctx
	// ends, so that a shutdown does not lose the reply to a message
	// already sent (which would send it twice).
	wctx, cut := context.WithCancel(context.WithoutCancel(ctx))
	defer cut()
	stopGrace := context.AfterFunc(ctx, func() { time.AfterFunc(d.cfg.Grace, cut) })
	defer stopGrace()
	defer func() {
		d.wg.Wait()
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, b := range d.boxes {
			for _, m := range b.backlog {
				_ = d.cfg.Queue.Release(context.WithoutCancel(ctx), m)
			}
			b.backlog = nil
		}
	}()
	var lastFill time.Time
	for {
		if err := ctx.Err(); err != nil {
			return nil
		}
		now := d.cfg.Now()
		if d.kicked.Swap(false) || lastFill.IsZero() || !now.Before(lastFill.Add(d.cfg.Poll)) || d.hungry(now) {
			// A Claim scans the whole queue: look only when something may
			// have become due or a mailbox could take more.
			lastFill = now
			if err := d.fill(ctx, now); err != nil && ctx.Err() == nil {
				d.log.Error("queue: claim", "error", err)
			}
		}
		d.mu.Lock()
		d.start(wctx, now)
		next := d.nextWake(now)
		idle := d.active == 0
		d.mu.Unlock()
		if err := d.cfg.Wait(ctx, next, idle, d.wake); err != nil {
			return nil
		}
	}
}

// hungry reports whether the queue should be looked at before the poll:
// a NextAttempt this Deliverer set has come, or a mailbox could start
// more than its backlog holds.
func (d *Deliverer) hungry(now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.soonest.IsZero() && !d.soonest.After(now) {
		return true
	}
	if len(d.boxes) == 0 {
		return true
	}
	for _, b := range d.boxes {
		if !now.Before(b.hold) && len(b.backlog) < (d.cfg.MaxConns-b.conns)*d.cfg.Batch {
			return true
		}
	}
	return false
}

// fill claims due messages into the backlogs of mailboxes that can take
// them.
func (d *Deliverer) fill(ctx context.Context, now time.Time) error {
	max := d.cfg.MaxConns * d.cfg.Batch * 2
	d.mu.Lock()
	var skip []string
	for p, r := range d.routes {
		if r.box != nil && (now.Before(r.box.hold) || len(r.box.backlog) >= max || r.box.conns == 0 && now.Before(r.box.shared)) || r.err != nil && now.Before(r.until) {
			skip = append(skip, p)
		}
	}
	d.mu.Unlock()
	msgs, err := d.cfg.Queue.Claim(ctx, ClaimRequest{Now: now, Max: max, Lease: d.cfg.Lease, Skip: skip})
	if err != nil {
		return err
	}
	for _, m := range msgs {
		r := d.route(ctx, m.Profile, now)
		if r.err != nil {
			d.defer_(ctx, m, now, r.err, Verdict{Wait: d.cfg.Policy.Backoff(m.Attempts + 1)}, nil)
			continue
		}
		d.mu.Lock()
		r.box.backlog = append(r.box.backlog, m)
		d.mu.Unlock()
	}
	return nil
}

// route returns the profile's route, asking cfg.Route the first time
// (and again a minute after it failed).
func (d *Deliverer) route(ctx context.Context, profile string, now time.Time) *route {
	d.mu.Lock()
	r := d.routes[profile]
	d.mu.Unlock()
	if r != nil && (r.err == nil || now.Before(r.until)) {
		return r
	}
	rt, err := d.cfg.Route(ctx, profile)
	if err == nil && (rt.Transport == nil || rt.Mailbox == "") {
		err = fmt.Errorf("queue: profile %q has no route", profile)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	r = &route{Route: rt, err: err, until: now.Add(time.Minute)}
	if err == nil {
		key := strings.ToLower(rt.Mailbox)
		b := d.boxes[key]
		if b == nil {
			b = &mailbox{name: rt.Mailbox, rate: cmp.Or(rt.RatePerMinute, d.cfg.RatePerMinute)}
			d.boxes[key] = b
		}
		b.profiles = append(b.profiles, profile)
		r.box = b
	}
	d.routes[profile] = r
	return r
}

// start gives free connections of every mailbox a batch from its
// backlog, within the pace. Called with d.mu held.
func (d *Deliverer) start(ctx context.Context, now time.Time) {
	for _, b := range d.boxes {
		if now.Before(b.hold) {
			// Held: give the backlog back, due when the hold ends.
			held := b.backlog
			b.backlog = nil
			for _, m := range held {
				d.wg.Add(1)
				go func() {
					defer d.wg.Done()
					d.postpone(ctx, m, b.hold)
				}()
			}
			continue
		}
		for len(b.backlog) > 0 && b.conns < d.cfg.MaxConns && !now.Before(b.shared) {
			n := min(len(b.backlog), d.cfg.Batch, batchFits(b.backlog))
			if b.rate > 0 {
				n = min(n, b.rate-b.inWindow(now))
			}
			if n <= 0 {
				break
			}
			batch := slices.Clone(b.backlog[:n])
			b.backlog = slices.Delete(b.backlog, 0, n)
			for range n {
				b.sent = append(b.sent, now)
			}
			b.conns++
			d.active++
			r := d.routes[batch[0].Profile]
			d.wg.Add(1)
			go func() {
				defer d.wg.Done()
				release := func(time.Time) {}
				if d.cfg.Limiter != nil {
					if batch, release = d.share(ctx, b, batch, now); release == nil {
						return
					}
				}
				d.deliver(ctx, b, r.Route, batch, now)
				// The shared connection goes back before this process's
				// (below), or the next connection this process starts finds
				// it still taken and waits for the Limiter's Retry.
				release(d.cfg.Now())
				d.mu.Lock()
				b.conns--
				d.active--
				d.mu.Unlock()
				d.poke()
			}()
		}
	}
}

// share asks the Limiter for a connection of mailbox b and a permit for
// batch, started at now: what of batch may go and the connection's
// release. The rest goes back to the backlog's front until the Limiter's
// Retry (nil release: nothing goes; the connection is b's again, and if b
// has none left in use its backlog goes back to the queue, see fill).
func (d *Deliverer) share(ctx context.Context, b *mailbox, batch []*Message, now time.Time) ([]*Message, func(time.Time)) {
	g, err := d.cfg.Limiter.Acquire(ctx, b.name, len(batch), b.rate, now)
	if err != nil {
		d.log.Warn("queue: shared limits", "mailbox", b.name, "error", err)
		g = Grant{Retry: now.Add(5 * time.Second)}
	}
	if g.N > len(batch) {
		g.N = len(batch)
	}
	back := batch[max(g.N, 0):]
	d.mu.Lock()
	if len(back) > 0 {
		b.backlog = append(slices.Clone(back), b.backlog...)
		// Those do not go now: they leave this process's pace too.
		drop := len(back)
		b.sent = slices.DeleteFunc(b.sent, func(t time.Time) bool {
			if drop > 0 && t.Equal(now) {
				drop--
				return true
			}
			return false
		})
	}
	if g.N <= 0 {
		if !g.Retry.After(now) {
			g.Retry = now.Add(time.Second)
		}
		if g.Retry.After(b.shared) {
			b.shared = g.Retry
		}
		b.conns--
		d.active--
		var shutOut []*Message
		if b.conns == 0 {
			// Other processes hold the mailbox: its backlog goes back to
			// the queue for them rather than wait here for a connection.
			shutOut, b.backlog = b.backlog, nil
		}
		d.mu.Unlock()
		for _, m := range shutOut {
			_ = d.cfg.Queue.Release(context.WithoutCancel(ctx), m)
		}
		d.poke()
		return nil, nil
	}
	d.mu.Unlock()
	release := g.Release
	if release == nil {
		release = func(time.Time) {}
	}
	return batch[:g.N], release
}

// maxBatchBytes caps the data of one batch, which is held in memory
// while it is sent (a batch always takes at least one message).
const maxBatchBytes = 64 << 20

// batchFits returns how many messages from the front of backlog fit in
// maxBatchBytes, at least 1.
func batchFits(backlog []*Message) int {
	var total int64
	for i, m := range backlog {
		total += m.Size
		if total > maxBatchBytes {
			return max(i, 1)
		}
	}
	return len(backlog)
}

// inWindow counts the submissions of the last minute, dropping older
// ones. Called with d.mu held.
func (b *mailbox) inWindow(now time.Time) int {
	cut := now.Add(-time.Minute)
	b.sent = slices.DeleteFunc(b.sent, func(t time.Time) bool { return !t.After(cut) })
	return len(b.sent)
}

// nextWake is when the loop should look again: the end of a hold or of
// the pace for a mailbox with a backlog, the soonest NextAttempt set, or
// the poll. Called with d.mu held.
func (d *Deliverer) nextWake(now time.Time) time.Time {
	next := now.Add(d.cfg.Poll)
	earlier := func(t time.Time) {
		if t.After(now) && t.Before(next) {
			next = t
		}
	}
	earlier(d.soonest)
	for _, b := range d.boxes {
		if len(b.backlog) == 0 {
			continue
		}
		earlier(b.hold)
		earlier(b.shared)
		if b.rate > 0 && b.conns < d.cfg.MaxConns && len(b.sent) >= b.rate {
			s := slices.Clone(b.sent)
			slices.SortFunc(s, time.Time.Compare)
			earlier(s[len(s)-b.rate].Add(time.Minute))
		}
	}
	if !d.soonest.After(now) {
		d.soonest = time.Time{}
	}
	return next
}

func (d *Deliverer) noteNext(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.soonest.IsZero() || t.Before(d.soonest) {
		d.soonest = t
	}
}

// postpone makes m due at t without trying it.
func (d *Deliverer) postpone(ctx context.Context, m *Message, t time.Time) {
	ctx = context.WithoutCancel(ctx)
	if t.After(m.NextAttempt) {
		m.NextAttempt = t
		if err := d.cfg.Queue.Update(ctx, m); err != nil {
			d.log.Warn("queue: postpone", "id", m.ID, "error", err)
		}
	}
	_ = d.cfg.Queue.Release(ctx, m)
	d.noteNext(m.NextAttempt)
}

// deliver tries one batch over one connection of mailbox b.
func (d *Deliverer) deliver(ctx context.Context, b *mailbox, r Route, batch []*Message, start time.Time) {
	q := d.cfg.Queue
	keep := context.WithoutCancel(ctx) // records go to disk even while shutting down
	var msgs []*sender.Message
	var tried []*Message
	for _, m := range batch {
		to, again := m.nextTry(start)
		if len(to) == 0 {
			// Nothing to send now (a shutdown came between the results
			// and their end, or every pending recipient waits on its
			// own): end it as after a try.
			d.finish(keep, m, r, start)
			continue
		}
		// Record the try before making it, as if it failed without a word.
		m.Attempts++
		m.LastAttempt = start
		m.NextAttempt = start.Add(d.cfg.Policy.Backoff(m.Attempts))
		m.Lease.Until = start.Add(d.cfg.Lease)
		if err := q.Update(keep, m); err != nil {
			d.log.Warn("queue: record the try", "id", m.ID, "error", err)
			_ = q.Release(keep, m)
			continue
		}
		data, err := d.read(ctx, m.ID)
		if err != nil {
			d.log.Error("queue: read", "id", m.ID, "error", err)
			_ = q.Release(keep, m)
			d.noteNext(m.NextAttempt)
			continue
		}
		msgs = append(msgs, &sender.Message{From: m.From, To: to, Raw: data, SentBefore: again})
		tried = append(tried, m)
	}
	if len(tried) == 0 {
		return
	}
	// Each message's result is recorded as soon as it is known, before
	// the next message goes out: a crash mid-batch then sends again only
	// the message whose reply had come but was not recorded yet.
	done := make([]bool, len(tried))
	record := func(i int, res sender.Result, e error) {
		if i < 0 || i >= len(tried) || done[i] {
			return
		}
		done[i] = true
		d.record(ctx, keep, b, r, tried[i], msgs[i].To, res, e, d.cfg.Now())
	}
	var results []sender.Result
	var err error
	if et, ok := r.Transport.(EachTransport); ok {
		results, err = et.SendEach(ctx, func(i int, res sender.Result) { record(i, res, res.Err) }, msgs...)
	} else {
		// One message per Send: its result is known before the next.
		for _, msg := range msgs {
			res, e := r.Transport.Send(ctx, msg)
			if len(res) == 0 {
				res = []sender.Result{{Err: e}}
			}
			results = append(results, res[0])
			err = errors.Join(err, e)
			record(len(results)-1, res[0], res[0].Err)
		}
	}
	now := d.cfg.Now()
	d.mu.Lock()
	// The pace counts a submission from when it ended, not when it was
	// planned: later is the safe side.
	for i, t := range b.sent {
		if t.Equal(start) {
			b.sent[i] = now
		}
	}
	d.mu.Unlock()
	for i := range tried {
		var e error
		var res sender.Result
		if i < len(results) {
			res = results[i]
			e = res.Err
		} else if err != nil {
			e = err
		} else {
			e = errors.New("queue: transport returned no result")
		}
		record(i, res, e)
	}
}

// record records the result of one message's try: res from the
// Transport, e its error (nil: accepted), to the recipients tried.
func (d *Deliverer) record(ctx, keep context.Context, b *mailbox, r Route, m *Message, to []string, res sender.Result, e error, now time.Time) {
	q := d.cfg.Queue
	// What the server confirmed stands, whatever came after.
	for _, a := range res.Accepted {
		m.set(a, Delivered, now, nil)
	}
	if e == nil {
		for _, a := range to {
			m.set(a, Delivered, now, nil)
		}
	}
	if e != nil && res.MaybeDelivered {
		// The reply to the final dot of the first transaction not
		// accepted was lost: its recipients may have the message.
		lost := m.lostTxn(to, res.Accepted)
		for _, a := range lost {
			m.recipient(a).MaybeSent = true
		}
		if res.MaybeDuplicate {
			d.maybeDelivered(m, lost, now, e)
		}
	}
	if ctx.Err() != nil && e != nil {
		// Shutting down: the try recorded before stands, with what
		// was learnt of its recipients.
		if err := q.Update(keep, m); err != nil {
			d.log.Warn("queue: update", "id", m.ID, "error", err)
		}
		_ = q.Release(keep, m)
		return
	}
	if e == nil || len(m.pendingOf(to)) == 0 {
		if e == nil {
			m.LastError = nil
			attrs := []any{"id", m.ID, "mailbox", r.Mailbox, "recipients", len(to), "attempts", m.Attempts}
			if res.MaybeDuplicate {
				attrs = append(attrs, "maybe_duplicate", true)
			}
			d.log.Info(EventDelivered, attrs...)
		} else {
			m.LastError = FailureOf(e)
		}
		// The message's other pending recipients (if this try was
		// only for those that may have a copy) go at once.
		m.NextAttempt = now
		d.finish(keep, m, r, now)
		return
	}
	v := d.cfg.Policy.Judge(e, m.Attempts)
	if v.Mailbox {
		d.mu.Lock()
		if h := now.Add(v.Wait); h.After(b.hold) {
			b.hold = h
		}
		d.mu.Unlock()
	}
	d.defer_(keep, m, now, e, v, to)
}

// read loads a message's data.
func (d *Deliverer) read(ctx context.Context, id ID) ([]byte, error) {
	rc, err := d.cfg.Queue.Open(ctx, id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// defer_ records a failed try (or a route that failed) on m, per the
// verdict, and finishes or releases it. tried are the recipients of the
// try (nil: every pending one); a recipient that may have a copy
// (MaybeSent) becomes MaybeDelivered where it would fail.
func (d *Deliverer) defer_(ctx context.Context, m *Message, now time.Time, err error, v Verdict, tried []string) {
	f := FailureOf(err)
	m.LastError = f
	var maybe []string
	for j := range m.Recipients {
		r := &m.Recipients[j]
		if r.Status != Pending || v.Recipient != "" && !strings.EqualFold(r.Address, v.Recipient) {
			continue
		}
		if tried != nil && !slices.ContainsFunc(tried, func(a string) bool { return strings.EqualFold(a, r.Address) }) {
			continue
		}
		r.Error, r.Updated = f, now
		if v.Permanent {
			if r.MaybeSent {
				maybe = append(maybe, r.Address)
			} else {
				r.Status = Failed
			}
		}
	}
	d.maybeDelivered(m, maybe, now, err)
	switch {
	case v.Recipient != "":
		// The others go at once; a recipient deferred alone waits on its
		// own.
		m.NextAttempt = now
		if !v.Permanent {
			m.recipient(v.Recipient).NextAttempt = now.Add(v.Wait)
		}
	case !v.Permanent:
		m.NextAttempt = now.Add(v.Wait)
	}
	expired := len(m.Pending()) > 0 && d.cfg.Policy.Expired(m.Queued, now)
	if expired {
		maybe = nil
		for j := range m.Recipients {
			r := &m.Recipients[j]
			if r.Status == Pending {
				if r.MaybeSent {
					maybe = append(maybe, r.Address)
					continue
				}
				r.Status = Failed
				r.Updated = now
			}
		}
		d.maybeDelivered(m, maybe, now, err)
	}
	attrs := []any{"id", m.ID, "profile", m.Profile, "attempts", m.Attempts, "error", f.Error()}
	if f.Advice != "" {
		attrs = append(attrs, "hint", f.Advice)
	}
	switch {
	case expired:
		d.log.Warn(EventExpired, attrs...)
	case v.Permanent:
		d.log.Warn(EventRefused, append(attrs, "recipient", v.Recipient)...)
	default:
		if v.Recipient != "" {
			attrs = append(attrs, "recipient", v.Recipient, "recipient_next_attempt", m.recipient(v.Recipient).NextAttempt)
		}
		d.log.Info(EventDeferred, append(attrs, "next_attempt", m.NextAttempt, "mailbox_held", v.Mailbox)...)
	}
	d.mu.Lock()
	r := d.routes[m.Profile]
	d.mu.Unlock()
	var rt Route
	if r != nil {
		rt = r.Route
	}
	d.finish(ctx, m, rt, now)
}

// finish ends the lease on m: Done when no recipient is pending (after a
// notification if one failed), else Update and Release.
func (d *Deliverer) finish(ctx context.Context, m *Message, r Route, now time.Time) {
	q := d.cfg.Queue
	if len(m.Pending()) > 0 {
		m.settleNext()
		if err := q.Update(ctx, m); err != nil {
			d.log.Warn("queue: update", "id", m.ID, "error", err)
		}
		_ = q.Release(ctx, m)
		d.noteNext(m.NextAttempt)
		return
	}
	failed := slices.ContainsFunc(m.Recipients, func(r Recipient) bool { return r.Status == Failed })
	var reasons []string
	if failed {
		if reason := d.notify(ctx, m, r, now); reason != "" {
			reasons = append(reasons, reason)
		}
	}
	if n := countStatus(m, MaybeDelivered); n > 0 {
		reasons = append(reasons, fmt.Sprintf("may have been delivered, perhaps twice, to %d recipient(s): the server's reply was lost; not sent again (check with a recipient before a retry)", n))
	}
	if len(reasons) > 0 {
		reason := strings.Join(reasons, "; ")
		if err := q.DeadLetter(ctx, m, reason); err != nil {
			d.log.Error(EventDeadLetter, "id", m.ID, "error", err)
		} else {
			d.log.Warn(EventDeadLetter, "id", m.ID, "reason", reason)
		}
		return
	}
	if err := q.Done(ctx, m); err != nil {
		d.log.Error("queue: done", "id", m.ID, "error", err)
	}
}

// notify queues a notification of m's failed recipients to its sender;
// it returns why it could not, or "".
func (d *Deliverer) notify(ctx context.Context, m *Message, r Route, now time.Time) string {
	switch {
	case m.Notification:
		return "a delivery status notification that could not be delivered"
	case m.From == "":
		return "undeliverable, and the null sender cannot be notified"
	case r.Mailbox == "":
		return "undeliverable, and its profile has no mailbox to notify from"
	}
	rc, err := d.cfg.Queue.Open(ctx, m.ID)
	if err != nil {
		return "undeliverable; the notification failed: " + oneLine(err.Error())
	}
	dsn, err := DSN(m, rc, DSNInfo{Mailbox: r.Mailbox, ReportingMTA: d.cfg.ReportingMTA, Now: now})
	_ = rc.Close()
	if err != nil {
		return "undeliverable; the notification failed: " + oneLine(err.Error())
	}
	id, err := d.cfg.Queue.Enqueue(ctx, Envelope{To: []string{m.From}, Profile: m.Profile, Notification: true, Source: "notification for " + string(m.ID)}, strings.NewReader(string(dsn)))
	if err != nil {
		return "undeliverable; the notification failed: " + oneLine(err.Error())
	}
	d.log.Warn(EventBounced, "id", m.ID, "to", m.From, "notification", id)
	d.Kick()
	return ""
}

// nextTry returns the recipients of m's try at now: of the pending ones
// not waiting on their own (Recipient.NextAttempt), those that may
// already have a copy (MaybeSent) alone, with again set so that the
// sender makes one try only; else all of them.
func (m *Message) nextTry(now time.Time) (to []string, again bool) {
	var plain []string
	for _, r := range m.Recipients {
		if r.Status != Pending || r.NextAttempt.After(now) {
			continue
		}
		if r.MaybeSent {
			to = append(to, r.Address)
		} else {
			plain = append(plain, r.Address)
		}
	}
	if len(to) > 0 {
		return to, true
	}
	return plain, false
}

// settleNext moves m.NextAttempt to the earliest NextAttempt of its
// pending recipients when every one of them waits past it.
func (m *Message) settleNext() {
	var soonest time.Time
	for _, r := range m.Recipients {
		if r.Status != Pending {
			continue
		}
		if !r.NextAttempt.After(m.NextAttempt) {
			return
		}
		if soonest.IsZero() || r.NextAttempt.Before(soonest) {
			soonest = r.NextAttempt
		}
	}
	if !soonest.IsZero() {
		m.NextAttempt = soonest
	}
}

// recipient returns m's recipient with address a (compared without
// case), or a throwaway one.
func (m *Message) recipient(a string) *Recipient {
	for j := range m.Recipients {
		if strings.EqualFold(m.Recipients[j].Address, a) {
			return &m.Recipients[j]
		}
	}
	return &Recipient{}
}

// set records that the pending recipient a is now st.
func (m *Message) set(a string, st Status, now time.Time, f *Failure) {
	r := m.recipient(a)
	if r.Status != Pending {
		return
	}
	r.Status, r.Updated, r.Error = st, now, f
	if st == Delivered {
		r.MaybeSent = false
	}
}

// pendingOf returns which of addrs are still pending in m.
func (m *Message) pendingOf(addrs []string) []string {
	var out []string
	for _, a := range addrs {
		if m.recipient(a).Status == Pending {
			out = append(out, a)
		}
	}
	return out
}

// lostTxn returns the recipients of the transaction whose final-dot reply
// was lost: the first sender.MaxRecipients of to that were not accepted
// (the sender sends to in transactions of that size, in order, and stops
// at the first that fails).
func (m *Message) lostTxn(to, accepted []string) []string {
	var rest []string
	for _, a := range to {
		if !slices.ContainsFunc(accepted, func(b string) bool { return strings.EqualFold(a, b) }) {
			rest = append(rest, a)
		}
	}
	return rest[:min(len(rest), sender.MaxRecipients)]
}

// maybeDelivered records that the pending recipients addrs of m may have
// the message and are not to be tried again, and says so in the log.
func (d *Deliverer) maybeDelivered(m *Message, addrs []string, now time.Time, err error) {
	addrs = m.pendingOf(addrs)
	if len(addrs) == 0 {
		return
	}
	f := FailureOf(err)
	for _, a := range addrs {
		m.set(a, MaybeDelivered, now, f)
	}
	hint := f.Advice
	if hint == "" {
		hint = "no reply came after the message was sent in full: it may have arrived; check with a recipient before sending it again"
	}
	d.log.Warn(EventMaybeDelivered, "id", m.ID, "profile", m.Profile, "recipients", len(addrs), "attempts", m.Attempts, "error", f.Error(), "hint", hint)
}

// countStatus counts m's recipients with status st.
func countStatus(m *Message, st Status) int {
	n := 0
	for _, r := range m.Recipients {
		if r.Status == st {
			n++
		}
	}
	return n
}
