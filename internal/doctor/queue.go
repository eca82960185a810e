package doctor

import (
	"context"
	"fmt"
	"time"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/queue/backend"
	"github.com/m365send/m365send/queue/pgqueue"
)

// queueStep checks the PostgreSQL queue when the configuration names one
// (a spool folder needs no check): the connection and the schema version.
// It adds no result otherwise.
func (d *Report) queueStep(ctx context.Context, opts config.LoadOptions) {
	g, err := config.LoadGlobals(opts)
	if err != nil || !backend.IsDatabase(g.Queue) {
		return
	}
	if d.queueResult(ctx, g.Queue).Status == Fail {
		d.Summary = ""
	}
}

// queueResult checks the database at url and records the result.
func (d *Report) queueResult(ctx context.Context, url string) Result {
	where := backend.Describe(url)
	conn, _, err := pgqueue.ParseURL(url)
	if err != nil {
		d.failErr("queue", err)
		return d.Results[len(d.Results)-1]
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	pool, err := pgqueue.Connect(ctx, conn, 1)
	if err != nil {
		d.failErr("queue", err)
		return d.Results[len(d.Results)-1]
	}
	defer pool.Close()
	v, err := pgqueue.Version(ctx, pool)
	var r Result
	switch {
	case err != nil:
		r = Result{Status: Fail, Step: "queue", Kind: failure.Unavailable, Err: err}
	case v == pgqueue.SchemaVersion:
		r = Result{Status: OK, Step: "queue", Detail: fmt.Sprintf("PostgreSQL queue %s answers; schema version %d", where, v)}
	case v == 0:
		r = Result{Status: Warn, Step: "queue", Detail: fmt.Sprintf("PostgreSQL queue %s answers but has no tables yet", where),
			Fix: "the first relay (or m365send queue) creates them; its role needs CREATE on the database (docs/relay.md)"}
	case v < pgqueue.SchemaVersion:
		r = Result{Status: Warn, Step: "queue", Detail: fmt.Sprintf("PostgreSQL queue %s has schema version %d; this program's is %d", where, v, pgqueue.SchemaVersion),
			Fix: "the next relay start migrates it"}
	default:
		r = Result{Status: Fail, Step: "queue", Kind: failure.Config, Detail: fmt.Sprintf("PostgreSQL queue %s has schema version %d, newer than this program's %d", where, v, pgqueue.SchemaVersion),
			Fix: "upgrade m365send on this machine to the relays' version"}
	}
	d.add(r)
	return r
}
