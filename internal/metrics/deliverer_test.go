package metrics_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/metrics"
	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/spool"
	"github.com/m365send/m365send/sender"
)

// accepting is a Transport whose server accepts every message.
type accepting struct{}

func (accepting) Send(_ context.Context, msgs ...*sender.Message) ([]sender.Result, error) {
	return make([]sender.Result, len(msgs)), nil
}

// TestDeliveriesOfTheRealDelivererAreCounted: what a real Deliverer logs
// as delivered is what m365send_queue_deliveries_total says.
func TestDeliveriesOfTheRealDelivererAreCounted(t *testing.T) {
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	const n = 3
	for range n {
		if _, err := sp.Enqueue(context.Background(), queue.Envelope{From: "a@contoso.com", To: []string{"b@example.com"}, Profile: "p"},
			strings.NewReader("Subject: x\r\n\r\nbody\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	m := metrics.New(sp, nil)
	var logged strings.Builder
	log := slog.New(m.Handler(slog.NewTextHandler(&logged, nil)))
	start := time.Now()
	errDone := errors.New("queue empty")
	d, err := queue.NewDeliverer(queue.DelivererConfig{
		Queue: sp,
		Route: func(context.Context, string) (queue.Route, error) {
			return queue.Route{Mailbox: "a@contoso.com", Transport: accepting{}}, nil
		},
		RatePerMinute: -1,
		Now:           func() time.Time { return start },
		Wait: func(ctx context.Context, _ time.Time, idle bool, wake <-chan struct{}) error {
			if idle {
				left, err := sp.List(ctx, queue.Filter{})
				if err != nil || len(left) == 0 {
					return errDone
				}
			}
			select {
			case <-wake:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
		Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(logged.String(), "msg="+strconv.Quote(queue.EventDelivered))
	got := Scrape(t, scrapeBody(t, m))
	if lines != n || got[`m365send_queue_deliveries_total{result="delivered"}`] != strconv.Itoa(n) {
		t.Errorf("%d deliveries logged, delivered counted %s; want %d of each; log:\n%s", lines, got[`m365send_queue_deliveries_total{result="delivered"}`], n, logged.String())
	}
}
