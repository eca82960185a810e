package aadstshints

import "testing"

// For finds every row by its code, and nothing for a code the table does
// not know; All hands out a copy.
func TestFor(t *testing.T) {
	for _, h := range All() {
		if got := For(h.Code); got != h {
			t.Errorf("For(%d) = %+v, want %+v", h.Code, got, h)
		}
	}
	for _, code := range []int{0, 1, 50196} {
		if got := For(code); got != (Hint{}) {
			t.Errorf("For(%d) = %+v, want no row", code, got)
		}
	}
	rows := All()
	rows[0].Hint = "changed"
	if All()[0].Hint == "changed" {
		t.Error("All returned the table itself")
	}
}
