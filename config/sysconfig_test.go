package config

import (
	"strings"
	"testing"
)

func TestSystemConfigUsedWhenTheUserHasNone(t *testing.T) {
	f := newFixture(t)
	f.env["ALERTS_SECRET"] = "s"
	// root:group 0640, as /etc/m365send/config.toml is installed.
	sys := f.write("etc/m365send/config.toml", basic, 0o640)
	f.env["M365SEND_SYSTEM_CONFIG"] = sys
	p, err := f.load(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.File != sys || p.Name != "alerts" {
		t.Fatalf("loaded %s profile %s, want %s alerts", p.File, p.Name, sys)
	}
	g, err := LoadGlobals(LoadOptions{Env: f.getenv})
	if err != nil || g.File != sys {
		t.Fatalf("LoadGlobals file = %v, %v; want %s", g, err, sys)
	}

	// The user's own file wins.
	user := f.config(strings.Replace(basic, `default_profile = "alerts"`, `default_profile = "mine"`, 1) + "\n[profiles.mine]\ntenant = \"contoso.onmicrosoft.com\"\nclient_id = \"" + clientID + "\"\n")
	p, err = f.load(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.File != user || p.Name != "mine" {
		t.Fatalf("loaded %s profile %s, want the user's %s", p.File, p.Name, user)
	}
}

func TestSystemConfigModeIsChecked(t *testing.T) {
	f := newFixture(t)
	sys := f.write("etc/config.toml", basic, 0o644)
	f.env["M365SEND_SYSTEM_CONFIG"] = sys
	_, err := f.load(LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "accessible by others") {
		t.Fatalf("err = %v, want a refusal of mode 0644", err)
	}
	f.env["M365SEND_SYSTEM_CONFIG"] = "etc/config.toml"
	if _, err := f.load(LoadOptions{}); err == nil || !strings.Contains(err.Error(), "not an absolute path") {
		t.Fatalf("err = %v, want a relative path refused", err)
	}
}
