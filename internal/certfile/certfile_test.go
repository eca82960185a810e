package certfile

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/failure"
)

var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// pair is a self-signed RSA certificate and its key, as PEM.
type pair struct {
	cert, key []byte
	rsaKey    *rsa.PrivateKey
}

func newPair(t *testing.T, notBefore, notAfter time.Time) pair {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "m365send test"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return pair{
		cert:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:    pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: mustPKCS8(t, k)}),
		rsaKey: k,
	}
}

func mustPKCS8(t *testing.T, k any) []byte {
	t.Helper()
	b, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func validPair(t *testing.T) pair {
	return newPair(t, testNow.Add(-time.Hour), testNow.Add(365*24*time.Hour))
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestParseGoodPEM(t *testing.T) {
	p := validPair(t)
	other := validPair(t)
	for name, data := range map[string][]byte{
		"cert then key":      join(p.cert, p.key),
		"key then cert":      join(p.key, p.cert),
		"PKCS#1 key":         join(p.cert, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(p.rsaKey)})),
		"chain, leaf second": join(other.cert, p.cert, p.key),
		"text around blocks": join([]byte("Bag Attributes\n"), p.cert, []byte("subject=CN=x\n"), p.key),
		"CRLF line endings":  bytes.ReplaceAll(join(p.cert, p.key), []byte("\n"), []byte("\r\n")),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := Parse("app.pem", data, "", testNow)
			if err != nil {
				t.Fatal(err)
			}
			if !c.Key.Equal(p.rsaKey) || c.Chain[0] != c.Leaf || !c.Leaf.PublicKey.(*rsa.PublicKey).Equal(&p.rsaKey.PublicKey) {
				t.Fatalf("wrong leaf or key: %+v", c)
			}
		})
	}
}

func TestParseBrokenFiles(t *testing.T) {
	p := validPair(t)
	other := validPair(t)
	expired := newPair(t, testNow.Add(-48*time.Hour), testNow.Add(-24*time.Hour))
	future := newPair(t, testNow.Add(24*time.Hour), testNow.Add(48*time.Hour))
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: mustPKCS8(t, ec)})
	for _, tc := range []struct {
		name    string
		data    []byte
		problem error
		hint    string
	}{
		{"no key", p.cert, ErrNoKey, "private key"},
		{"no certificate", p.key, ErrNoCertificate, "BEGIN CERTIFICATE"},
		{"two keys", join(p.cert, p.key, other.key), ErrNoKey, "only the key"},
		{"garbage PEM", []byte("-----BEGIN CERTIFICATE-----\nnot base64 at all!!\n-----END CERTIFICATE-----\n"), ErrBadPEM, "PEM file"},
		{"certificate block of junk", join(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}), p.key), ErrBadPEM, "PEM file"},
		{"key block of junk", join(p.cert, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")})), ErrBadPEM, "PEM file"},
		{"empty", nil, ErrBadPEM, "PEM file"},
		{"not PEM, not PKCS#12", []byte("hello, I am a text file\n"), ErrBadPKCS12, "openssl pkcs12"},
		{"legacy encrypted key", join(p.cert, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte("x")})), ErrEncryptedKey, "decrypt"},
		{"PKCS#8 encrypted key", join(p.cert, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("x")})), ErrEncryptedKey, "decrypt"},
		{"EC key", join(p.cert, ecKey), ErrNotRSA, "RSA"},
		{"key of another certificate", join(p.cert, other.key), ErrKeyMismatch, "the key it was made with"},
		{"expired", join(expired.cert, expired.key), ErrExpired, "new certificate"},
		{"not yet valid", join(future.cert, future.key), ErrExpired, "clock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("/etc/m365send/app.pem", tc.data, "", testNow)
			checkError(t, err, "/etc/m365send/app.pem", tc.problem, tc.hint)
		})
	}
}

// checkError checks that err is a config *Error for path with problem and
// a hint naming the file and containing hint.
func checkError(t *testing.T, err error, path string, problem error, hint string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, problem) {
		t.Fatalf("err = %v, want an *Error for %q", err, problem)
	}
	if failure.KindOf(err) != failure.Config {
		t.Errorf("kind = %v, want config", failure.KindOf(err))
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, problem.Error()) || strings.ContainsAny(msg, "\r\n") {
		t.Errorf("message %q does not name the file and the problem on one line", msg)
	}
	if h := failure.HintOf(err); !strings.Contains(h, path) || !strings.Contains(h, hint) {
		t.Errorf("hint %q does not name the file or lacks %q", h, hint)
	}
}

func TestLoadGoodFile(t *testing.T) {
	p := newPair(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	path := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(path, join(p.cert, p.key), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, "")
	if err != nil || !c.Key.Equal(p.rsaKey) {
		t.Fatalf("Load = %v, %v", c, err)
	}
}

// openssl runs openssl, skipping the test when it is missing (failing it
// when REQUIRE_TEST_TOOLS=1, as CI sets).
func openssl(t *testing.T, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err == nil {
		var out []byte
		out, err = exec.Command(bin, args...).CombinedOutput()
		if err == nil {
			return
		}
		err = errors.New(err.Error() + ": " + string(out))
	}
	if os.Getenv("REQUIRE_TEST_TOOLS") == "1" {
		t.Fatalf("REQUIRE_TEST_TOOLS=1: openssl: %v", err)
	}
	t.Skipf("openssl: %v (set REQUIRE_TEST_TOOLS=1 to make this a failure)", err)
}

func TestPKCS12(t *testing.T) {
	p := newPair(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	dir := t.TempDir()
	pemFile := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(pemFile, join(p.cert, p.key), 0o600); err != nil {
		t.Fatal(err)
	}
	export := func(name string, args ...string) string {
		t.Helper()
		out := filepath.Join(dir, name)
		openssl(t, append([]string{"pkcs12", "-export", "-in", pemFile, "-out", out}, args...)...)
		return out
	}
	loads := func(path, password string) {
		t.Helper()
		c, err := Load(path, password)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		if !c.Key.Equal(p.rsaKey) || !bytes.Equal(c.Leaf.Raw, c.Chain[0].Raw) {
			t.Fatalf("%s: wrong key or certificate", filepath.Base(path))
		}
	}

	// OpenSSL 3's defaults: AES-256-CBC with PBKDF2, a SHA-256 MAC.
	modern := export("modern.p12", "-passout", "pass:hunter2")
	if out := opensslOutput(t, "pkcs12", "-in", modern, "-info", "-noout", "-passin", "pass:hunter2"); !strings.Contains(out, "AES-256-CBC") || !strings.Contains(out, "sha256") {
		t.Fatalf("openssl did not write the modern format; -info says:\n%s", out)
	}
	loads(modern, "hunter2")
	_, err := Load(modern, "")
	checkError(t, err, modern, ErrNeedsPassword, "certificate_password_env")
	_, err = Load(modern, "wrong")
	checkError(t, err, modern, ErrWrongPassword, "openssl pkcs12 -in "+modern)

	// The same with an empty password, and with none at all.
	loads(export("empty.p12", "-passout", "pass:"), "")
	loads(export("none.p12", "-passout", "pass:", "-keypbe", "NONE", "-certpbe", "NONE", "-nomac"), "")

	// The legacy kind: 3DES and a SHA-1 MAC, with and without a password.
	legacy := "-keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1"
	loads(export("legacy.p12", append([]string{"-passout", "pass:"}, strings.Fields(legacy)...)...), "")
	legacyPW := export("legacy-pw.p12", append([]string{"-passout", "pass:hunter2"}, strings.Fields(legacy)...)...)
	loads(legacyPW, "hunter2")
	_, err = Load(legacyPW, "")
	checkError(t, err, legacyPW, ErrNeedsPassword, "AZURE_CLIENT_CERTIFICATE_PASSWORD")

	noKey := export("nokey.p12", "-nokeys", "-passout", "pass:")
	_, err = Load(noKey, "")
	checkError(t, err, noKey, ErrNoKey, "-inkey key.pem")
}

// opensslOutput runs openssl (as openssl does) and returns what it printed.
func opensslOutput(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip(err)
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
