package jwtclaims

import "testing"

func TestParseRejectsGarbage(t *testing.T) {
	for _, s := range []string{"", "abc", "a.b", "a.!!!.c", "a.bm90IGpzb24.c"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
