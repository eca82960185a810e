package pgtest

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

var srv *Server

func TestMain(m *testing.M) {
	var stop func()
	srv, stop = Start()
	code := m.Run()
	stop()
	os.Exit(code)
}

// Each test gets its own empty database on the one server.
func TestDatabasesAreSeparate(t *testing.T) {
	ctx := context.Background()
	a, b := srv.Database(t), srv.Database(t)
	if a == b {
		t.Fatalf("same URL twice: %s", a)
	}
	ca, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close(ctx)
	if _, err := ca.Exec(ctx, "CREATE TABLE x (n int)"); err != nil {
		t.Fatal(err)
	}
	cb, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close(ctx)
	var n int
	if err := cb.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'x'").Scan(&n); err != nil || n != 0 {
		t.Errorf("table of one database seen in the other: %d, %v", n, err)
	}
}
