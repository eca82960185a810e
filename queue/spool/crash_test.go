package spool

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365send/m365send/queue"
)

// crashEnv names the spool folder of a child process started by
// TestCrashLosesNothing.
const crashEnv = "M365SEND_SPOOL_CRASH_CHILD"

// body is message n's data: its size varies so that kills land in the
// middle of writes of every length.
func body(n int) string {
	size := 100 + (n*7919)%60000
	var b strings.Builder
	fmt.Fprintf(&b, "X-N: %d\r\nSubject: message %d\r\n\r\n", n, n)
	for b.Len() < size {
		fmt.Fprintf(&b, "line %d of message %d\r\n", b.Len(), n)
	}
	return b.String()
}

// TestCrashChild is the child: it enqueues messages from 4 goroutines and
// prints "<id> <n>" only after Enqueue returned, while a fifth goroutine
// claims, updates and releases what is queued, until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("run by TestCrashLosesNothing")
	}
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	start, _ := strconv.Atoi(os.Getenv(crashEnv + "_START"))
	var mu sync.Mutex
	next := start
	ctx := context.Background()
	for range 4 {
		go func() {
			for {
				mu.Lock()
				n := next
				next++
				mu.Unlock()
				id, err := s.Enqueue(ctx, queue.Envelope{From: "app@contoso.com", To: []string{"x@example.com"}, Profile: "p"}, strings.NewReader(body(n)))
				if err != nil {
					fmt.Println("error", err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "%s %d\n", id, n)
				mu.Unlock()
			}
		}()
	}
	for {
		msgs, err := s.Claim(ctx, queue.ClaimRequest{Now: time.Now().Add(time.Hour), Max: 5})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		for _, m := range msgs {
			m.Attempts++
			m.NextAttempt = time.Now()
			m.LastError = &queue.Failure{Code: 451, Text: strings.Repeat("state ", m.Attempts%200)}
			_ = s.Update(ctx, m)
			_ = s.Release(ctx, m)
		}
	}
}

func TestCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills child processes")
	}
	dir := t.TempDir()
	reported := map[queue.ID]int{}
	next := 0
	for round := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir, fmt.Sprintf("%s_START=%d", crashEnv, next))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after a random number of acknowledged messages: the child
		// is then in the middle of other writes.
		killAt := 5 + rand.IntN(60)
		sc := bufio.NewScanner(out)
		got := 0
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 2 || f[0] == "error" {
				t.Fatalf("round %d: child said %q", round, sc.Text())
			}
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("round %d: child said %q", round, sc.Text())
			}
			reported[queue.ID(f[0])] = n
			if n >= next {
				next = n + 1
			}
			got++
			if got == killAt {
				_ = cmd.Process.Kill()
			}
		}
		_ = cmd.Wait()
		if got < killAt {
			t.Fatalf("round %d: child ended after %d messages, before it was killed", round, got)
		}
		next += 10 // numbers the child took but never reported
	}
	s := openSpool(t, dir)
	ctx := context.Background()
	list, err := s.List(ctx, queue.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	listed := map[queue.ID]bool{}
	for _, m := range list {
		listed[m.ID] = true
		data := readAll(t, s, m.ID)
		var n int
		if _, err := fmt.Sscanf(data, "X-N: %d\r\n", &n); err != nil || data != body(n) || m.Size != int64(len(data)) {
			t.Errorf("listed message %s is torn: size %d, %d bytes of data", m.ID, m.Size, len(data))
		}
		if len(m.Recipients) != 1 || m.Recipients[0].Address != "x@example.com" {
			t.Errorf("listed message %s has recipients %v", m.ID, m.Recipients)
		}
	}
	for id, n := range reported {
		if !listed[id] {
			t.Errorf("message %s (%d) was acknowledged and is lost", id, n)
			continue
		}
		if readAll(t, s, id) != body(n) {
			t.Errorf("message %s (%d) changed", id, n)
		}
	}
	if len(reported) < 6*5 {
		t.Fatalf("only %d messages acknowledged", len(reported))
	}
	t.Logf("%d acknowledged, %d queued after 6 kills", len(reported), len(list))
}
