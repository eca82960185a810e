package configcheck

import (
	"reflect"
	"testing"
)

func TestPublicHostsComeFromTheCloudTable(t *testing.T) {
	want := map[string][]string{
		"login.microsoftonline.com":        {"global"},
		"login.microsoftonline.us":         {"usgov", "usgovdod"},
		"login.partner.microsoftonline.cn": {"china"},
		"smtp.office365.com":               {"global"},
		"smtp.office365.us":                {"usgov"},
		"outlook-dod.office365.us":         {"usgovdod"},
		"smtp.partner.outlook.cn":          {"china"},
	}
	if got := publicHosts(); !reflect.DeepEqual(got, want) {
		t.Errorf("publicHosts() = %v, want %v", got, want)
	}
}
