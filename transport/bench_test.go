package transport_test

import (
	"context"
	"testing"

	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/sender/smtptest"
)

// BenchmarkTransports compares messages per second over SMTP (to smtptest)
// and over Microsoft Graph (to graphtest), the same small message, one
// sender each, tokens cached, no pacing (scripts/bench.sh lists it): one
// message per call (a new SMTP connection each, as `m365send send`
// makes), and ten per call (one SMTP connection for the ten; ten Graph
// requests).
func BenchmarkTransports(b *testing.B) {
	f := newFakes(b, smtptest.Options{DiscardData: true}, "")
	m := &sender.Message{To: []string{"bob@fabrikam.com"}, Subject: "bench", Text: "a small message\n"}
	ten := make([]*sender.Message, 10)
	for i := range ten {
		ten[i] = m
	}
	for _, c := range []struct {
		name string
		msgs []*sender.Message
		send func(context.Context, ...*sender.Message) ([]sender.Result, error)
	}{
		{"smtp", []*sender.Message{m}, f.sw.SMTP.Send},
		{"graph", []*sender.Message{m}, f.sw.Graph.Send},
		{"smtp-10-per-call", ten, f.sw.SMTP.Send},
		{"graph-10-per-call", ten, f.sw.Graph.Send},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			if _, err := c.send(ctx, m); err != nil { // token and connection warm
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := c.send(ctx, c.msgs...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(c.msgs))/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
