package pgqueue

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations are the schema's versions, in order: migrations[i] takes the
// schema from version i to i+1. Only ever append.
var migrations = []string{
	// 1: messages, their data, and the pace of each mailbox.
	`CREATE TABLE m365send_messages (
		id           text PRIMARY KEY,
		profile      text NOT NULL,
		queued       timestamptz NOT NULL,
		next_attempt timestamptz NOT NULL,
		dead_reason  text,
		lease_token  text,
		leased_until timestamptz,
		owner        text,
		state        jsonb NOT NULL
	);
	CREATE INDEX m365send_messages_due ON m365send_messages (next_attempt, id) WHERE dead_reason IS NULL;
	CREATE TABLE m365send_data (
		id   text PRIMARY KEY REFERENCES m365send_messages (id) ON DELETE CASCADE,
		data bytea NOT NULL
	);
	CREATE TABLE m365send_sends (
		mailbox text NOT NULL,
		at      timestamptz NOT NULL,
		n       integer NOT NULL
	);
	CREATE INDEX m365send_sends_mailbox ON m365send_sends (mailbox, at);`,
	// 2: a key for each row of the pace, so that its end can be set.
	`ALTER TABLE m365send_sends ADD COLUMN id bigserial PRIMARY KEY;`,
}

// SchemaVersion is the schema version this program creates and expects.
var SchemaVersion = len(migrations)

// migrateLock is the key of the advisory lock that serialises migrations
// across every program on the database ("m365s" in ASCII).
const migrateLock = 0x6d33363573

// Migrate brings the database's schema up to SchemaVersion, in one
// transaction under an advisory lock, so that several relays starting at
// once on an empty database take turns: the first creates the tables, the
// others find them there. It returns the version found before.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (before int, err error) {
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS m365send_schema (version integer NOT NULL)`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM m365send_schema`).Scan(&before); err != nil {
			return err
		}
		if before > len(migrations) {
			return fmt.Errorf("the database's schema is version %d, newer than this program's %d: upgrade m365send", before, len(migrations))
		}
		for v := before; v < len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migration to version %d: %w", v+1, err)
			}
		}
		if before < len(migrations) {
			if _, err := tx.Exec(ctx, `DELETE FROM m365send_schema`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO m365send_schema (version) VALUES ($1)`, len(migrations)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return before, fmt.Errorf("pgqueue: migrate: %w", err)
	}
	return before, nil
}

// Version returns the database's schema version (0: no schema yet)
// without changing anything; doctor uses it.
func Version(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('m365send_schema') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, fmt.Errorf("pgqueue: schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM m365send_schema`).Scan(&v); err != nil {
		return 0, fmt.Errorf("pgqueue: schema version: %w", err)
	}
	return v, nil
}
