// Package metrics is the relay's Prometheus endpoint and health check
// (`metrics_listen` in [relay], docs/relay.md): counters of what the relay
// and its Deliverer did, gauges of the queue, and /healthz.
//
// The counters are taken from the relay's event log rather than from
// hooks in packages relay, queue and token: those log exactly one line per
// event, with a message that is a constant of the package logging it
// (relay.EventAccepted, queue.EventDelivered, token.LogNewToken, ...), and
// Handler counts the lines as they pass on to the real handler. The
// tables below use the same constants, so a renamed message keeps its
// counter; the tests fail for an event constant with no counter. The text exposition format is
// written by hand: a handful of counters and gauges do not need
// client_golang and its dependencies.
//
// It is not a general metrics library, and it never shows an address, a
// user name or anything else a log line holds besides the reply code.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/relay"
	"github.com/m365send/m365send/token"
)

// results are the values of the result label of
// m365send_queue_deliveries_total, by the Deliverer's event message.
var results = map[string]string{
	queue.EventDelivered:      "delivered",
	queue.EventDeferred:       "deferred",
	queue.EventRefused:        "refused",
	queue.EventExpired:        "expired",
	queue.EventBounced:        "bounced",
	queue.EventDeadLetter:     "dead_letter",
	queue.EventMaybeDelivered: "maybe_delivered",
}

// tokenResults are the values of the result label of
// m365send_token_requests_total, by the token Source's message.
var tokenResults = map[string]string{
	token.LogNewToken:      "ok",
	token.LogRequestFailed: "error",
}

// Metrics counts the relay's events and serves them with the queue's
// state. Create it with New; safe for concurrent use.
type Metrics struct {
	q     queue.Queue
	now   func() time.Time
	ready atomic.Bool

	mu         sync.Mutex
	accepted   uint64
	refused    map[string]uint64 // by reply code
	deliveries map[string]uint64 // by result
	tokens     map[string]uint64 // by result
}

// New returns Metrics whose gauges read q (nil: no queue gauges) at each
// scrape; now is the clock for the oldest message's age (nil: time.Now).
func New(q queue.Queue, now func() time.Time) *Metrics {
	if now == nil {
		now = time.Now
	}
	m := &Metrics{q: q, now: now, refused: map[string]uint64{}, deliveries: map[string]uint64{}, tokens: map[string]uint64{}}
	for _, r := range results {
		m.deliveries[r] = 0
	}
	for _, r := range tokenResults {
		m.tokens[r] = 0
	}
	return m
}

// SetReady says whether the relay is up: listening, with its queue open.
// /healthz answers 503 until it is set.
func (m *Metrics) SetReady(ok bool) { m.ready.Store(ok) }

// observe counts r if it is one of the events.
func (m *Metrics) observe(r slog.Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch r.Message {
	case relay.EventAccepted:
		m.accepted++
	case relay.EventRefused:
		code := "other"
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "code" {
				if c, _, _ := strings.Cut(a.Value.String(), " "); len(c) == 3 {
					code = c
				}
				return false
			}
			return true
		})
		m.refused[code]++
	case queue.EventDeadLetter:
		// At Warn the message moved; at Error moving it failed.
		if r.Level == slog.LevelWarn {
			m.deliveries["dead_letter"]++
		}
	default:
		if res, ok := results[r.Message]; ok {
			m.deliveries[res]++
		} else if res, ok := tokenResults[r.Message]; ok {
			m.tokens[res]++
		}
	}
}

// Handler returns a slog.Handler that counts the events of each record
// and passes the record on to next when next is enabled for its level.
func (m *Metrics) Handler(next slog.Handler) slog.Handler {
	return &handler{m: m, next: next}
}

type handler struct {
	m    *Metrics
	next slog.Handler
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	h.m.observe(r)
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &handler{m: h.m, next: h.next.WithAttrs(attrs)}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{m: h.m, next: h.next.WithGroup(name)}
}

// ServeHTTP serves /metrics (the Prometheus text format, version 0.0.4)
// and /healthz (200 "ok" when the relay is up and its queue readable,
// else 503 with the reason).
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch r.URL.Path {
	case "/metrics":
		var b strings.Builder
		if err := m.write(r.Context(), &b); err != nil {
			http.Error(w, "metrics: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		io.WriteString(w, b.String())
	case "/healthz":
		if err := m.health(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	default:
		http.NotFound(w, r)
	}
}

// health is nil when the relay is up and the queue answers.
func (m *Metrics) health(ctx context.Context) error {
	if !m.ready.Load() {
		return errors.New("not ready: the relay is not listening")
	}
	if m.q != nil {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err := m.q.List(ctx, queue.Filter{Dead: true}); err != nil {
			return errors.New("queue unreadable")
		}
	}
	return nil
}

// write writes every metric in the text format.
func (m *Metrics) write(ctx context.Context, w io.Writer) error {
	metric := func(name, typ, help string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	labelled := func(name, label string, vals map[string]uint64) {
		keys := make([]string, 0, len(vals))
		for k := range vals {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "%s{%s=%q} %d\n", name, label, k, vals[k])
		}
	}
	up := 0
	if m.ready.Load() {
		up = 1
	}
	metric("m365send_relay_up", "gauge", "1 while the relay listens.")
	fmt.Fprintf(w, "m365send_relay_up %d\n", up)
	m.mu.Lock()
	metric("m365send_relay_accepted_total", "counter", "Messages the relay accepted into the queue (answered 250).")
	fmt.Fprintf(w, "m365send_relay_accepted_total %d\n", m.accepted)
	metric("m365send_relay_refused_total", "counter", "SMTP commands the relay refused, by reply code.")
	labelled("m365send_relay_refused_total", "code", m.refused)
	metric("m365send_queue_deliveries_total", "counter", "Delivery outcomes by result: delivered, deferred (tried again later), refused (permanently, per recipient), expired, bounced (a notification sent), dead_letter, maybe_delivered.")
	labelled("m365send_queue_deliveries_total", "result", m.deliveries)
	metric("m365send_token_requests_total", "counter", "Requests to Entra ID's token endpoint by result: ok (a new access token), error (refused, or failed on the way); a token from memory or the cache is not a request.")
	labelled("m365send_token_requests_total", "result", m.tokens)
	m.mu.Unlock()
	if m.q == nil {
		return nil
	}
	queued, err := m.q.List(ctx, queue.Filter{})
	if err != nil {
		return fmt.Errorf("list the queue: %w", err)
	}
	dead, err := m.q.List(ctx, queue.Filter{Dead: true})
	if err != nil {
		return fmt.Errorf("list the dead letters: %w", err)
	}
	age := 0.0
	if len(queued) > 0 {
		oldest := queued[0].Queued
		for _, q := range queued[1:] {
			if q.Queued.Before(oldest) {
				oldest = q.Queued
			}
		}
		age = max(0, m.now().Sub(oldest).Seconds())
	}
	metric("m365send_queue_messages", "gauge", "Messages in the queue, not yet delivered.")
	fmt.Fprintf(w, "m365send_queue_messages %d\n", len(queued))
	metric("m365send_queue_dead_letters", "gauge", "Messages in the dead-letter folder.")
	fmt.Fprintf(w, "m365send_queue_dead_letters %d\n", len(dead))
	metric("m365send_queue_oldest_message_age_seconds", "gauge", "Age of the oldest queued message (0 when none).")
	fmt.Fprintf(w, "m365send_queue_oldest_message_age_seconds %g\n", age)
	return nil
}

// Serve serves m on ln until ctx ends.
func (m *Metrics) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	defer stop()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}
