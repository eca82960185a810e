package pgqueue

import (
	"cmp"
	"slices"

	"github.com/m365send/m365send/queue"
)

// sortDue orders messages as Claim promises: oldest NextAttempt first.
func sortDue(ms []*queue.Message) {
	slices.SortFunc(ms, func(a, b *queue.Message) int {
		if c := a.NextAttempt.Compare(b.NextAttempt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}
