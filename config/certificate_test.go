package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/secretsource"
	"software.sslmate.com/src/go-pkcs12"
)

// newCertAndKey makes a self-signed RSA certificate and its key,
// PEM-encoded, valid from notBefore for a day.
func newCertAndKey(t testing.TB) (certPEM, keyPEM []byte) {
	return newCertAndKeyAt(t, time.Now().Add(-time.Hour))
}

func newCertAndKeyAt(t testing.TB, notBefore time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 1024) // small, for speed: the tests check files, not keys
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "m365send test app"},
		NotBefore: notBefore, NotAfter: notBefore.Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// certAndKeyPEM is a certificate file as Entra ID apps use: certificate
// and key in one PEM file.
func certAndKeyPEM(t testing.TB) []byte {
	c, k := newCertAndKey(t)
	return append(c, k...)
}

// TestCertificateProblemsAreConfigErrorsAtLoad checks that a certificate
// file that cannot work is refused when the profile loads, as a
// configuration error naming the file, what is wrong and what to do.
func TestCertificateProblemsAreConfigErrorsAtLoad(t *testing.T) {
	cert, key := newCertAndKey(t)
	otherCert, _ := newCertAndKey(t)
	expired, expiredKey := newCertAndKeyAt(t, time.Now().Add(-48*time.Hour))
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, content, msg, hint string
	}{
		{"certificate without key", string(cert), "holds no private key", "add the certificate's unencrypted private key"},
		{"key without certificate", string(key), "holds no certificate", "add the certificate"},
		{"garbage PEM", "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n", "is not a valid PEM certificate file", "PEM file"},
		{"bad certificate block", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})) + string(key), "CERTIFICATE block does not parse", "PEM file"},
		{"unreadable PKCS#12", "\x30\x82\x01\x00junk that is not PKCS#12", "neither PEM nor a readable PKCS#12", "PKCS#12"},
		{"empty file", "", "the file is empty", "PEM"},
		{"key of another certificate", string(otherCert) + string(key), "matches none of its certificates", "together"},
		{"encrypted key", string(cert) + "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "encrypted", "openssl"},
		{"not RSA", string(cert) + string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})), "not RSA", "RSA"},
		{"expired", string(expired) + string(expiredKey), "not valid now", "new certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			path := f.write("app.pem", tc.content, 0o600)
			for _, how := range []string{"file", "env"} {
				if how == "file" {
					f.config("[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\ncertificate_file = \"" + path + "\"\n")
				} else {
					f = newFixture(t)
					f.env["AZURE_TENANT_ID"], f.env["AZURE_CLIENT_ID"], f.env["AZURE_CLIENT_CERTIFICATE_PATH"] = tenantID, clientID, path
				}
				_, err := f.load(LoadOptions{Profile: map[string]string{"file": "p", "env": ""}[how]})
				var ce *Error
				if !errors.As(err, &ce) {
					t.Fatalf("%s: Load error = %v (%T), want *config.Error", how, err, err)
				}
				if failure.KindOf(err) != failure.Config {
					t.Errorf("%s: kind %v, want config", how, failure.KindOf(err))
				}
				if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.msg) || strings.Count(err.Error(), path) != 1 {
					t.Errorf("%s: Error() = %q, want the file and %q", how, err, tc.msg)
				}
				if !strings.Contains(ce.Hint(), tc.hint) {
					t.Errorf("%s: Hint = %q, want %q", how, ce.Hint(), tc.hint)
				}
			}
		})
	}
}

func TestGoodCertificateLoads(t *testing.T) {
	cert, key := newCertAndKey(t)
	for name, content := range map[string]string{
		"cert then key": string(cert) + string(key),
		"key then cert": string(key) + string(cert),
	} {
		f := newFixture(t)
		path := f.write("app.pem", content, 0o600)
		if err := secretsource.Certificate(path, ""); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestCertificatePassword checks where a PKCS#12 file's password comes
// from: certificate_password_env names a variable, and
// AZURE_CLIENT_CERTIFICATE_PASSWORD, the password itself, wins over it;
// a missing or wrong password, or a password with no certificate, is a
// configuration error at load.
func TestCertificatePassword(t *testing.T) {
	certPEM, keyPEM := newCertAndKey(t)
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	p12, err := pkcs12.Modern2023.Encode(key, cert, nil, "hunter2")
	if err != nil {
		t.Fatal(err)
	}
	profile := func(extra string) string {
		return "[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\ncertificate_file = \"CERT\"\n" + extra
	}
	for _, tc := range []struct {
		name, file string
		env        map[string]string
		want       string // "" loads; else in the error
		wantEnv    string // CertificatePasswordEnv
		wantPW     string // CertificatePassword()
	}{
		{name: "variable named", file: profile(`certificate_password_env = "PFX_PW"` + "\n"), env: map[string]string{"PFX_PW": "hunter2"}, wantEnv: "PFX_PW", wantPW: "hunter2"},
		{name: "AZURE_CLIENT_CERTIFICATE_PASSWORD", file: profile(""), env: map[string]string{"AZURE_CLIENT_CERTIFICATE_PASSWORD": "hunter2"}, wantPW: "hunter2"},
		{name: "AZURE_ wins", file: profile(`certificate_password_env = "PFX_PW"` + "\n"), env: map[string]string{"PFX_PW": "wrong", "AZURE_CLIENT_CERTIFICATE_PASSWORD": "hunter2"}, wantPW: "hunter2"},
		{name: "no password", file: profile(""), want: "protected by a password"},
		{name: "wrong password", file: profile(`certificate_password_env = "PFX_PW"` + "\n"), env: map[string]string{"PFX_PW": "wrong"}, want: "password given does not open"},
		{name: "variable not set", file: profile(`certificate_password_env = "PFX_PW"` + "\n"), want: "PFX_PW (named by certificate_password_env) is empty or not set"},
		{name: "not a variable name", file: profile(`certificate_password_env = "hunter 2"` + "\n"), want: "malformed certificate_password_env"},
		{name: "no certificate", file: "[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\nclient_secret_env = \"S\"\ncertificate_password_env = \"PFX_PW\"\n",
			env: map[string]string{"PFX_PW": "hunter2"}, want: "no certificate_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			path := f.write("app.p12", string(p12), 0o600)
			for k, v := range tc.env {
				f.env[k] = v
			}
			f.config(strings.ReplaceAll(tc.file, "CERT", path))
			p, err := f.load(LoadOptions{Profile: "p"})
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) || failure.KindOf(err) != failure.Config || failure.HintOf(err) == "" {
					t.Fatalf("err = %v (hint %q), want a configuration error with %q", err, failure.HintOf(err), tc.want)
				}
				if strings.Contains(err.Error(), "hunter2") || strings.Contains(failure.HintOf(err), "hunter2") {
					t.Fatalf("the password is in %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pw, err := p.CertificatePassword()
			if err != nil || pw != tc.wantPW || p.CertificatePasswordEnv != tc.wantEnv {
				t.Fatalf("CertificatePassword() = %q, %v; CertificatePasswordEnv %q; want %q, %q", pw, err, p.CertificatePasswordEnv, tc.wantPW, tc.wantEnv)
			}
		})
	}
}
