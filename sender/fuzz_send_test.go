package sender

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/smtpconn"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/testca"
)

// The fuzzed server's script: the input split at NUL bytes into replies.
// The server sends the first at once (the greeting) and the next one
// after each line the client sends. A reply is sent as it is (no CRLF
// added), except:
//
//   - "\x01" n rest: rest sent (n+1)·1024 times, a flood;
//   - "\x02" rest: rest, then the client's last line, then CRLF (a server
//     that echoes what it got, the AUTH line included);
//   - a reply starting "220" right after the client's STARTTLS: sent,
//     then the TLS handshake (trusting the test CA), so that scripts can
//     reach AUTH and the message.
//
// The server closes the connection when the script runs out. Every
// connection (a retry makes a new one) plays the script from its start.
const (
	fuzzSep   = "\x00"
	fuzzFlood = '\x01'
	fuzzEcho  = '\x02'
)

// fuzzToken is the access token the sender under fuzzing uses.
const fuzzToken = "fuzz-token-0123456789-SECRET"

// fuzzServer plays a script on loopback.
type fuzzServer struct {
	ca     *testca.CA
	ln     net.Listener
	script [][]byte
	wg     sync.WaitGroup

	mu        sync.Mutex
	authPlain []string // AUTH lines received before TLS
}

func startFuzzServer(t *testing.T, ca *testca.CA, script [][]byte) *fuzzServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := &fuzzServer{ca: ca, ln: ln, script: script}
	fs.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fs.wg.Go(func() { fs.serve(c) })
		}
	})
	return fs
}

func (fs *fuzzServer) close() {
	_ = fs.ln.Close()
	fs.wg.Wait()
}

func (fs *fuzzServer) serve(c net.Conn) {
	defer func() { _ = c.Close() }()
	r := bufio.NewReader(c)
	secure := false
	last := ""
	for i, reply := range fs.script {
		if i > 0 {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			last = strings.TrimRight(l, "\r\n")
			if !secure && strings.HasPrefix(strings.ToUpper(last), "AUTH") {
				fs.mu.Lock()
				fs.authPlain = append(fs.authPlain, last)
				fs.mu.Unlock()
			}
		}
		var err error
		switch {
		case len(reply) >= 2 && reply[0] == fuzzFlood:
			n := (int(reply[1]) + 1) * 1024
			for j := 0; j < n && err == nil; j++ {
				_, err = c.Write(reply[2:])
			}
		case len(reply) >= 1 && reply[0] == fuzzEcho:
			_, err = c.Write(append(append(append([]byte(nil), reply[1:]...), last...), '\r', '\n'))
		default:
			_, err = c.Write(reply)
		}
		if err != nil {
			return
		}
		if !secure && strings.EqualFold(last, "STARTTLS") && bytes.HasPrefix(reply, []byte("220")) {
			tc := tls.Server(c, fs.ca.ServerTLSConfig())
			_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
			if tc.Handshake() != nil {
				return
			}
			_ = tc.SetDeadline(time.Time{})
			c, r, secure = tc, bufio.NewReader(tc), true
		}
	}
}

// fuzzSeeds are scripts from real exchanges: Office 365's, and broken
// variants of it.
func fuzzSeeds() []string {
	ehlo1 := "250-fake.outlook.office365.com Hello [127.0.0.1]\r\n250-SIZE 157286400\r\n250-PIPELINING\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
	ehlo2 := "250-fake.outlook.office365.com Hello [127.0.0.1]\r\n250-SIZE 157286400\r\n250-PIPELINING\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250-AUTH LOGIN XOAUTH2\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
	ok := []string{
		"220 fake.outlook.office365.com Microsoft ESMTP MAIL Service ready\r\n",
		ehlo1,
		"220 2.0.0 SMTP server ready\r\n",
		ehlo2,
		"235 2.7.0 Authentication successful\r\n",
		"250 2.1.0 Sender OK\r\n",
		"250 2.1.5 Recipient OK\r\n",
		"354 Start mail input; end with <CRLF>.<CRLF>\r\n",
	}
	join := func(parts ...string) string { return strings.Join(parts, fuzzSep) }
	// After 354 the client sends the whole message before the next line
	// is read; the server reads one line of it per reply, so the 250 to
	// the final dot is not what a script can express, and the scripts end
	// with the connection dropped after the message starts.
	return []string{
		join(ok...),
		join(ok[:5]...) + fuzzSep + "535 5.7.3 Authentication unsuccessful [fake]\r\n",
		join(ok[:4]...) + fuzzSep + "\x02535 5.7.3 echo: ",
		join(ok[:3]...) + fuzzSep + "\x01\xff250-FLOOD\r\n",
		"\x01\xff220 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		join(ok[0], "250-x\r\n250 AUTH XOAUTH2\r\n", "235 ok\r\n"),
		join(ok[0], "502 5.5.2 no EHLO\r\n", "250 helo\r\n"),
		join(ok[0], ehlo1, "454 4.7.0 TLS not available\r\n"),
		join(ok[0], ehlo1, "220 go\r\n250-injected\r\n"),
		join(ok[:4]...) + fuzzSep + "334 \r\n" + fuzzSep + "535 5.7.3 no\r\n",
		join(ok[:4]...) + fuzzSep + "334 not-base64!\r\n" + fuzzSep + "535 5.7.3 no\r\n",
		join(ok[:5]...) + fuzzSep + "550 5.7.60 SMTP; Client does not have permissions to send as this sender\r\n",
		join(ok[:6]...) + fuzzSep + "452 4.5.3 Too many recipients\r\n",
		join(ok[:5]...) + fuzzSep + "421 4.3.2 Service not available\r\n",
		"220-multi\r\n220 greeting\r\n" + fuzzSep + "250 \r\n",
		"220 0\r0\r\n" + fuzzSep + "612 \"0\r0\"\r\n",
	}
}

// FuzzSendAgainstFuzzedServer runs Send against a server whose replies
// come from the input (see fuzzSep). Properties: Send returns, within its
// deadline; AUTH is never sent before TLS; the token appears in no error,
// hint, trace or log line; the memory Send allocates stays bounded.
func FuzzSendAgainstFuzzedServer(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	ca, err := testca.New()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		script := bytes.Split(in, []byte(fuzzSep))
		if len(script) > 64 {
			script = script[:64]
		}
		fs := startFuzzServer(t, ca, script)

		var trace, logs bytes.Buffer
		var logMu sync.Mutex
		s, err := New(Config{
			Tokens:          &tokens{current: fuzzToken},
			Mailbox:         testMailbox,
			Host:            "127.0.0.1",
			Port:            fs.ln.Addr().(*net.TCPAddr).Port,
			RootCAs:         ca.Pool,
			RatePerMinute:   -1,
			MaxAttempts:     2,
			CommandTimeout:  500 * time.Millisecond,
			FinalDotTimeout: 500 * time.Millisecond,
			SendTimeout:     time.Second,
			Trace:           &lockedWriter{mu: &logMu, w: &trace},
			Logger:          slog.New(slog.NewTextHandler(&lockedWriter{mu: &logMu, w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		})
		if err != nil {
			t.Fatal(err)
		}
		s.sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }

		done := make(chan struct{})
		var sendErr error
		var alloc uint64
		go func() {
			defer close(done)
			alloc = allocated(func() {
				_, sendErr = s.Send(context.Background(), &Message{To: []string{"ops@example.com"}, Subject: "fuzz", Text: "hello"})
			})
		}()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("Send did not return within 15 s (its deadline is 1 s + 0.5 s):\n%s", buf[:n])
		}
		fs.close()

		fs.mu.Lock()
		plain := fs.authPlain
		fs.mu.Unlock()
		if len(plain) > 0 {
			t.Errorf("AUTH sent before TLS: %q", plain)
		}
		if alloc > memoryBound {
			t.Errorf("Send allocated %d MB", alloc>>20)
		}
		logMu.Lock()
		outputs := map[string]string{"trace": trace.String(), "log": logs.String()}
		logMu.Unlock()
		if sendErr != nil {
			outputs["error"] = sendErr.Error()
			outputs["hint"] = failure.HintOf(sendErr)
		}
		for what, text := range outputs {
			for _, secret := range smtpconn.XOAuth2Secrets(testMailbox, fuzzToken) {
				if strings.Contains(text, secret) {
					t.Errorf("the token appears in the %s: %q", what, text)
				}
			}
		}
	})
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
