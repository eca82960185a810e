package hostcheck

import "testing"

func TestHostAndAuthority(t *testing.T) {
	for _, h := range []string{"smtp.office365.com", "localhost", "127.0.0.1", "::1"} {
		if err := Host(h); err != nil {
			t.Errorf("Host(%q) = %v, want nil", h, err)
		}
	}
	for _, h := range []string{"https://smtp.office365.com", "smtp.office365.com:587", "nodots", "-bad.example.com", ""} {
		if Host(h) == nil {
			t.Errorf("Host(%q) = nil, want an error", h)
		}
	}
	for _, a := range []string{"login.microsoftonline.com", "https://login.microsoftonline.com/", "127.0.0.1:8443", "https://[::1]:8443"} {
		if err := Authority(a); err != nil {
			t.Errorf("Authority(%q) = %v, want nil", a, err)
		}
	}
	for _, a := range []string{"http://login.microsoftonline.com", "https://", "host:0", "host:99999", "a b.example.com"} {
		if Authority(a) == nil {
			t.Errorf("Authority(%q) = nil, want an error", a)
		}
	}
}
