package sender

import (
	"context"
	"sync"
	"time"
)

// pacer keeps submissions under a number per sliding minute, the way
// Exchange Online counts its per-mailbox limit (30 a minute), so a batch
// goes out as fast as allowed without being throttled.
type pacer struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	sent   []time.Time // start times of the submissions in the window
}

// wait blocks until one more submission fits, and counts it.
func (p *pacer) wait(ctx context.Context, now func() time.Time, sleep func(context.Context, time.Duration) error) error {
	if p == nil || p.limit <= 0 {
		return nil
	}
	for {
		p.mu.Lock()
		t := now()
		cut := t.Add(-p.window)
		i := 0
		for i < len(p.sent) && !p.sent[i].After(cut) {
			i++
		}
		p.sent = p.sent[i:]
		if len(p.sent) < p.limit {
			p.sent = append(p.sent, t)
			p.mu.Unlock()
			return nil
		}
		d := p.sent[0].Add(p.window).Sub(t)
		p.mu.Unlock()
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}
