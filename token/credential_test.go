package token

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/aadstshints"
	"github.com/m365send/m365send/internal/certfile"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/token/entratest"
)

const certAppID = "c0c0c0c0-1111-2222-3333-444444444444"

// writeCert makes a certificate, registers it (if register) and writes
// cert + key to a 0600 PEM file.
func writeCert(t *testing.T, a *entratest.Authority, register bool) string {
	t.Helper()
	certPEM, keyPEM, err := entratest.NewCertificate("m365send test")
	if err != nil {
		t.Fatal(err)
	}
	if register {
		if err := a.AddApp(entratest.App{ClientID: certAppID, CertificatePEM: certPEM, Mailboxes: []string{testMailbox}}); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(path, append(certPEM, keyPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func certConfig(t *testing.T, a *entratest.Authority, certFile string) Config {
	cfg := appConfig(t, a)
	cfg.ClientID = certAppID
	cfg.ClientSecret = ""
	cfg.CertificateFile = certFile
	return cfg
}

func TestCertificateCredential(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := certConfig(t, a, writeCert(t, a, true))
	tok, err := mustNew(t, cfg).TokenContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Verify(tok.AccessToken, testMailbox); err != nil {
		t.Fatal(err)
	}
	c, err := ParseClaims(tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if c.AppID != certAppID || len(c.Roles) != 1 || c.Roles[0] != "SMTP.SendAsApp" || c.UPN != "" {
		t.Errorf("claims %+v", c)
	}
}

func TestUnregisteredCertificateIsAADSTS700027(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	writeCert(t, a, true)           // the registered one
	other := writeCert(t, a, false) // a different key
	cfg := certConfig(t, a, other)
	_, err := mustNew(t, cfg).TokenContext(context.Background())
	var te *Error
	if !errors.As(err, &te) || te.Code != 700027 || te.Hint() != aadstshints.For(700027).Hint {
		t.Fatalf("err = %v, want AADSTS700027", err)
	}
}

func TestPKCS12CertificateCredential(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		skipOrFailMissingTool(t, "openssl is not installed (apt-get install openssl): %v", err)
	}
	a := newAuthority(t, entratest.Options{})
	pemFile := writeCert(t, a, true)
	for _, tc := range []struct{ name, password string }{
		// OpenSSL 3's defaults (AES-256-CBC, PBKDF2, a SHA-256 MAC).
		{"modern.p12", "hunter2"},
		{"modern-empty.p12", ""},
	} {
		p12 := filepath.Join(t.TempDir(), tc.name)
		out, err := exec.Command(openssl, "pkcs12", "-export", "-in", pemFile, "-out", p12, "-passout", "pass:"+tc.password).CombinedOutput()
		if err != nil {
			skipOrFailMissingTool(t, "openssl cannot write a PKCS#12 file: %v %s", err, out)
		}
		cfg := certConfig(t, a, p12)
		cfg.CertificatePassword = tc.password
		tok, err := mustNew(t, cfg).TokenContext(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := a.Verify(tok.AccessToken, testMailbox); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFederatedAssertionIsReadOnEachUse(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	const fedApp = "fed00000-1111-2222-3333-444444444444"
	const issuer = "https://oidc.prod-aks.azure.com/tenant/issuer/"
	const subject = "system:serviceaccount:mail:alerts"
	if err := a.AddApp(entratest.App{ClientID: fedApp, FederatedIssuer: issuer, FederatedSubject: subject, Mailboxes: []string{testMailbox}}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "azure-identity-token")
	write := func(sub string) {
		t.Helper()
		assertion, err := a.FederatedAssertion(issuer, sub)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(assertion+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(subject)
	cfg := appConfig(t, a)
	cfg.ClientID, cfg.ClientSecret, cfg.FederatedTokenFile = fedApp, "", file
	s := mustNew(t, cfg)
	tok, err := s.TokenContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Verify(tok.AccessToken, testMailbox); err != nil {
		t.Fatal(err)
	}
	// The platform rotates the file; the next request must use the new one.
	write("system:serviceaccount:other:intruder")
	_, err = s.Refresh(context.Background())
	var te *Error
	if !errors.As(err, &te) || te.Code != 700213 {
		t.Fatalf("err = %v, want AADSTS700213 from the rewritten assertion", err)
	}
}

// skipOrFailMissingTool skips a test whose external tool is missing or
// cannot do its part, or fails it when REQUIRE_TEST_TOOLS=1 (CI sets it),
// so CI never passes without having run the test.
func skipOrFailMissingTool(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("REQUIRE_TEST_TOOLS") == "1" {
		t.Fatalf("REQUIRE_TEST_TOOLS=1: "+format, args...)
	}
	t.Skipf(format+" (set REQUIRE_TEST_TOOLS=1 to make this a failure)", args...)
}

// A certificate file without its key is a configuration error naming the
// file, found before Entra ID is asked.
func TestCertificateWithoutKeyIsConfig(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	certPEM, _, err := entratest.NewCertificate("m365send test")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cert-only.pem")
	if err := os.WriteFile(path, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = mustNew(t, certConfig(t, a, path)).TokenContext(context.Background())
	if !errors.Is(err, certfile.ErrNoKey) || failure.KindOf(err) != failure.Config || !strings.Contains(failure.HintOf(err), path) {
		t.Fatalf("err = %v (kind %v, hint %q), want a config error naming %s", err, failure.KindOf(err), failure.HintOf(err), path)
	}
	if n := a.Requests(entratest.EndpointToken, ""); n != 0 {
		t.Errorf("%d token requests, want 0", n)
	}
}
