package relay

import (
	"net/smtp"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkAcceptIntoSpool measures messages accepted per second into the
// on-disk spool (each one fsynced before its 250) from 10 concurrent
// clients, each on one STARTTLS connection authenticated with PLAIN.
func BenchmarkAcceptIntoSpool(b *testing.B) {
	const clients = 10
	r := newRig(b, baseConfig(b))
	cs := make([]*smtp.Client, clients)
	for i := range cs {
		cs[i] = r.dial(true)
		if err := cs[i].Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1")); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	b.ResetTimer()
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := send(c, "office@contoso.com", []string{"bob@example.com"}, testMsg); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if n := len(r.queued()); n != b.N {
		b.Fatalf("%d queued, want %d", n, b.N)
	}
}
