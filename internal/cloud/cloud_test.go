package cloud

import "testing"

func TestLookup(t *testing.T) {
	c, err := Lookup("")
	if err != nil || c.Name != "global" || c.SMTPHost != "smtp.office365.com" {
		t.Fatalf("Lookup(\"\") = %+v, %v", c, err)
	}
	if c.AppScope() != "https://outlook.office365.com/.default" || c.DelegatedScope() != "https://outlook.office.com/SMTP.Send" {
		t.Errorf("global scopes: %q %q", c.AppScope(), c.DelegatedScope())
	}
	us, err := Lookup("USGov")
	if err != nil || us.DelegatedScope() != "https://outlook.office365.us/SMTP.Send" || us.GraphAppScope() != "https://graph.microsoft.us/.default" {
		t.Errorf("usgov: %+v %v", us, err)
	}
	if _, err := Lookup("mars"); err == nil {
		t.Error("unknown cloud accepted")
	}
}

func TestHostCloud(t *testing.T) {
	if c, ok := HostCloud("SMTP.office365.us:587"); !ok || c.Name != "usgov" {
		t.Errorf("HostCloud(smtp.office365.us:587) = %v, %v", c.Name, ok)
	}
	if _, ok := HostCloud("127.0.0.1:2525"); ok {
		t.Error("loopback matched a cloud")
	}
}
