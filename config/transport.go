package config

import (
	"strings"

	"github.com/m365send/m365send/internal/configcheck"
	"github.com/m365send/m365send/internal/configkey"
)

// The values of the transport key.
const (
	TransportSMTP  = "smtp"
	TransportGraph = "graph"
	TransportAuto  = "auto"
)

// transport sets Transport, "smtp" when not set.
func (b *builder) transport(s configkey.Setting, ok bool) error {
	b.p.Transport = strings.ToLower(strings.TrimSpace(s.Val))
	if b.p.Transport == "" {
		b.p.Transport = TransportSMTP
	}
	return configcheck.OneOf(s, b.p.Transport, "transport", []string{TransportSMTP, TransportGraph, TransportAuto}, `transport is "smtp", "graph" or "auto"`)
}

// graphURL sets GraphURL: an https URL with a host.
func (b *builder) graphURL(s configkey.Setting, ok bool) (err error) {
	if s.Val != "" {
		b.p.GraphURL, err = configcheck.GraphURL(s)
	}
	return err
}
