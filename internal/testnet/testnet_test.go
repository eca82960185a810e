package testnet

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
)

func TestRefusingPortRefusesAndStaysReserved(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", RefusingPort(t))
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatalf("dial %s succeeded, want connection refused", addr)
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial %s: %v, want connection refused", addr, err)
	}
	// Another server must not be able to take the port meanwhile.
	if l, err := net.Listen("tcp", addr); err == nil {
		l.Close()
		t.Fatalf("listen on %s succeeded: the port is not reserved", addr)
	}
}
