package replyhints

import "testing"

// Every row's example reply picks that row, the rows match distinct
// replies, and the table ends with a default row that catches everything.
func TestTable(t *testing.T) {
	rows := All()
	if len(rows) == 0 || !rows[len(rows)-1].Default {
		t.Fatal("the table must end with a default row that catches everything")
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.Match] {
			t.Errorf("two rows match %q", r.Match)
		}
		seen[r.Match] = true
		if r.Hint == "" {
			t.Errorf("row %q has no hint", r.Match)
		}
		if got := For(r.Code, r.EnhancedCode, r.Text); got.Match != r.Match {
			t.Errorf("example of %q picked row %q, not its own", r.Match, got.Match)
		}
	}
	// All hands out copies.
	rows[0].Hint = "changed"
	if All()[0].Hint == "changed" {
		t.Error("changing a row of All changed the table")
	}
}

func TestSplitEnhanced(t *testing.T) {
	for _, c := range []struct {
		in      string
		c, s, d int
		ok      bool
	}{
		{"5.7.139", 5, 7, 139, true},
		{"4.3.2", 4, 3, 2, true},
		{"5.7", 0, 0, 0, false},
		{"5.x.1", 0, 0, 0, false},
		{"", 0, 0, 0, false},
	} {
		c2, s, d, ok := splitEnhanced(c.in)
		if c2 != c.c || s != c.s || d != c.d || ok != c.ok {
			t.Errorf("splitEnhanced(%q) = %d %d %d %v", c.in, c2, s, d, ok)
		}
	}
}
