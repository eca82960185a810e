package testca

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// serveOnce accepts one TLS connection on loopback and completes the
// handshake, so a client's verification can be observed.
func serveOnce(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.(*tls.Conn).Handshake()
	}()
	return l.Addr().String()
}

func TestClientTrustingTheCAVerifiesTheServer(t *testing.T) {
	ca, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"127.0.0.1", "localhost"} {
		addr := serveOnce(t, ca.ServerTLSConfig())
		_, port, _ := net.SplitHostPort(addr)
		cfg := ca.ClientTLSConfig()
		cfg.ServerName = name
		c, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", port), cfg)
		if err != nil {
			t.Fatalf("dial as %s: %v", name, err)
		}
		if v := c.ConnectionState().Version; v < tls.VersionTLS12 {
			t.Errorf("negotiated TLS version %x, want 1.2 or later", v)
		}
		c.Close()
	}
}

func TestOtherCAIsNotTrusted(t *testing.T) {
	ca, err := New()
	if err != nil {
		t.Fatal(err)
	}
	other, err := New()
	if err != nil {
		t.Fatal(err)
	}
	addr := serveOnce(t, ca.ServerTLSConfig())
	_, err = tls.Dial("tcp", addr, other.ClientTLSConfig())
	var uae x509.UnknownAuthorityError
	if !errors.As(err, &uae) {
		t.Fatalf("dial with another CA: err = %v, want x509.UnknownAuthorityError", err)
	}
}

func TestServerRefusesTLSBelow12(t *testing.T) {
	ca, err := New()
	if err != nil {
		t.Fatal(err)
	}
	addr := serveOnce(t, ca.ServerTLSConfig())
	cfg := ca.ClientTLSConfig()
	cfg.MinVersion = tls.VersionTLS10
	cfg.MaxVersion = tls.VersionTLS11
	if c, err := tls.Dial("tcp", addr, cfg); err == nil {
		c.Close()
		t.Fatal("TLS 1.1 handshake succeeded")
	}
}

func TestWriteCertFileHoldsTheCA(t *testing.T) {
	ca, err := New()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := ca.WriteCertFile(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("ca.pem does not hold a PEM certificate: %q", data)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.IsCA {
		t.Error("the written certificate is not a CA")
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(data)
	leaf, err := x509.ParseCertificate(ca.ServerCert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost"}); err != nil {
		t.Errorf("server certificate does not verify against the written CA: %v", err)
	}
}

func TestFromCertificateFindsTheCA(t *testing.T) {
	ca, err := New()
	if err != nil {
		t.Fatal(err)
	}
	got, err := FromCertificate(ca.ServerCert)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.CertPEM) != string(ca.CertPEM) {
		t.Errorf("CertPEM differs:\n%s\nwant\n%s", got.CertPEM, ca.CertPEM)
	}
	addr := serveOnce(t, got.ServerTLSConfig())
	c, err := tls.Dial("tcp", addr, got.ClientTLSConfig())
	if err != nil {
		t.Fatalf("a client trusting the derived pool refuses the server: %v", err)
	}
	c.Close()

	leafOnly := ca.ServerCert
	leafOnly.Certificate = leafOnly.Certificate[:1]
	if _, err := FromCertificate(leafOnly); err == nil {
		t.Error("a chain without its CA certificate was accepted")
	}
	swapped := ca.ServerCert
	swapped.Certificate = [][]byte{ca.ServerCert.Certificate[1], ca.ServerCert.Certificate[0]}
	if _, err := FromCertificate(swapped); err == nil {
		t.Error("a chain ending with a leaf certificate was accepted")
	}
}

// TestNewOrFrom: with a certificate, the CA is the one that issued it (its
// server certificate is that certificate); without, a fresh one.
func TestNewOrFrom(t *testing.T) {
	first, err := NewOrFrom(nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := NewOrFrom(&first.ServerCert)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.ServerCert.Certificate[0], first.ServerCert.Certificate[0]) {
		t.Error("NewOrFrom(cert) serves another certificate")
	}
	other, err := NewOrFrom(nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(other.ServerCert.Certificate[0], first.ServerCert.Certificate[0]) {
		t.Error("NewOrFrom(nil) reused a certificate")
	}
}
