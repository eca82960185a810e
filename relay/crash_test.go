package relay

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/spool"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/sender/smtptest"
	"github.com/m365send/m365send/token"
	"github.com/m365send/m365send/token/entratest"
)

// crashChildEnv names the JSON file that configures a relay process
// started by TestRelayCrashLosesNothing.
const crashChildEnv = "M365SEND_RELAY_CRASH_CHILD"

// crashChild is what the parent tells each relay process.
type crashChild struct {
	Spool     string // the spool folder, the same for every process
	CertFile  string // the relay's certificate, signed by the parent's test CA
	KeyFile   string
	CAFile    string // the CA of the fake Entra ID and the fake Office 365
	Authority string
	Tenant    string
	ClientID  string
	Secret    string
	SMTPHost  string
	SMTPPort  int
}

const crashMailbox = "office@contoso.com"

// crashMsg is message n as the clients submit it.
func crashMsg(n int) string {
	return fmt.Sprintf("From: Office <%s>\r\nTo: bob@example.com\r\nSubject: crash %d\r\n"+
		"Message-ID: <crash-%d@relay.test>\r\nDate: Sun, 29 Nov 2026 12:00:00 +0000\r\n\r\nbody of message %d\r\n",
		crashMailbox, n, n, n)
}

var crashSubject = regexp.MustCompile(`(?m)^Subject: crash (\d+)\r$`)

// TestRelayChild is the relay process of TestRelayCrashLosesNothing: a
// real relay.Run over the on-disk spool, delivering to the parent's
// smtptest with tokens from the parent's entratest, until it is killed
// (or its stdin, the parent's pipe, closes). It prints "ready <addr>"
// once it listens.
func TestRelayChild(t *testing.T) {
	file := os.Getenv(crashChildEnv)
	if file == "" {
		t.Skip("run by TestRelayCrashLosesNothing")
	}
	go func() { // the parent is gone: stop
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(3)
	}()
	fail := func(what string, err error) {
		fmt.Fprintf(os.Stderr, "child: %s: %v\n", what, err)
		os.Exit(2)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		fail("config", err)
	}
	var cc crashChild
	if err := json.Unmarshal(b, &cc); err != nil {
		fail("config", err)
	}
	caPEM, err := os.ReadFile(cc.CAFile)
	if err != nil {
		fail("CA", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		fail("CA", fmt.Errorf("no certificate in %s", cc.CAFile))
	}
	cert, err := tls.LoadX509KeyPair(cc.CertFile, cc.KeyFile)
	if err != nil {
		fail("certificate", err)
	}
	c := baseConfig(t)
	if err := Check(c, []string{"office", "sales"}); err != nil {
		fail("Check", err)
	}
	sp, err := spool.Open(cc.Spool, spool.Options{})
	if err != nil {
		fail("spool", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	src, err := token.New(token.Config{
		Flow: token.FlowClientCredentials, Tenant: cc.Tenant, ClientID: cc.ClientID, ClientSecret: cc.Secret,
		AuthorityHost: cc.Authority,
		HTTPClient:    &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	})
	if err != nil {
		fail("token", err)
	}
	// One sender for the mailbox, trying once: the Deliverer retries and
	// paces (pacing off here, to go fast).
	s, err := sender.New(sender.Config{Tokens: src, Mailbox: crashMailbox, Host: cc.SMTPHost, Port: cc.SMTPPort,
		RootCAs: pool, MaxAttempts: 1, RatePerMinute: -1, Logger: log})
	if err != nil {
		fail("sender", err)
	}
	d, err := queue.NewDeliverer(queue.DelivererConfig{
		Queue: sp, RatePerMinute: -1, Poll: 200 * time.Millisecond, Logger: log,
		Policy: queue.Policy{FirstWait: 50 * time.Millisecond, MaxWait: 500 * time.Millisecond, BusyWait: 50 * time.Millisecond},
		Route: func(_ context.Context, profile string) (queue.Route, error) {
			if profile != "office" {
				return queue.Route{}, fmt.Errorf("profile %q is not routed", profile)
			}
			return queue.Route{Mailbox: crashMailbox, Transport: s}, nil
		},
	})
	if err != nil {
		fail("deliverer", err)
	}
	err = Run(context.Background(), Options{Config: c, Queue: sp, Mailboxes: testMailboxes, Certificate: cert, Logger: log,
		Ready: func(a []net.Addr) { fmt.Printf("ready %s\n", a[0]) }}, d, 0)
	fail("Run returned", err)
}

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

// crashClient is a device: it connects with STARTTLS and AUTH PLAIN and
// submits one message per transaction.
type crashClient struct {
	ca *testCA
	c  *smtp.Client
	nc net.Conn
}

func (cl *crashClient) close() {
	if cl.c != nil {
		cl.c.Close()
	}
	cl.c, cl.nc = nil, nil
}

func (cl *crashClient) connect(addr string) error {
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
	cl.c, cl.nc = c, nc
	if err := c.StartTLS(cl.ca.client()); err != nil {
		cl.close()
		return err
	}
	if err := c.Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1")); err != nil {
		cl.close()
		return err
	}
	return nil
}

// TestRelayCrashLosesNothing submits messages from 10 clients to a relay
// process that is SIGKILLed at random moments and restarted on the same
// spool, then lets the last one drain the queue: every message answered
// 250 reaches the fake Office 365, and none more than twice. A second copy
// is what at-least-once delivery allows where the acknowledgement was
// lost after the final dot: the fake drops a few connections there, and a
// kill between the fake's 250 and the spool's record of it does the same.
func TestRelayCrashLosesNothing(t *testing.T) {
	total, kills := 1000, 5
	if testing.Short() {
		total, kills = 200, 3
	}
	const clients = 10
	start := time.Now()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	auth, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(auth.Close)
	if err := auth.AddApp(entratest.App{ClientID: "relay-app", Secret: "relay-secret", Mailboxes: []string{crashMailbox}}); err != nil {
		t.Fatal(err)
	}
	drops := []int{total / 10, total / 2, total * 9 / 10} // the Nth final dot
	var faults []smtptest.Fault
	for _, n := range drops {
		faults = append(faults, smtptest.Fault{Stage: smtptest.StageEndOfData, N: n, AcceptThenDrop: true})
	}
	scert := auth.ServerCertificate()
	srv, err := smtptest.New(smtptest.Options{Certificate: &scert, Verify: auth.Verify, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	ca := newTestCA(t)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	cc := crashChild{
		Spool:     filepath.Join(dir, "spool"),
		CertFile:  write("relay.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Certificate[0]})),
		KeyFile:   write("relay.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
		CAFile:    write("ca.pem", auth.CACertPEM()),
		Authority: auth.URL(), Tenant: auth.TenantDomain(), ClientID: "relay-app", Secret: "relay-secret",
		SMTPHost: srv.Host(), SMTPPort: srv.Port(),
	}
	cj, err := json.Marshal(cc)
	if err != nil {
		t.Fatal(err)
	}
	ccFile := write("child.json", cj)

	bd := newBoard()
	var (
		childMu sync.Mutex
		child   *exec.Cmd
		stdin   io.Closer
		gen     int
	)
	startChild := func() {
		t.Helper()
		gen++
		cmd := exec.Command(os.Args[0], "-test.run=^TestRelayChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+ccFile)
		logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("child-%d.log", gen)))
		if err != nil {
			t.Fatal(err)
		}
		defer logf.Close()
		cmd.Stderr = logf
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		childMu.Lock()
		child, stdin = cmd, in
		childMu.Unlock()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
				bd.set(addr)
				go func() { _, _ = io.Copy(io.Discard, out) }()
				return
			}
		}
		_ = cmd.Wait()
		b, _ := os.ReadFile(logf.Name())
		t.Fatalf("relay process %d ended before it listened: %s", gen, b)
	}
	killChild := func() {
		bd.set("")
		childMu.Lock()
		defer childMu.Unlock()
		if child == nil {
			return
		}
		_ = child.Process.Kill() // SIGKILL
		_ = child.Wait()
		stdin.Close()
		child = nil
	}
	t.Cleanup(killChild)
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for g := 1; g <= gen; g++ {
			b, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("child-%d.log", g)))
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("relay process %d's log ends with:\n%s", g, b)
		}
	})
	startChild()

	// The clients take message numbers in turn, and report each on taken;
	// acked[n] is set when message n got 250 to its final dot.
	var acked [][]bool = make([][]bool, clients)
	var next atomic.Int64
	taken := make(chan int, total)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		acked[i] = make([]bool, total)
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := &crashClient{ca: ca}
			defer cl.close()
			failures := 0
			for {
				n := int(next.Add(1)) - 1
				if n >= total {
					return
				}
				taken <- n
				for cl.c == nil {
					addr, err := bd.wait(ctx)
					if err != nil {
						errs <- err
						return
					}
					if err := cl.connect(addr); err != nil {
						// The relay was killed under us, or a
						// restart is on its way.
						if failures++; failures > 1000 {
							errs <- fmt.Errorf("client %d: cannot connect: %w", i, err)
							return
						}
						continue
					}
					failures = 0
				}
				_ = cl.nc.SetDeadline(time.Now().Add(time.Minute))
				if err := send(cl.c, crashMailbox, []string{"bob@example.com"}, crashMsg(n)); err != nil {
					cl.close() // not acknowledged: may or may not be queued
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
		var n int
		select {
		case n = <-taken:
		case err := <-errs:
			t.Fatal(err)
		}
		_ = n
		if killAt[seen] {
			killChild()
			// Every connection the dead relay made is counted by now,
			// and the next relay's come after.
			boundaries = append(boundaries, srv.Count(smtptest.StageGreeting))
			killed++
			startChild()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ok := make([]bool, total)
	nAcked := 0
	for _, a := range acked {
		for n, v := range a {
			if v && !ok[n] {
				ok[n] = true
				nAcked++
			}
		}
	}

	// Let the last relay drain the queue: every acknowledged message
	// arrives and the spool empties.
	sp, err := spool.Open(cc.Spool, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	drainCtx, drainCancel := context.WithTimeout(ctx, 90*time.Second)
	defer drainCancel()
	copies := make([]int, total)
	conns := make([][]int, total) // the connections that carried each message
	lastOnConn := map[int]int{}   // the Seq of each connection's last message
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var msgs []smtptest.Message
	for {
		msgs = srv.Messages()
		clear(copies)
		clear(conns)
		for _, m := range msgs {
			sm := crashSubject.FindSubmatch(m.Data)
			if sm == nil {
				t.Fatalf("delivered a message that no client sent: %q", m.Data)
			}
			n, _ := strconv.Atoi(string(sm[1]))
			if n < 0 || n >= total || string(m.Data) != crashMsg(n) || m.From != crashMailbox {
				t.Fatalf("delivered message %d changed: from %q: %q", n, m.From, m.Data)
			}
			copies[n]++
			conns[n] = append(conns[n], m.Conn)
			lastOnConn[m.Conn] = max(lastOnConn[m.Conn], m.Seq)
		}
		missing := 0
		for n := range total {
			if ok[n] && copies[n] == 0 {
				missing++
			}
		}
		left, err := sp.List(ctx, queue.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		dead, err := sp.List(ctx, queue.Filter{Dead: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(dead) > 0 {
			t.Fatalf("%d messages went to the dead letters, the first: %+v", len(dead), dead[0])
		}
		if missing == 0 && len(left) == 0 {
			break
		}
		select {
		case <-tick.C:
		case <-drainCtx.Done():
			t.Fatalf("the queue did not drain: %d acknowledged messages not delivered, %d still queued", missing, len(left))
		}
	}
	killChild()

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
	t.Logf("kill boundaries (connections): %v", boundaries)
	if killed < kills {
		t.Errorf("%d kills, want %d", killed, kills)
	}
	t.Logf("%d messages submitted, %d acknowledged, %d deliveries (%d of messages not acknowledged), %d messages more than once (%d copies again after a kill, %d after a dropped connection); %d kills, %d connections dropped; %v",
		total, nAcked, len(msgs), extra, dups, killDups, dropDups, killed, len(drops), time.Since(start).Round(time.Millisecond))
}
