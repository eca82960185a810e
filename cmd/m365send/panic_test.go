package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// panicker panics on every read and write, standing in for a bug in a
// command.
type panicker struct{}

func (panicker) Write([]byte) (int, error) { panic("boom\nsecond line") }
func (panicker) Read([]byte) (int, error)  { panic("boom\nsecond line") }

func TestPanicInACommandExits70WithOneLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		in   io.Reader
		out  io.Writer
	}{
		{[]string{"m365send", "version"}, strings.NewReader(""), panicker{}}, // panics writing stdout
		{[]string{"sendmail", "-t"}, panicker{}, io.Discard},                 // panics reading stdin
	} {
		var errb bytes.Buffer
		code := run(context.Background(), tc.args, IO{In: tc.in, Out: tc.out, Err: &errb})
		if code != exitSoftware {
			t.Errorf("%q: exit %d, want %d (stderr %q)", tc.args, code, exitSoftware, errb.String())
		}
		if want := tc.args[0] + ": internal error: boom second line\n"; errb.String() != want {
			t.Errorf("%q: stderr %q, want %q", tc.args, errb.String(), want)
		}
	}
}
