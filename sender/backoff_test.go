package sender

import (
	"testing"
	"time"
)

func TestBackoffIsCapped(t *testing.T) {
	for attempt := 1; attempt < 100; attempt++ {
		if d := backoff(attempt); d <= 0 || d > backoffCap {
			t.Fatalf("backoff(%d) = %v", attempt, d)
		}
	}
	if d := backoff(40); d < backoffCap/2 {
		t.Errorf("backoff(40) = %v, want at least %v", d, backoffCap/2)
	}
}

// TestBackoffHasJitter: backoff(3) is half of 4s plus a random part up to
// the other half, so 64 draws stay within [2s, 4s] and are not all equal.
func TestBackoffHasJitter(t *testing.T) {
	lo, hi := 2*time.Second, 4*time.Second
	seen := map[time.Duration]bool{}
	for range 64 {
		d := backoff(3)
		if d < lo || d > hi {
			t.Fatalf("backoff(3) = %v, want within [%v, %v]", d, lo, hi)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Errorf("64 calls of backoff(3) gave %d distinct value(s), want jitter", len(seen))
	}
}
