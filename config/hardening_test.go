//go:build unix

package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/safefile"
	"github.com/m365send/m365send/internal/secretsource"

	"github.com/m365send/m365send/internal/failure"
)

// loadWithin runs load and fails the test if it does not return within a
// generous bound: a FIFO or an endless file must not hang Load.
func loadWithin(t *testing.T, load func() (*Profile, error)) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := load()
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Load did not return: it is blocked on the file")
		return nil
	}
}

// TestConfigAndSecretFilesMustBeRegular checks that a FIFO, a device or a
// symlink to one, as the configuration, a secret or a certificate file,
// is refused at once with a configuration error (issue 16, item 6).
func TestConfigAndSecretFilesMustBeRegular(t *testing.T) {
	profile := "[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\n"
	for _, tc := range []struct {
		name, key string // key "" = the configuration file itself
		target    string // "fifo", or a device path to link to
		msg       string
	}{
		{"config FIFO", "", "fifo", "not a regular file (a named pipe)"},
		{"config symlink to /dev/zero", "", "/dev/zero", "not a regular file (a device)"},
		{"secret file FIFO", "client_secret_file", "fifo", "not a regular file (a named pipe)"},
		{"secret file symlink to /dev/zero", "client_secret_file", "/dev/zero", "not a regular file (a device)"},
		{"certificate FIFO", "certificate_file", "fifo", "not a regular file"},
		{"ca_file FIFO", "ca_file", "fifo", "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			special := filepath.Join(f.dir, "special")
			if tc.target == "fifo" {
				if err := syscall.Mkfifo(special, 0o600); err != nil {
					t.Skipf("mkfifo: %v", err)
				}
			} else if err := os.Symlink(tc.target, special); err != nil {
				t.Fatal(err)
			}
			opts := LoadOptions{Profile: "p"}
			if tc.key == "" {
				opts.File = special
			} else {
				if tc.key != "client_secret_file" && tc.key != "certificate_file" {
					profile += "client_secret_env = \"S\"\n"
				}
				f.config(profile + tc.key + " = \"" + special + "\"\n")
			}
			err := loadWithin(t, func() (*Profile, error) { return f.load(opts) })
			var ce *Error
			if !errors.As(err, &ce) || failure.KindOf(err) != failure.Config {
				t.Fatalf("Load error = %v (%T), want a *config.Error of kind config", err, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Error() = %q, want %q", err, tc.msg)
			}
		})
	}
}

// TestSecretFileReadWithALimit checks that a huge client secret file is
// refused, not read whole.
func TestSecretFileReadWithALimit(t *testing.T) {
	f := newFixture(t)
	secret := f.write("secret", strings.Repeat("s", secretsource.MaxFileSize+1), 0o600)
	f.config("[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\nclient_secret_file = \"" + secret + "\"\n")
	p, err := f.load(LoadOptions{Profile: "p"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Secret(t.Context())
	var ce *Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Secret error = %v, want a size error", err)
	}
}

// TestConfigOfAnotherUserRefused checks that a configuration file, or its
// folder, that belongs to another user (not root) is refused: that user
// could change the profile, and client_secret_command runs a program.
func TestConfigOfAnotherUserRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
	const other = 4242
	content := "[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\nclient_secret_env = \"S\"\n"
	for _, tc := range []struct{ name, chown, msg, hint string }{
		{"file", "file", "belongs to user 4242", "use a file of your own"},
		{"folder", "dir", "folder of the configuration file belongs to user 4242", "folder of your own"},
		{"secret file", "secret", "belongs to user 4242", "use a file of your own"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			secret := f.write("secret", "s", 0o600)
			path := f.write("conf/config.toml", content, 0o600)
			if tc.chown == "secret" {
				path = f.write("conf/config.toml", strings.Replace(content, `client_secret_env = "S"`, `client_secret_file = "`+secret+`"`, 1), 0o600)
			}
			target := map[string]string{"file": path, "dir": filepath.Dir(path), "secret": secret}[tc.chown]
			if err := os.Chown(target, other, other); err != nil {
				t.Skipf("chown: %v", err)
			}
			_, err := f.load(LoadOptions{File: path, Profile: "p"})
			var ce *Error
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(ce.Hint(), tc.hint) {
				t.Fatalf("Load error = %v (hint %q), want %q with hint %q", err, hintOf(err), tc.msg, tc.hint)
			}
		})
	}
}

// TestSharedFolderHintNeverSuggestsChmod checks that a configuration file
// in a shared folder others can write gets the advice to use a private
// folder, never to change the shared folder's mode (chmod on /tmp).
func TestSharedFolderHintNeverSuggestsChmod(t *testing.T) {
	fi, err := os.Stat("/tmp")
	if err != nil {
		t.Skip(err)
	}
	for _, dir := range []string{"/tmp", "/var/tmp", os.TempDir()} {
		if got := safefile.DirAdvice(dir, fi); strings.Contains(got, "chmod") || !strings.Contains(got, "private folder") {
			t.Errorf("safefile.DirAdvice(%s) = %q, want a private folder and no chmod", dir, got)
		}
	}
	// A folder of another user that others can write: move the file.
	f := newFixture(t)
	shared := filepath.Join(f.dir, "shared")
	if err := os.Mkdir(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		if err := os.Chown(shared, 4242, 4242); err != nil {
			t.Skip(err)
		}
		sfi, err := os.Stat(shared)
		if err != nil {
			t.Fatal(err)
		}
		if got := safefile.DirAdvice(shared, sfi); strings.Contains(got, "chmod") {
			t.Errorf("dirAdvice for another user's folder = %q, want no chmod", got)
		}
	}
}
