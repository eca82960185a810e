// Package smtpconn is the SMTP connection under package sender: a
// session driven step by step with go-mail's smtp.Client (Dialer.Dial:
// the greeting, EHLO and STARTTLS; Conn.Auth; Conn.Send, one
// transaction), whose errors name their step, and the wire under it: the
// connection that bounds every read and write in time (DeadlineConn), the
// one that bounds the server's replies in size before go-mail's reader
// buffers them (ReplyConn), the STARTTLS-injection check, the XOAUTH2
// mechanism that refuses a plain connection, and the protocol trace that
// redacts the token wherever it appears. Package sender owns the policy
// (tokens, retries, pacing, which error and which hint); this package owns
// the session and the bytes.
package smtpconn

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"time"
)

// DeadlineConn bounds every read and write of the connection.
//
// A write (a command, a piece of the message text) gets CommandTimeout
// from its start, so a long DATA is not cut off while it progresses; the
// reply to a command must then arrive in full within CommandTimeout of
// the command being sent: reads do not move that deadline, so a server
// that dribbles a reply one byte at a time cannot hold a read for longer.
// The reply to the final dot gets FinalDotTimeout instead (FinalDot).
// Every deadline is also capped by until, the end of the current
// message's SendTimeout, except the wait for the final-dot reply, which
// RFC 5321 lets last 10 minutes whatever came before. The connection is
// unblocked at once when the context of the Send ends (context.AfterFunc
// in Dialer.Dial).
type DeadlineConn struct {
	net.Conn
	Idle     time.Duration // CommandTimeout
	FinalDot time.Duration // when set, the reply wait after the next writes
	Until    time.Time     // the current message's SendTimeout ends; zero: none
	Ctx      context.Context
}

// Read reads unless the context has ended.
func (c *DeadlineConn) Read(b []byte) (int, error) {
	if err := c.Ctx.Err(); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

// Write sets the write deadline and the deadline for the reply, then
// writes.
func (c *DeadlineConn) Write(b []byte) (int, error) {
	if err := c.Ctx.Err(); err != nil {
		return 0, err
	}
	now := time.Now()
	_ = c.Conn.SetWriteDeadline(c.cap(now.Add(c.Idle)))
	reply := c.cap(now.Add(c.Idle))
	if c.FinalDot > 0 {
		reply = now.Add(c.FinalDot)
	}
	_ = c.Conn.SetReadDeadline(reply)
	return c.Conn.Write(b)
}

// ExpectReply starts the wait for a reply no command asked for (the
// greeting).
func (c *DeadlineConn) ExpectReply() {
	_ = c.Conn.SetReadDeadline(c.cap(time.Now().Add(c.Idle)))
}

// cap limits t to until.
func (c *DeadlineConn) cap(t time.Time) time.Time {
	if !c.Until.IsZero() && c.Until.Before(t) {
		return c.Until
	}
	return t
}

// Reply limits. RFC 5321 section 4.5.3.1.5 allows a reply line of 512
// octets; real servers send longer ones (Exchange's 250 after the final
// dot carries an internal message ID), so a line may be 8 times that. A
// whole reply (an EHLO reply is the longest in practice, about ten lines)
// may have at most MaxReplyLines lines and MaxReplyBytes bytes. Past
// either, the connection is given up: it is a broken or hostile server,
// and reading on would let it fill the memory.
const (
	MaxReplyLine  = 4096
	MaxReplyLines = 100
	MaxReplyBytes = 64 << 10
)

// ErrReplyTooLong reports a server reply over the limits above.
var ErrReplyTooLong = errors.New("the server sent a reply longer than any SMTP server sends (over 4 KB in one line, 100 lines or 64 KB)")

// ReplyConn sits between go-mail's reader and the connection (the TCP
// connection before STARTTLS, the TLS connection after it) and enforces
// the reply limits as the bytes arrive, before textproto can buffer them:
// textproto reads a line, and the lines of a multi-line reply, without
// any bound. It follows the replies in the server's byte stream (in SMTP
// the server sends nothing but replies, and a reply ends with a line
// whose fourth character is not '-').
//
// Once a read has failed (a timeout, a dropped connection, a reply over
// the limits), every later read and write fails with the same error at
// once: an SMTP session cannot resume after a lost reply, and go-mail's
// fallback from EHLO to HELO must not wait a second time on a server that
// did not answer EHLO (it still falls back after a 5xx reply to EHLO).
type ReplyConn struct {
	net.Conn
	Prefix []byte // served before the connection's own bytes
	err    error  // sticky read failure (Err)

	lineLen int     // bytes of the current line so far
	head    [4]byte // its first bytes: code and separator
	lines   int     // complete lines of the current reply
	// lastClass is the first digit of the last complete reply.
	lastClass byte
	replyLen  int // bytes of the current reply so far
}

// Read serves Prefix, then the connection, checking the reply limits.
func (c *ReplyConn) Read(b []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(c.Prefix) > 0 {
		n := copy(b, c.Prefix)
		c.Prefix = c.Prefix[n:]
		return n, nil
	}
	n, err := c.Conn.Read(b)
	if lerr := c.scan(b[:n]); lerr != nil {
		c.err = lerr
		return 0, lerr
	}
	if err != nil {
		c.err = err
	}
	return n, err
}

// Write refuses after a failed read, and refuses HELO after an EHLO that
// was not refused with a 5xx reply.
func (c *ReplyConn) Write(b []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	// go-mail falls back to HELO after any failed EHLO; RFC 5321 section
	// 3.2 means it for a server that does not know EHLO, which says so
	// with a 5xx reply. After a 4xx (or 421) the server is busy or
	// closing: HELO would only wait again.
	if len(b) >= 5 && strings.EqualFold(string(b[:5]), "HELO ") && c.lastClass != '5' {
		return 0, ErrNoHELO
	}
	return c.Conn.Write(b)
}

// ErrNoHELO stops the HELO fallback after an EHLO that was not refused
// with a 5xx reply; the EHLO reply is what go-mail then reports.
var ErrNoHELO = errors.New("no HELO: the server did not refuse EHLO as unknown")

// scan follows the replies in b and reports a reply over the limits.
func (c *ReplyConn) scan(b []byte) error {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		chunk := b
		if i >= 0 {
			chunk = b[:i+1]
		}
		if c.lineLen < len(c.head) {
			copy(c.head[c.lineLen:], chunk)
		}
		c.lineLen += len(chunk)
		c.replyLen += len(chunk)
		if c.lineLen > MaxReplyLine || c.replyLen > MaxReplyBytes {
			return ErrReplyTooLong
		}
		b = b[len(chunk):]
		if i < 0 {
			break
		}
		last := c.lineLen < 4 || c.head[3] != '-'
		class := c.head[0]
		c.lines++
		c.lineLen, c.head = 0, [4]byte{}
		if last {
			c.lines, c.replyLen = 0, 0
			c.lastClass = class
		} else if c.lines >= MaxReplyLines {
			return ErrReplyTooLong
		}
	}
	return nil
}

// Err is the read failure that ended the connection, or nil.
func (c *ReplyConn) Err() error { return c.err }

// LocalName is the EHLO name: the host name when it looks like one. New
// computes it once per Sender (package sender).
func LocalName() string {
	h, err := os.Hostname()
	if err != nil || h == "" || strings.ContainsAny(h, " \r\n") {
		return "localhost"
	}
	return h
}

// ErrInjected reports plaintext sent with the reply to STARTTLS.
var ErrInjected = errors.New("the server sent more than its reply to STARTTLS before the TLS handshake (possible command injection)")
