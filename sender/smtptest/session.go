package smtptest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// maxRcpts is Exchange Online's recipients-per-message limit.
const maxRcpts = 500

// challengeJSON is what Gmail sends in its 334 challenge after a refused
// XOAUTH2 token.
const challengeJSON = `{"status":"401","schemes":"bearer","scope":"https://outlook.office.com/SMTP.Send"}`

type session struct {
	srv  *Server
	conn net.Conn
	id   int
	text *textproto.Conn

	tls     bool
	helo    bool
	user    string // authenticated user, lower case
	counted bool   // user counts against MaxConnsPerUser
	from    string
	rcpts   []string
	quit    bool
}

func newSession(s *Server, c net.Conn, id int) *session {
	return &session{srv: s, conn: c, id: id, text: textproto.NewConn(c)}
}

func (ss *session) close() {
	_ = ss.conn.Close()
	user := ""
	if ss.counted {
		user = ss.user
	}
	ss.srv.forget(ss.conn, user)
}

// send writes one reply line (or several, already joined by CRLF).
func (ss *session) send(format string, args ...any) {
	_ = ss.text.PrintfLine(format, args...)
}

// multi writes a multi-line reply with code.
func (ss *session) multi(code int, lines []string) {
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		_ = ss.text.PrintfLine("%d%s%s", code, sep, l)
	}
}

// fault applies f; it reports whether the normal reply must be skipped,
// and whether the session is over.
func (ss *session) fault(f *Fault) (handled, over bool) {
	if f == nil {
		return false, false
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-ss.srv.done:
			t.Stop()
			return true, true
		}
	}
	if f.Stall {
		ss.srv.stall(ss.conn)
		return true, true
	}
	if f.Reply != "" {
		ss.send("%s", f.Reply)
		handled = true
	}
	if f.Drop {
		return true, true
	}
	if handled && strings.HasPrefix(f.Reply, "421") {
		return true, true // 421 means the server closes the channel
	}
	return handled, false
}

func (ss *session) run() {
	if handled, over := ss.fault(ss.srv.hit(StageGreeting)); over {
		return
	} else if !handled {
		ss.send("220 %s Microsoft ESMTP MAIL Service ready at %s", ss.srv.hostname,
			time.Now().UTC().Format(time.RFC1123Z))
	}
	for !ss.quit {
		line, err := ss.text.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			if ss.ehlo(strings.ToUpper(verb), arg) {
				return
			}
		case "STARTTLS":
			if ss.startTLS() {
				return
			}
		case "AUTH":
			if ss.auth(arg) {
				return
			}
		case "MAIL":
			if ss.mail(arg) {
				return
			}
		case "RCPT":
			if ss.rcpt(arg) {
				return
			}
		case "DATA":
			if ss.data() {
				return
			}
		case "RSET":
			ss.from, ss.rcpts = "", nil
			ss.send("250 2.0.0 Resetting")
		case "NOOP":
			ss.send("250 2.0.0 OK")
		case "QUIT":
			// The user's connection stops counting before the 221: a
			// client that opens its next one on reading it is never seen
			// over its limit (PeakConns, MaxConnsPerUser).
			if ss.counted {
				ss.srv.forget(nil, ss.user)
				ss.counted = false
			}
			ss.send("221 2.0.0 Service closing transmission channel")
			return
		default:
			// CHUNKING/BDAT and BINARYMIME are not advertised, so BDAT
			// lands here like any unknown command.
			ss.send("500 5.3.3 Unrecognized command")
		}
	}
}

func (ss *session) ehlo(verb, arg string) bool {
	if handled, over := ss.fault(ss.srv.hit(StageEHLO)); over {
		return true
	} else if handled {
		return false
	}
	if strings.TrimSpace(arg) == "" {
		ss.send("501 5.5.4 Invalid domain name")
		return false
	}
	ss.helo = true
	ss.from, ss.rcpts = "", nil
	greet := fmt.Sprintf("%s Hello [%s]", ss.srv.hostname, remoteIP(ss.conn))
	if verb == "HELO" {
		ss.send("250 %s", greet)
		return false
	}
	lines := []string{greet, fmt.Sprintf("SIZE %d", ss.srv.opts.AdvertisedSize), "PIPELINING", "DSN", "ENHANCEDSTATUSCODES"}
	if !ss.tls && !ss.srv.opts.NoStartTLS {
		lines = append(lines, "STARTTLS")
	} else {
		lines = append(lines, "AUTH LOGIN XOAUTH2")
	}
	// Exchange also advertises BINARYMIME and CHUNKING; this fake does not
	// implement BDAT, so it does not advertise them.
	lines = append(lines, "8BITMIME", "SMTPUTF8")
	ss.multi(250, lines)
	return false
}

func remoteIP(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return c.RemoteAddr().String()
}

func (ss *session) startTLS() bool {
	if handled, over := ss.fault(ss.srv.hit(StageStartTLS)); over {
		return true
	} else if handled {
		return false
	}
	if ss.srv.opts.NoStartTLS {
		ss.send("500 5.3.3 Unrecognized command")
		return false
	}
	if ss.tls {
		ss.send("503 5.5.1 TLS already active")
		return false
	}
	ss.send("220 2.0.0 SMTP server ready")
	tc := tls.Server(ss.conn, ss.srv.tlsConf)
	ss.srv.track(ss.conn, tc)
	ss.conn = tc
	// A handshake below TLS 1.2 fails here (MinVersion) and the server
	// hangs up, as Exchange does.
	if err := tc.Handshake(); err != nil {
		return true
	}
	ss.text = textproto.NewConn(tc)
	ss.tls = true
	ss.helo = false
	ss.from, ss.rcpts = "", nil
	return false
}

// auth handles AUTH; it returns true when the session is over.
func (ss *session) auth(arg string) bool {
	mech, initial, _ := strings.Cut(arg, " ")
	mech = strings.ToUpper(mech)
	switch {
	case !ss.tls:
		ss.send("504 5.7.4 Unrecognized authentication type")
		return false
	case !ss.helo:
		ss.send("503 5.5.1 Send EHLO first")
		return false
	case ss.user != "":
		ss.send("503 5.5.2 Already authenticated")
		return false
	}
	switch mech {
	case "LOGIN":
		// Exchange still advertises LOGIN but Basic auth is retired.
		for _, prompt := range []string{"VXNlcm5hbWU6", "UGFzc3dvcmQ6"} {
			if initial != "" && prompt == "VXNlcm5hbWU6" {
				continue
			}
			ss.send("334 %s", prompt)
			if _, err := ss.text.ReadLine(); err != nil {
				return true
			}
		}
		ss.send("535 5.7.30 Basic authentication is not supported for Client Submission")
		return false
	case "XOAUTH2":
	default:
		ss.send("504 5.7.4 Unrecognized authentication type")
		return false
	}
	if initial == "" {
		ss.send("334 ")
		l, err := ss.text.ReadLine()
		if err != nil {
			return true
		}
		initial = l
	}
	if initial == "*" {
		ss.send("501 5.0.0 Authentication aborted")
		return false
	}
	user, token, ok := parseXOAuth2(initial)
	f := ss.srv.hit(StageAuth)
	if handled, over := ss.fault(f); over {
		return true
	} else if handled {
		return false
	}
	if ss.srv.opts.AuthReply != "" {
		ss.send("%s", ss.srv.opts.AuthReply)
		return false
	}
	if !ok {
		ss.send("501 5.5.124 Invalid XOAUTH2 auth data")
		return false
	}
	var verr error
	if v := ss.srv.opts.Verify; v != nil {
		verr = v(token, user)
	} else if token == "" {
		verr = fmt.Errorf("empty token")
	}
	if verr != nil {
		if ss.srv.opts.Challenge {
			challenge := base64.StdEncoding.EncodeToString([]byte(challengeJSON))
			if ss.srv.opts.ChallengeText != "" {
				challenge = ss.srv.opts.ChallengeText
			}
			ss.send("334 %s", challenge)
			if _, err := ss.text.ReadLine(); err != nil {
				return true
			}
		}
		ss.send("535 5.7.3 Authentication unsuccessful [%s]", ss.srv.hostname)
		return false
	}
	user = strings.ToLower(user)
	if !ss.srv.login(user) {
		ss.send("432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information. [Hostname=%s]", ss.srv.hostname)
		return false
	}
	ss.user, ss.counted = user, true
	ss.send("235 2.7.0 Authentication successful")
	return false
}

// parseXOAuth2 decodes "user=U\x01auth=Bearer T\x01\x01".
func parseXOAuth2(b64 string) (user, token string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", "", false
	}
	s := string(raw)
	if !strings.HasSuffix(s, "\x01\x01") {
		return "", "", false
	}
	var gotUser, gotAuth bool
	for _, kv := range strings.Split(strings.TrimSuffix(s, "\x01\x01"), "\x01") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "user":
			user, gotUser = v, true
		case "auth":
			t, found := strings.CutPrefix(v, "Bearer ")
			if !found {
				return "", "", false
			}
			token, gotAuth = t, true
		}
	}
	return user, token, gotUser && gotAuth && user != ""
}

// pathArg parses "FROM:<addr> PARAMS" (or TO:) into the address and params.
func pathArg(arg, prefix string) (addr string, params []string, ok bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", nil, false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", nil, false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", nil, false
	}
	return rest[1:end], strings.Fields(rest[end+1:]), true
}

func (ss *session) mail(arg string) bool {
	if ss.user == "" {
		ss.send("530 5.7.57 Client not authenticated to send mail. [%s]", ss.srv.hostname)
		return false
	}
	if ss.from != "" {
		ss.send("503 5.5.2 Sender already specified")
		return false
	}
	from, params, ok := pathArg(arg, "FROM:")
	if !ok {
		ss.send("501 5.5.4 Invalid arguments")
		return false
	}
	if handled, over := ss.fault(ss.srv.hit(StageMail)); over {
		return true
	} else if handled {
		return false
	}
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(k, "SIZE") {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > ss.srv.opts.MaxSize {
				ss.send("552 5.3.4 Message size exceeds fixed maximum message size")
				return false
			}
		}
	}
	if !ss.srv.mayUse(ss.user, from) {
		ss.send("550 5.7.60 SMTP; Client does not have permissions to send as this sender")
		return false
	}
	if ss.srv.overRate(ss.user) {
		ss.send("421 4.4.2 Message submission rate for this client has exceeded the configured limit")
		return true
	}
	ss.from = from
	ss.send("250 2.1.0 Sender OK")
	return false
}

func (ss *session) rcpt(arg string) bool {
	if ss.from == "" {
		ss.send("503 5.5.1 Need mail command")
		return false
	}
	to, _, ok := pathArg(arg, "TO:")
	if !ok || to == "" {
		ss.send("501 5.1.3 Invalid address")
		return false
	}
	if handled, over := ss.fault(ss.srv.hit(StageRcpt)); over {
		return true
	} else if handled {
		return false
	}
	if len(ss.rcpts) >= maxRcpts {
		// Exchange Online's reply to the 501st RCPT (docs/microsoft.md).
		ss.send("452 4.5.3 Too many recipients (AS780090) [%s]", ss.srv.hostname)
		return false
	}
	ss.rcpts = append(ss.rcpts, to)
	ss.send("250 2.1.5 Recipient OK")
	return false
}

// data receives a message; it returns true when the session is over.
func (ss *session) data() bool {
	if len(ss.rcpts) == 0 {
		ss.send("503 5.5.1 Need rcpt command")
		return false
	}
	if handled, over := ss.fault(ss.srv.hit(StageData)); over {
		return true
	} else if handled {
		return false
	}
	ss.send("354 Start mail input; end with <CRLF>.<CRLF>")

	body := ss.srv.hit(StageBody)
	var buf, header bytes.Buffer
	var size int64
	inHeader := true
	r := ss.text.R
	first := true
	for {
		line, err := readLine(r)
		if err != nil {
			return true
		}
		if bytes.Equal(line, []byte(".\r\n")) {
			break
		}
		if len(line) > 0 && line[0] == '.' {
			line = line[1:]
		}
		if inHeader {
			if len(bytes.TrimRight(line, "\r\n")) == 0 || header.Len()+len(line) > maxHeaderBytes {
				inHeader = false
			} else {
				header.Write(line)
			}
		}
		size += int64(len(line))
		if !ss.srv.opts.DiscardData && size <= ss.srv.opts.MaxSize {
			buf.Write(line)
		}
		if first && body != nil {
			first = false
			if body.Drop {
				return true
			}
			if body.Stall {
				ss.srv.stall(ss.conn)
				return true
			}
		}
	}
	from, rcpts := ss.from, ss.rcpts
	ss.from, ss.rcpts = "", nil

	end := ss.srv.hit(StageEndOfData)
	if body != nil && body.Reply != "" && end == nil {
		end = &Fault{Reply: body.Reply}
	}
	acceptThenDrop := end != nil && end.AcceptThenDrop
	if end != nil && !acceptThenDrop {
		if end.Drop && end.Reply == "" {
			return true
		}
		if handled, over := ss.fault(end); over || handled {
			return over
		}
	}
	if size > ss.srv.opts.MaxSize {
		ss.send("552 5.3.4 Message size exceeds fixed maximum message size")
		return false
	}
	for _, a := range headerFrom(header.Bytes()) {
		if !ss.srv.mayUse(ss.user, a) {
			ss.send("554 5.2.252 SendAsDenied; %s not allowed to send as %s; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied",
				ss.user, strings.ToLower(a))
			return false
		}
	}
	m := Message{Conn: ss.id, User: ss.user, From: from, To: rcpts, Size: size}
	if !ss.srv.opts.DiscardData {
		m.Data = buf.Bytes()
	}
	ss.srv.record(m)
	if acceptThenDrop {
		return true
	}
	ss.send("250 2.0.0 OK <%d@%s> [Hostname=%s]", ss.id, ss.srv.hostname, ss.srv.hostname)
	return false
}

// maxHeaderBytes bounds the header section kept for the From check.
const maxHeaderBytes = 1 << 20

// headerFrom returns the addresses of the From header field, or none when
// there is no From field or it cannot be parsed (Exchange fills in or
// rewrites such a From; this fake then does not check it).
func headerFrom(header []byte) []string {
	m, err := mail.ReadMessage(io.MultiReader(bytes.NewReader(header), strings.NewReader("\r\n")))
	if err != nil {
		return nil
	}
	list, err := m.Header.AddressList("From")
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		out = append(out, a.Address)
	}
	return out
}

// readLine reads one line including its line ending, however long.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == nil {
		return line, nil
	}
	if err != bufio.ErrBufferFull {
		return nil, err
	}
	out := append([]byte(nil), line...)
	for {
		more, err := r.ReadSlice('\n')
		out = append(out, more...)
		if err == nil {
			return out, nil
		}
		if err != bufio.ErrBufferFull {
			return nil, err
		}
	}
}
