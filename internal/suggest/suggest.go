// Package suggest finds the name a mistyped one most likely meant (a
// configuration key, a profile, a flow, an environment variable), for the
// "did you mean" of an error message.
package suggest

import (
	"fmt"
	"strings"
)

// DidYouMean returns `did you mean "X"?` for the candidate Closest to s
// (ignoring case) within limit edits, or "" when there is none (see
// TypoLimit).
func DidYouMean(s string, candidates []string, limit int) string {
	best := Closest(s, candidates, limit, nil)
	if best == "" {
		return ""
	}
	return fmt.Sprintf("did you mean %q?", best)
}

// TypoLimit is how many edits (EditDistance) from s a likely typo of a
// name is: 2, or a third of s when that is more, and always fewer than
// the length of s.
func TypoLimit(s string) int { return min(max(2, len(s)/3), len(s)-1) }

// EditDistance is the Levenshtein distance between a and b, counting an
// adjacent transposition as one edit (the commonest typo).
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// Closest returns the candidate nearest to s, the first of the nearest,
// when it is at most limit away, else "". dist measures the distance from
// s to a candidate; nil means EditDistance ignoring case.
func Closest(s string, candidates []string, limit int, dist func(s, candidate string) int) string {
	if dist == nil {
		dist = func(a, b string) int { return EditDistance(strings.ToLower(a), strings.ToLower(b)) }
	}
	best, bestD := "", -1
	for _, c := range candidates {
		if d := dist(s, c); d <= limit && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}
