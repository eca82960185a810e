package config

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/m365send/m365send/internal/failure"
)

// Error is a configuration problem, naming the file, line and key where
// known, and what to do.
type Error struct {
	// File is the configuration (or secret, certificate) file, or "".
	File string
	// Line is the 1-based line in File, or 0.
	Line int
	// Key is the configuration key (profiles.NAME.KEY), the environment
	// variable or the flag the bad value came from, or "".
	Key string
	// Msg says what is wrong.
	Msg string
	// Advice is one line saying what to do, or "" (see Hint).
	Advice string
	// Err is the underlying error, if any (never holds a secret).
	Err error
	// usage marks a problem with what the caller asked for (a profile or
	// file named by LoadOptions that is not there), not with the
	// configuration itself.
	usage bool
}

// Kind is failure.Usage when the caller named a profile or file that is
// not there (LoadOptions.Profile, LoadOptions.File), else failure.Config:
// the configuration must change before anything can work.
func (e *Error) Kind() failure.Kind {
	if e.usage {
		return failure.Usage
	}
	return failure.Config
}

// Hint returns Advice: one line saying what to do, or "".
func (e *Error) Hint() string { return e.Advice }

// Error formats the problem as "FILE:LINE: KEY: MSG"; the hint (Advice) is separate
// so a command can print it on its own line.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// unwrapPathError drops the *fs.PathError wrapping (whose path the caller
// already names) so messages do not repeat the path.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// errorf builds an *Error located at o.
func errorf(o origin, hint, format string, args ...any) *Error {
	return &Error{File: o.file, Line: o.line, Key: o.key, Msg: fmt.Sprintf(format, args...), Advice: hint}
}

// didYouMean returns `did you mean "X"?` for the candidate closest to s
// (ignoring case) within limit edits, or "" when there is none (see
// typoLimit).
func didYouMean(s string, candidates []string, limit int) string {
	best := closest(s, candidates, limit, nil)
	if best == "" {
		return ""
	}
	return fmt.Sprintf("did you mean %q?", best)
}

// typoLimit is how many edits (editDistance) from s a likely typo of a
// name is: 2, or a third of s when that is more, and always fewer than
// the length of s.
func typoLimit(s string) int { return min(max(2, len(s)/3), len(s)-1) }

// editDistance is the Levenshtein distance between a and b, counting an
// adjacent transposition as one edit (the commonest typo).
func editDistance(a, b string) int {
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

// closest returns the candidate nearest to s, the first of the nearest,
// when it is at most limit away, else "". dist measures the distance from
// s to a candidate; nil means editDistance ignoring case.
func closest(s string, candidates []string, limit int, dist func(s, candidate string) int) string {
	if dist == nil {
		dist = func(a, b string) int { return editDistance(strings.ToLower(a), strings.ToLower(b)) }
	}
	best, bestD := "", -1
	for _, c := range candidates {
		if d := dist(s, c); d <= limit && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}
