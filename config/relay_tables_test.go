package config

import (
	"testing"

	"github.com/m365send/m365send/internal/failure"
)

// The [relay] table and the queue setting belong to packages relay and
// queue: the profile loader leaves them alone, but still refuses a
// misspelt top-level key.
func TestRelayAndQueueTablesAreNotUnknown(t *testing.T) {
	f := newFixture(t)
	f.config("queue = \"/var/spool/m365send\"\n" +
		"[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\nclient_secret_env = \"S\"\n" +
		"[relay]\nlisten = [\"127.0.0.1:2525\"]\n[[relay.users]]\nname = \"u\"\nprofiles = [\"p\"]\n[[relay.networks]]\ncidr = [\"10.0.0.0/8\"]\n")
	f.env["S"] = "secret"
	if _, err := f.load(LoadOptions{Profile: "p"}); err != nil {
		t.Fatalf("load: %v", err)
	}
	f.config("[relais]\nlisten = [\"127.0.0.1:2525\"]\n[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\nclient_secret_env = \"S\"\n")
	_, err := f.load(LoadOptions{Profile: "p"})
	if err == nil || failure.HintOf(err) != `did you mean "relay"?` {
		t.Fatalf("load of [relais]: %v (hint %q), want a did-you-mean relay", err, failure.HintOf(err))
	}
}
