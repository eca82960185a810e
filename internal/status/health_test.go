package status

import (
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// TestConcurrentUpdatesLoseNothing: writers updating one record at once
// (each update opens the files anew, as separate processes do) never lose
// an update: a counter every update increments ends at their number.
func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	path := HealthFile(filepath.Join(t.TempDir(), "me.json"))
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for range writers {
		wg.Go(func() {
			for range each {
				_, err := update(path, func(h *Health) {
					n, _ := strconv.Atoi(h.Account)
					h.Account = strconv.Itoa(n + 1)
				})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("update: %v", err)
	}
	h, err := ReadHealth(path)
	if err != nil {
		t.Fatal(err)
	}
	if h.Account != strconv.Itoa(writers*each) {
		t.Fatalf("counter = %s after %d updates: some were lost", h.Account, writers*each)
	}
}
