package metrics_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/metrics"
	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/spool"
)

// serve starts m on loopback and returns its base URL.
func serve(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// Scrape returns the samples of a /metrics answer by name and labels, as
// written ("name{label=\"v\"}"), checking that every sample follows its
// HELP and TYPE lines.
func Scrape(t *testing.T, body string) map[string]string {
	t.Helper()
	samples := map[string]string{}
	typed := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(f, " ")
			if typ != "counter" && typ != "gauge" {
				t.Errorf("%s has type %q", name, typ)
			}
			typed[name] = true
			continue
		}
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		key, val, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("bad sample line %q", line)
		}
		name, _, _ := strings.Cut(key, "{")
		if !typed[name] {
			t.Errorf("sample %q before its # TYPE line", line)
		}
		samples[key] = val
	}
	return samples
}

func TestScrapeCountsEventsAndReadsTheQueue(t *testing.T) {
	dir := t.TempDir()
	sp, err := spool.Open(dir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	for range 2 {
		if _, err := sp.Enqueue(context.Background(), queue.Envelope{From: "a@contoso.com", To: []string{"b@example.com"}, Profile: "p"},
			strings.NewReader("Subject: x\r\n\r\nbody\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	later := time.Now().Add(90 * time.Second)
	m := metrics.New(sp, func() time.Time { return later })
	var logged strings.Builder
	log := slog.New(m.Handler(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn})))
	log.Info("relay: accepted", "client", "192.0.2.7:5000", "user", "scanner", "id", "x")
	log.Info("relay: accepted", "client", "192.0.2.7:5000", "user", "scanner", "id", "y")
	log.Info("relay: refused", "client", "192.0.2.7:5001", "user", "", "code", "535 5.7.8", "reason", "Authentication failed")
	log.With("listener", "a").Info("relay: refused", "code", "535 5.7.8")
	log.Info("relay: refused", "code", "550 5.7.1")
	log.Info("queue: delivered", "id", "x")
	log.Info("queue: deferred", "id", "y")
	log.Warn("queue: bounced", "id", "z")
	log.Warn("queue: dead letter", "id", "z", "reason", "no sender")
	log.Error("queue: dead letter", "id", "z", "error", "disk full") // failed to move: not counted
	log.Info("relay: authenticated", "user", "scanner")              // not an event counted

	base := serve(t, m)
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	got := Scrape(t, body)
	for k, want := range map[string]string{
		`m365send_relay_up`:                                     "0",
		`m365send_relay_accepted_total`:                         "2",
		`m365send_relay_refused_total{code="535"}`:              "2",
		`m365send_relay_refused_total{code="550"}`:              "1",
		`m365send_queue_deliveries_total{result="delivered"}`:   "1",
		`m365send_queue_deliveries_total{result="deferred"}`:    "1",
		`m365send_queue_deliveries_total{result="bounced"}`:     "1",
		`m365send_queue_deliveries_total{result="dead_letter"}`: "1",
		`m365send_queue_deliveries_total{result="expired"}`:     "0",
		`m365send_queue_messages`:                               "2",
		`m365send_queue_dead_letters`:                           "0",
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %s\n%s", k, got[k], want, body)
		}
	}
	if age, err := strconv.ParseFloat(got["m365send_queue_oldest_message_age_seconds"], 64); err != nil || age < 85 || age > 95 {
		t.Errorf("oldest message age %q, want about 90 seconds", got["m365send_queue_oldest_message_age_seconds"])
	}
	for _, secret := range []string{"scanner", "192.0.2.7", "Authentication failed"} {
		if strings.Contains(body, secret) {
			t.Errorf("/metrics shows %q:\n%s", secret, body)
		}
	}
	// The records still reach the real handler at its level.
	if !strings.Contains(logged.String(), "queue: bounced") || strings.Contains(logged.String(), "relay: accepted") {
		t.Errorf("passed on:\n%s", logged.String())
	}
}

func TestHealthz(t *testing.T) {
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(sp, nil)
	base := serve(t, m)
	if code, body := get(t, base+"/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "not listening") {
		t.Errorf("/healthz before ready: %d %q, want 503", code, body)
	}
	m.SetReady(true)
	if code, body := get(t, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz when ready: %d %q, want 200 ok", code, body)
	}
	sp.Close()
	if code, body := get(t, base+"/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "queue") {
		t.Errorf("/healthz with the queue closed: %d %q, want 503", code, body)
	}
	if code, _ := get(t, base+"/other"); code != http.StatusNotFound {
		t.Errorf("/other: %d, want 404", code)
	}
}
