package config

import (
	"net/url"
	"strings"

	"github.com/m365send/m365send/internal/configkey"
	"github.com/m365send/m365send/internal/suggest"
)

// The values of the transport key.
const (
	TransportSMTP  = "smtp"
	TransportGraph = "graph"
	TransportAuto  = "auto"
)

// transport sets Transport, "smtp" when not set.
func (b *builder) transport(s configkey.Setting, ok bool) error {
	v := strings.ToLower(strings.TrimSpace(s.Val))
	switch v {
	case "":
		v = TransportSMTP
	case TransportSMTP, TransportGraph, TransportAuto:
	default:
		names := []string{TransportSMTP, TransportGraph, TransportAuto}
		hint := suggest.DidYouMean(v, names, suggest.TypoLimit(v))
		if hint == "" {
			hint = `transport is "smtp", "graph" or "auto"`
		}
		return s.From.Errorf(hint, "unknown transport %s", shown(s.Val))
	}
	b.p.Transport = v
	return nil
}

// graphURL sets GraphURL: an https URL with a host.
func (b *builder) graphURL(s configkey.Setting, ok bool) error {
	if s.Val == "" {
		return nil
	}
	u, err := url.Parse(s.Val)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return s.From.Errorf("graph_url is an https URL such as https://graph.microsoft.com/v1.0", "malformed graph_url %s", shown(s.Val))
	}
	b.p.GraphURL = strings.TrimRight(s.Val, "/")
	return nil
}
