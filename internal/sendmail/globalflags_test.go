package sendmail

import (
	"reflect"
	"testing"

	"github.com/m365send/m365send/internal/failure"
)

func TestGlobalFlags(t *testing.T) {
	tests := []struct {
		args       []string
		wantRest   []string
		wantConfig string
		wantProf   string
		wantErr    bool
	}{
		{args: []string{"-t", "a@example.com"}, wantRest: []string{"-t", "a@example.com"}},
		{args: []string{"--config", "/c.toml", "--profile", "p", "-ti"}, wantRest: []string{"-ti"}, wantConfig: "/c.toml", wantProf: "p"},
		{args: []string{"--config=/c.toml", "-f", "x@example.com", "--profile=p"}, wantRest: []string{"-f", "x@example.com"}, wantConfig: "/c.toml", wantProf: "p"},
		{args: []string{"-i", "--", "--config", "a@example.com"}, wantRest: []string{"-i", "--", "--config", "a@example.com"}},
		{args: []string{"--verbose"}, wantRest: []string{"--verbose"}}, // left for sendmail's parser to refuse
		{args: []string{"-t", "--profile"}, wantErr: true},
	}
	for _, tt := range tests {
		rest, configFile, profile, err := GlobalFlags(tt.args)
		if tt.wantErr {
			if err == nil || failure.KindOf(err) != failure.Usage {
				t.Errorf("%q: err = %v, want a usage error", tt.args, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if !reflect.DeepEqual(rest, tt.wantRest) || configFile != tt.wantConfig || profile != tt.wantProf {
			t.Errorf("%q: rest %q config %q profile %q; want %q %q %q", tt.args, rest, configFile, profile, tt.wantRest, tt.wantConfig, tt.wantProf)
		}
	}
}
