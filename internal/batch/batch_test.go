package batch

import (
	"slices"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/failure"
)

func TestReadLines(t *testing.T) {
	in := `{"to": "ops@contoso.com", "subject": "disk", "body": "93% full\n"}

{"to": ["a@contoso.com", "b@contoso.com"], "cc": "c@contoso.com", "bcc": [], "subject": "report", "attachments": ["r.pdf"], "headers": ["X-Run: 7"], "reply_to": "r@contoso.com", "from": "Alerts <alerts@contoso.com>", "html": "r.html"}
{"bcc": "hidden@contoso.com", "body": "-"}
`
	got, err := Read(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d entries, want 3", len(got))
	}
	if got[0].Line != 1 || got[1].Line != 3 || got[2].Line != 4 {
		t.Errorf("lines %d %d %d, want 1 3 4 (a blank line skipped)", got[0].Line, got[1].Line, got[2].Line)
	}
	o := got[1].Options
	if !slices.Equal(o.To, []string{"a@contoso.com", "b@contoso.com"}) || !slices.Equal(o.Cc, []string{"c@contoso.com"}) ||
		o.Subject != "report" || !slices.Equal(o.Attach, []string{"r.pdf"}) || !slices.Equal(o.Headers, []string{"X-Run: 7"}) ||
		o.ReplyTo != "r@contoso.com" || o.From != "Alerts <alerts@contoso.com>" || o.HTMLFile != "r.html" {
		t.Errorf("line 3 read as %+v", o)
	}
	if got[0].Options.Body != "93% full\n" || !got[0].Options.BodySet || !got[0].Options.Literal {
		t.Errorf("line 1's body %q (set %v, literal %v)", got[0].Options.Body, got[0].Options.BodySet, got[0].Options.Literal)
	}
	if got[2].Options.Body != "-" || !got[2].Options.Literal {
		t.Errorf(`a body "-" is text, not standard input: %+v`, got[2].Options)
	}
}

func TestReadRefusesWithTheLine(t *testing.T) {
	for _, c := range []struct{ in, msg, hint string }{
		{`{"to": "a@contoso.com"}` + "\n" + `{"to": "a@contoso.com", "subjet": "x"}`, `line 2: unknown field "subjet"`, `did you mean "subject"?`},
		{`{"to": "a@contoso.com"` + "\n", "line 1: not JSON", "one JSON object a line"},
		{`{"subject": "x"}`, "line 1: no recipient", ""},
		{`{"to": 7}`, "line 1: ", ""},
		{`["a@contoso.com"]`, "line 1: want a JSON object", ""},
		{`{"to": "a@contoso.com"} {"to": "b@contoso.com"}`, "line 1: more than one JSON value", ""},
		{"\n\n", "no message", ""},
	} {
		_, err := Read(strings.NewReader(c.in))
		if err == nil {
			t.Errorf("%q: accepted", c.in)
			continue
		}
		if failure.KindOf(err) != failure.BadMessage || !strings.Contains(err.Error(), c.msg) || !strings.Contains(failure.HintOf(err), c.hint) {
			t.Errorf("%q: %v (%v; hint %q), want a bad message saying %q, hint %q", c.in, err, failure.KindOf(err), failure.HintOf(err), c.msg, c.hint)
		}
	}
}
