package spool

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365send/m365send/queue"
)

// benchBody is a 4 KB message.
var benchBody = "Subject: bench\r\n\r\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n", 64)

// BenchmarkEnqueue10 measures messages per second into the spool from 10
// goroutines, each Enqueue durable (three fsyncs) before it returns.
func BenchmarkEnqueue10(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	env := queue.Envelope{From: "app@contoso.com", To: []string{"ops@example.com"}, Profile: "p"}
	b.SetParallelism((10 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Enqueue(ctx, env, strings.NewReader(benchBody)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// fill enqueues n messages of size bytes from 10 goroutines.
func fill(tb testing.TB, s *Spool, n, size int) {
	tb.Helper()
	body := "Subject: bench\r\n\r\n" + strings.Repeat("x", size)
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Go(func() {
			for i := g; i < n; i += 10 {
				env := queue.Envelope{From: "app@contoso.com", To: []string{fmt.Sprintf("r%d@example.com", i)}, Profile: fmt.Sprintf("p%d", i%3)}
				if _, err := s.Enqueue(context.Background(), env, strings.NewReader(body)); err != nil {
					tb.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func heapMB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

// BenchmarkSpool10000 queues 10,000 messages of 10 KB (100 MB of data)
// and measures the heap held by List's result (every message's state)
// and by Claim's scan cache after claiming 60, as the Deliverer does:
// far below the data, since neither reads a message body.
func BenchmarkSpool10000(b *testing.B) {
	const n = 10000
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	fill(b, s, n, 10<<10)
	ctx := context.Background()
	base := heapMB()
	var listMB, claimMB float64
	for b.Loop() {
		list, err := s.List(ctx, queue.Filter{})
		if err != nil || len(list) != n {
			b.Fatalf("List: %d, %v", len(list), err)
		}
		listMB = max(listMB, heapMB()-base)
		runtime.KeepAlive(list)
	}
	b.StopTimer()
	msgs, err := s.Claim(ctx, queue.ClaimRequest{Now: time.Now().Add(time.Hour), Max: 60})
	if err != nil || len(msgs) != 60 {
		b.Fatalf("Claim: %d, %v", len(msgs), err)
	}
	claimMB = heapMB() - base
	runtime.KeepAlive(msgs)
	// A later Claim scans the folder again, reading only changed states.
	t := time.Now()
	if _, err := s.Claim(ctx, queue.ClaimRequest{Now: time.Now().Add(time.Hour), Max: 60}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(t).Microseconds())/1000, "rescan-ms")
	b.ReportMetric(listMB, "list-heap-MB")
	b.ReportMetric(claimMB, "claim-heap-MB")
	b.ReportMetric(float64(n*(10<<10))/(1<<20), "data-MB")
}
