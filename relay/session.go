package relay

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/relay/fromheader"
)

// The relay's event messages: it logs exactly one record with one of them
// per event (at Info), which package internal/metrics counts
// (docs/relay.md).
const (
	// EventAccepted: a message was queued and answered 250.
	EventAccepted = "relay: accepted"
	// EventRefused: a command or connection was refused; the record's
	// "code" is the reply ("535 5.7.8").
	EventRefused = "relay: refused"
)

// session is one SMTP connection's state.
type session struct {
	s       *Server
	l       *Listener
	remote  string     // client address, for logs
	addr    netip.Addr // client IP
	tls     bool
	network *Network // the configured network the client is in, or nil
	user    *user    // after AUTH
	conn    *countedConn

	// The transaction.
	from    string // envelope sender, after rewrite_from
	profile string
	rewrite bool
	to      []string
}

func (s *Server) newSession(c *smtp.Conn, l *Listener) *session {
	_, isTLS := c.TLSConnectionState()
	ss := &session{
		s:      s,
		l:      l,
		remote: c.Conn().RemoteAddr().String(),
		addr:   addrOf(c.Conn().RemoteAddr()),
		tls:    isTLS,
		conn:   connOf(c.Conn()),
	}
	if ss.conn != nil {
		ss.conn.setTop(c.Conn())
	}
	ss.network = s.network(ss.addr)
	return ss
}

// refuse logs a refusal and returns it as the SMTP reply.
func (ss *session) refuse(code int, enh smtp.EnhancedCode, reason string, attrs ...any) error {
	name := ""
	if ss.user != nil {
		name = ss.user.Name
	}
	args := append([]any{"client", ss.remote, "user", name, "code", fmt.Sprintf("%d %d.%d.%d", code, enh[0], enh[1], enh[2]), "reason", reason}, attrs...)
	ss.s.log.Info(EventRefused, args...)
	return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: reason}
}

// plaintextAuth reports whether the client may use AUTH without TLS on
// this listener: it is in a network the listener names.
func (ss *session) plaintextAuth() bool {
	if ss.network == nil {
		return false
	}
	for _, n := range ss.l.AllowPlaintextAuth {
		if n == ss.network.Name {
			return true
		}
	}
	return false
}

// AuthMechanisms offers PLAIN and LOGIN inside TLS (or to a network
// allowed plaintext), nothing otherwise.
func (ss *session) AuthMechanisms() []string {
	if len(ss.s.acc.Load().users) == 0 || !(ss.tls || ss.plaintextAuth()) {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

// Auth starts a SASL exchange.
func (ss *session) Auth(mech string) (sasl.Server, error) {
	if !ss.tls && !ss.plaintextAuth() {
		// RFC 4954 section 6: 538 5.7.11 Encryption required.
		return nil, ss.refuse(538, smtp.EnhancedCode{5, 7, 11}, "Encryption required: say STARTTLS first, then AUTH", "mechanism", mech)
	}
	if len(ss.s.acc.Load().users) == 0 {
		return nil, ss.refuse(502, smtp.EnhancedCode{5, 7, 0}, "Authentication not offered here", "mechanism", mech)
	}
	switch strings.ToUpper(mech) {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return ss.refuse(535, smtp.EnhancedCode{5, 7, 8}, "Authentication failed: authorization identity differs from the user", "name", username)
			}
			return ss.login(username, password)
		}), nil
	case sasl.Login:
		return &loginServer{auth: ss.login}, nil
	}
	return nil, ss.refuse(504, smtp.EnhancedCode{5, 5, 4}, "Unsupported authentication mechanism: use PLAIN or LOGIN", "mechanism", mech)
}

func (ss *session) login(name, password string) error {
	u := ss.s.authenticate(name, password)
	if u == nil {
		// The same reply for an unknown user and a wrong password.
		return ss.refuse(535, smtp.EnhancedCode{5, 7, 8}, "Authentication failed: wrong user name or password", "name", safeName(name))
	}
	ss.user = u
	ss.s.log.Info("relay: authenticated", "client", ss.remote, "user", u.Name)
	return nil
}

// safeName keeps a name the client gave fit for a log line.
func safeName(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// grant returns what the client may send as, or nil, by the users and
// networks as they are now (Reload may have changed them).
func (ss *session) grant() *Grant {
	if ss.user != nil {
		u := ss.s.acc.Load().users[ss.user.Name]
		if u == nil || u.PasswordHash != ss.user.PasswordHash {
			ss.s.log.Info("relay: authentication withdrawn by a reload", "client", ss.remote, "user", ss.user.Name)
			u = nil
		}
		ss.user = u
	}
	ss.network = ss.s.network(ss.addr)
	if ss.user != nil {
		return &ss.user.Grant
	}
	if ss.network != nil {
		return &ss.network.Grant
	}
	return nil
}

// Mail chooses the profile from the envelope sender, or refuses it.
func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	ss.Reset()
	if ss.s.draining.Load() {
		return ss.refuse(421, smtp.EnhancedCode{4, 3, 2}, ss.s.cfg.Hostname+" shutting down")
	}
	err := ss.mail(from)
	if err == nil {
		ss.setBusy(true)
	}
	return err
}

// setBusy tells the connection whether a transaction is in progress.
func (ss *session) setBusy(b bool) {
	if ss.conn != nil {
		ss.conn.setBusy(b)
	}
}

func (ss *session) mail(from string) error {
	g := ss.grant()
	if g == nil {
		// 530 5.7.0 (RFC 4954 section 6): the client may authenticate;
		// it is not in a network that may send without.
		why := "Authentication required"
		if !ss.tls && !ss.plaintextAuth() {
			why += ": say STARTTLS, then AUTH"
		}
		return ss.refuse(530, smtp.EnhancedCode{5, 7, 0}, why, "from", safeName(from))
	}
	if g.RewriteFrom != "" {
		mb := ss.s.mailboxes[g.RewriteFrom]
		if mb == "" {
			return ss.refuse(451, smtp.EnhancedCode{4, 3, 5}, "Relay misconfigured: the profile has no mailbox", "profile", g.RewriteFrom)
		}
		ss.from, ss.profile, ss.rewrite = mb, g.RewriteFrom, true
		return nil
	}
	if from == "" {
		return ss.refuse(550, smtp.EnhancedCode{5, 7, 1}, "The null sender <> may not be used here", "from", "")
	}
	for _, p := range g.Profiles {
		if mb := ss.s.mailboxes[p]; mb != "" && strings.EqualFold(mb, from) {
			ss.from, ss.profile = from, p
			return nil
		}
	}
	_, domain, _ := strings.Cut(from, "@")
	for _, a := range g.Senders {
		if strings.EqualFold(a, from) || (strings.HasPrefix(a, "@") && strings.EqualFold(a[1:], domain)) {
			ss.from, ss.profile = from, g.Profiles[0]
			return nil
		}
	}
	who := "this client"
	if ss.user != nil {
		who = "user " + ss.user.Name
	} else if ss.network != nil {
		who = "network " + ss.network.Name
	}
	return ss.refuse(550, smtp.EnhancedCode{5, 7, 1}, fmt.Sprintf("Sender <%s> not allowed: %s may send only as its profiles' mailboxes and listed senders", safeName(from), who), "from", safeName(from))
}

// Rcpt adds a recipient, up to MaxRecipients.
func (ss *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	if len(ss.to) >= ss.s.cfg.MaxRecipients {
		// RFC 5321 section 4.5.3.1.10: 452 for too many recipients; the
		// client sends the rest in another transaction.
		return ss.refuse(452, smtp.EnhancedCode{4, 5, 3}, fmt.Sprintf("Too many recipients: at most %d a message", ss.s.cfg.MaxRecipients), "from", ss.from)
	}
	if to == "" {
		return ss.refuse(501, smtp.EnhancedCode{5, 1, 3}, "Empty recipient address")
	}
	ss.to = append(ss.to, to)
	return nil
}

// Data queues the message and returns only when it is durable.
func (ss *session) Data(r io.Reader) error {
	defer ss.setBusy(false)
	if len(ss.to) == 0 || ss.profile == "" {
		return ss.refuse(503, smtp.EnhancedCode{5, 5, 1}, "Bad sequence of commands")
	}
	if ss.rewrite {
		r = fromheader.Rewrite(r, ss.from)
	}
	name := ""
	if ss.user != nil {
		name = ss.user.Name
	} else if ss.network != nil {
		name = "network " + ss.network.Name
	}
	env := queue.Envelope{From: ss.from, To: append([]string(nil), ss.to...), Profile: ss.profile, Source: strings.TrimSpace(ss.remote + " " + name)}
	id, err := ss.s.q.Enqueue(ss.s.ctx, env, r)
	if err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			if se == smtp.ErrDataTooLarge {
				return ss.refuse(552, smtp.EnhancedCode{5, 3, 4}, fmt.Sprintf("Message too big: at most %d bytes", ss.s.cfg.MaxSize), "from", ss.from)
			}
			return ss.refuse(se.Code, se.EnhancedCode, se.Message, "from", ss.from)
		}
		if errors.Is(err, smtp.ErrTooLongLine) { // permanent: the same message fails again
			return ss.refuse(554, smtp.EnhancedCode{5, 6, 0}, "Message not queued: a line is too long (RFC 5321 section 4.5.3.1.6 allows 1000 characters)", "from", ss.from)
		}
		ss.s.log.Error("relay: queue failed", "client", ss.remote, "user", name, "from", ss.from, "err", err)
		return ss.refuse(451, smtp.EnhancedCode{4, 3, 0}, "Message not queued: local problem, try again later", "from", ss.from)
	}
	if ss.s.accepted != nil {
		ss.s.accepted(id)
	}
	ss.s.log.Info(EventAccepted, "client", ss.remote, "user", name, "id", string(id), "from", ss.from, "profile", ss.profile, "recipients", len(ss.to))
	return nil
}

// Reset ends the transaction.
func (ss *session) Reset() {
	ss.from, ss.profile, ss.rewrite, ss.to = "", "", false, nil
	ss.setBusy(false)
}

// Logout ends the session (at the end of the connection, or at STARTTLS).
func (ss *session) Logout() error {
	ss.setBusy(false)
	if ss.conn != nil {
		ss.conn.setTop(nil)
	}
	return nil
}

// loginServer is the server side of the LOGIN mechanism
// (draft-murchison-sasl-login), which go-sasl does not provide.
type loginServer struct {
	auth func(name, password string) error
	name string
	step int
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step = 1
		if response == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough // initial response: the user name
	case 1:
		l.name = string(response)
		l.step = 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.auth(l.name, string(response))
	}
	return nil, true, errors.New("unexpected response")
}
