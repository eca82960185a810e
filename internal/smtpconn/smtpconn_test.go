package smtpconn

import (
	"errors"
	"strings"
	"testing"

	"github.com/wneessen/go-mail/smtp"
)

// TestReplyConnCountsRepliesNotCommands checks how ReplyConn follows
// replies in the byte stream: the bounds are per reply.
func TestReplyConnCountsRepliesNotCommands(t *testing.T) {
	var rc ReplyConn
	var b strings.Builder
	for range 200 { // 200 one-line replies: each ends, none is too long
		b.WriteString("250 OK\r\n")
	}
	if err := rc.scan([]byte(b.String())); err != nil {
		t.Fatalf("200 short replies: %v", err)
	}
	if err := rc.scan([]byte(strings.Repeat("250-x\r\n", MaxReplyLines))); !errors.Is(err, ErrReplyTooLong) {
		t.Errorf("%d continuation lines: %v, want ErrReplyTooLong", MaxReplyLines, err)
	}
	rc = ReplyConn{}
	if err := rc.scan([]byte("2")); err != nil {
		t.Fatal(err)
	}
	if err := rc.scan([]byte("50-split head\r\n250 end\r\n")); err != nil || rc.lines != 0 {
		t.Errorf("split first line: err %v, lines %d; want the reply ended", err, rc.lines)
	}
}

func TestXOAuth2RefusesPlainConnection(t *testing.T) {
	a := &XOAuth2{inner: nil}
	if _, _, err := a.Start(&smtp.ServerInfo{Name: "h", TLS: false, Auth: []string{"XOAUTH2"}}); !errors.Is(err, ErrNotEncrypted) {
		t.Errorf("Start without TLS = %v", err)
	}
	if _, _, err := a.Start(&smtp.ServerInfo{Name: "h", TLS: true, Auth: []string{"LOGIN", "PLAIN"}}); !errors.Is(err, ErrNoXOAuth2) {
		t.Errorf("Start without XOAUTH2 offered = %v", err)
	}
}
