// Package relayd runs the relay as `m365send relay` does: it checks the
// [relay] table of the configuration file, loads or generates the
// certificate, and runs relay.Run's listeners with a queue.Deliverer over
// the queue's spool, each profile delivering through its own mailbox.
package relayd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/clilog"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/metrics"
	"github.com/m365send/m365send/internal/queueadmin"
	"github.com/m365send/m365send/internal/session"
	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/backend"
	"github.com/m365send/m365send/relay"
)

// LoadConfig loads and checks the [relay] table of the configuration file
// opts select, and returns it with the file's top-level settings.
func LoadConfig(opts config.LoadOptions) (*relay.Config, *config.Globals, error) {
	g, err := config.LoadGlobals(opts)
	if err != nil {
		return nil, nil, err
	}
	if g.File == "" {
		return nil, nil, failure.New(failure.Config, "no configuration file: the relay is configured in its [relay] table",
			"create the file (see docs/relay.md) or name it with --config")
	}
	c, err := relay.Load(g.File)
	if err != nil {
		return nil, nil, err
	}
	if err := relay.Check(c, g.Profiles); err != nil {
		return nil, nil, err
	}
	return c, g, nil
}

// Run runs the relay of the configuration file opts select until ctx ends
// (SIGINT, SIGTERM in the command): listeners and the Deliverer over the
// queue's spool, reloading users and networks on SIGHUP (see
// docs/relay.md). It prints the certificate's fingerprint, and logs, on
// opts.Stderr; each profile's sender is opened with opts.
func Run(ctx context.Context, opts session.Options) error {
	stderr := opts.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	c, g, err := LoadConfig(opts.LoadOptions())
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
		fmt.Fprintf(stderr, "m365send: relay certificate SHA-256 fingerprint %s (generated in %s; give it to the clients to trust)\n", fp, g.StateDir)
	} else {
		fmt.Fprintf(stderr, "m365send: relay certificate SHA-256 fingerprint %s\n", fp)
	}
	mailboxes := map[string]string{}
	for _, name := range g.Profiles {
		po := opts
		po.ConfigFile, po.Profile = g.File, name
		p, err := session.LoadProfile(po)
		if err != nil {
			return err
		}
		if p.Mailbox != "" {
			mailboxes[name] = p.Mailbox
		}
	}
	log := clilog.NewLevel(opts.Stderr, "m365send", slog.LevelInfo)
	sp, err := backend.Open(ctx, dir, backend.Options{Logger: log})
	if err != nil {
		return err
	}
	defer sp.Close()
	lim, err := backend.Limiter(ctx, sp)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var m *metrics.Metrics
	if c.MetricsListen != "" {
		m = metrics.New(sp, nil)
		log = slog.New(m.Handler(log.Handler()))
		opts.LogHandler = m.Handler // the profiles' token requests
		ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", c.MetricsListen)
		if err != nil {
			return fmt.Errorf("relay: metrics: listen %s: %w", c.MetricsListen, err)
		}
		served := make(chan error, 1)
		go func() { served <- m.Serve(ctx, ln) }()
		defer func() { cancel(); <-served }()
		log.Info("relay: metrics listening", "address", ln.Addr().String())
	}
	routes := queueadmin.NewRoutes(opts)
	d, err := queue.NewDeliverer(queue.DelivererConfig{Queue: sp, Route: routes.Route, Logger: log, Limiter: lim})
	if err != nil {
		return err
	}

	reload := make(chan *relay.Config)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			nc, _, err := LoadConfig(opts.LoadOptions())
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

	log.Info("relay: starting", "queue", backend.Describe(dir), "listeners", len(c.Listeners))
	err = relay.Run(ctx, relay.Options{
		Config: c, Queue: sp, Mailboxes: mailboxes, Certificate: cert, Logger: log, Reload: reload,
		Ready: func(addrs []net.Addr) {
			for _, ad := range addrs {
				log.Info("relay: listening", "address", ad.String())
			}
			if m != nil {
				m.SetReady(true)
			}
		},
	}, d, time.Duration(c.ShutdownGrace))
	if m != nil {
		m.SetReady(false)
	}
	if err != nil {
		return err
	}
	log.Info("relay: stopped; what was not delivered stays queued", "queue", backend.Describe(dir))
	return nil
}
