//go:build unix

package main

import (
	"io"
	"net"
	"net/textproto"
	"testing"
)

// TestRelaySIGTERMClosesAnIdleDevice: a device that said EHLO and sends
// nothing does not hold up SIGTERM. The grace for transactions is ten
// minutes, far beyond stop's minute: the relay exiting within it proves
// it did not wait the grace; the device reads the 421.
func TestRelaySIGTERMClosesAnIdleDevice(t *testing.T) {
	t.Parallel() // waits on processes; overlaps the other slow tests
	r := startRelay(t, "[relay]\nlisten = [\"127.0.0.1:0\"]\nhostname = \"relay.test\"\nshutdown_grace = \"10m\"\n"+relayUserTable(t, "scanner", "s3cret"))
	nc, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	dev := textproto.NewConn(nc)
	defer dev.Close()
	if _, _, err := dev.ReadResponse(220); err != nil {
		t.Fatalf("greeting: %v", err)
	}
	if err := dev.PrintfLine("EHLO printer.example"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := dev.ReadResponse(250); err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	if code := r.stop(t); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0; log:\n%s", code, r.log)
	}
	if code, msg, err := dev.ReadResponse(421); err != nil || msg != "4.3.2 relay.test shutting down" {
		t.Errorf("the idle device read %d %q, %v; want 421 4.3.2 relay.test shutting down", code, msg, err)
	}
	if line, err := dev.ReadLine(); err != io.EOF {
		t.Errorf("after the 421 the device read %q, %v; want the end of the connection", line, err)
	}
}
