package compose

import (
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/failure"
)

func TestSendFlagsCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    SendFlags
		want string // in the usage failure's text; "" for none
	}{
		{"a composed message", SendFlags{Options: Options{To: []string{"a@contoso.com"}, Subject: "s", BodySet: true}}, ""},
		{"one raw message with envelope flags", SendFlags{Options: Options{To: []string{"a@contoso.com"}, From: "b@contoso.com"}, Raw: []string{"m.eml"}}, ""},
		{"one raw message with its headers", SendFlags{Options: Options{Subject: "s", ReplyTo: "r@contoso.com"}, Raw: []string{"m.eml"}},
			"--raw sends a complete message; it does not go with --subject, --reply-to"},
		{"dry run and json", SendFlags{DryRun: true, JSON: true}, "--dry-run and --json do not go together"},
		{"dry run of a batch", SendFlags{Batch: "b.jsonl", DryRun: true}, "--dry-run shows one message"},
		{"queue with several raw", SendFlags{Raw: []string{"a", "b"}, Queue: true}, "--queue takes one message"},
		{"standard input twice", SendFlags{Raw: []string{"-", "-"}}, "--raw - is given more than once"},
		{"several raw with a body", SendFlags{Options: Options{BodySet: true}, Raw: []string{"a", "b"}}, "--raw sends complete messages; it does not go with --body"},
		{"several raw with envelope flags", SendFlags{Options: Options{To: []string{"a@contoso.com"}}, Raw: []string{"a", "b"}}, ""},
		{"a batch with envelope flags", SendFlags{Options: Options{To: []string{"a@contoso.com"}, From: "f@contoso.com"}, Raw: []string{"a"}, Batch: "b.jsonl"},
			"--batch takes every field from its lines; it does not go with --raw, --from, --to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f.Check()
			if tc.want == "" {
				if err != nil {
					t.Errorf("Check = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || failure.KindOf(err) != failure.Usage || failure.HintOf(err) == "" {
				t.Errorf("Check = %v (kind %s, hint %q), want a usage failure with a hint saying %q", err, failure.KindOf(err), failure.HintOf(err), tc.want)
			}
		})
	}
	if (SendFlags{Raw: []string{"a"}}).Many() || !(SendFlags{Raw: []string{"a", "b"}}).Many() || !(SendFlags{Batch: "-"}).Many() {
		t.Error("Many: one --raw is one message; two, or --batch, are many")
	}
}
