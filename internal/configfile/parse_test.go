package configfile

import (
	"strings"
	"testing"
)

// TestMaskMessageKeepsLowercaseWords checks that a word found where a
// value belongs is shown when it is lowercase letters (a mistyped true,
// not a pasted secret); config's TestParseErrorsMaskTheDocument checks
// that the rest is masked.
func TestMaskMessageKeepsLowercaseWords(t *testing.T) {
	if got := maskMessage(`expected value but found "yes" instead`); !strings.Contains(got, `"yes"`) {
		t.Errorf("a lowercase word is masked: %s", got)
	}
}
