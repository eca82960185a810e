// Package pgqueue is the queue.Queue in PostgreSQL, for several relays
// sharing one queue (see docs/relay.md, "Several relays, one queue").
//
// # Tables
//
// m365send_messages holds one row per message, queued or dead (dead_reason
// not null): the columns Claim and List select on, the lease, and the whole
// state as JSON (the same as the on-disk spool's .json). m365send_data holds
// the data, apart, so that Claim and List never read it. m365send_schema
// holds the schema version; Open creates and migrates the tables itself
// (Migrate), safely when several relays start at once.
//
// # Durability and leases
//
// Enqueue inserts the message, its state (every recipient) and its data in
// one transaction and returns after the commit. Claim takes due rows with
// SELECT ... FOR UPDATE SKIP LOCKED, so that relays claiming at once never
// get the same message, and writes a lease on each (a random token, the
// owner, leased_until). Every later change checks the token: a holder whose
// lease was taken over gets queue.ErrLeaseLost.
//
// Leases end at leased_until. With Options.Lease set (as the relay does),
// the Queue renews the leases it holds in the background every third of
// Lease, so a lease lasts as long as its holder's process runs and ends at
// most Lease after it stops (a relay killed mid-delivery has its messages
// claimed by another within Lease); the durations callers ask for are then
// ignored. The leased_until and next_attempt columns are written from the
// callers' clocks: keep the relays' clocks in step (NTP).
package pgqueue

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/queue"
)

// Options configures a Queue; the zero value is fine for a single user.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Lease, when positive, is how long a lease outlives the last sign of
	// life of its holder: the Queue renews its leases every Lease/3 until
	// Close. Zero: leases end when their holder said (ClaimRequest.Lease,
	// Lease.Until on Update).
	Lease time.Duration
	// Logger receives diagnostics (nil: discard).
	Logger *slog.Logger
	// MaxConns caps the pool's connections (default 10).
	MaxConns int32
}

// Queue is a queue.Queue in a PostgreSQL database. Safe for concurrent
// use, and for use by many processes on many machines at once.
type Queue struct {
	pool  *pgxpool.Pool
	now   func() time.Time
	lease time.Duration
	log   *slog.Logger
	owner string

	conn   string // the pgx connection string, for Limits
	limMu  sync.Mutex
	limits *Limits

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

var _ queue.Queue = (*Queue)(nil)

// IsURL reports whether s names a PostgreSQL database (postgres:// or
// postgresql://) rather than a spool folder.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// ParseURL splits m365send's own parameters off a queue URL: lease=<duration>
// (Options.Lease). The rest is for pgx.
func ParseURL(s string) (conn string, lease time.Duration, err error) {
	u, err := url.Parse(s)
	if err != nil || !IsURL(s) {
		return "", 0, failure.New(failure.Config, "queue: not a postgres:// URL", "write it as postgres://user@host/database (see docs/relay.md)")
	}
	q := u.Query()
	if v := q.Get("lease"); v != "" {
		lease, err = time.ParseDuration(v)
		if err != nil || lease < 3*time.Second {
			return "", 0, failure.New(failure.Config, "queue: lease="+v+" is not a duration of at least 3s", "write it as lease=60s")
		}
		q.Del("lease")
		u.RawQuery = q.Encode()
	}
	return u.String(), lease, nil
}

// Open connects to the database at connURL (a postgres:// URL, see
// ParseURL), migrates its schema, and starts renewing leases if
// opts.Lease is set.
func Open(ctx context.Context, connURL string, opts Options) (*Queue, error) {
	conn, lease, err := ParseURL(connURL)
	if err != nil {
		return nil, err
	}
	if opts.Lease == 0 {
		opts.Lease = lease
	}
	pool, err := Connect(ctx, conn, opts.MaxConns)
	if err != nil {
		return nil, err
	}
	q := &Queue{pool: pool, conn: conn, now: opts.Now, lease: opts.Lease, log: opts.Logger, stop: make(chan struct{})}
	if q.now == nil {
		q.now = time.Now
	}
	if q.log == nil {
		q.log = slog.New(slog.DiscardHandler)
	}
	before, err := Migrate(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, failure.Wrap(failure.Config, err, "the queue's database role needs CREATE on its schema the first time (see docs/relay.md)")
	}
	if before < SchemaVersion {
		q.log.Info("pgqueue: schema migrated", "from", before, "to", SchemaVersion)
	}
	host, _ := os.Hostname()
	q.owner = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), randHex(4))
	if q.lease > 0 {
		q.wg.Add(1)
		go q.renew()
	}
	return q, nil
}

// Connect opens a pool on conn (a pgx connection string) and checks that
// the server answers.
func Connect(ctx context.Context, conn string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(conn)
	if err != nil {
		return nil, failure.Wrap(failure.Config, fmt.Errorf("pgqueue: %w", err), "write the queue as postgres://user@host/database (see docs/relay.md)")
	}
	if maxConns <= 0 {
		maxConns = 10
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err == nil {
		err = pool.Ping(ctx)
		if err != nil {
			pool.Close()
		}
	}
	if err != nil {
		return nil, failure.Wrap(failure.Unavailable, fmt.Errorf("pgqueue: connect: %w", err), "check that PostgreSQL runs and that the queue URL's host, user and database are right")
	}
	return pool, nil
}

// Limits returns the fleet-wide limits on the Queue's database (Exchange's
// 3 connections and 30 messages a minute per mailbox), on a pool of its
// own that Close closes.
func (q *Queue) Limits(ctx context.Context) (*Limits, error) {
	q.limMu.Lock()
	defer q.limMu.Unlock()
	if q.limits == nil {
		pool, err := Connect(ctx, q.conn, 40)
		if err != nil {
			return nil, err
		}
		q.limits = NewLimits(pool, 0, 0)
	}
	return q.limits, nil
}

// Owner names this Queue in the owner column of the leases it holds.
func (q *Queue) Owner() string { return q.owner }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newID returns a fresh ID: the time, then 40 random bits (as the spool's).
func newID(now time.Time) queue.ID {
	return queue.ID(now.UTC().Format("20060102-150405") + "-" + randHex(5))
}

// renew extends this Queue's leases every Lease/3 until Close.
func (q *Queue) renew() {
	defer q.wg.Done()
	t := time.NewTicker(q.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-q.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), q.lease/3)
		if err := q.Renew(ctx); err != nil {
			q.log.Warn("pgqueue: renew leases", "error", err)
		}
		cancel()
	}
}

// Renew extends every lease this Queue holds to Options.Lease from now;
// with Options.Lease set, the Queue calls it every Lease/3 by itself.
func (q *Queue) Renew(ctx context.Context) error {
	_, err := q.pool.Exec(ctx, `UPDATE m365send_messages SET leased_until = $1 WHERE owner = $2 AND lease_token IS NOT NULL AND leased_until < $1`, q.now().Add(q.lease), q.owner)
	if err != nil {
		return fmt.Errorf("pgqueue: renew leases: %w", err)
	}
	return nil
}

func (q *Queue) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-q.stop:
		return queue.ErrClosed
	default:
		return nil
	}
}

func marshal(m *queue.Message) ([]byte, error) {
	return json.Marshal(m)
}

func unmarshal(b []byte, dead *string) (*queue.Message, error) {
	var m queue.Message
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("pgqueue: stored state: %w", err)
	}
	m.DeadReason = ""
	if dead != nil {
		m.DeadReason = *dead
		if m.DeadReason == "" {
			m.DeadReason = "unknown"
		}
	}
	return &m, nil
}

// Enqueue implements queue.Queue: the message, its state and its data
// are committed in one transaction before it returns.
func (q *Queue) Enqueue(ctx context.Context, env queue.Envelope, data io.Reader) (queue.ID, error) {
	if err := env.Validate(); err != nil {
		return "", err
	}
	if err := q.check(ctx); err != nil {
		return "", err
	}
	b, err := io.ReadAll(data)
	if err != nil {
		return "", fmt.Errorf("pgqueue: enqueue: %w", err)
	}
	now := q.now()
	id := newID(now)
	if err := q.insert(ctx, queue.NewMessage(id, env, int64(len(b)), now), b); err != nil {
		return "", fmt.Errorf("pgqueue: enqueue: %w", err)
	}
	return id, nil
}

// Insert stores m (queued, or dead when m.DeadReason is set) with its
// data as is, keeping its ID and state; it is how `m365send queue
// migrate` moves a spool's messages. It does nothing and returns false
// when a message with m's ID is already there.
func (q *Queue) Insert(ctx context.Context, m *queue.Message, data []byte) (bool, error) {
	if !m.ID.Valid() {
		return false, fmt.Errorf("pgqueue: insert: %w: %q", queue.ErrNotFound, m.ID)
	}
	var exists bool
	if err := q.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM m365send_messages WHERE id = $1)`, string(m.ID)).Scan(&exists); err != nil {
		return false, fmt.Errorf("pgqueue: insert: %w", err)
	}
	if exists {
		return false, nil
	}
	if err := q.insert(ctx, m, data); err != nil {
		return false, fmt.Errorf("pgqueue: insert: %w", err)
	}
	return true, nil
}

func (q *Queue) insert(ctx context.Context, m *queue.Message, data []byte) error {
	st, err := marshal(m)
	if err != nil {
		return err
	}
	var dead *string
	if m.DeadReason != "" {
		dead = &m.DeadReason
	}
	return pgx.BeginFunc(ctx, q.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO m365send_messages (id, profile, queued, next_attempt, dead_reason, state) VALUES ($1, $2, $3, $4, $5, $6)`,
			string(m.ID), m.Profile, m.Queued, m.NextAttempt, dead, st); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO m365send_data (id, data) VALUES ($1, $2)`, string(m.ID), data)
		return err
	})
}

// Claim implements queue.Queue.
func (q *Queue) Claim(ctx context.Context, req queue.ClaimRequest) ([]*queue.Message, error) {
	if err := q.check(ctx); err != nil {
		return nil, err
	}
	if req.Max <= 0 {
		req.Max = 1
	}
	if req.Lease <= 0 {
		req.Lease = queue.DefaultLease
	}
	until := req.Now.Add(req.Lease)
	if q.lease > 0 {
		until = q.now().Add(q.lease)
	}
	skip := append([]string{}, req.Skip...)
	token := randHex(12)
	rows, err := q.pool.Query(ctx, `
		UPDATE m365send_messages SET lease_token = $1, leased_until = $2, owner = $3
		WHERE id IN (
			SELECT id FROM m365send_messages
			WHERE dead_reason IS NULL AND next_attempt <= $4
			  AND (lease_token IS NULL OR leased_until <= $4)
			  AND NOT (profile = ANY ($5))
			ORDER BY next_attempt, id
			LIMIT $6
			FOR UPDATE SKIP LOCKED)
		RETURNING state`, token, until, q.owner, req.Now, skip, req.Max)
	if err != nil {
		return nil, fmt.Errorf("pgqueue: claim: %w", err)
	}
	states, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, fmt.Errorf("pgqueue: claim: %w", err)
	}
	out := make([]*queue.Message, 0, len(states))
	for _, st := range states {
		m, err := unmarshal(st, nil)
		if err != nil {
			return nil, err
		}
		m.Lease = queue.Lease{Token: token, Until: until}
		out = append(out, m)
	}
	// RETURNING comes in no particular order.
	sortDue(out)
	return out, nil
}

// changed turns a change that touched no row into ErrLeaseLost.
func changed(n int64, err error, what string, id queue.ID) error {
	if err != nil {
		return fmt.Errorf("pgqueue: %s %s: %w", what, id, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", queue.ErrLeaseLost, id)
	}
	return nil
}

// Update implements queue.Queue.
func (q *Queue) Update(ctx context.Context, m *queue.Message) error {
	if err := q.check(ctx); err != nil {
		return err
	}
	st := *m
	st.DeadReason = ""
	b, err := marshal(&st)
	if err != nil {
		return err
	}
	var until *time.Time
	if !m.Lease.Until.IsZero() && q.lease == 0 {
		until = &m.Lease.Until
	}
	tag, err := q.pool.Exec(ctx, `UPDATE m365send_messages SET state = $1, next_attempt = $2, leased_until = coalesce($3, leased_until), profile = $6
		WHERE id = $4 AND lease_token = $5 AND dead_reason IS NULL`, b, m.NextAttempt, until, string(m.ID), m.Lease.Token, m.Profile)
	return changed(tag.RowsAffected(), err, "update", m.ID)
}

// Release implements queue.Queue.
func (q *Queue) Release(ctx context.Context, m *queue.Message) error {
	tag, err := q.pool.Exec(ctx, `UPDATE m365send_messages SET lease_token = NULL, leased_until = NULL, owner = NULL
		WHERE id = $1 AND lease_token = $2`, string(m.ID), m.Lease.Token)
	return changed(tag.RowsAffected(), err, "release", m.ID)
}

// Done implements queue.Queue.
func (q *Queue) Done(ctx context.Context, m *queue.Message) error {
	tag, err := q.pool.Exec(ctx, `DELETE FROM m365send_messages WHERE id = $1 AND lease_token = $2 AND dead_reason IS NULL`, string(m.ID), m.Lease.Token)
	return changed(tag.RowsAffected(), err, "done", m.ID)
}

// DeadLetter implements queue.Queue.
func (q *Queue) DeadLetter(ctx context.Context, m *queue.Message, reason string) error {
	st := *m
	st.DeadReason = reason
	if st.DeadReason == "" {
		st.DeadReason = "moved to the dead letters"
	}
	b, err := marshal(&st)
	if err != nil {
		return err
	}
	tag, err := q.pool.Exec(ctx, `UPDATE m365send_messages SET state = $1, dead_reason = $2, lease_token = NULL, leased_until = NULL, owner = NULL
		WHERE id = $3 AND lease_token = $4 AND dead_reason IS NULL`, b, st.DeadReason, string(m.ID), m.Lease.Token)
	return changed(tag.RowsAffected(), err, "dead letter", m.ID)
}

// Open implements queue.Queue.
func (q *Queue) Open(ctx context.Context, id queue.ID) (io.ReadCloser, error) {
	if !id.Valid() {
		return nil, fmt.Errorf("%w: %q", queue.ErrNotFound, id)
	}
	if err := q.check(ctx); err != nil {
		return nil, err
	}
	var b []byte
	err := q.pool.QueryRow(ctx, `SELECT data FROM m365send_data WHERE id = $1`, string(id)).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", queue.ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("pgqueue: open %s: %w", id, err)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// List implements queue.Queue.
func (q *Queue) List(ctx context.Context, f queue.Filter) ([]*queue.Message, error) {
	if err := q.check(ctx); err != nil {
		return nil, err
	}
	rows, err := q.pool.Query(ctx, `SELECT state, dead_reason FROM m365send_messages WHERE (dead_reason IS NOT NULL) = $1 ORDER BY queued, id`, f.Dead)
	if err != nil {
		return nil, fmt.Errorf("pgqueue: list: %w", err)
	}
	var out []*queue.Message
	var st []byte
	var dead *string
	_, err = pgx.ForEachRow(rows, []any{&st, &dead}, func() error {
		m, err := unmarshal(st, dead)
		if err == nil {
			out = append(out, m)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgqueue: list: %w", err)
	}
	return out, nil
}

// Get implements queue.Queue.
func (q *Queue) Get(ctx context.Context, id queue.ID) (*queue.Message, error) {
	if !id.Valid() {
		return nil, fmt.Errorf("%w: %q", queue.ErrNotFound, id)
	}
	if err := q.check(ctx); err != nil {
		return nil, err
	}
	var st []byte
	var dead *string
	err := q.pool.QueryRow(ctx, `SELECT state, dead_reason FROM m365send_messages WHERE id = $1`, string(id)).Scan(&st, &dead)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", queue.ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("pgqueue: get %s: %w", id, err)
	}
	return unmarshal(st, dead)
}

// operate runs op on id's row, locked, unless its lease holds
// (queue.ErrBusy).
func (q *Queue) operate(ctx context.Context, id queue.ID, op func(tx pgx.Tx, m *queue.Message) error) error {
	if !id.Valid() {
		return fmt.Errorf("%w: %q", queue.ErrNotFound, id)
	}
	if err := q.check(ctx); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, q.pool, func(tx pgx.Tx) error {
		var st []byte
		var dead *string
		var until *time.Time
		err := tx.QueryRow(ctx, `SELECT state, dead_reason, CASE WHEN lease_token IS NOT NULL THEN leased_until END FROM m365send_messages WHERE id = $1 FOR UPDATE`, string(id)).Scan(&st, &dead, &until)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %s", queue.ErrNotFound, id)
		}
		if err != nil {
			return fmt.Errorf("pgqueue: %s: %w", id, err)
		}
		if until != nil && until.After(q.now()) {
			return fmt.Errorf("%w: %s", queue.ErrBusy, id)
		}
		m, err := unmarshal(st, dead)
		if err != nil {
			return err
		}
		if dead == nil {
			m.DeadReason = ""
		}
		return op(tx, m)
	})
}

// Retry implements queue.Queue.
func (q *Queue) Retry(ctx context.Context, id queue.ID, now time.Time) error {
	return q.operate(ctx, id, func(tx pgx.Tx, m *queue.Message) error {
		if m.DeadReason != "" {
			m.DeadReason = ""
			m.Queued = now
			for i := range m.Recipients {
				if m.Recipients[i].Status != queue.Delivered {
					m.Recipients[i].Status = queue.Pending
				}
			}
		}
		m.DueAt(now)
		b, err := marshal(m)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE m365send_messages SET state = $1, queued = $2, next_attempt = $3, dead_reason = NULL, lease_token = NULL, leased_until = NULL, owner = NULL WHERE id = $4`,
			b, m.Queued, m.NextAttempt, string(id))
		if err != nil {
			return fmt.Errorf("pgqueue: retry %s: %w", id, err)
		}
		return nil
	})
}

// Delete implements queue.Queue.
func (q *Queue) Delete(ctx context.Context, id queue.ID) error {
	return q.operate(ctx, id, func(tx pgx.Tx, _ *queue.Message) error {
		if _, err := tx.Exec(ctx, `DELETE FROM m365send_messages WHERE id = $1`, string(id)); err != nil {
			return fmt.Errorf("pgqueue: delete %s: %w", id, err)
		}
		return nil
	})
}

// Close implements queue.Queue: the leases this Queue holds end, and its
// connections close.
func (q *Queue) Close() error {
	var err error
	q.once.Do(func() {
		close(q.stop)
		q.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, e := q.pool.Exec(ctx, `UPDATE m365send_messages SET lease_token = NULL, leased_until = NULL, owner = NULL WHERE owner = $1`, q.owner); e != nil {
			err = fmt.Errorf("pgqueue: close: %w", e)
		}
		q.pool.Close()
		q.limMu.Lock()
		if q.limits != nil {
			q.limits.pool.Close()
		}
		q.limMu.Unlock()
	})
	return err
}
