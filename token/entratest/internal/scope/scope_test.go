package scope

import "testing"

func TestAppAndDelegatedScopes(t *testing.T) {
	r := Rules{Exchange: GlobalExchange}
	for _, tc := range []struct {
		scope string
		app   int // AADSTS code of App; 0: taken
		user  int // of Delegated
	}{
		{GlobalExchange + "/.default", 0, 0},
		{"https://outlook.office.com/.default openid profile offline_access", 0, 0},
		{GlobalExchange + "/SMTP.Send offline_access", 1002012, 0},
		{"https://graph.microsoft.com/Mail.Send", 1002012, 0},
		{"https://graph.microsoft.com/SMTP.Send", 1002012, 70011},
		{"https://management.azure.com/.default", 70011, 70011},
		{GlobalExchange + "/.default https://graph.microsoft.com/.default", 700022, 700022},
		{"", 70011, 70011},
		{"openid", 70011, 70011},
	} {
		if _, code := r.App(tc.scope); code != tc.app {
			t.Errorf("App(%q) = AADSTS%d, want %d", tc.scope, code, tc.app)
		}
		if _, _, code := r.Delegated(tc.scope); code != tc.user {
			t.Errorf("Delegated(%q) = AADSTS%d, want %d", tc.scope, code, tc.user)
		}
	}
	// Only the global cloud's Exchange has a second identifier URI.
	gov := Rules{Exchange: "https://outlook.office365.us"}
	if gov.IsExchange("https://outlook.office.com") || !gov.IsExchange("https://outlook.office365.us/") {
		t.Error("IsExchange: a sovereign cloud's resource is its own, and only it")
	}
}

func TestGraphScpNamesThePermissionsAskedFor(t *testing.T) {
	for _, tc := range []struct {
		scopes []string
		want   string
	}{
		{[]string{"https://graph.microsoft.com/.default", "offline_access"}, GraphSend},
		{[]string{"https://graph.microsoft.com/Mail.ReadWrite", "https://graph.microsoft.com/Mail.Send"}, "Mail.ReadWrite Mail.Send"},
		{[]string{"openid"}, GraphSend},
	} {
		if got := GraphScp(tc.scopes); got != tc.want {
			t.Errorf("GraphScp(%q) = %q, want %q", tc.scopes, got, tc.want)
		}
	}
}
