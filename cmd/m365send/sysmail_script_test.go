package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// A test syslog for the scripts: `syslogd VAR` listens on a Unix datagram
// socket in $WORK and sets VAR to its path (for M365SEND_SYSLOG_SOCKET);
// `syslogged N` waits (a minute at most) for the Nth line and prints every
// line received so far.

// testSyslog collects the datagrams sent to its socket.
type testSyslog struct {
	mu    sync.Mutex
	lines []string
	more  chan struct{}
}

func syslogdCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "syslogd")
	if len(args) != 1 {
		ts.Fatalf("usage: syslogd VAR")
	}
	path := filepath.Join(ts.Getenv("WORK"), "syslog.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	ts.Check(err)
	ts.Defer(func() { _ = conn.Close() })
	sl := &testSyslog{more: make(chan struct{}, 1)}
	ts.Setenv(args[0], path)
	state(ts).mu.Lock()
	state(ts).syslog = sl
	state(ts).mu.Unlock()
	go func() {
		buf := make([]byte, 64*1024)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			sl.mu.Lock()
			sl.lines = append(sl.lines, strings.TrimRight(string(buf[:n]), "\n"))
			sl.mu.Unlock()
			select {
			case sl.more <- struct{}{}:
			default:
			}
		}
	}()
}

func sysloggedCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "syslogged")
	if len(args) != 1 {
		ts.Fatalf("usage: syslogged N")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	state(ts).mu.Lock()
	sl := state(ts).syslog
	state(ts).mu.Unlock()
	if sl == nil {
		ts.Fatalf("no syslog: run `syslogd VAR` first")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		sl.mu.Lock()
		got := append([]string(nil), sl.lines...)
		sl.mu.Unlock()
		if len(got) >= n {
			for _, l := range got {
				fmt.Fprintln(ts.Stdout(), l)
			}
			return
		}
		select {
		case <-sl.more:
		case <-ctx.Done():
			ts.Fatalf("syslog received %d lines, want %d: %q", len(got), n, got)
		}
	}
}

// smtpPeakCmd is `smtppeak USER`: print the most connections USER had
// authenticated at once at the fake Office 365 (run the world with
// -maxconns -1 so that the server does not cap them itself).
func smtpPeakCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "smtppeak")
	if len(args) != 1 {
		ts.Fatalf("usage: smtppeak USER")
	}
	fmt.Fprintf(ts.Stdout(), "peak %d\n", world(ts).SMTP.PeakConns(args[0]))
}

// scriptEnv are the variables the background sendmail processes of
// sendmailsCmd get from the script.
var scriptEnv = []string{"PATH", "HOME", "WORK", "TMPDIR", "LANG", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME",
	"M365SEND_CONFIG", "M365SEND_CACHE_DIR", "M365SEND_STATE_DIR", "M365SEND_PACING_WINDOW"}

// sendmailsCmd is `sendmails N FILE ARG...`: start N sendmail processes at
// once, each reading FILE and given ARG... with "%d" in an ARG replaced by
// its number (1 to N); `sendmails stop` interrupts those still running,
// waits for all and prints their standard error, each line once per
// process.
func sendmailsCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "sendmails")
	st := state(ts)
	if len(args) == 1 && args[0] == "stop" {
		st.mu.Lock()
		procs := st.procs
		st.procs = nil
		st.mu.Unlock()
		for _, p := range procs {
			_ = p.cmd.Process.Signal(os.Interrupt)
		}
		for _, p := range procs {
			_ = p.cmd.Wait()
			fmt.Fprint(ts.Stderr(), p.stderr.String())
		}
		return
	}
	if len(args) == 3 && args[0] == "waitfor" {
		waitForProcs(ts, st, args[1], args[2])
		return
	}
	if len(args) < 2 {
		ts.Fatalf("usage: sendmails N FILE ARG... | sendmails waitfor N TEXT | sendmails stop")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	st.mu.Lock()
	if st.wrote == nil {
		st.wrote = make(chan struct{}, 1)
	}
	st.mu.Unlock()
	var env []string
	for _, k := range scriptEnv {
		if v := ts.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	exe := ""
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		if p := filepath.Join(dir, "sendmail"); fileExists(p) {
			exe = p
			break
		}
	}
	if exe == "" {
		ts.Fatalf("no sendmail on the script's PATH")
	}
	for i := 1; i <= n; i++ {
		f, err := os.Open(ts.MkAbs(args[1]))
		ts.Check(err)
		var cargs []string
		for _, a := range args[2:] {
			cargs = append(cargs, strings.ReplaceAll(a, "%d", strconv.Itoa(i)))
		}
		p := &bgProc{cmd: exec.Command(exe, cargs...)}
		p.stderr.wrote = st.wrote
		p.cmd.Env, p.cmd.Dir, p.cmd.Stdin, p.cmd.Stderr = env, ts.Getenv("WORK"), f, &p.stderr
		ts.Check(p.cmd.Start())
		f.Close()
		st.mu.Lock()
		st.procs = append(st.procs, p)
		st.mu.Unlock()
	}
	ts.Defer(func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		for _, p := range st.procs {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
}

// waitForProcs waits (a minute at most) until n of the processes have
// written text on standard error.
func waitForProcs(ts *testscript.TestScript, st *scriptState, count, text string) {
	n, err := strconv.Atoi(count)
	ts.Check(err)
	st.mu.Lock()
	procs := append([]*bgProc(nil), st.procs...)
	st.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		have := 0
		for _, p := range procs {
			if strings.Contains(p.stderr.String(), text) {
				have++
			}
		}
		if have >= n {
			return
		}
		select {
		case <-st.wrote:
		case <-ctx.Done():
			ts.Fatalf("%d processes wrote %q, want %d", have, text, n)
		}
	}
}

// bgProc is a process sendmailsCmd started.
type bgProc struct {
	cmd    *exec.Cmd
	stderr lockedBuffer
}

// lockedBuffer is a bytes.Buffer safe for a writer and readers, which
// signals wrote after each write.
type lockedBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{}
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	n, err := l.b.Write(p)
	l.mu.Unlock()
	select {
	case l.wrote <- struct{}{}:
	default:
	}
	return n, err
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}
