package relaycert

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

func TestGeneratedCertificateIsKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	now := time.Now()
	cert, generated, err := Load("", "", "relay.example.com", dir, now)
	if err != nil || !generated {
		t.Fatalf("first start: generated %v, %v", generated, err)
	}
	fp := Fingerprint(cert)
	if !regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`).MatchString(fp) {
		t.Errorf("fingerprint %q", fp)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("relay.example.com"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	fi, err := os.Stat(filepath.Join(dir, GeneratedKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi, err)
	}
	again, generated, err := Load("", "", "relay.example.com", dir, now)
	if err != nil || generated || Fingerprint(again) != fp {
		t.Fatalf("second start: generated %v, fingerprint %s (was %s), %v", generated, Fingerprint(again), fp, err)
	}
}
