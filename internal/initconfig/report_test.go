package initconfig

import (
	"reflect"
	"strings"
	"testing"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/failure"
)

func TestValuesMergesSetPairs(t *testing.T) {
	got, err := Values(map[string]string{"tenant": "contoso.onmicrosoft.com"}, []string{"smtp_port=587", "from_name=A=B"})
	want := map[string]string{"tenant": "contoso.onmicrosoft.com", "smtp_port": "587", "from_name": "A=B"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Values = %v, %v; want %v", got, err, want)
	}
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{[]string{"smtp_port"}, `--set "smtp_port": not KEY=VALUE`},
		{[]string{"=587"}, `--set "=587": not KEY=VALUE`},
		{[]string{"tenant=other"}, "tenant is given twice"},
		{[]string{"mailbox=a@contoso.com", "mailbox=b@contoso.com"}, "mailbox is given twice"},
	} {
		_, err := Values(map[string]string{"tenant": "contoso.onmicrosoft.com"}, tc.set)
		if err == nil || err.Error() != tc.want || failure.KindOf(err) != failure.Usage || failure.HintOf(err) == "" {
			t.Errorf("Values(%q) = %v, want the usage failure %q with a hint", tc.set, err, tc.want)
		}
	}
}

func TestReportSaysWhatWasWrittenAndWhatIsNext(t *testing.T) {
	for _, tc := range []struct {
		name            string
		r               Result
		config, profile string
		want            string
	}{
		{"new file, an app", Result{Path: "/c.toml", Profile: "default", Flow: config.FlowClientCredentials, Created: true}, "", "",
			"m365send: wrote profile \"default\" to /c.toml (mode 0600)\nnext: check it with `m365send doctor`"},
		{"added, a pasted secret, flags repeated", Result{Path: "/c d.toml", Profile: "a b", Flow: config.FlowClientCredentials, SecretFile: "/s"}, "/c d.toml", "a b",
			"m365send: added profile \"a b\" to /c d.toml\nm365send: the client secret is in /s (mode 0600)\nnext: check it with `m365send doctor --config '/c d.toml' --profile 'a b'`"},
		{"a person signs in first", Result{Path: "/c.toml", Profile: "me", Flow: config.FlowDeviceCode, Doctor: true}, "", "me",
			"m365send: added profile \"me\" to /c.toml\nnext: sign in once with `m365send login --profile me`"},
		{"the doctor runs now", Result{Path: "/c.toml", Profile: "default", Flow: config.FlowClientCredentials, Doctor: true}, "", "",
			"m365send: added profile \"default\" to /c.toml"},
	} {
		if got := strings.Join(tc.r.Report(tc.config, tc.profile), "\n"); got != tc.want {
			t.Errorf("%s:\n%s\nwant\n%s", tc.name, got, tc.want)
		}
	}
}
