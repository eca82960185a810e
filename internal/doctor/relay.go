package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/relay"
)

// RelayStep is the step added after the others when the configuration
// file has a [relay] table: relay.Check's verdict on it, and the relay
// certificate's SHA-256 fingerprint, for devices to pin.
const RelayStep = "relay"

// relay checks the [relay] table of the file lo selects, if it has one.
func (d *Report) relay(lo config.LoadOptions) {
	g, err := config.LoadGlobals(lo)
	if err != nil || g.File == "" {
		return // the config step has said what is wrong with the file
	}
	raw, err := os.ReadFile(g.File)
	if err != nil {
		return
	}
	var doc map[string]any
	if _, err := toml.Decode(string(raw), &doc); err != nil {
		return
	}
	if _, ok := doc["relay"]; !ok {
		return
	}
	c, err := relay.Decode(g.File, raw)
	if err == nil {
		err = relay.Check(c, g.Profiles)
	}
	if err != nil {
		d.failErr(RelayStep, err)
		return
	}
	summary := fmt.Sprintf("[relay]: %d listener(s), %d user(s), %d network(s)", len(c.Listeners), len(c.Users), len(c.Networks))
	fp, where, err := relayFingerprint(c, g.StateDir)
	switch {
	case err != nil:
		d.failErr(RelayStep, err)
	case fp == "":
		d.ok(RelayStep, summary+"; certificate: "+where)
	default:
		d.ok(RelayStep, fmt.Sprintf("%s; certificate SHA-256 fingerprint %s (%s)", summary, fp, where))
	}
}

// relayFingerprint is the fingerprint of the relay's certificate and
// where it is, or "" and why there is none yet. It never generates one.
func relayFingerprint(c *relay.Config, stateDir string) (fp, where string, err error) {
	where = c.TLSCertFile
	if c.TLSCertFile == "" {
		if stateDir == "" {
			return "", "", failure.New(failure.Config, "relay: no state folder to keep the generated certificate in",
				"set tls_cert_file and tls_key_file in [relay], or $M365SEND_STATE_DIR")
		}
		where = filepath.Join(stateDir, relay.GeneratedCertFile)
		if _, err := os.Stat(where); errors.Is(err, fs.ErrNotExist) {
			return "", "not generated yet: `m365send relay` makes one in " + stateDir + " on its first start", nil
		}
	}
	cert, _, err := relay.Certificate(c, stateDir, time.Now())
	if err != nil {
		return "", "", err
	}
	return relay.Fingerprint(cert), where, nil
}
