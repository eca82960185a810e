package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// endless is a standard input that never ends: a runaway pipe.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestStandardInputOverTheLimitIsRefused(t *testing.T) {
	skipUnderRace(t)
	for _, args := range [][]string{
		{"send", "--dry-run", "--raw", "-"},
		{"send", "--dry-run", "--to", "ops@contoso.com", "--body", "-"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"m365send"}, args...), IO{
			In: endless{}, Out: &out, Err: &errb,
			Env: func(k string) string { return map[string]string{"HOME": t.TempDir()}[k] },
		})
		if code != exitDataErr || !strings.Contains(errb.String(), "larger than") {
			t.Errorf("%v with endless input: exit %d, stderr %q; want 65 and the size refused", args, code, errb.String())
		}
		if out.Len() != 0 {
			t.Errorf("%v printed %d bytes", args, out.Len())
		}
	}
}
