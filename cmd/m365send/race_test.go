package main

import "testing"

// skipUnderRace skips a test that pushes 150 MB or more through the
// program when the race detector instruments every byte it touches
// (minutes instead of seconds). Such tests check streaming and memory,
// not concurrency; scripts/test.sh runs them again without -race.
func skipUnderRace(t *testing.T) {
	t.Helper()
	if raceDetector {
		t.Skip("pushes 150 MB or more through the program; scripts/test.sh runs it without -race")
	}
}
