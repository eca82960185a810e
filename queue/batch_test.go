package queue

import "testing"

func TestBatchFits(t *testing.T) {
	mk := func(sizes ...int64) []*Message {
		var out []*Message
		for _, s := range sizes {
			out = append(out, &Message{Size: s})
		}
		return out
	}
	for _, c := range []struct {
		sizes []int64
		want  int
	}{
		{[]int64{1, 2, 3}, 3},
		{[]int64{30 << 20, 30 << 20, 30 << 20}, 2},
		{[]int64{100 << 20, 1}, 1},
	} {
		if got := batchFits(mk(c.sizes...)); got != c.want {
			t.Errorf("batchFits(%v) = %d, want %d", c.sizes, got, c.want)
		}
	}
}
