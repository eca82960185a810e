package session

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/graph"
	"github.com/m365send/m365send/transport"
)

// openGraph builds the Graph sender when the profile's transport is graph
// or auto, and sets Transport: Graph, or a Switcher that starts on SMTP
// and remembers a switch in the state folder (docs/graph.md).
func (s *Session) openGraph(opts Options, pool *x509.CertPool, log *slog.Logger, attempts int) error {
	p := s.Profile
	if p.Transport != config.TransportGraph && p.Transport != config.TransportAuto {
		return nil
	}
	g, err := graph.New(graph.Config{
		Tokens:      explainingTokens{src: s.GraphTokens, explain: s.Explain},
		Mailbox:     s.Mailbox,
		Endpoint:    p.GraphURL,
		Cloud:       p.Cloud,
		RootCAs:     pool,
		MaxAttempts: attempts,
		Logger:      log,
	})
	if err != nil {
		return asConfigError(p, err)
	}
	s.Graph = g
	if p.Transport == config.TransportGraph {
		s.Transport = g
		return nil
	}
	sw := &transport.Switcher{SMTP: s.Sender, Graph: g}
	if g, err := config.LoadGlobals(opts.LoadOptions()); err == nil && g.StateDir != "" {
		sw.StateFile = filepath.Join(g.StateDir, "transport", p.Name+".graph")
	}
	if opts.Stderr != nil {
		sw.Warn = func(line string) { fmt.Fprintf(opts.Stderr, "%s: %s: %s\n", opts.prog(), s.Mailbox, line) }
	}
	s.Transport = sw
	return nil
}
