//go:build linux

package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSecretCommandTimeoutKillsItsChildren checks that a timed-out or
// cancelled client_secret_command takes its children with it.
func TestSecretCommandTimeoutKillsItsChildren(t *testing.T) {
	for _, how := range []string{"cancel", "timeout"} {
		t.Run(how, func(t *testing.T) {
			f := newFixture(t)
			pidFile := filepath.Join(f.dir, "child.pid")
			f.config("[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\n" +
				`client_secret_command = ["sh", "-c", "sleep 100 & echo $! > ` + pidFile + `; echo x; wait"]` + "\n")
			p, err := f.load(LoadOptions{Profile: "p"})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			readPID := func() int {
				b, _ := os.ReadFile(pidFile)
				if !strings.HasSuffix(string(b), "\n") {
					return 0
				}
				pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
				return pid
			}
			if how == "cancel" {
				go func() {
					for readPID() == 0 && ctx.Err() == nil {
						time.Sleep(5 * time.Millisecond)
					}
					cancel()
				}()
			} else {
				// The timeout is long enough for sh to start its child on
				// a loaded machine; the test does not depend on it being met.
				p.secretTimeout = 500 * time.Millisecond
			}
			_, err = p.Secret(ctx)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Secret error = %v, want *Error", err)
			}
			pid := readPID()
			if pid == 0 {
				t.Skip("the shell did not start its child before the deadline")
			}
			deadline := time.Now().Add(10 * time.Second)
			for alive(pid) {
				if time.Now().After(deadline) {
					syscall.Kill(pid, syscall.SIGKILL)
					t.Fatalf("the command's child %d is still running after the command was stopped", pid)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// alive reports whether pid runs (a zombie waiting for its reaper does
// not count).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}
