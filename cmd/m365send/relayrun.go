package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/m365send/m365send/internal/clilog"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/queueadmin"
	"github.com/m365send/m365send/internal/session"
	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/spool"
	"github.com/m365send/m365send/relay"
)

// runRelay runs the relay until ctx ends (SIGINT, SIGTERM): listeners and
// the Deliverer over the queue's spool, reloading users and networks on
// SIGHUP (see docs/relay.md).
func (a *app) runRelay(ctx context.Context) error {
	c, err := a.relayConfig()
	if err != nil {
		return err
	}
	g, err := a.globals()
	if err != nil {
		return err
	}
	dir, err := queueadmin.SpoolDir(g)
	if err != nil {
		return err
	}
	if g.StateDir == "" && c.TLSCertFile == "" {
		return failure.New(failure.Config, "no state folder to keep the relay's generated certificate in",
			"set tls_cert_file and tls_key_file in [relay], or $M365SEND_STATE_DIR")
	}
	cert, generated, err := relay.Certificate(c, g.StateDir, time.Now())
	if err != nil {
		return err
	}
	fp := relay.Fingerprint(cert)
	if generated {
		fmt.Fprintf(a.io.Err, "m365send: relay certificate SHA-256 fingerprint %s (generated in %s; give it to the clients to trust)\n", fp, g.StateDir)
	} else {
		fmt.Fprintf(a.io.Err, "m365send: relay certificate SHA-256 fingerprint %s\n", fp)
	}
	mailboxes := map[string]string{}
	for _, name := range g.Profiles {
		p, err := session.LoadProfile(a.io.sessionOptions(session.Options{ConfigFile: g.File, Profile: name}))
		if err != nil {
			return err
		}
		if p.Mailbox != "" {
			mailboxes[name] = p.Mailbox
		}
	}
	log := clilog.NewLevel(a.io.Err, "m365send", slog.LevelInfo)
	sp, err := spool.Open(dir, spool.Options{})
	if err != nil {
		return err
	}
	defer sp.Close()
	routes := queueadmin.NewRoutes(a.sessionOptions())
	d, err := queue.NewDeliverer(queue.DelivererConfig{Queue: sp, Route: routes.Route, Logger: log})
	if err != nil {
		return err
	}

	reload := make(chan *relay.Config)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			nc, err := a.relayConfig()
			if err != nil {
				log.Warn("relay: reload refused; the running configuration stays", "file", g.File, "err", err)
				continue
			}
			select {
			case reload <- nc:
				log.Info("relay: configuration reloaded", "file", g.File, "users", len(nc.Users), "networks", len(nc.Networks))
			case <-ctx.Done():
				return
			}
		}
	}()

	log.Info("relay: starting", "queue", dir, "listeners", len(c.Listeners))
	err = relay.Run(ctx, relay.Options{
		Config: c, Queue: sp, Mailboxes: mailboxes, Certificate: cert, Logger: log, Reload: reload,
		Ready: func(addrs []net.Addr) {
			for _, ad := range addrs {
				log.Info("relay: listening", "address", ad.String())
			}
		},
	}, d, 0)
	if err != nil {
		return err
	}
	log.Info("relay: stopped; what was not delivered stays queued", "queue", dir)
	return nil
}
