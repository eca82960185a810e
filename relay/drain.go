package relay

import (
	"crypto/tls"
	"io"
	"net"
	"time"
)

// How Shutdown treats each session (the behaviour of Postfix and of
// go-smtp's own servers): a session waiting for its next command with no
// transaction begun is told "421 4.3.2 <host> shutting down" and closed
// at once; a session in a transaction (after MAIL FROM, up to the end of
// DATA) may finish it, its message is queued and acknowledged, and it is
// told 421 and closed when it next waits for a command. A new MAIL FROM
// while shutting down is refused with the same 421 (RFC 5321 section
// 3.8: the server may close with 421 at any time).

// byeTimeout bounds writing the 421 to a client that does not read.
const byeTimeout = 2 * time.Second

// drain marks the server shutting down and closes the sessions that wait
// for a command with no transaction in progress.
func (s *Server) drain() {
	s.draining.Store(true)
	for _, c := range s.liveConns() {
		c.mu.Lock()
		if c.waiting && !c.busy {
			// The session's goroutine is blocked in Read and takes c.mu
			// when the read returns: it writes nothing before we close.
			c.bye()
		}
		c.mu.Unlock()
	}
}

// Read notes that the session waits for the client; when the server is
// shutting down and no transaction is in progress, it says 421 and closes
// instead (a session that just finished DATA has had its 250 written by
// then).
func (c *countedConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.s.draining.Load() && !c.busy {
		c.bye()
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	c.waiting = true
	c.mu.Unlock()
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.waiting = false
	c.mu.Unlock()
	return n, err
}

// bye writes the 421 where the session's replies go, if that is known,
// and closes the connection. The caller holds c.mu.
func (c *countedConn) bye() {
	if c.top != nil {
		c.top.SetWriteDeadline(time.Now().Add(byeTimeout))
		io.WriteString(c.top, "421 4.3.2 "+c.s.cfg.Hostname+" shutting down\r\n")
	}
	c.Close()
}

// setBusy records whether a transaction is in progress.
func (c *countedConn) setBusy(b bool) {
	c.mu.Lock()
	c.busy = b
	c.mu.Unlock()
}

// setTop records where the session's replies go: the connection go-smtp
// gives a new session (made at EHLO, so after any TLS handshake), or nil
// when the session ends (at STARTTLS the next one is under TLS; until
// its EHLO a shutdown closes without a 421 rather than write plaintext
// into TLS).
func (c *countedConn) setTop(t net.Conn) {
	c.mu.Lock()
	c.top = t
	c.mu.Unlock()
}

// connOf returns the countedConn under nc (a TLS connection or the
// countedConn itself), or nil.
func connOf(nc net.Conn) *countedConn {
	if t, ok := nc.(*tls.Conn); ok {
		nc = t.NetConn()
	}
	c, _ := nc.(*countedConn)
	return c
}
