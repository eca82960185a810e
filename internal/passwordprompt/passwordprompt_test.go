package passwordprompt

import (
	"bytes"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/failure"
)

// Off a terminal, ReadSecret takes one line of its input, trimmed, and
// prompts for nothing; an empty line is a usage failure.
func TestReadSecretReadsOneLine(t *testing.T) {
	var prompt bytes.Buffer
	got, err := ReadSecret(strings.NewReader("  s3cr~t \r\nsecond line\n"), &prompt, "Secret: ")
	if err != nil || got != "s3cr~t" {
		t.Errorf("ReadSecret = %q, %v; want the first line, trimmed", got, err)
	}
	if prompt.Len() != 0 {
		t.Errorf("prompted %q off a terminal", prompt.String())
	}
	for _, in := range []string{"", "\n", "   \n"} {
		if _, err := ReadSecret(strings.NewReader(in), &prompt, "Secret: "); failure.KindOf(err) != failure.Usage || failure.HintOf(err) == "" {
			t.Errorf("ReadSecret(%q) = %v, want a usage failure with a hint", in, err)
		}
	}
	if _, err := ReadSecret(nil, &prompt, "Secret: "); failure.KindOf(err) != failure.Usage {
		t.Errorf("ReadSecret(nil) = %v, want a usage failure", err)
	}
}
