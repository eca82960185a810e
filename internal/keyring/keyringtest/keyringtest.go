// Package keyringtest starts a real Secret Service for tests: a private
// D-Bus session bus (dbus-daemon) with GNOME Keyring's daemon on it, its
// login keyring created and unlocked with a test password, all under one
// folder. It is a library with plain options (no package testing), like
// the project's other fakes; tests that need it skip when the programs
// are missing unless REQUIRE_TEST_TOOLS=1 (scripts/test.sh installs
// them: apt packages dbus-daemon and gnome-keyring).
package keyringtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/godbus/dbus/v5"
)

// Programs are the programs Start runs.
var Programs = []string{"dbus-daemon", "gnome-keyring-daemon"}

// Password unlocks the test login keyring.
const Password = "m365send-test-keyring"

// secretsName is the Secret Service's bus name.
const secretsName = "org.freedesktop.secrets"

// Daemon is a running Secret Service on a private session bus.
type Daemon struct {
	// Address is the bus's address, for DBUS_SESSION_BUS_ADDRESS.
	Address string
	// Home is the folder the keyring files are kept in.
	Home string

	bus, keyring *exec.Cmd
}

// Missing returns the first of Programs that is not on $PATH, or "".
func Missing() string {
	for _, p := range Programs {
		if _, err := exec.LookPath(p); err != nil {
			return p
		}
	}
	return ""
}

// Start runs dbus-daemon and gnome-keyring-daemon under dir (which must
// exist and be private) and returns once the Secret Service answers on
// the bus, or fails when ctx ends first. Close stops both (ctx does not:
// the daemons outlive Start).
func Start(ctx context.Context, dir string) (*Daemon, error) {
	if p := Missing(); p != "" {
		return nil, fmt.Errorf("keyringtest: %s is not installed", p)
	}
	d := &Daemon{Home: dir}
	run := filepath.Join(dir, "run")
	if err := os.MkdirAll(run, 0o700); err != nil {
		return nil, fmt.Errorf("keyringtest: %w", err)
	}
	d.bus = exec.Command("dbus-daemon", "--session", "--nofork", "--print-address=1",
		"--address=unix:path="+filepath.Join(dir, "bus"))
	out, err := d.bus.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("keyringtest: %w", err)
	}
	if err := d.bus.Start(); err != nil {
		return nil, fmt.Errorf("keyringtest: start dbus-daemon: %w", err)
	}
	// dbus-daemon prints its address once it listens.
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("keyringtest: dbus-daemon printed no address: %w", err)
	}
	d.Address = strings.TrimSpace(line)

	// Watch for the Secret Service to take its name before starting it.
	conn, err := dbus.Connect(d.Address)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("keyringtest: connect to the bus: %w", err)
	}
	defer conn.Close()
	if err := conn.AddMatchSignal(dbus.WithMatchInterface("org.freedesktop.DBus"), dbus.WithMatchMember("NameOwnerChanged"),
		dbus.WithMatchArg(0, secretsName)); err != nil {
		d.Close()
		return nil, fmt.Errorf("keyringtest: watch the bus: %w", err)
	}
	signals := make(chan *dbus.Signal, 8)
	conn.Signal(signals)

	d.keyring = exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	d.keyring.Env = append(Env(d), "XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"PATH="+os.Getenv("PATH"))
	d.keyring.Stdin = strings.NewReader(Password)
	if err := d.keyring.Start(); err != nil {
		d.Close()
		return nil, fmt.Errorf("keyringtest: start gnome-keyring-daemon: %w", err)
	}
	for {
		select {
		case s := <-signals:
			if len(s.Body) == 3 && s.Body[0] == secretsName && s.Body[2] != "" {
				return d, nil
			}
		case <-ctx.Done():
			d.Close()
			return nil, fmt.Errorf("keyringtest: the Secret Service did not come up: %w", ctx.Err())
		}
	}
}

// Env is the environment a client of d needs: its bus, and its home and
// runtime folders.
func Env(d *Daemon) []string {
	return []string{"DBUS_SESSION_BUS_ADDRESS=" + d.Address, "HOME=" + d.Home, "XDG_RUNTIME_DIR=" + filepath.Join(d.Home, "run")}
}

// Close stops the keyring daemon and the bus.
func (d *Daemon) Close() error {
	var errs []error
	for _, c := range []*exec.Cmd{d.keyring, d.bus} {
		if c == nil || c.Process == nil {
			continue
		}
		if err := c.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, err)
		}
		_ = c.Wait()
	}
	return errors.Join(errs...)
}
