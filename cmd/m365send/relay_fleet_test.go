//go:build unix

package main

// Issue 12: several relays on one PostgreSQL queue, as real processes
// (`m365send relay`, see relay_e2e_test.go) over one sandbox: the fleet
// under load with a relay SIGKILLed and not restarted, relays starting at
// once on an empty database, and the token requests of each relay.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/m365send/m365send/internal/pgtest"
	"github.com/m365send/m365send/internal/sandbox"
	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/pgqueue"
	"github.com/m365send/m365send/sender/smtptest"
	"github.com/m365send/m365send/token"
	"github.com/m365send/m365send/token/entratest"
)

// TestRelayFleet runs the fleet tests on one PostgreSQL server (started
// once: initdb is most of a small test's time), each in a database of
// its own. Without PostgreSQL they skip, or fail with
// REQUIRE_TEST_TOOLS=1 (internal/pgtest).
func TestRelayFleet(t *testing.T) {
	t.Parallel() // waits on processes; overlaps the other slow tests
	srv, stop := pgtest.Start()
	t.Cleanup(stop) // after the parallel subtests
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, dbURL string)
	}{
		{"LosesNothingWhenARelayDies", fleetLosesNothingWhenARelayDies},
		{"RelaysStartTogetherOnAnEmptyDatabase", fleetRelaysStartTogether},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, srv.Database(t))
		})
	}
}

// fleet is relay processes sharing one queue database over one sandbox.
// Relay i signs in as an app registration of its own (clientID(i)), all
// sending as sandbox.AppMailbox, so that the fake Entra ID counts each
// relay's token requests apart.
type fleet struct {
	sb     *sandbox.Sandbox
	relays []*relayProc
}

// fleetClientID is relay i's app registration.
func fleetClientID(i int) string { return fmt.Sprintf("5b1e7d04-4d52-4c4e-9d0e-5a4d0b7c1b%02d", i+1) }

// newFleet starts the sandbox (with opts) and writes the configuration
// of n relays on the queue at queueURL: each its own HOME, state folder
// (certificate, token cache) and app; rate_per_minute = -1 so that a
// thousand messages take seconds, not the 30 a minute of Exchange.
func newFleet(t *testing.T, n int, queueURL string, opts sandbox.Options) *fleet {
	t.Helper()
	home := t.TempDir()
	opts.Dir = filepath.Join(home, "sandbox")
	sb, err := sandbox.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	secret, err := os.ReadFile(sb.SecretFile)
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet{sb: sb}
	for i := range n {
		if err := sb.Authority.AddApp(entratest.App{ClientID: fleetClientID(i), Secret: strings.TrimSpace(string(secret)), Mailboxes: []string{sandbox.AppMailbox}}); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(home, fmt.Sprintf("relay%d", i+1))
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		r := &relayProc{sb: sb, home: dir, file: filepath.Join(dir, "relay.toml"), state: filepath.Join(dir, "state")}
		r.writeConfigText(t, fmt.Sprintf("queue = %q\n", queueURL)+unpacedProfile(sb, fleetClientID(i))+`
[relay]
listen = ["127.0.0.1:0"]
`+officeScanner(t))
		f.relays = append(f.relays, r)
	}
	return f
}

// start launches every relay at once and waits until each listens.
func (f *fleet) start(t *testing.T) {
	t.Helper()
	for _, r := range f.relays {
		r.launch(t)
	}
	for _, r := range f.relays {
		r.addr = r.log.wait(t, listeningLine, 0)[1]
	}
}

// tlsConfig trusts the certificate each relay generated.
func (f *fleet) tlsConfig(t *testing.T) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	for _, r := range f.relays {
		pem, err := os.ReadFile(r.certFile())
		if err != nil {
			t.Fatal(err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			t.Fatalf("no certificate in %s", r.certFile())
		}
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// dumpLogs shows the end of each relay's log when t failed.
func (f *fleet) dumpLogs(t *testing.T) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for i, r := range f.relays {
			s := r.log.String()
			if len(s) > 4000 {
				s = s[len(s)-4000:]
			}
			t.Logf("relay %d's log ends with:\n%s", i+1, s)
		}
	})
}

// live is the addresses of the relays that are up, for devices to
// spread over and move to when theirs dies.
type live struct {
	mu    sync.Mutex
	addrs []string
}

func (l *live) pick(i int) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.addrs) == 0 {
		return "", false
	}
	return l.addrs[i%len(l.addrs)], true
}

func (l *live) remove(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, a := range l.addrs {
		if a == addr {
			l.addrs = append(l.addrs[:i:i], l.addrs[i+1:]...)
			return
		}
	}
}

// usableToken is how long the fleet test's tokens may be used: the fake
// Entra ID issues them for token.DefaultMinValidity (the least validity a
// token must have left to be used) plus this, so each relay must ask for
// a new one within the run.
const usableToken = 3 * time.Second

// fleetLosesNothingWhenARelayDies is issue 12's fleet test:
// three relay processes on one PostgreSQL queue; 1,000 messages submitted
// across them over 10 connections; one relay SIGKILLed under load and not
// restarted. Every message answered 250 reaches the fake Office 365 once
// (twice only where a reply was lost: the fake dropped the connection
// after the final dot, or the kill cut a delivery after the fake's 250);
// the fake never sees more than 3 connections at once for the mailbox;
// the killed relay's claimed messages go out through the others once its
// lease (lease=3s) ends; and each relay asks Entra ID for a token at most
// once per token lifetime.
func fleetLosesNothingWhenARelayDies(t *testing.T, dbURL string) {
	total, killAt := 1000, 400
	if testing.Short() {
		total, killAt = 300, 120
	}
	const clients, relays = 10, 3
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	drops := []int{total / 8, total / 2, total * 7 / 8} // the Nth final dot: accepted, reply lost
	// Each MAIL FROM waits 20 ms at the fake, as a real server takes its
	// time: delivery then lags behind submission, so that the relays hold
	// claimed messages when one is killed, and the run outlasts a token.
	faults := []smtptest.Fault{{Stage: smtptest.StageMail, Delay: 20 * time.Millisecond}}
	for _, n := range drops {
		faults = append(faults, smtptest.Fault{Stage: smtptest.StageEndOfData, N: n, AcceptThenDrop: true})
	}
	f := newFleet(t, relays, dbURL+"&lease=3s", sandbox.Options{
		// No limit in the fake: its peak count must show what the relays did.
		SMTP:  smtptest.Options{Faults: faults, MaxConnsPerUser: -1},
		Entra: entratest.Options{AccessTokenLifetime: token.DefaultMinValidity + usableToken},
	})
	f.dumpLogs(t)
	srv := f.sb.SMTP
	start := time.Now()
	f.start(t)
	tlsConf := f.tlsConfig(t)
	up := &live{}
	for _, r := range f.relays {
		up.addrs = append(up.addrs, r.addr)
	}

	// The devices take message numbers in turn and report each on taken;
	// acked[i][n] is set when message n got 250 to its final dot.
	acked := make([][]bool, clients)
	var next atomic.Int64
	taken := make(chan int, total)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for i := range clients {
		acked[i] = make([]bool, total)
		wg.Go(func() {
			d := &device{tls: tlsConf}
			defer d.close()
			failures, relay := 0, i
			for {
				n := int(next.Add(1)) - 1
				if n >= total {
					return
				}
				taken <- n
				for d.c == nil {
					addr, ok := up.pick(relay)
					if !ok {
						errs <- errors.New("no relay left")
						return
					}
					if err := d.connect(addr); err != nil {
						// Killed under us: the next one.
						relay++
						if failures++; failures > 100 {
							errs <- fmt.Errorf("device %d: cannot connect: %w", i, err)
							return
						}
						continue
					}
					failures = 0
				}
				_ = d.nc.SetDeadline(time.Now().Add(time.Minute))
				if err := smtpSend(d.c, sandbox.AppMailbox, []string{"bob@example.com"}, crashMsg(n)); err != nil {
					d.close() // not acknowledged: may or may not be queued
					relay++
					continue
				}
				acked[i][n] = true
			}
		})
	}

	// Kill one relay under load; it is not restarted.
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	// The relay holding the most claimed messages (leases), if any does.
	pids := map[string]int{}
	for i, r := range f.relays {
		pids[strconv.Itoa(r.cmd.Process.Pid)] = i
	}
	busiest := func() (relay, leases int) {
		relay = -1
		rows, err := db.Query(ctx, `SELECT owner, count(*) FROM m365send_messages WHERE lease_token IS NOT NULL GROUP BY owner`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var owner string
			var n int
			if err := rows.Scan(&owner, &n); err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(owner, "/") // pgqueue's owner: host/pid/random
			if i, ok := pids[parts[max(len(parts)-2, 0)]]; ok && n > leases {
				relay, leases = i, n
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return relay, leases
	}
	victim, killedHeld, killSeq, killedAt := -1, 0, 0, 0
	for seen := 1; seen <= total; seen++ {
		select {
		case <-taken:
		case err := <-errs:
			t.Fatal(err)
		}
		if victim >= 0 || seen < killAt {
			continue
		}
		// From killAt on, kill the relay holding the most claimed
		// messages as soon as one holds some: the others may take them
		// only once its lease ends (at the last message, relay 2).
		v, n := busiest()
		if v < 0 {
			if seen < total {
				continue
			}
			v = 1
		}
		r := f.relays[v]
		up.remove(r.addr)
		r.kill() // SIGKILL
		victim, killedHeld, killedAt = v, n, seen
		// Every message the dead relay handed to the fake is counted by
		// now: the fake records a message before its 250.
		killSeq = len(srv.Messages())
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ok, nAcked := anyAcked(acked, total)

	// Drain: every acknowledged message arrives and the queue empties. A
	// message a relay was trying when it died (or whose reply the fake
	// dropped) waits for its next try, a minute away: `queue retry`
	// (Retry here) makes it due now, as an operator would. Retry refuses
	// (ErrBusy) while the dead relay's lease holds; the live relays find
	// what was made due at their next look at the queue.
	pq, err := pgqueue.Open(ctx, dbURL, pgqueue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pq.Close()
	msgs, copies, lastOnConn := drainQueue(ctx, t, srv, pq, total, ok)
	elapsed := time.Since(start)
	for i, r := range f.relays {
		if i == victim {
			continue
		}
		if code := r.stop(t); code != 0 {
			t.Errorf("relay %d exited %d after SIGTERM, want 0", i+1, code)
		}
	}

	// A second copy needs a lost reply: the fake dropped the connection
	// after the final dot (the first copy is one of drops), or the kill
	// cut the dead relay's connection between the fake's 250 and the
	// queue's record of it (the first copy came before the kill, as the
	// last message of its connection: each message is recorded before the
	// next goes out, and the dead relay had at most 3 connections).
	dropped := map[int]bool{}
	for _, n := range drops {
		dropped[n] = true
	}
	dups, killDups, dropDups, extra := 0, 0, 0, 0
	for n := range total {
		if copies[n] > 0 && !ok[n] {
			extra++ // queued, then the relay died before its 250 went out
		}
		switch {
		case copies[n] > 2:
			t.Errorf("message %d delivered %d times", n, copies[n])
			continue
		case copies[n] < 2:
			continue
		}
		dups++
		var first smtptest.Message
		for _, m := range msgs {
			if string(m.Data) == crashMsg(n) {
				first = m
				break
			}
		}
		switch {
		case dropped[first.Seq]:
			dropDups++
		case first.Seq <= killSeq && lastOnConn[first.Conn] == first.Seq:
			killDups++
		default:
			t.Errorf("message %d delivered twice, its first copy (message %d of connection %d) neither dropped by the fake nor cut by the kill", n, first.Seq, first.Conn)
		}
	}
	if killDups > queue.DefaultMaxConns {
		t.Errorf("%d messages delivered again after the kill, more than the dead relay's %d connections", killDups, queue.DefaultMaxConns)
	}
	if peak := srv.PeakConns(sandbox.AppMailbox); peak > queue.DefaultMaxConns || peak == 0 {
		t.Errorf("the fake saw %d connections at once for %s, want 1 to %d", peak, sandbox.AppMailbox, queue.DefaultMaxConns)
	}

	// Token requests: at most one per relay per token lifetime, counted
	// from the run's start (a second of the lifetime is given to the
	// request's round trip and to expires_in's whole seconds).
	perRelay := int(elapsed/(usableToken-time.Second)) + 1
	hits := make([]int, relays)
	for i := range relays {
		hits[i] = f.sb.Authority.RequestsFrom(entratest.EndpointToken, fleetClientID(i))
		// A relay may have delivered nothing: the others can hold the
		// mailbox's 3 connections all along.
		if hits[i] > perRelay {
			t.Errorf("relay %d asked Entra ID for %d tokens in %v, want 1 to %d (tokens usable for %v)", i+1, hits[i], elapsed.Round(time.Millisecond), perRelay, usableToken)
		}
	}
	// And at least one per token lifetime: a relay that delivered over
	// more than a token's usable time (its log's first and last
	// delivery) asked for a second one.
	spans := make([]time.Duration, relays)
	for i, r := range f.relays {
		spans[i] = deliverySpan(t, r.log.String())
		if spans[i] > usableToken+time.Second && hits[i] < 2 {
			t.Errorf("relay %d delivered over %v with %d token(s) usable for %v each", i+1, spans[i].Round(time.Millisecond), hits[i], usableToken)
		}
	}
	if slices.Max(hits) == 0 {
		t.Error("no relay asked Entra ID for a token")
	}
	t.Logf("%d messages submitted, %d acknowledged, %d deliveries (%d of messages not acknowledged); %d messages twice (%d cut by the kill, %d dropped by the fake); relay %d, killed at message %d, held %d leases; peak %d connections; token requests per relay %v (at most %d each) over deliveries lasting %v; %v",
		total, nAcked, len(msgs), extra, dups, killDups, dropDups, victim+1, killedAt, killedHeld, srv.PeakConns(sandbox.AppMailbox), hits, perRelay, spans, elapsed.Round(time.Millisecond))
}

// deliveredAt matches a relay's log line of a delivery and its time.
var deliveredAt = regexp.MustCompile(`(?m)^time=(\S+) level=INFO msg="queue: delivered"`)

// deliverySpan is the time from a relay's first logged delivery to its
// last (0 with fewer than two).
func deliverySpan(t *testing.T, log string) time.Duration {
	t.Helper()
	var first, last time.Time
	for _, m := range deliveredAt.FindAllStringSubmatch(log, -1) {
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			t.Fatalf("relay log time %q: %v", m[1], err)
		}
		if first.IsZero() {
			first = at
		}
		last = at
	}
	return last.Sub(first)
}

// fleetRelaysStartTogether: two relay processes started at
// once on an empty database both come up and serve, and the schema is
// created once (by one of them, the other finding it done).
func fleetRelaysStartTogether(t *testing.T, dbURL string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := newFleet(t, 2, dbURL, sandbox.Options{})
	f.dumpLogs(t)
	f.start(t)
	tlsConf := f.tlsConfig(t)
	for i, r := range f.relays {
		d := &device{tls: tlsConf}
		if err := d.connect(r.addr); err != nil {
			t.Fatalf("relay %d: %v", i+1, err)
		}
		if err := smtpSend(d.c, sandbox.AppMailbox, []string{"bob@example.com"}, crashMsg(i)); err != nil {
			t.Fatalf("relay %d: %v", i+1, err)
		}
		d.close()
	}
	msgs, err := f.sb.SMTP.WaitMessages(ctx, len(f.relays))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if !crashSubject.Match(m.Data) {
			t.Errorf("delivered %q, not a message the devices sent", m.Data)
		}
	}
	migrated := regexp.MustCompile(`msg="pgqueue: schema migrated" from=0 to=` + strconv.Itoa(pgqueue.SchemaVersion) + `\b`)
	n := 0
	for _, r := range f.relays {
		n += r.log.count(migrated)
	}
	if n != 1 {
		t.Errorf("%d relays logged creating the schema, want 1", n)
	}
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	var rows, version int
	if err := db.QueryRow(ctx, `SELECT count(*), max(version) FROM m365send_schema`).Scan(&rows, &version); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || version != pgqueue.SchemaVersion {
		t.Errorf("m365send_schema holds %d rows, version %d; want one row, version %d", rows, version, pgqueue.SchemaVersion)
	}
	for i, r := range f.relays {
		if code := r.stop(t); code != 0 {
			t.Errorf("relay %d exited %d after SIGTERM, want 0", i+1, code)
		}
	}
}
