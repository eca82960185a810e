package doctor

import (
	"bytes"
	"errors"
	"testing"

	"github.com/m365send/m365send/internal/failure"
)

// A step that failed on an error is told by the error's text, its fix
// followed by the command's hint; a report with no failure says so and
// ends with its summary.
func TestWriteTellsErrorsAndTheFirstFailure(t *testing.T) {
	var out bytes.Buffer
	hint := func(err error) string { return "hint for " + err.Error() }
	r := &Report{Results: []Result{
		{Status: Warn, Step: "graph", Fix: "grant Mail.Send", Err: errors.New("no\nrole")},
		{Status: Fail, Step: "tcp", Kind: failure.Temporary, Err: errors.New("refused")},
		{Status: Fail, Step: "auth", Kind: failure.Permission, Detail: "535"},
	}}
	first, failed := Write(&out, r, hint)
	if !failed || first != failure.Temporary {
		t.Errorf("Write = %s, %v; want the first failure's kind", first, failed)
	}
	want := "warn  graph      no role\n                 fix: grant Mail.Send; hint for no role\n" +
		"FAIL  tcp        refused\n                 fix: hint for refused\nFAIL  auth       535\n"
	if out.String() != want {
		t.Errorf("wrote\n%q\nwant\n%q", out.String(), want)
	}

	out.Reset()
	if _, failed := Write(&out, &Report{Results: []Result{{Status: OK, Step: "dns", Detail: "1.2.3.4"}}, Summary: "all good"}, hint); failed {
		t.Error("a report without failures failed")
	}
	if want := "ok    dns        1.2.3.4\n\nall good\n"; out.String() != want {
		t.Errorf("wrote %q, want %q", out.String(), want)
	}
}
