// Package smtptest is an in-process fake of Office 365's submission server
// (smtp.office365.com:587), for tests and the sandbox, in the spirit of
// net/http/httptest.
//
// It behaves the way docs/microsoft.md describes Exchange Online: EHLO advertises no
// AUTH before STARTTLS and "AUTH LOGIN XOAUTH2" after it; TLS below 1.2 is
// refused; a refused token gets "535 5.7.3 Authentication unsuccessful" at
// once (or, in Challenge mode, a Gmail-style 334 challenge first); MAIL
// FROM without AUTH gets 530 5.7.57, a MAIL FROM the mailbox may not use
// gets 550 5.7.60, a From header it may not use gets 554 5.2.252
// SendAsDenied after the final dot, a 4th concurrent connection of one
// mailbox gets 432 4.3.2.
// Faults (a chosen reply, a dropped connection, a stall) can be injected at
// every stage. Every accepted message is recorded with its envelope, the
// authenticated user and its bytes after dot-unstuffing.
//
// It listens on 127.0.0.1 only and is not a mail server: nothing is relayed.
package smtptest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/m365send/m365send/internal/testca"
)

// DefaultAdvertisedSize is the SIZE Exchange Online advertises (150 MB,
// the most an admin can allow).
const DefaultAdvertisedSize = 157286400

// DefaultMaxSize is the largest message a mailbox takes by default (35 MB);
// base64 makes attachments about a third larger.
const DefaultMaxSize = 35 << 20

// DefaultMaxConnsPerUser is Exchange Online's concurrent-connection limit
// per mailbox.
const DefaultMaxConnsPerUser = 3

// Options configures a Server. The zero value is a server that accepts any
// non-empty token for any user.
type Options struct {
	// Certificate, if set, is the certificate presented after STARTTLS:
	// valid for 127.0.0.1, with a chain that ends with the certificate of
	// the CA that signed it (the one clients must trust). Give two fakes the
	// same certificate to have clients trust one CA for both. nil: a fresh
	// throwaway CA signs a loopback certificate (see Server.CACertPEM).
	Certificate *tls.Certificate
	// Hostname is the name in the greeting and replies (default
	// "fake.outlook.office365.com").
	Hostname string

	// Verify checks an XOAUTH2 access token for user (the XOAUTH2 user=).
	// It must check everything Exchange checks: signature, expiry,
	// audience, roles/scp, and that the token may use that mailbox.
	// (*entratest.Authority).Verify has this signature. nil accepts any
	// non-empty token.
	Verify func(accessToken, user string) error
	// Challenge makes a refused XOAUTH2 get a Gmail-style "334 <base64
	// JSON>" challenge first; the final 535 follows the client's empty
	// line. Office 365 does not do this, other servers do.
	Challenge bool
	// ChallengeText, when set with Challenge, is sent as the challenge
	// ("334 " + ChallengeText) instead of the base64 JSON: servers differ,
	// and some send text that is not base64. The client must still answer
	// with an empty line and report the final reply.
	ChallengeText string
	// AuthReply, when set, is the reply to every AUTH command whatever the
	// token, e.g. "535 5.7.139 Authentication unsuccessful,
	// SmtpClientAuthentication is disabled for the Tenant".
	AuthReply string

	// SendAs lists, per user (lower case), the addresses that user may
	// send as besides itself, in MAIL FROM and in the From header.
	SendAs map[string][]string

	// MaxConnsPerUser caps concurrent authenticated connections per user
	// (default 3; negative: no limit).
	MaxConnsPerUser int
	// RatePerMinute caps accepted messages per user in any 60 seconds of
	// Now (0 or negative: no limit); past it MAIL FROM gets a 4.4.2 reply
	// and the connection is closed.
	RatePerMinute int
	// AdvertisedSize is the SIZE in the EHLO reply (default
	// DefaultAdvertisedSize).
	AdvertisedSize int64
	// MaxSize is the largest message accepted, in bytes as received
	// (default DefaultMaxSize); larger ones, and a MAIL FROM SIZE= above
	// it, get "552 5.3.4 Message size exceeds fixed maximum message size".
	MaxSize int64
	// Now is the server's clock for the rate limit (nil: time.Now).
	Now func() time.Time

	// NoStartTLS makes the server neither offer nor accept STARTTLS, like a
	// proxy that strips it; clients must then refuse to authenticate.
	NoStartTLS bool

	// DiscardData records messages without their bytes (only Size), for
	// benchmarks that must not hold large messages in memory.
	DiscardData bool

	// Faults are injected as the exchange reaches their stage; more can be
	// added with Server.AddFault.
	Faults []Fault
}

// Server is a running fake submission server.
type Server struct {
	opts     Options
	ca       *testca.CA
	tlsConf  *tls.Config
	ln       net.Listener
	hostname string
	done     chan struct{}
	wg       sync.WaitGroup

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	active   map[string]int // authenticated connections per user
	peak     map[string]int
	counts   map[Stage]int
	faults   []*faultState
	msgs     []Message
	accepted map[string][]time.Time // per user, for RatePerMinute
	msgCh    chan struct{}          // closed and replaced on every new message and stage reached
	nextConn int
	closed   bool
}

// New starts a server on 127.0.0.1 with a free port.
func New(opts Options) (*Server, error) {
	ca, err := testca.NewOrFrom(opts.Certificate)
	if err != nil {
		return nil, fmt.Errorf("smtptest: %w", err)
	}
	if opts.AdvertisedSize <= 0 {
		opts.AdvertisedSize = DefaultAdvertisedSize
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	if opts.MaxConnsPerUser == 0 {
		opts.MaxConnsPerUser = DefaultMaxConnsPerUser
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	host := opts.Hostname
	if host == "" {
		host = "fake.outlook.office365.com"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtptest: listen: %w", err)
	}
	s := &Server{
		opts:     opts,
		ca:       ca,
		tlsConf:  ca.ServerTLSConfig(), // MinVersion TLS 1.2
		ln:       ln,
		hostname: host,
		done:     make(chan struct{}),
		conns:    make(map[net.Conn]struct{}),
		active:   make(map[string]int),
		peak:     make(map[string]int),
		counts:   make(map[Stage]int),
		accepted: make(map[string][]time.Time),
		msgCh:    make(chan struct{}),
	}
	for _, f := range opts.Faults {
		s.faults = append(s.faults, &faultState{Fault: f})
	}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Addr is the server's "127.0.0.1:port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host is the address clients dial and verify the certificate against
// ("127.0.0.1").
func (s *Server) Host() string { return s.ln.Addr().(*net.TCPAddr).IP.String() }

// Port is the listening port.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// CACertPEM is the PEM certificate of the CA clients must trust, for a
// profile's ca_file.
func (s *Server) CACertPEM() []byte { return append([]byte(nil), s.ca.CertPEM...) }

// RootCAs is a pool holding only that CA, for a client's RootCAs.
func (s *Server) RootCAs() *x509.CertPool { return s.ca.Pool.Clone() }

// ServerCertificate is the certificate (with its key and its chain, which
// ends with the CA's certificate) presented after STARTTLS: give it to
// another fake to have clients trust one CA for both.
func (s *Server) ServerCertificate() tls.Certificate { return s.ca.ServerCert }

// ClientTLSConfig is a client configuration that trusts the server's CA
// and verifies its certificate for Host (TLS 1.2 or later).
func (s *Server) ClientTLSConfig() *tls.Config {
	cfg := s.ca.ClientTLSConfig()
	cfg.ServerName = s.Host()
	return cfg
}

// AddFault injects one more fault.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{Fault: f})
}

// ClearFaults removes every fault, those of Options.Faults included.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Count reports how often the exchange has reached stage so far, over all
// connections (e.g. Count(StageGreeting) is the number of connections).
func (s *Server) Count(stage Stage) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[stage]
}

// PeakConns reports the most connections user had authenticated at once.
func (s *Server) PeakConns(user string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak[strings.ToLower(user)]
}

// Close stops the server, closes every connection (releasing stalls) and
// waits for the connection handlers to end.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	err := s.ln.Close()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.nextConn++
		id := s.nextConn
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			sess := newSession(s, c, id)
			sess.run()
			sess.close()
		}()
	}
}

// forget drops a closed connection (nil: none) from the bookkeeping, and
// one of user's authenticated connections ("": none).
func (s *Server) forget(c net.Conn, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if user != "" {
		s.active[user]--
	}
}

// track replaces the tracked connection after a STARTTLS upgrade.
func (s *Server) track(old, upgraded net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, old)
	s.conns[upgraded] = struct{}{}
	if s.closed {
		_ = upgraded.Close()
	}
}

// login admits user as authenticated unless it has too many connections.
func (s *Server) login(user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.MaxConnsPerUser > 0 && s.active[user] >= s.opts.MaxConnsPerUser {
		return false
	}
	s.active[user]++
	if s.active[user] > s.peak[user] {
		s.peak[user] = s.active[user]
	}
	return true
}

// mayUse reports whether user may send as from (the envelope sender or an
// address of the From header).
func (s *Server) mayUse(user, from string) bool {
	from = strings.ToLower(from)
	if from == user {
		return true
	}
	for u, addrs := range s.opts.SendAs {
		if strings.ToLower(u) != user {
			continue
		}
		for _, a := range addrs {
			if strings.ToLower(a) == from {
				return true
			}
		}
	}
	return false
}

// overRate reports whether user has used up RatePerMinute.
func (s *Server) overRate(user string) bool {
	if s.opts.RatePerMinute <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cut := s.opts.Now().Add(-time.Minute)
	times := s.accepted[user]
	for len(times) > 0 && !times[0].After(cut) {
		times = times[1:]
	}
	s.accepted[user] = times
	return len(times) >= s.opts.RatePerMinute
}

// stall blocks until the server closes or the client goes away.
func (s *Server) stall(c net.Conn) {
	gone := make(chan struct{})
	go func() {
		// A stalled server reads nothing; this only notices the client's
		// close (or the server's) and discards whatever arrives.
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				close(gone)
				return
			}
		}
	}()
	select {
	case <-s.done:
	case <-gone:
	}
}

// record stores an accepted message and wakes waiters.
func (s *Server) record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.Seq = len(s.msgs) + 1
	s.msgs = append(s.msgs, m)
	if s.opts.RatePerMinute > 0 {
		s.accepted[m.User] = append(s.accepted[m.User], s.opts.Now())
	}
	close(s.msgCh)
	s.msgCh = make(chan struct{})
}

// Messages returns a copy of every message accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitMessages waits until at least n messages have been accepted and
// returns them all, or returns ctx's error with those accepted so far.
func (s *Server) WaitMessages(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		if len(s.msgs) >= n {
			out := append([]Message(nil), s.msgs...)
			s.mu.Unlock()
			return out, nil
		}
		ch := s.msgCh
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return s.Messages(), fmt.Errorf("smtptest: waiting for %d messages: %w", n, ctx.Err())
		}
	}
}

// WaitCount waits until the exchange has reached stage at least n times
// (see Count), or returns ctx's error: a test can act while a client is at
// a known point, such as interrupting it once it has sent DATA.
func (s *Server) WaitCount(ctx context.Context, stage Stage, n int) error {
	for {
		s.mu.Lock()
		if s.counts[stage] >= n {
			s.mu.Unlock()
			return nil
		}
		ch := s.msgCh
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("smtptest: waiting for %s to be reached %d times: %w", stage, n, ctx.Err())
		}
	}
}
