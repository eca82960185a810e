package doctor

import (
	"context"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/pgtest"
	"github.com/m365send/m365send/queue/pgqueue"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &pg) }

// doctor says whether the PostgreSQL queue answers and whether its schema
// is this program's, never showing the URL's password.
func TestQueueStep(t *testing.T) {
	ctx := context.Background()
	url := pg.Database(t)
	withPassword := strings.Replace(url, "postgres@", "postgres:s3cret@", 1)

	var d Report
	if r := d.queueResult(ctx, withPassword); r.Status != Warn || !strings.Contains(r.Detail, "no tables yet") || strings.Contains(r.Detail, "s3cret") {
		t.Errorf("empty database: %+v", r)
	}
	q, err := pgqueue.Open(ctx, url, pgqueue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	if r := d.queueResult(ctx, withPassword); r.Status != OK || strings.Contains(r.Detail, "s3cret") {
		t.Errorf("migrated database: %+v", r)
	}
	pool, err := pgqueue.Connect(ctx, url, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `UPDATE m365send_schema SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	if r := d.queueResult(ctx, url); r.Status != Fail {
		t.Errorf("newer schema: %+v", r)
	}
	// A server that does not answer.
	gone := strings.Replace(url, "host=", "host=%2Fnonexistent", 1)
	if r := d.queueResult(ctx, gone); r.Status != Fail || r.Err == nil {
		t.Errorf("no server: %+v", r)
	}
	if d.Failed != 2 {
		t.Errorf("Failed = %d, want 2", d.Failed)
	}
}
