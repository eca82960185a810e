// Package pgtest starts a throwaway PostgreSQL server for tests: Debian's
// postgresql binaries (/usr/lib/postgresql/<version>/bin, or initdb on
// PATH), initdb into a temporary folder, pg_ctl listening only on a Unix
// socket in that folder, and a fresh database per test.
//
// A test package starts one server in TestMain and asks it for databases:
//
//	var pg *pgtest.Server
//
//	func TestMain(m *testing.M) {
//		var stop func()
//		pg, stop = pgtest.Start()
//		code := m.Run()
//		stop()
//		os.Exit(code)
//	}
//
//	func TestX(t *testing.T) { url := pg.Database(t) ... }
//
// PGTEST_DURABLE=1 keeps PostgreSQL's fsync and synchronous commit on
// (they are off by default, for speed), for benchmarks.
//
// When the binaries are missing (or the server cannot start), Start
// returns a nil *Server and Database skips the test, or fails it when
// REQUIRE_TEST_TOOLS=1 (as .ci/run sets). PostgreSQL refuses to run as
// root: when the tests run as root, the server runs as the "postgres"
// user (Debian's package creates it) through setpriv.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a running test server. A nil *Server is one that could not
// start; its Database skips (or fails) the test.
type Server struct {
	dir, data, sock string
	bin             string
	asUser          *user.User // run the binaries as this user (we are root)
	why             error      // why a nil-like server did not start
	next            atomic.Int64
}

// Start starts a server, or returns a Server that says why it could not
// (Database then skips or fails). stop stops the server and removes its
// folder; call it after m.Run.
func Start() (s *Server, stop func()) {
	s, err := start()
	if err != nil {
		return &Server{why: err}, func() {}
	}
	return s, s.stop
}

// Main is a test package's TestMain: it starts a server into *srv, runs
// the tests, stops the server and exits with the tests' status.
func Main(m *testing.M, srv **Server) {
	s, stop := Start()
	*srv = s
	code := m.Run()
	stop()
	os.Exit(code)
}

// Bin returns the folder holding Debian's PostgreSQL binaries (the newest
// version under /usr/lib/postgresql, else the folder of initdb on PATH).
func Bin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		return filepath.Dir(p), nil
	}
	return "", errors.New("pgtest: PostgreSQL's initdb not found under /usr/lib/postgresql/*/bin nor on PATH (Debian package postgresql)")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func start() (*Server, error) {
	bin, err := Bin()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin}
	if os.Getuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgtest: running as root and there is no postgres user to run the server as: %w", err)
		}
		if _, err := exec.LookPath("setpriv"); err != nil {
			return nil, fmt.Errorf("pgtest: running as root and setpriv (util-linux) is missing: %w", err)
		}
		s.asUser = u
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	s.dir, s.data, s.sock = dir, filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	fail := func(err error) (*Server, error) {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := os.Mkdir(s.sock, 0o700); err != nil {
		return fail(err)
	}
	if s.asUser != nil {
		uid, _ := strconv.Atoi(s.asUser.Uid)
		gid, _ := strconv.Atoi(s.asUser.Gid)
		// The server's user must reach the folder and own what it writes.
		if err := os.Chmod(dir, 0o711); err != nil {
			return fail(err)
		}
		if err := os.Chown(s.sock, uid, gid); err != nil {
			return fail(err)
		}
		if err := os.Mkdir(s.data, 0o700); err != nil {
			return fail(err)
		}
		if err := os.Chown(s.data, uid, gid); err != nil {
			return fail(err)
		}
	}
	if out, err := s.run("initdb", "-D", s.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		return fail(fmt.Errorf("pgtest: initdb: %w: %s", err, out))
	}
	// Only the Unix socket, no TCP; no fsync (a test server's data is
	// thrown away), unless PGTEST_DURABLE=1 asks for a server that
	// commits as a production one does (for benchmarks against the
	// on-disk spool, which syncs every message).
	opts := "-c listen_addresses='' -k " + s.sock + " -c max_connections=200"
	if os.Getenv("PGTEST_DURABLE") != "1" {
		opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	}
	if out, err := s.run("pg_ctl", "start", "-w", "-t", "60", "-D", s.data, "-l", filepath.Join(s.data, "log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.data, "log"))
		return fail(fmt.Errorf("pgtest: pg_ctl start: %w: %s %s", err, out, log))
	}
	return s, nil
}

// run runs one of the server's binaries, as the postgres user when we
// are root.
func (s *Server) run(name string, args ...string) ([]byte, error) {
	prog := filepath.Join(s.bin, name)
	var cmd *exec.Cmd
	if s.asUser != nil {
		cmd = exec.Command("setpriv", append([]string{"--reuid=" + s.asUser.Uid, "--regid=" + s.asUser.Gid, "--clear-groups", "--", prog}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+s.dir)
	} else {
		cmd = exec.Command(prog, args...)
	}
	cmd.Dir = s.dir
	return cmd.CombinedOutput()
}

func (s *Server) stop() {
	_, _ = s.run("pg_ctl", "stop", "-m", "immediate", "-w", "-D", s.data)
	_ = os.RemoveAll(s.dir)
}

// URL returns the connection URL of database db on the server.
func (s *Server) URL(db string) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + db, RawQuery: url.Values{"host": {s.sock}, "sslmode": {"disable"}}.Encode()}
	return u.String()
}

// Database creates an empty database for t and returns its URL; it skips
// t (or fails it, with REQUIRE_TEST_TOOLS=1) when the server did not
// start.
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	if s == nil || s.why != nil {
		why := errors.New("pgtest: no server")
		if s != nil {
			why = s.why
		}
		if os.Getenv("REQUIRE_TEST_TOOLS") == "1" {
			t.Fatalf("REQUIRE_TEST_TOOLS=1: %v", why)
		}
		t.Skipf("%v (set REQUIRE_TEST_TOOLS=1 to make this a failure)", why)
	}
	name := fmt.Sprintf("t%d_%s", s.next.Add(1), strings.ToLower(sanitize(t.Name())))
	if len(name) > 60 {
		name = name[:60]
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	return s.URL(name)
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}
