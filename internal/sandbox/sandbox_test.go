package sandbox_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/smtp"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/sandbox"
	"github.com/m365send/m365send/sender/smtptest"
	"github.com/m365send/m365send/token/entratest"
)

func start(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.Start(t.Context(), sandbox.Options{Dir: filepath.Join(t.TempDir(), "sb")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

func TestStartRefusesEmptyDir(t *testing.T) {
	if _, err := sandbox.Start(t.Context(), sandbox.Options{}); err == nil {
		t.Fatal("Start with no Dir succeeded")
	}
}

func TestStartWritesPrivateFilesAndLoadableProfiles(t *testing.T) {
	sb := start(t)
	for path, want := range map[string]os.FileMode{
		sb.Dir:        0o700 | os.ModeDir,
		sb.ConfigFile: 0o600,
		sb.SecretFile: 0o600,
		sb.CacheDir:   0o700 | os.ModeDir,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
	secret, err := os.ReadFile(sb.SecretFile)
	if err != nil || len(secret) < 20 {
		t.Fatalf("secret file: %q, %v", secret, err)
	}
	cfgText, _ := os.ReadFile(sb.ConfigFile)
	if bytes.Contains(cfgText, secret) {
		t.Error("the secret is in the config file")
	}

	// A shell set up for a real tenant must not redirect the profiles.
	real := map[string]string{"AZURE_CLIENT_ID": "00000000-0000-0000-0000-000000000001", "M365SEND_SMTP_HOST": "smtp.office365.com", "HOME": t.TempDir()}
	env := sandbox.Env(func(k string) string { return real[k] })

	app, err := config.Load(config.LoadOptions{File: sb.ConfigFile, Profile: sandbox.AppProfile, Env: env})
	if err != nil {
		t.Fatalf("load %s: %v", sandbox.AppProfile, err)
	}
	if app.Flow != config.FlowClientCredentials || app.ClientID != sandbox.AppClientID || app.Mailbox != sandbox.AppMailbox ||
		app.AuthorityHost != sb.Authority.URL() || app.SMTPHost != sb.SMTP.Host() || app.SMTPPort != sb.SMTP.Port() ||
		app.CAFile != sb.CAFile || app.CacheDir != sb.CacheDir || app.ClientSecretFile != sb.SecretFile {
		t.Errorf("app profile = %+v", *app)
	}
	got, err := app.Secret(t.Context())
	if err != nil || got != string(secret) {
		t.Errorf("app profile secret resolves to the wrong value (err %v)", err)
	}

	user, err := config.Load(config.LoadOptions{File: sb.ConfigFile, Profile: sandbox.UserProfile, Env: env})
	if err != nil {
		t.Fatalf("load %s: %v", sandbox.UserProfile, err)
	}
	if user.Flow != config.FlowDeviceCode || user.ClientID != sandbox.PublicClientID || user.Mailbox != sandbox.UserUPN ||
		user.CAFile != sb.CAFile || user.AuthorityHost != sb.Authority.URL() {
		t.Errorf("user profile = %+v", *user)
	}

	// The default profile is the app-only one.
	def, err := config.Load(config.LoadOptions{File: sb.ConfigFile, Env: env})
	if err != nil || def.Name != sandbox.AppProfile {
		t.Errorf("default profile: %v, %v", def, err)
	}
}

type xoauth2 struct{ user, token string }

func (a xoauth2) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + a.user + "\x01auth=Bearer " + a.token + "\x01\x01"), nil
}

func (a xoauth2) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return []byte{}, nil
	}
	return nil, nil
}

// TestBothFakesShareTheCAAndTheTokens drives the sandbox with clients that
// know nothing of m365send (net/http, net/smtp), trusting only the written
// CA file: the authority's token must be accepted by the SMTP server.
func TestBothFakesShareTheCAAndTheTokens(t *testing.T) {
	sb := start(t)
	pemBytes, err := os.ReadFile(sb.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("CA file holds no certificate")
	}
	secret, _ := os.ReadFile(sb.SecretFile)

	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := hc.PostForm(sb.Authority.URL()+"/"+sb.Authority.TenantDomain()+"/oauth2/v2.0/token", url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {sandbox.AppClientID},
		"client_secret": {string(secret)},
		"scope":         {"https://outlook.office365.com/.default"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token response %d: %+v, %v", resp.StatusCode, tok, err)
	}

	c, err := smtp.Dial(sb.SMTP.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{RootCAs: pool, ServerName: sb.SMTP.Host(), MinVersion: tls.VersionTLS12}); err != nil {
		t.Fatalf("STARTTLS with the CA file: %v", err)
	}
	if err := c.Auth(xoauth2{sandbox.AppMailbox, tok.AccessToken}); err != nil {
		t.Fatalf("AUTH XOAUTH2 with the authority's token: %v", err)
	}
	if err := c.Mail(sandbox.AppMailbox); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("ops@example.com"); err != nil {
		t.Fatal(err)
	}
	wc, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wc.Write([]byte("From: alerts@contoso.com\r\nTo: ops@example.com\r\nSubject: raw\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := wc.Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.Quit()

	msgs, err := sb.SMTP.WaitMessages(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := sandbox.WriteMessage(&out, msgs[0]); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"AUTH XOAUTH2 user: alerts@contoso.com",
		"MAIL FROM:         <alerts@contoso.com>",
		"RCPT TO:           <ops@example.com>",
		"  Subject: raw",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("WriteMessage lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "body") {
		t.Errorf("WriteMessage printed the body:\n%s", out.String())
	}

	// A token for another mailbox is refused, as Exchange would.
	c2, err := smtp.Dial(sb.SMTP.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.StartTLS(&tls.Config{RootCAs: pool, ServerName: sb.SMTP.Host()}); err != nil {
		t.Fatal(err)
	}
	if err := c2.Auth(xoauth2{"ceo@contoso.com", tok.AccessToken}); err == nil || !strings.Contains(err.Error(), "5.7.3") {
		t.Errorf("AUTH as another mailbox: %v, want 535 5.7.3", err)
	}
}

func TestWriteInstructionsNamesTheConfigAndProfiles(t *testing.T) {
	sb := start(t)
	var b strings.Builder
	if err := sb.WriteInstructions(&b, "m365send"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"m365send --config " + sb.ConfigFile + " send --profile sandbox --to ",
		"m365send --config " + sb.ConfigFile + " login --device-code --profile sandbox-user",
		sb.Authority.URL(),
		sb.SMTP.Addr(),
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("instructions lack %q:\n%s", want, b.String())
		}
	}
}

// The tests' world is the sandbox with adjusted fakes: the options reach
// the app registration, the SMTP server and the device-code approval.
func TestStartOptionsAdjustTheFakes(t *testing.T) {
	sb, err := sandbox.Start(t.Context(), sandbox.Options{
		Dir:   filepath.Join(t.TempDir(), "sb"),
		Entra: entratest.Options{AutoApprove: "-"},
		SMTP:  smtptest.Options{NoStartTLS: true},
		App:   &entratest.App{ClientID: "11111111-2222-3333-4444-555555555555", Roles: []string{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	vars := sb.Vars()
	if vars["APP_ID"] != "11111111-2222-3333-4444-555555555555" || vars["SMTP_PORT"] != strconv.Itoa(sb.SMTP.Port()) ||
		vars["AUTHORITY_HOST"] != sb.Authority.URL() || vars["CA_FILE"] != sb.CAFile || vars["TENANT_ID"] != sb.Authority.TenantID() {
		t.Errorf("Vars() = %v", vars)
	}
	secret, err := os.ReadFile(sb.SecretFile)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: sb.Authority.ClientTLSConfig()}}
	resp, err := hc.PostForm(sb.Authority.URL()+"/"+sb.Authority.TenantDomain()+"/oauth2/v2.0/token", url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {vars["APP_ID"]},
		"client_secret": {string(secret)},
		"scope":         {"https://outlook.office365.com/.default"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("the app with the generated secret got no token (%d, %v)", resp.StatusCode, err)
	}
	if err := sb.Authority.Verify(tok.AccessToken, sandbox.AppMailbox); err == nil || !strings.Contains(err.Error(), "SMTP.SendAsApp") {
		t.Errorf("a token without roles verified: %v", err)
	}
	c, err := smtp.Dial(sb.SMTP.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("the SMTP option NoStartTLS did not reach the server")
	}
}
