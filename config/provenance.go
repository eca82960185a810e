package config

import (
	"github.com/m365send/m365send/internal/configkey"
	"github.com/m365send/m365send/internal/provenance"
)

// Source says where one value of a loaded profile came from, for doctor
// -v and the warnings of commands run with -v. Nothing in it is a secret:
// a secret's value is shown as "(hidden)", and any value that looks like
// one only by its length.
type Source = configkey.Source

// Sources lists where each of the profile's values came from: the
// configuration file, the profile's name, then every key in Keys' order
// (environment-only keys only when set). It is nil for a Profile that
// Load did not make.
func (p *Profile) Sources() []Source {
	if p.prov == nil {
		return nil
	}
	return p.prov.Sources(provenance.Profile{Name: p.Name, Flow: p.Flow, Cloud: p.Cloud,
		AuthorityHost: p.AuthorityHost, CacheDir: p.CacheDir, SMTPPort: p.SMTPPort})
}

// Warnings are the profile's values that an azidentity variable (AZURE_*)
// set in the environment took over from the configuration file: a
// variable left in a shell by az, Terraform or another tool (AZURE_CLIENT_ID
// is the classic) silently changing which app signs in. Each is one line,
// without the program's name.
func (p *Profile) Warnings() []string {
	if p.prov == nil {
		return nil
	}
	return p.prov.Warnings()
}
