// Package pacing keeps one mailbox's submissions within Exchange Online's
// limits across every m365send process on the machine, not only inside
// one: at most Rate messages per sliding Window (30 a minute) and at most
// Conns connections at once (3). Each mailbox has a small state file (the
// start times of its recent submissions) and lock files in the state
// folder; a process holds the flock only to read and update the state,
// and holds one connection slot's flock while its connection is open, so
// a process that dies gives its slot back at once (docs/sendmail.md,
// "Pacing").
package pacing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/m365send/m365send/internal/wait"
)

// Limits paces one mailbox. The zero Rate or Conns turns that limit off.
type Limits struct {
	// Dir is the folder of the state and lock files (created 0700).
	Dir string
	// Mailbox is the mailbox the limits are for.
	Mailbox string
	// Rate is the number of messages per Window; Window defaults to a
	// minute.
	Rate   int
	Window time.Duration
	// Conns is the number of connections at once.
	Conns int
	// Now and Sleep are the clock (time.Now, wait.Sleep when nil).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Waited, when set, is called each time a message waits for the rate
	// (tests count the waits).
	Waited func(d time.Duration)
}

// base is the files' common path: the mailbox's name made safe, and a
// short hash so that two spellings never share or clash.
func (l *Limits) base() string {
	m := strings.ToLower(l.Mailbox)
	sum := sha256.Sum256([]byte(m))
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' || r == '@' {
			return r
		}
		return '_'
	}, m)
	if len(safe) > 64 {
		safe = safe[:64]
	}
	return filepath.Join(l.Dir, safe+"-"+hex.EncodeToString(sum[:4]))
}

func (l *Limits) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Limits) sleep(ctx context.Context, d time.Duration) error {
	if l.Sleep != nil {
		return l.Sleep(ctx, d)
	}
	return wait.Sleep(ctx, d)
}

func (l *Limits) window() time.Duration {
	if l.Window > 0 {
		return l.Window
	}
	return time.Minute
}

// prepare makes the folder.
func (l *Limits) prepare() error {
	if err := os.MkdirAll(l.Dir, 0o700); err != nil {
		return fmt.Errorf("pacing: %w", err)
	}
	return nil
}

// state is the state file's content.
type state struct {
	// Sent are the start times (Unix nanoseconds) of the submissions in
	// the last window, oldest first.
	Sent []int64 `json:"sent"`
}

// Message waits until one more message fits the mailbox's rate across
// processes, and counts it. It holds the state's lock only to read and
// write the state, never while it sleeps.
func (l *Limits) Message(ctx context.Context) error {
	if l == nil || l.Rate <= 0 {
		return nil
	}
	if err := l.prepare(); err != nil {
		return err
	}
	for {
		d, err := l.take()
		if err != nil {
			return err
		}
		if d <= 0 {
			return nil
		}
		if l.Waited != nil {
			l.Waited(d)
		}
		if err := l.sleep(ctx, d); err != nil {
			return err
		}
	}
}

// take counts a submission now when it fits (0), or returns how long to
// wait before trying again.
func (l *Limits) take() (time.Duration, error) {
	lk, err := lockFile(l.base() + ".lock")
	if err != nil {
		return 0, err
	}
	defer lk.unlock()
	path := l.base() + ".state"
	var st state
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return 0, fmt.Errorf("pacing: %w", err)
	default:
		// A damaged state only forgets recent submissions.
		_ = json.Unmarshal(data, &st)
	}
	now := l.now()
	cut := now.Add(-l.window()).UnixNano()
	i := 0
	for i < len(st.Sent) && st.Sent[i] <= cut {
		i++
	}
	st.Sent = st.Sent[i:]
	if len(st.Sent) >= l.Rate {
		d := time.Unix(0, st.Sent[len(st.Sent)-l.Rate]).Add(l.window()).Sub(now)
		if d <= 0 {
			d = time.Millisecond
		}
		return d, nil
	}
	st.Sent = append(st.Sent, now.UnixNano())
	out, err := json.Marshal(st)
	if err != nil {
		return 0, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out, 0o600); err != nil {
		return 0, fmt.Errorf("pacing: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, fmt.Errorf("pacing: %w", err)
	}
	return 0, nil
}

// Slot takes one of the mailbox's Conns connection slots, waiting (until
// ctx ends) while other processes hold all of them; release gives it back.
func (l *Limits) Slot(ctx context.Context) (release func(), err error) {
	if l == nil || l.Conns <= 0 {
		return func() {}, nil
	}
	if err := l.prepare(); err != nil {
		return nil, err
	}
	delay := 5 * time.Millisecond
	for {
		for i := 0; i < l.Conns; i++ {
			lk, err := tryLockFile(fmt.Sprintf("%s.conn%d.lock", l.base(), i))
			if err != nil {
				return nil, err
			}
			if lk != nil {
				return lk.unlock, nil
			}
		}
		// Every slot is held: try again shortly (flock has no wait for
		// one of several files).
		if err := l.sleep(ctx, delay); err != nil {
			return nil, err
		}
		if delay < 200*time.Millisecond {
			delay *= 2
		}
	}
}
