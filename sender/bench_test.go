package sender

import (
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/m365send/m365send/sender/smtptest"
)

// heapPeak samples the live heap while it runs and reports the highest
// value above the heap at its start.
type heapPeak struct {
	base uint64
	peak uint64
	stop chan struct{}
	done sync.WaitGroup
}

func startHeapPeak() *heapPeak {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h := &heapPeak{base: ms.HeapAlloc, peak: ms.HeapAlloc, stop: make(chan struct{})}
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			h.peak = max(h.peak, ms.HeapAlloc)
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

// Stop returns the peak heap growth in bytes.
func (h *heapPeak) Stop() uint64 {
	close(h.stop)
	h.done.Wait()
	if h.peak < h.base {
		return 0
	}
	return h.peak - h.base
}

func writeRandomFile(tb testing.TB, size int64) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "big.bin")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// TestLargeAttachmentIsStreamed sends a 12 MB attachment and checks that
// the heap never grew by more than a fraction of it.
func TestLargeAttachmentIsStreamed(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and sends 12 MB")
	}
	const size = 12 << 20
	path := writeRandomFile(t, size)
	srv := startSMTP(t, smtptest.Options{DiscardData: true})
	s, _ := newTestSender(t, srv, &tokens{current: "t"}, nil)
	msg := &Message{To: []string{"a@example.com"}, Subject: "big", Text: "see attachment", Attachments: []string{path}}

	h := startHeapPeak()
	_, err := s.Send(testCtx(t), msg)
	grew := h.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages()[0].Size; got < size*4/3 {
		t.Errorf("server got %d bytes, want more than %d", got, size*4/3)
	}
	t.Logf("peak heap growth %.1f MB for a %d MB attachment", float64(grew)/(1<<20), size>>20)
	if grew > size/2 {
		t.Errorf("heap grew by %d bytes sending a %d-byte attachment: not streamed", grew, size)
	}
}

// BenchmarkSendBatch1000 sends batches of 1,000 small messages, each batch
// over one connection, and reports messages per second.
func BenchmarkSendBatch1000(b *testing.B) {
	srv := startSMTP(b, smtptest.Options{DiscardData: true})
	s, _ := newTestSender(b, srv, &tokens{current: "t"}, nil)
	msgs := batch(1000)
	ctx := testCtx(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Send(ctx, msgs...); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "msgs/s")
	if n := srv.Count(smtptest.StageGreeting); n != b.N {
		b.Errorf("%d connections for %d batches", n, b.N)
	}
}

// BenchmarkSend30MBAttachment sends a 30 MB attachment and reports the
// peak heap growth while sending (it must stay far below 30 MB).
func BenchmarkSend30MBAttachment(b *testing.B) {
	const size = 30 << 20
	path := writeRandomFile(b, size)
	// 30 MB grows to 40 MB in base64: past the 35 MB default, so the
	// mailbox's limit is raised as an admin can (to 150 MB).
	srv := startSMTP(b, smtptest.Options{DiscardData: true, MaxSize: smtptest.DefaultAdvertisedSize})
	s, _ := newTestSender(b, srv, &tokens{current: "t"}, nil)
	msg := &Message{To: []string{"a@example.com"}, Subject: "big", Text: "see attachment", Attachments: []string{path}}
	ctx := testCtx(b)
	b.SetBytes(size)
	var peak uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h := startHeapPeak()
		_, err := s.Send(ctx, msg)
		peak = max(peak, h.Stop())
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}
