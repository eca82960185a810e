package spool

import (
	"testing"
	"time"

	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/queuetest"
)

func TestConformance(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, clock func() time.Time) func() queue.Queue {
		dir := t.TempDir()
		return func() queue.Queue {
			s, err := Open(dir, Options{Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}
