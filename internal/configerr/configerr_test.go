package configerr

import "testing"

func TestErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{File: "/c.toml", Line: 3, Key: "profiles.a.tenat", Msg: "unknown key"}, "/c.toml:3: profiles.a.tenat: unknown key"},
		{Error{File: "/c.toml", Msg: "bad"}, "/c.toml: bad"},
		{Error{Key: "AZURE_CLIENT_ID", Msg: "bad"}, "AZURE_CLIENT_ID: bad"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}
