package sender

import (
	"context"
	"net"
	"time"

	"github.com/m365send/m365send/internal/safetext"
)

// Probe is what Check learned about the server, for `m365send doctor`.
type Probe struct {
	Addrs         []string // resolved addresses
	TLSVersion    string   // negotiated by STARTTLS
	Mechanisms    []string // AUTH mechanisms advertised after STARTTLS
	Authenticated bool     // AUTH XOAUTH2 succeeded
}

// Check connects, upgrades with STARTTLS, reads the AUTH mechanisms and
// authenticates, without sending mail. On failure it returns what it
// learned so far and a *Error whose Stage names the failing step: dns,
// connect, greeting (banner or EHLO), starttls, token or auth.
func (s *Sender) Check(ctx context.Context) (*Probe, error) {
	p := &Probe{}
	addrs, err := net.DefaultResolver.LookupHost(ctx, s.cfg.Host)
	if err != nil {
		return p, classify(s.server, StageDNS, err)
	}
	p.Addrs = addrs
	release, err := s.acquireSlot(ctx)
	if err != nil {
		return p, classify(s.server, StageConnect, err)
	}
	defer release()
	c, e := s.connect(ctx, p, time.Now().Add(s.cfg.SendTimeout))
	// The mechanisms are the server's words: shown by doctor, they must
	// not carry control characters.
	for i, m := range p.Mechanisms {
		p.Mechanisms[i] = safetext.OneLine(m)
	}
	if e != nil {
		return p, e
	}
	c.Quit()
	return p, nil
}
