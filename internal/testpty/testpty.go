//go:build linux

// Package testpty gives tests a pseudo-terminal, so that a program's
// behaviour at a terminal (questions, a body typed until Ctrl-D) is
// tested as a person meets it: the program's standard input (and error)
// is the terminal's side a program sees, and the test writes what the
// person types and reads what the person sees from the other side.
//
// It uses Linux's /dev/ptmx directly (no outside module).
package testpty

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Pty is a pseudo-terminal: Terminal is what the program under test
// reads and writes; the test types with Type and reads with Expect.
type Pty struct {
	// Terminal is the program's side (/dev/pts/N), for its standard input,
	// output or error. Close it in the test once the program has started.
	Terminal *os.File
	master   *os.File

	mu   sync.Mutex
	cond *sync.Cond
	out  bytes.Buffer // all the program wrote, echo included
	seen int          // how much of out Expect has consumed
	err  error        // the read error that ended out
}

// Open makes a pseudo-terminal.
func Open() (*Pty, error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("testpty: %w", err)
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, fmt.Errorf("testpty: unlock: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("testpty: number: %w", err)
	}
	t, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("testpty: %w", err)
	}
	p := &Pty{Terminal: t, master: m}
	p.cond = sync.NewCond(&p.mu)
	go p.read()
	return p, nil
}

// read copies what the program writes into out until the terminal side
// is closed everywhere (EIO).
func (p *Pty) read() {
	buf := make([]byte, 4096)
	for {
		n, err := p.master.Read(buf)
		p.mu.Lock()
		p.out.Write(buf[:n])
		if err != nil {
			p.err = err
		}
		p.cond.Broadcast()
		p.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// Type writes s as if typed: "\n" ends a line, "\x04" (Ctrl-D) at the
// start of a line is the end of input.
func (p *Pty) Type(s string) error {
	_, err := p.master.WriteString(s)
	return err
}

// Expect waits until what the program wrote since the last Expect matches
// re, and returns that text (up to the end of the match); it fails when
// the program stops writing (exits) first or after timeout.
func (p *Pty) Expect(re *regexp.Regexp, timeout time.Duration) (string, error) {
	timer := time.AfterFunc(timeout, func() {
		p.mu.Lock()
		if p.err == nil {
			p.err = fmt.Errorf("timed out after %v", timeout)
		}
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer timer.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		rest := p.out.Bytes()[p.seen:]
		if loc := re.FindIndex(rest); loc != nil {
			p.seen += loc[1]
			return string(rest[:loc[1]]), nil
		}
		if p.err != nil {
			return string(rest), fmt.Errorf("testpty: %q not seen (%v); the program wrote %q", re, p.err, rest)
		}
		p.cond.Wait()
	}
}

// Output is all the program wrote to the terminal so far.
func (p *Pty) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Close closes both sides.
func (p *Pty) Close() error {
	p.Terminal.Close()
	return p.master.Close()
}

// WaitEchoOff waits until the program has turned the terminal's echo off,
// as a password prompt does after printing its question: a test that types
// a secret as soon as it sees the question would otherwise race the
// program and have the terminal echo what it typed. Linux answers the
// termios request on the test's side with the program's side's settings.
func (p *Pty) WaitEchoOff(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		t, err := unix.IoctlGetTermios(int(p.master.Fd()), unix.TCGETS)
		if err != nil {
			return fmt.Errorf("testpty: %w", err)
		}
		if t.Lflag&unix.ECHO == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testpty: the terminal still echoes after %v", timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
