package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/relay/passwordhash"
)

// Options are what a Server needs besides its configuration.
type Options struct {
	// Config is the [relay] table, decoded and checked (Check).
	Config *Config
	// Queue receives every accepted message.
	Queue queue.Queue
	// Mailboxes maps each profile name to its mailbox (the address it
	// sends as), to choose a profile from the envelope sender.
	Mailboxes map[string]string
	// Certificate is the TLS certificate (see Certificate).
	Certificate tls.Certificate
	// Logger receives one line per refusal and per accepted message (nil:
	// discard).
	Logger *slog.Logger
	// Accepted, when set, is called with the ID of each message queued
	// (Run uses it to wake the Deliverer).
	Accepted func(queue.ID)
	// Reload, when set, delivers new configurations whose users and
	// networks ListenAndServe (and Run) apply with Reload, e.g. on SIGHUP.
	Reload <-chan *Config
	// Ready, when set, is called by ListenAndServe once every listener
	// listens, with their addresses in the order of Config.Listeners.
	Ready func(addrs []net.Addr)
}

// Server accepts SMTP on the configured listeners and queues what it
// accepts. Create it with New.
type Server struct {
	cfg       *Config
	q         queue.Queue
	mailboxes map[string]string
	cert      tls.Certificate
	log       *slog.Logger
	accepted  func(queue.ID)
	ready     func([]net.Addr)
	reloads   <-chan *Config

	acc      atomic.Pointer[access] // users and networks; swapped by Reload
	verifier chan struct{}          // bounds concurrent argon2 verifications

	ctx    context.Context // ends at Close; bounds Enqueue
	cancel context.CancelFunc

	draining atomic.Bool // Shutdown began: idle sessions are told 421 and closed

	mu        sync.Mutex
	closing   bool
	servers   []*smtp.Server
	listeners []net.Listener
	conns     map[netip.Addr]int        // open connections per client
	live      map[*countedConn]struct{} // open connections
}

type user struct {
	*User
	hash *passwordhash.Hash
}

// New makes a Server from opts; it does not listen yet (see Serve and
// ListenAndServe).
func New(opts Options) (*Server, error) {
	if opts.Config == nil || opts.Queue == nil {
		return nil, errors.New("relay: New needs a Config and a Queue")
	}
	s := &Server{
		cfg:       opts.Config,
		q:         opts.Queue,
		mailboxes: map[string]string{},
		cert:      opts.Certificate,
		log:       opts.Logger,
		verifier:  make(chan struct{}, max(1, runtime.NumCPU())),
		conns:     map[netip.Addr]int{},
		live:      map[*countedConn]struct{}{},
		accepted:  opts.Accepted,
		ready:     opts.Ready,
		reloads:   opts.Reload,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for p, m := range opts.Mailboxes {
		s.mailboxes[p] = m
	}
	acc, err := newAccess(s.cfg)
	if err != nil {
		return nil, err
	}
	s.acc.Store(acc)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// ListenAndServe listens on every configured listener and serves until ctx
// ends or a listener fails; then it stops accepting, waits for the
// transactions in progress (at most grace) and returns. It returns nil
// after ctx ended.
func (s *Server) ListenAndServe(ctx context.Context, grace time.Duration) error {
	var lns []net.Listener
	for _, l := range s.cfg.Listeners {
		ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", l.Address)
		if err != nil {
			for _, o := range lns {
				o.Close()
			}
			return fmt.Errorf("relay: listen %s: %w", l.Address, err)
		}
		lns = append(lns, ln)
	}
	if s.ready != nil {
		addrs := make([]net.Addr, len(lns))
		for i, ln := range lns {
			addrs[i] = ln.Addr()
		}
		s.ready(addrs)
	}
	errc := make(chan error, len(lns))
	for i, ln := range lns {
		go func() { errc <- s.Serve(ln, s.cfg.Listeners[i]) }()
	}
	var err error
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case err = <-errc:
			break wait
		case c := <-s.reloads:
			if rerr := s.Reload(c); rerr != nil {
				s.log.Error("relay: reload refused; the users and networks stay as they were", "error", rerr)
			}
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if serr := s.Shutdown(sctx); err == nil && ctx.Err() == nil {
		err = serr
	}
	return err
}

// Serve accepts connections on ln with the settings of l until Shutdown
// or Close; it then returns nil.
func (s *Server) Serve(ln net.Listener, l Listener) error {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return s.newSession(c, &l), nil
	}))
	srv.Domain = s.cfg.Hostname
	srv.MaxMessageBytes = s.cfg.MaxSize
	srv.MaxRecipients = 0 // counted by the session, to log the refusal
	srv.ReadTimeout = time.Duration(s.cfg.ReadTimeout)
	srv.WriteTimeout = time.Duration(s.cfg.WriteTimeout)
	srv.EnableSMTPUTF8 = true
	// AUTH outside TLS is refused (and logged) by the session itself.
	srv.AllowInsecureAuth = true
	srv.ErrorLog = slogLogger{s.log}
	srv.TLSConfig = &tls.Config{
		Certificates: []tls.Certificate{s.cert},
		MinVersion:   tlsVersions[l.MinTLS],
	}
	if srv.TLSConfig.MinVersion == 0 {
		srv.TLSConfig.MinVersion = tls.VersionTLS12
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.servers = append(s.servers, srv)
	s.listeners = append(s.listeners, ln)
	s.mu.Unlock()
	ln = &limitListener{Listener: ln, s: s, implicit: l.ImplicitTLS, tls: srv.TLSConfig}
	err := srv.Serve(ln)
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing || errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// stop marks the server closing, closes its listeners and returns its
// go-smtp servers.
func (s *Server) stop() []*smtp.Server {
	s.mu.Lock()
	s.closing = true
	srvs, lns := s.servers, s.listeners
	s.servers, s.listeners = nil, nil
	s.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	return srvs
}

// open counts the open connections.
func (s *Server) open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live)
}

// closeLive closes every open connection.
func (s *Server) closeLive() {
	for _, c := range s.liveConns() {
		c.Close()
	}
}

// liveConns returns the open connections, taken under s.mu so that the
// caller can act on each without holding it.
func (s *Server) liveConns() []*countedConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	live := make([]*countedConn, 0, len(s.live))
	for c := range s.live {
		live = append(live, c)
	}
	return live
}

// Shutdown stops accepting connections at once, tells the idle sessions
// (waiting for a command, no transaction begun) "421 4.3.2 <host> shutting
// down" and closes them, and waits, until ctx ends, for the transactions
// in progress: a message being received is queued and acknowledged, and
// its session is then told 421 and closed. At the end of ctx it closes
// those still open.
func (s *Server) Shutdown(ctx context.Context) error {
	srvs := s.stop()
	s.log.Info("relay: stopped accepting connections", "open", s.open())
	s.drain()
	errs := make([]error, len(srvs))
	var wg sync.WaitGroup
	for i, srv := range srvs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	s.cancel()
	s.closeLive()
	return errors.Join(errs...)
}

// Close stops at once: listeners and connections are closed, and a
// message being received is not queued.
func (s *Server) Close() error {
	srvs := s.stop()
	s.cancel()
	for _, srv := range srvs {
		srv.Close()
	}
	s.closeLive()
	return nil
}

// access is who may send: the users and networks of a configuration.
type access struct {
	users    map[string]*user
	networks []*Network
	decoy    *passwordhash.Hash
}

func newAccess(c *Config) (*access, error) {
	acc := &access{users: map[string]*user{}}
	params := DefaultArgon2
	for i := range c.Users {
		u := &c.Users[i]
		h, err := passwordhash.Parse(u.PasswordHash)
		if err != nil {
			return nil, failure.Wrap(failure.Config, fmt.Errorf("relay: user %q: %w", u.Name, err), "")
		}
		if len(acc.users) == 0 {
			params = h.Params()
		}
		acc.users[u.Name] = &user{User: u, hash: h}
	}
	acc.decoy = passwordhash.Decoy(params)
	for i := range c.Networks {
		n := &c.Networks[i]
		n.prefixes = nil
		for _, cidr := range n.CIDR {
			p, err := parsePrefix(cidr)
			if err != nil {
				return nil, failure.Wrap(failure.Config, fmt.Errorf("relay: network %q: %w", n.Name, err), "")
			}
			n.prefixes = append(n.prefixes, p)
		}
		acc.networks = append(acc.networks, n)
	}
	return acc, nil
}

// Reload replaces the users and networks (and what they may send as) by
// those of c, which should have passed Check; the rest of c (listeners,
// certificate, limits) is ignored: it takes a restart. A connection
// already authenticated keeps working only if its user still exists with
// the same password hash; otherwise its next MAIL FROM is refused as
// unauthenticated. On error nothing changes.
func (s *Server) Reload(c *Config) error {
	acc, err := newAccess(c)
	if err != nil {
		return err
	}
	s.acc.Store(acc)
	s.log.Info("relay: reloaded users and networks", "users", len(acc.users), "networks", len(acc.networks))
	return nil
}

// network returns the configured network a holds, or nil.
func (s *Server) network(a netip.Addr) *Network {
	for _, n := range s.acc.Load().networks {
		for _, p := range n.prefixes {
			if p.Contains(a) {
				return n
			}
		}
	}
	return nil
}

// authenticate checks name and password; an unknown name costs the same
// argon2id computation as a wrong password.
func (s *Server) authenticate(name, password string) *user {
	acc := s.acc.Load()
	u := acc.users[name]
	h := acc.decoy
	if u != nil {
		h = u.hash
	}
	s.verifier <- struct{}{}
	ok := h.Verify(password)
	<-s.verifier
	if u == nil || !ok {
		return nil
	}
	return u
}

// slogLogger carries go-smtp's own diagnostics (failed handshakes, I/O
// errors) to the logger.
type slogLogger struct{ l *slog.Logger }

func (l slogLogger) Printf(format string, v ...any) {
	l.l.Debug("relay: smtp: " + strings.TrimSpace(fmt.Sprintf(format, v...)))
}

func (l slogLogger) Println(v ...any) {
	l.l.Debug("relay: smtp: " + strings.TrimSpace(fmt.Sprintln(v...)))
}

// limitListener refuses a client's connection when it already holds
// MaxConnectionsPerClient.
type limitListener struct {
	net.Listener
	s        *Server
	implicit bool
	tls      *tls.Config // for implicit TLS
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		a := addrOf(c.RemoteAddr())
		s := l.s
		s.mu.Lock()
		n := s.conns[a]
		ok := n < s.cfg.MaxConnectionsPerClient
		if ok {
			s.conns[a] = n + 1
		}
		s.mu.Unlock()
		if ok {
			cc := &countedConn{Conn: c, s: s, a: a}
			s.mu.Lock()
			s.live[cc] = struct{}{}
			s.mu.Unlock()
			if l.implicit {
				return tls.Server(cc, l.tls), nil
			}
			cc.top = cc // plaintext until STARTTLS
			return cc, nil
		}
		s.log.Info(EventRefused, "client", c.RemoteAddr().String(), "user", "", "code", "421 4.7.0",
			"reason", fmt.Sprintf("more than %d connections from one address", s.cfg.MaxConnectionsPerClient))
		if !l.implicit {
			c.SetWriteDeadline(time.Now().Add(time.Second))
			io.WriteString(c, "421 4.7.0 Too many connections from your address, try again later\r\n")
		}
		c.Close()
	}
}

// countedConn is one client connection (under TLS, if any): it is
// counted per client address, and it knows whether its session waits for
// a command, for Shutdown (see drain.go).
type countedConn struct {
	net.Conn
	s    *Server
	a    netip.Addr
	once sync.Once

	mu      sync.Mutex
	waiting bool     // blocked reading from the client
	busy    bool     // a transaction is in progress (MAIL accepted, DATA not done)
	top     net.Conn // where a reply is written (the TLS connection once TLS is up); nil: unknown
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		if c.s.conns[c.a]--; c.s.conns[c.a] <= 0 {
			delete(c.s.conns, c.a)
		}
		delete(c.s.live, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

func addrOf(a net.Addr) netip.Addr {
	if t, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(t.IP); ok {
			return ip.Unmap()
		}
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
