//go:build unix

package main

// Issue 11: the crash test, through the real binary. A relay process
// (`m365send relay`, see relay_e2e_test.go) is SIGKILLed at random moments
// while devices submit, and restarted on the same spool.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/smtp"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/sandbox"
	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/spool"
	"github.com/m365send/m365send/sender/smtptest"
)

// crashMsg is message n as the devices submit it.
func crashMsg(n int) string {
	return fmt.Sprintf("From: Office <%s>\r\nTo: bob@example.com\r\nSubject: crash %d\r\n"+
		"Message-ID: <crash-%d@relay.test>\r\nDate: Sun, 29 Nov 2026 12:00:00 +0000\r\n\r\nbody of message %d\r\n",
		sandbox.AppMailbox, n, n, n)
}

var crashSubject = regexp.MustCompile(`(?m)^Subject: crash (\d+)\r$`)

// board says where the relay listens now, if it is up.
type board struct {
	mu   sync.Mutex
	addr string // "" while no relay is up
	up   chan struct{}
}

func newBoard() *board { return &board{up: make(chan struct{})} }

func (b *board) set(addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.addr = addr
	if addr != "" {
		close(b.up)
	} else {
		b.up = make(chan struct{})
	}
}

// wait returns the address of a relay that is up.
func (b *board) wait(ctx context.Context) (string, error) {
	for {
		b.mu.Lock()
		addr, up := b.addr, b.up
		b.mu.Unlock()
		if addr != "" {
			return addr, nil
		}
		select {
		case <-up:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// device connects with STARTTLS and AUTH PLAIN and submits one message
// per transaction.
type device struct {
	tls *tls.Config
	c   *smtp.Client
	nc  net.Conn
}

func (d *device) close() {
	if d.c != nil {
		d.c.Close()
	}
	d.c, d.nc = nil, nil
}

func (d *device) connect(addr string) error {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	_ = nc.SetDeadline(time.Now().Add(time.Minute)) // only so that a hung relay cannot hang the test
	c, err := smtp.NewClient(nc, "127.0.0.1")
	if err != nil {
		nc.Close()
		return err
	}
	d.c, d.nc = c, nc
	if err := c.StartTLS(d.tls); err != nil {
		d.close()
		return err
	}
	if err := c.Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1")); err != nil {
		d.close()
		return err
	}
	return nil
}

// TestRelayCrashLosesNothing submits messages from 10 devices to the real
// relay process, which is SIGKILLed at random moments and restarted on
// the same spool, then lets the last one drain the queue: every message
// answered 250 reaches the fake Office 365, and none more than twice. A
// second copy is what at-least-once delivery allows where the
// acknowledgement was lost after the final dot: the fake drops a few
// connections there, and a kill between the fake's 250 and the spool's
// record of it does the same.
func TestRelayCrashLosesNothing(t *testing.T) {
	t.Parallel() // waits on processes; overlaps the other slow tests
	total, kills := 1000, 5
	if testing.Short() {
		total, kills = 200, 3
	}
	const clients = 10
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	drops := []int{total / 10, total / 2, total * 9 / 10} // the Nth final dot
	var faults []smtptest.Fault
	for _, n := range drops {
		faults = append(faults, smtptest.Fault{Stage: smtptest.StageEndOfData, N: n, AcceptThenDrop: true})
	}
	home := t.TempDir()
	sb, err := sandbox.Start(ctx, sandbox.Options{Dir: filepath.Join(home, "sandbox"), SMTP: smtptest.Options{Faults: faults}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	srv := sb.SMTP
	// A profile of its own, unpaced, so that 1,000 messages take seconds.
	profile := unpacedProfile(sb, sb.Vars()["APP_ID"])
	r := &relayProc{sb: sb, home: home, file: filepath.Join(home, "relay.toml"), state: filepath.Join(home, "state")}
	r.writeConfigText(t, profile+"\n[relay]\nlisten = [\"127.0.0.1:0\"]\n"+
		officeScanner(t))

	bd := newBoard()
	var logs []*logWatch // each relay process's
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for g, l := range logs {
			s := l.String()
			if len(s) > 4000 {
				s = s[len(s)-4000:]
			}
			t.Logf("relay process %d's log ends with:\n%s", g+1, s)
		}
	})
	startRelayProc := func() {
		r.start(t)
		logs = append(logs, r.log)
		bd.set(r.addr)
	}
	startRelayProc()
	tlsConf := r.tlsConfig(t)

	// The devices take message numbers in turn, and report each on taken;
	// acked[i][n] is set when message n got 250 to its final dot.
	acked := make([][]bool, clients)
	var next atomic.Int64
	taken := make(chan int, total)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		acked[i] = make([]bool, total)
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := &device{tls: tlsConf}
			defer d.close()
			failures := 0
			for {
				n := int(next.Add(1)) - 1
				if n >= total {
					return
				}
				taken <- n
				for d.c == nil {
					addr, err := bd.wait(ctx)
					if err != nil {
						errs <- err
						return
					}
					if err := d.connect(addr); err != nil {
						// The relay was killed under us, or a
						// restart is on its way.
						if failures++; failures > 1000 {
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
					continue
				}
				acked[i][n] = true
			}
		}()
	}

	// Kill at random points of the submission, spread over it.
	killAt := map[int]bool{}
	span := total / (kills + 1)
	for k := 1; k <= kills; k++ {
		killAt[k*span+rand.IntN(span/2)-span/4] = true
	}
	killed := 0
	var boundaries []int
	for seen := 1; seen <= total; seen++ {
		select {
		case <-taken:
		case err := <-errs:
			t.Fatal(err)
		}
		if killAt[seen] {
			bd.set("")
			r.kill() // SIGKILL
			// Every connection the dead relay made is counted by now,
			// and the next relay's come after.
			boundaries = append(boundaries, srv.Count(smtptest.StageGreeting))
			killed++
			startRelayProc()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ok, nAcked := anyAcked(acked, total)

	// Let the last relay drain the queue: every acknowledged message
	// arrives and the spool empties. A message a killed relay was trying
	// is due again at the next attempt it recorded first (a minute's
	// backoff): `queue retry` (Retry here) makes those due now, as an
	// operator would; the relay finds them at its next look at the queue.
	sp, err := spool.Open(filepath.Join(r.state, "spool"), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	drainCtx, drainCancel := context.WithTimeout(ctx, 90*time.Second)
	defer drainCancel()
	msgs, copies, lastOnConn := drainQueue(drainCtx, t, srv, sp, total, ok)
	if code := r.stop(t); code != 0 {
		t.Errorf("the last relay exited %d after SIGTERM, want 0", code)
	}

	// A second copy needs a lost acknowledgement: either a relay was
	// killed between the fake's 250 and the spool's record of it (the
	// copies then came over connections of different relay processes), or
	// the fake dropped the connection after the final dot. Either way the
	// first copy is its connection's last message: the Deliverer records
	// each message before the next goes out on the connection, so a kill
	// makes at most one second copy per connection it cuts (at most 3).
	dups, killDups, dropDups, extra := 0, 0, 0, 0
	for n := range total {
		if copies[n] > 0 && !ok[n] {
			extra++ // queued, then killed before its 250 went out
		}
		if copies[n] < 2 {
			continue
		}
		dups++
		var seqs []smtptest.Message
		for _, m := range msgs {
			if string(m.Data) == crashMsg(n) {
				seqs = append(seqs, m)
			}
		}
		for i := 1; i < len(seqs); i++ {
			c1, c2 := seqs[i-1].Conn, seqs[i].Conn
			killedBetween := false
			for _, b := range boundaries {
				if c1 <= b && b < c2 {
					killedBetween = true
				}
			}
			switch {
			case lastOnConn[c1] != seqs[i-1].Seq:
				t.Errorf("message %d delivered again (connections %d and %d, killed between: %v), though its first connection went on after it: its delivery was not recorded before the next message", n, c1, c2, killedBetween)
			case killedBetween:
				killDups++
			default:
				dropDups++
			}
		}
	}
	if fired := min(len(drops), srv.Count(smtptest.StageEndOfData)); dropDups > fired {
		t.Errorf("%d messages delivered twice within one relay process, more than the %d connections dropped after the final dot", dropDups, fired)
	}
	if killDups > killed*queue.DefaultMaxConns {
		t.Errorf("%d messages delivered again after %d kills, more than one per connection a kill cut (%d at most)", killDups, killed, killed*queue.DefaultMaxConns)
	}
	if killed < kills {
		t.Errorf("%d kills, want %d", killed, kills)
	}
	t.Logf("kill boundaries (connections): %v", boundaries)
	t.Logf("%d messages submitted, %d acknowledged, %d deliveries (%d of messages not acknowledged), %d messages more than once (%d copies again after a kill, %d after a dropped connection); %d kills, %d connections dropped; %v",
		total, nAcked, len(msgs), extra, dups, killDups, dropDups, killed, len(drops), time.Since(start).Round(time.Millisecond))
}

// drainQueue waits until every message n with ok[n] (acknowledged by a
// relay) has reached srv and q holds no message, making each one waiting
// for its next try due now, as `queue retry` would (a message a killed
// relay was trying, or whose reply the fake dropped, waits a minute). It
// fails the test if a message went to the dead letters, if srv got a
// message the devices did not send or a changed one, or if ctx ends
// first. It returns what srv received, the copies of each message and the
// Seq of each connection's last message.
func drainQueue(ctx context.Context, t *testing.T, srv *smtptest.Server, q queue.Queue, total int, ok []bool) (msgs []smtptest.Message, copies []int, lastOnConn map[int]int) {
	t.Helper()
	copies = make([]int, total)
	lastOnConn = map[int]int{}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		msgs = srv.Messages()
		clear(copies)
		for _, m := range msgs {
			sm := crashSubject.FindSubmatch(m.Data)
			if sm == nil {
				t.Fatalf("delivered a message that no device sent: %q", m.Data)
			}
			n, _ := strconv.Atoi(string(sm[1]))
			if n < 0 || n >= total || string(m.Data) != crashMsg(n) || m.From != sandbox.AppMailbox {
				t.Fatalf("delivered message %d changed: from %q: %q", n, m.From, m.Data)
			}
			copies[n]++
			lastOnConn[m.Conn] = max(lastOnConn[m.Conn], m.Seq)
		}
		missing := 0
		for n := range total {
			if ok[n] && copies[n] == 0 {
				missing++
			}
		}
		left, err := q.List(ctx, queue.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		dead, err := q.List(ctx, queue.Filter{Dead: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(dead) > 0 {
			t.Fatalf("%d messages went to the dead letters, the first: %+v", len(dead), dead[0])
		}
		if missing == 0 && len(left) == 0 {
			return msgs, copies, lastOnConn
		}
		now := time.Now()
		for _, m := range left {
			if m.NextAttempt.After(now) {
				// Busy: a relay is trying it (or a dead relay's lease
				// holds); not found: delivered since.
				if err := q.Retry(ctx, m.ID, now); err != nil && !errors.Is(err, queue.ErrBusy) && !errors.Is(err, queue.ErrNotFound) {
					t.Fatalf("retry %s: %v", m.ID, err)
				}
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("the queue did not drain: %d acknowledged messages not delivered, %d still queued", missing, len(left))
		}
	}
}

// anyAcked merges the devices' acknowledgements: ok[n] is set when any
// device got a 250 for message n; nAcked counts those messages.
func anyAcked(acked [][]bool, total int) (ok []bool, nAcked int) {
	ok = make([]bool, total)
	for _, a := range acked {
		for n, v := range a {
			if v && !ok[n] {
				ok[n] = true
				nAcked++
			}
		}
	}
	return ok, nAcked
}

// unpacedProfile is a configuration whose default profile "office" signs
// in to sb's fake Entra ID as the app clientID and sends as the sandbox's
// app mailbox, with rate_per_minute = -1: the relay's pacing is off for
// the mailbox, so that a thousand messages take seconds, not the 30 a
// minute of Exchange.
func unpacedProfile(sb *sandbox.Sandbox, clientID string) string {
	v := sb.Vars()
	return fmt.Sprintf(`default_profile = "office"

[profiles.office]
flow = "client_credentials"
tenant = %q
client_id = %q
client_secret_file = %q
mailbox = %q
authority_host = %q
smtp_host = %q
smtp_port = %s
ca_file = %q
rate_per_minute = -1
`, v["TENANT_ID"], clientID, v["SECRET_FILE"], v["APP_MAILBOX"], v["AUTHORITY_HOST"], v["SMTP_HOST"], v["SMTP_PORT"], v["CA_FILE"])
}

// officeScanner is a [[relay.users]] entry, scanner with password s3cret,
// for unpacedProfile's profile "office".
func officeScanner(t testing.TB) string {
	return fmt.Sprintf("\n[[relay.users]]\nname = \"scanner\"\npassword_hash = %q\nprofiles = [\"office\"]\n", cheapHash(t, "s3cret"))
}
