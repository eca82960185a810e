package main

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/m365send/m365send/internal/keyring/keyringtest"
)

// keyringCmd starts a real Secret Service (internal/keyring/keyringtest:
// a private D-Bus session bus with GNOME Keyring, its login keyring
// unlocked) for the script and sets $DBUS_SESSION_BUS_ADDRESS to its bus;
// it stops when the script ends. Scripts check [tool:gnome-keyring-daemon]
// and [tool:dbus-daemon] first.
//
//	keyring start
func keyringCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "keyring")
	if len(args) != 1 || args[0] != "start" {
		ts.Fatalf("usage: keyring start")
	}
	dir, err := os.MkdirTemp("", "kr") // short: a socket path has at most 107 bytes
	ts.Check(err)
	ts.Defer(func() { _ = os.RemoveAll(dir) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := keyringtest.Start(ctx, dir)
	ts.Check(err)
	ts.Defer(func() { _ = d.Close() })
	for _, kv := range keyringtest.Env(d) {
		if k, v, _ := strings.Cut(kv, "="); k == "DBUS_SESSION_BUS_ADDRESS" {
			ts.Setenv(k, v)
		}
	}
}
