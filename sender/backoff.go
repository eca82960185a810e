package sender

import (
	"math/rand/v2"
	"time"
)

// Backoff between tries of one message: capped exponential with jitter.
const (
	backoffBase = time.Second
	backoffCap  = 30 * time.Second
)

// backoff is the wait before try number attempt+1 (attempt ≥ 1): half of
// min(cap, base·2^(attempt-1)) plus a random part up to the other half, so
// clients that failed together do not come back together.
func backoff(attempt int) time.Duration {
	d := backoffCap
	if attempt < 16 {
		if e := backoffBase << (attempt - 1); e < d {
			d = e
		}
	}
	half := d / 2
	return half + rand.N(half+1)
}
