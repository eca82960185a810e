// Package spool is the on-disk queue.Queue: one folder holding each
// queued message as two files, its data (<id>.eml, written once) and its
// state (<id>.json, replaced whole on every change).
//
// # Layout
//
//	<dir>/queue/<id>.eml   the message as received
//	<dir>/queue/<id>.json  envelope, recipients, attempts, next attempt, last error
//	<dir>/dead/<id>.eml    a dead letter's data
//	<dir>/dead/<id>.json   its state and the reason (dead_reason)
//	<dir>/tmp/             files being written
//
// # Durability
//
// Every file is written under tmp/, fsynced, and renamed into place; the
// folder it lands in is then fsynced. Enqueue writes the data first and the
// state second, and returns after the fsync of queue/: a message exists
// once its .json is there, and its .json never names data that is not
// there. A crash at any moment therefore leaves a message fully queued or
// absent (its leftovers, a .eml without .json or a file in tmp/, are
// removed by Open after an hour). State changes replace the .json the same
// way, so a reader sees the old state or the new one, never a mix.
//
// # Sharing the folder
//
// Several processes may use one spool at once (the relay, `m365send
// queue`, sendmail handing a message over). Whoever changes a message
// holds an exclusive lock (internal/filelock: flock(2); LockFileEx on
// Windows) on its .eml,
// which is never replaced, so the lock follows the message into the dead
// letters: Claim takes it without waiting and skips a message locked by
// someone else; Retry and Delete fail with queue.ErrBusy while it is
// held. The kernel drops the locks of a process that dies, so a killed
// relay leaves no stale claim: its messages are due again at the
// NextAttempt it recorded before trying. Within one process a lease ends
// at Lease.Until, after which Claim may give the message to another
// caller. Reading (List, Get, Open) takes no lock.
//
// The spool is tested on Linux. On Windows it builds, locks a byte past
// the end of the .eml (Windows locks are mandatory) and opens it sharing
// delete, but directory fsync is not available there.
package spool

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/filelock"
	"github.com/m365send/m365send/queue"
)

// Options configures a Spool; the zero value is fine.
type Options struct {
	// Now is the clock for Enqueue's Queued and NextAttempt (default
	// time.Now).
	Now func() time.Time
	// Logger receives diagnostics (nil: discard).
	Logger *slog.Logger
}

// leftoverAge is how old a leftover (a .eml without .json, a temporary
// file) must be before Open removes it: younger ones may belong to an
// Enqueue still running in another process.
const leftoverAge = time.Hour

// Spool is a queue.Queue in a folder. Safe for concurrent use, and for use
// by several processes at once.
type Spool struct {
	dir, qdir, ddir, tdir string
	now                   func() time.Time
	log                   *slog.Logger

	mu     sync.Mutex
	closed bool
	claims map[queue.ID]*claim
	cache  map[queue.ID]summary // what Claim needs of each .json, by its stat
}

// claim is a lease held by this process: the locked .eml.
type claim struct {
	f     *os.File
	token string
	until time.Time
}

// summary is what Claim keeps of a message between scans.
type summary struct {
	mod     time.Time
	size    int64
	next    time.Time
	profile string
}

var _ queue.Queue = (*Spool)(nil)

// Open opens the spool in dir, creating it (mode 0700) if needed, and
// finishes or removes what a crash left half done.
func Open(dir string, opts Options) (*Spool, error) {
	s := &Spool{
		dir:    dir,
		qdir:   filepath.Join(dir, "queue"),
		ddir:   filepath.Join(dir, "dead"),
		tdir:   filepath.Join(dir, "tmp"),
		now:    opts.Now,
		log:    opts.Logger,
		claims: map[queue.ID]*claim{},
		cache:  map[queue.ID]summary{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, d := range []string{dir, s.qdir, s.ddir, s.tdir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, failure.Wrap(failure.Config, fmt.Errorf("spool: %w", err), "the spool folder must be writable by the user that runs m365send")
		}
	}
	if err := s.recover(); err != nil {
		return nil, fmt.Errorf("spool: recover %s: %w", dir, err)
	}
	return s, nil
}

// Dir returns the spool's folder.
func (s *Spool) Dir() string { return s.dir }

func (s *Spool) path(dir string, id queue.ID, ext string) string {
	return filepath.Join(dir, string(id)+ext)
}

// newID returns a fresh ID: the time, then 40 random bits.
func newID(now time.Time) queue.ID {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return queue.ID(now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:]))
}

// Enqueue implements queue.Queue.
func (s *Spool) Enqueue(ctx context.Context, env queue.Envelope, data io.Reader) (queue.ID, error) {
	if err := env.Validate(); err != nil {
		return "", err
	}
	if err := s.check(ctx); err != nil {
		return "", err
	}
	now := s.now()
	id := newID(now)
	eml := s.path(s.qdir, id, ".eml")
	size, err := s.writeFile(eml, func(w io.Writer) (int64, error) { return io.Copy(w, readerCtx{ctx, data}) })
	if err != nil {
		return "", fmt.Errorf("spool: enqueue: %w", err)
	}
	m := queue.NewMessage(id, env, size, now)
	if err := s.writeState(s.path(s.qdir, id, ".json"), m); err != nil {
		_ = os.Remove(eml)
		return "", fmt.Errorf("spool: enqueue: %w", err)
	}
	if err := syncDir(s.qdir); err != nil {
		_ = os.Remove(s.path(s.qdir, id, ".json"))
		_ = os.Remove(eml)
		return "", fmt.Errorf("spool: enqueue: sync %s: %w", s.qdir, err)
	}
	return id, nil
}

// readerCtx stops a copy when ctx ends.
type readerCtx struct {
	ctx context.Context
	r   io.Reader
}

func (r readerCtx) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// writeFile writes a new file at path: under tmp/, fsynced, renamed into
// place. The caller syncs path's folder.
func (s *Spool) writeFile(path string, write func(io.Writer) (int64, error)) (int64, error) {
	f, err := os.CreateTemp(s.tdir, "w-*")
	if err != nil {
		return 0, err
	}
	tmp := f.Name()
	n, err := write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return 0, err
	}
	return n, nil
}

// stateFile is the .json's content.
type stateFile struct {
	Version int `json:"version"`
	*queue.Message
}

func (s *Spool) writeState(path string, m *queue.Message) error {
	b, err := json.MarshalIndent(stateFile{Version: 1, Message: m}, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = s.writeFile(path, func(w io.Writer) (int64, error) {
		n, err := w.Write(b)
		return int64(n), err
	})
	return err
}

func readState(path string) (*queue.Message, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if st.Message == nil || st.Version != 1 {
		return nil, fmt.Errorf("%s: not a spool state file (version %d)", path, st.Version)
	}
	return st.Message, nil
}

func (s *Spool) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return queue.ErrClosed
	}
	return nil
}

// ids returns the IDs of the files with extension ext in dir.
func ids(dir, ext string) ([]queue.ID, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []queue.ID
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ext)
		if ok && queue.ID(name).Valid() {
			out = append(out, queue.ID(name))
		}
	}
	return out, nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// Claim implements queue.Queue.
func (s *Spool) Claim(ctx context.Context, req queue.ClaimRequest) ([]*queue.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req.Max <= 0 {
		req.Max = 1
	}
	if req.Lease <= 0 {
		req.Lease = queue.DefaultLease
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	// The folder is scanned without the mutex, so that updates of the
	// messages being delivered are not held up by a scan of a long queue.
	ents, err := os.ReadDir(s.qdir)
	if err != nil {
		return nil, fmt.Errorf("spool: claim: %w", err)
	}
	type entry struct {
		id       queue.ID
		mod      time.Time
		size     int64
		sum      summary
		ok, read bool
	}
	var all []entry
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		id := queue.ID(name)
		if !ok || !id.Valid() {
			continue
		}
		if info, err := e.Info(); err == nil {
			all = append(all, entry{id: id, mod: info.ModTime(), size: info.Size()})
		}
	}
	s.mu.Lock()
	for i := range all {
		e := &all[i]
		if sum, ok := s.cache[e.id]; ok && sum.mod.Equal(e.mod) && sum.size == e.size {
			e.sum, e.ok = sum, true
		} else {
			e.read = true
		}
	}
	s.mu.Unlock()
	for i := range all {
		e := &all[i]
		if !e.read {
			continue
		}
		m, err := readState(s.path(s.qdir, e.id, ".json"))
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				s.log.Warn("spool: unreadable state", "id", e.id, "error", err)
			}
			continue
		}
		e.sum, e.ok = summary{mod: e.mod, size: e.size, next: m.NextAttempt, profile: m.Profile}, true
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, queue.ErrClosed
	}
	type cand struct {
		id   queue.ID
		next time.Time
	}
	var due []cand
	seen := make(map[queue.ID]bool, len(all))
	for _, e := range all {
		if !e.ok {
			continue
		}
		seen[e.id] = true
		if e.read {
			s.cache[e.id] = e.sum
		}
		if e.sum.next.After(req.Now) || slices.Contains(req.Skip, e.sum.profile) {
			continue
		}
		if c := s.claims[e.id]; c != nil && c.until.After(req.Now) {
			continue
		}
		due = append(due, cand{e.id, e.sum.next})
	}
	for id := range s.cache {
		if !seen[id] {
			delete(s.cache, id)
		}
	}
	slices.SortFunc(due, func(a, b cand) int {
		if c := a.next.Compare(b.next); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	var out []*queue.Message
	for _, c := range due {
		if len(out) == req.Max || ctx.Err() != nil {
			break
		}
		m, err := s.claimOne(c.id, req)
		if err != nil {
			s.log.Warn("spool: claim", "id", c.id, "error", err)
			continue
		}
		if m != nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// claimOne locks id's .eml (or takes over this process's expired lease)
// and returns its fresh state, or nil when someone else has it or it is
// no longer due. Called with s.mu held.
func (s *Spool) claimOne(id queue.ID, req queue.ClaimRequest) (*queue.Message, error) {
	c := s.claims[id]
	if c == nil {
		f, err := s.lockEML(s.qdir, id)
		if err != nil || f == nil {
			return nil, err
		}
		c = &claim{f: f}
	}
	m, err := s.queued(id)
	if err == nil && (m.NextAttempt.After(req.Now) || slices.Contains(req.Skip, m.Profile)) {
		m = nil
	}
	if err != nil || m == nil {
		if s.claims[id] == nil {
			_ = c.f.Close()
		}
		if errors.Is(err, queue.ErrNotFound) {
			err = nil
		}
		return nil, err
	}
	c.token = newToken()
	c.until = req.Now.Add(req.Lease)
	s.claims[id] = c
	m.Lease = queue.Lease{Token: c.token, Until: c.until}
	return m, nil
}

func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// lockEML opens and locks dir/<id>.eml; it returns nil, nil when the file
// is gone or locked by someone else. After locking, it checks that the
// path still names the locked file (a message moved or removed while we
// waited is not ours).
func (s *Spool) lockEML(dir string, id queue.ID) (*os.File, error) {
	path := s.path(dir, id, ".eml")
	f, err := openLock(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ok, err := filelock.TryLock(f)
	if err != nil || !ok {
		_ = f.Close()
		return nil, err
	}
	fi, err1 := f.Stat()
	pi, err2 := os.Stat(path)
	if err1 != nil || err2 != nil || !os.SameFile(fi, pi) {
		_ = f.Close()
		return nil, nil
	}
	return f, nil
}

// queued reads a queued message's state: it must have its .json and .eml
// in queue/ and no .json in dead/ (which would mean a move to the dead
// letters is under way).
func (s *Spool) queued(id queue.ID) (*queue.Message, error) {
	m, err := readState(s.path(s.qdir, id, ".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", queue.ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	if !exists(s.path(s.qdir, id, ".eml")) || exists(s.path(s.ddir, id, ".json")) {
		return nil, fmt.Errorf("%w: %s", queue.ErrNotFound, id)
	}
	m.DeadReason = ""
	return m, nil
}

// dead reads a dead letter's state.
func (s *Spool) dead(id queue.ID) (*queue.Message, error) {
	m, err := readState(s.path(s.ddir, id, ".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", queue.ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	if m.DeadReason == "" {
		m.DeadReason = "unknown"
	}
	return m, nil
}

// held returns this process's claim on m, checking its token. Called with
// s.mu held.
func (s *Spool) held(m *queue.Message) (*claim, error) {
	if s.closed {
		return nil, queue.ErrClosed
	}
	c := s.claims[m.ID]
	if c == nil || m.Lease.Token == "" || c.token != m.Lease.Token {
		return nil, fmt.Errorf("%w: %s", queue.ErrLeaseLost, m.ID)
	}
	return c, nil
}

func (s *Spool) drop(id queue.ID) {
	if c := s.claims[id]; c != nil {
		_ = c.f.Close()
		delete(s.claims, id)
	}
}

// Update implements queue.Queue.
func (s *Spool) Update(ctx context.Context, m *queue.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	c, err := s.held(m)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	// The message is locked by this claim, so the write needs no mutex;
	// the fsyncs of different messages overlap.
	st := *m
	st.DeadReason = ""
	path := s.path(s.qdir, m.ID, ".json")
	if err := s.writeState(path, &st); err != nil {
		return fmt.Errorf("spool: update %s: %w", m.ID, err)
	}
	if err := syncDir(s.qdir); err != nil {
		return fmt.Errorf("spool: update %s: %w", m.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cache, m.ID)
	if s.claims[m.ID] != c || c.token != m.Lease.Token {
		return fmt.Errorf("%w: %s", queue.ErrLeaseLost, m.ID)
	}
	if !m.Lease.Until.IsZero() {
		c.until = m.Lease.Until
	}
	return nil
}

// Release implements queue.Queue.
func (s *Spool) Release(ctx context.Context, m *queue.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.held(m); err != nil {
		return err
	}
	s.drop(m.ID)
	return nil
}

// Done implements queue.Queue.
func (s *Spool) Done(ctx context.Context, m *queue.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.held(m); err != nil {
		return err
	}
	defer s.drop(m.ID)
	delete(s.cache, m.ID)
	return s.remove(s.qdir, m.ID)
}

// remove deletes a message's files in dir: the .json first, so that the
// message is gone before its data is.
func (s *Spool) remove(dir string, id queue.ID) error {
	if err := os.Remove(s.path(dir, id, ".json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool: remove %s: %w", id, err)
	}
	if err := os.Remove(s.path(dir, id, ".eml")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool: remove %s: %w", id, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("spool: remove %s: %w", id, err)
	}
	return nil
}

// DeadLetter implements queue.Queue.
func (s *Spool) DeadLetter(ctx context.Context, m *queue.Message, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.held(m); err != nil {
		return err
	}
	defer s.drop(m.ID)
	delete(s.cache, m.ID)
	st := *m
	st.DeadReason = reason
	if st.DeadReason == "" {
		st.DeadReason = "moved to the dead letters"
	}
	if err := s.writeState(s.path(s.ddir, m.ID, ".json"), &st); err != nil {
		return fmt.Errorf("spool: dead letter %s: %w", m.ID, err)
	}
	return s.finishDead(m.ID)
}

// finishDead completes a move to the dead letters once dead/<id>.json
// exists (the point of no return): the data follows, then the queue's
// .json goes.
func (s *Spool) finishDead(id queue.ID) error {
	if err := os.Rename(s.path(s.qdir, id, ".eml"), s.path(s.ddir, id, ".eml")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool: dead letter %s: %w", id, err)
	}
	if err := syncDir(s.ddir); err != nil {
		return fmt.Errorf("spool: dead letter %s: %w", id, err)
	}
	if err := os.Remove(s.path(s.qdir, id, ".json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool: dead letter %s: %w", id, err)
	}
	if err := syncDir(s.qdir); err != nil {
		return fmt.Errorf("spool: dead letter %s: %w", id, err)
	}
	return nil
}

// Open implements queue.Queue.
func (s *Spool) Open(ctx context.Context, id queue.ID) (io.ReadCloser, error) {
	if !id.Valid() {
		return nil, fmt.Errorf("%w: %q", queue.ErrNotFound, id)
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	for _, dir := range []string{s.qdir, s.ddir} {
		f, err := os.Open(s.path(dir, id, ".eml"))
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("spool: open %s: %w", id, err)
		}
	}
	return nil, fmt.Errorf("%w: %s", queue.ErrNotFound, id)
}

// List implements queue.Queue.
func (s *Spool) List(ctx context.Context, f queue.Filter) ([]*queue.Message, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	dir, read := s.qdir, s.queued
	if f.Dead {
		dir, read = s.ddir, s.dead
	}
	list, err := ids(dir, ".json")
	if err != nil {
		return nil, fmt.Errorf("spool: list: %w", err)
	}
	var out []*queue.Message
	for _, id := range list {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m, err := read(id)
		if errors.Is(err, queue.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("spool: list: %w", err)
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *queue.Message) int {
		if c := a.Queued.Compare(b.Queued); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Get implements queue.Queue.
func (s *Spool) Get(ctx context.Context, id queue.ID) (*queue.Message, error) {
	if !id.Valid() {
		return nil, fmt.Errorf("%w: %q", queue.ErrNotFound, id)
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	m, err := s.queued(id)
	if errors.Is(err, queue.ErrNotFound) {
		m, err = s.dead(id)
	}
	return m, err
}

// operate runs op on id with its .eml locked, wherever the message is;
// the lock must be free (queue.ErrBusy otherwise).
func (s *Spool) operate(ctx context.Context, id queue.ID, op func(dead bool) error) error {
	if !id.Valid() {
		return fmt.Errorf("%w: %q", queue.ErrNotFound, id)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return queue.ErrClosed
	}
	if s.claims[id] != nil {
		return fmt.Errorf("%w: %s", queue.ErrBusy, id)
	}
	dead := exists(s.path(s.ddir, id, ".json"))
	if !dead && !exists(s.path(s.qdir, id, ".json")) {
		return fmt.Errorf("%w: %s", queue.ErrNotFound, id)
	}
	var f *os.File
	var err error
	for _, dir := range []string{s.qdir, s.ddir} {
		if f, err = s.lockEML(dir, id); f != nil || err != nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("spool: %s: %w", id, err)
	}
	if f == nil {
		if exists(s.path(s.qdir, id, ".eml")) || exists(s.path(s.ddir, id, ".eml")) {
			return fmt.Errorf("%w: %s", queue.ErrBusy, id)
		}
		return fmt.Errorf("%w: %s", queue.ErrNotFound, id)
	}
	defer f.Close()
	// Look again now that the message is ours: it may have moved.
	dead = exists(s.path(s.ddir, id, ".json"))
	delete(s.cache, id)
	return op(dead)
}

// Retry implements queue.Queue.
func (s *Spool) Retry(ctx context.Context, id queue.ID, now time.Time) error {
	return s.operate(ctx, id, func(dead bool) error {
		if dead {
			return s.revive(id, now)
		}
		m, err := s.queued(id)
		if err != nil {
			return err
		}
		m.DueAt(now)
		if err := s.writeState(s.path(s.qdir, id, ".json"), m); err != nil {
			return fmt.Errorf("spool: retry %s: %w", id, err)
		}
		return syncDir(s.qdir)
	})
}

// revive moves a dead letter back into the queue. Its point of no return
// is the removal of dead/<id>.json; a crash before it leaves the message
// dead (recover moves the data back).
func (s *Spool) revive(id queue.ID, now time.Time) error {
	m, err := s.dead(id)
	if err != nil {
		return err
	}
	m.DeadReason = ""
	m.Queued = now
	m.DueAt(now)
	for i := range m.Recipients {
		if m.Recipients[i].Status != queue.Delivered {
			m.Recipients[i].Status = queue.Pending
		}
	}
	if err := os.Rename(s.path(s.ddir, id, ".eml"), s.path(s.qdir, id, ".eml")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool: retry %s: %w", id, err)
	}
	if err := s.writeState(s.path(s.qdir, id, ".json"), m); err != nil {
		return fmt.Errorf("spool: retry %s: %w", id, err)
	}
	if err := syncDir(s.qdir); err != nil {
		return fmt.Errorf("spool: retry %s: %w", id, err)
	}
	if err := os.Remove(s.path(s.ddir, id, ".json")); err != nil {
		return fmt.Errorf("spool: retry %s: %w", id, err)
	}
	return syncDir(s.ddir)
}

// Delete implements queue.Queue.
func (s *Spool) Delete(ctx context.Context, id queue.ID) error {
	return s.operate(ctx, id, func(dead bool) error {
		if dead {
			return s.remove(s.ddir, id)
		}
		return s.remove(s.qdir, id)
	})
}

// Close implements queue.Queue: this process's leases end.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.claims {
		s.drop(id)
	}
	s.closed = true
	return nil
}

// recover finishes moves to and from the dead letters that a crash
// interrupted, and removes what a crash left half written: a queued .json
// without its .eml, and (after leftoverAge) a .eml without .json or a
// file in tmp/. A message locked by another process is left alone.
func (s *Spool) recover() error {
	deadIDs, err := ids(s.ddir, ".json")
	if err != nil {
		return err
	}
	for _, id := range deadIDs {
		if !exists(s.path(s.qdir, id, ".eml")) && !exists(s.path(s.qdir, id, ".json")) {
			continue
		}
		if exists(s.path(s.qdir, id, ".eml")) {
			f, err := s.lockEML(s.qdir, id)
			if err != nil || f == nil {
				continue // busy: someone is moving it now
			}
			err = s.finishDead(id)
			_ = f.Close()
			if err != nil {
				return err
			}
		} else if err := s.finishDead(id); err != nil {
			return err
		}
		s.log.Info("spool: finished an interrupted move to the dead letters", "id", id)
	}
	qids, err := ids(s.qdir, ".json")
	if err != nil {
		return err
	}
	for _, id := range qids {
		if exists(s.path(s.qdir, id, ".eml")) || exists(s.path(s.ddir, id, ".json")) {
			continue
		}
		// Never acknowledged: Enqueue writes the .eml first and syncs
		// before returning.
		if err := os.Remove(s.path(s.qdir, id, ".json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		s.log.Warn("spool: removed a message state without data (interrupted enqueue)", "id", id)
	}
	old := s.now().Add(-leftoverAge)
	for _, dir := range []string{s.qdir, s.tdir} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range ents {
			name := e.Name()
			if dir == s.qdir {
				id, ok := strings.CutSuffix(name, ".eml")
				if !ok || exists(s.path(s.qdir, queue.ID(id), ".json")) || exists(s.path(s.ddir, queue.ID(id), ".json")) {
					continue
				}
			}
			if info, err := e.Info(); err == nil && info.ModTime().Before(old) {
				_ = os.Remove(filepath.Join(dir, name))
			}
		}
	}
	return nil
}
