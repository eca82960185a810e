package scripts_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/m365send/m365send/config"
)

// The IDs the fake az (testdata/fake-az) answers with.
const (
	fakeTenant      = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	fakeAppID       = "11111111-aaaa-4aaa-8aaa-111111111111"
	fakeAppObjectID = "22222222-bbbb-4bbb-8bbb-222222222222" // the app registration's: must never be used
	fakeSPObjectID  = "33333333-cccc-4ccc-8ccc-333333333333" // the enterprise application's
	fakeRoleID      = "5ad511a6-8e67-4e2c-9d47-3e2a4e2ca4b1" // SMTP.SendAsApp in the fake tenant
	exoAppID        = "00000002-0000-0ff1-ce00-000000000000"
)

// tenant is one fake Entra tenant: the fake az first on PATH, its call log
// and state, and a config folder for the script to write into.
type tenant struct {
	t         *testing.T
	env       []string
	log       string
	state     string
	configDir string
	home      string
}

func newTenant(t *testing.T) *tenant {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	state := filepath.Join(dir, "state")
	home := filepath.Join(dir, "home")
	for _, d := range []string{bin, state, home} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// Read the script here too: bash reads it in a child process, which go
	// test's result cache does not see.
	if _, err := os.ReadFile("setup-entra-app.sh"); err != nil {
		t.Fatal(err)
	}
	fake, err := os.ReadFile(filepath.Join("testdata", "fake-az"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "az"), fake, 0o755); err != nil {
		t.Fatal(err)
	}
	tn := &tenant{
		t:         t,
		log:       filepath.Join(dir, "az.log"),
		state:     state,
		configDir: filepath.Join(home, ".config", "m365send"),
		home:      home,
	}
	tn.env = []string{
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"FAKE_AZ_LOG=" + tn.log,
		"FAKE_AZ_STATE=" + state,
		"LC_ALL=C",
	}
	return tn
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs setup-entra-app.sh with args and extra environment.
func (tn *tenant) run(extraEnv []string, args ...string) result {
	tn.t.Helper()
	cmd := exec.CommandContext(tn.t.Context(), "bash", append([]string{"setup-entra-app.sh"}, args...)...)
	cmd.Env = append(append([]string{}, tn.env...), extraEnv...)
	cmd.Dir = "."
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			tn.t.Fatalf("run setup-entra-app.sh: %v", err)
		}
		code = ee.ExitCode()
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// calls returns the az calls made so far, each as its arguments after
// "az" joined by spaces.
func (tn *tenant) calls() []string {
	tn.t.Helper()
	b, err := os.ReadFile(tn.log)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		tn.t.Fatal(err)
	}
	var calls []string
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		calls = append(calls, strings.Join(f[1:], " "))
	}
	return calls
}

// section returns the lines between the "# ---- <title>" marker and the
// next "# ---- end" marker of the script's output.
func section(t *testing.T, out, title string) string {
	t.Helper()
	start := strings.Index(out, "# ---- "+title)
	if start < 0 {
		t.Fatalf("output has no %q section:\n%s", title, out)
	}
	rest := out[start:]
	rest = rest[strings.Index(rest, "\n")+1:]
	end := strings.Index(rest, "# ---- end")
	if end < 0 {
		t.Fatalf("section %q has no end marker:\n%s", title, out)
	}
	return rest[:end]
}

// loadProfile writes the printed TOML into a config file and loads it with
// the config package, as m365send would.
func loadProfile(t *testing.T, tn *tenant, toml, name string) *config.Profile {
	t.Helper()
	file := filepath.Join(tn.configDir, "config.toml")
	if err := os.WriteFile(file, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HOME": tn.home, "XDG_CONFIG_HOME": filepath.Join(tn.home, ".config")}
	p, err := config.Load(config.LoadOptions{
		File:    file,
		Profile: name,
		Env:     func(k string) string { return env[k] },
	})
	if err != nil {
		t.Fatalf("config.Load of the printed profile: %v\nprofile:\n%s", err, toml)
	}
	return p
}

func wantCalls(t *testing.T, got []string, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("az calls:\n  %s\nwant %d calls matching:\n  %s", strings.Join(got, "\n  "), len(want), strings.Join(want, "\n  "))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("az call %d = %q, want it to start with %q", i+1, got[i], want[i])
		}
	}
}

func TestSetupEntraAppCreatesAppConsentsAndPrintsProfile(t *testing.T) {
	tn := newTenant(t)
	r := tn.run(nil, "--name", "m365send-test", "--mailbox", "alerts@contoso.com", "--mailbox", "reports@contoso.com")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}

	wantCalls(t, tn.calls(), []string{
		"cloud show --query name -o tsv",
		"account show --query tenantId -o tsv",
		"ad app list --filter displayName eq 'm365send-test' --query [].appId -o tsv",
		"ad app create --display-name m365send-test --sign-in-audience AzureADMyOrg --query appId -o tsv",
		"ad sp list --filter appId eq '" + fakeAppID + "' --query [].id -o tsv",
		"ad sp create --id " + fakeAppID,
		"ad sp show --id " + fakeAppID + " --query id -o tsv",
		"ad sp show --id " + exoAppID + " --query appRoles[?value=='SMTP.SendAsApp'].id -o tsv",
		"ad app permission list --id " + fakeAppID,
		"ad app permission add --id " + fakeAppID + " --api " + exoAppID + " --api-permissions " + fakeRoleID + "=Role",
		"ad app permission admin-consent --id " + fakeAppID,
		"ad app credential reset --id " + fakeAppID + " --cert @" + filepath.Join(tn.configDir, "m365send-test.crt") + " --append",
	})

	// The profile loads, and says what the tenant handed out.
	p := loadProfile(t, tn, section(t, r.stdout, "m365send profile"), "app")
	pemFile := filepath.Join(tn.configDir, "m365send-test.pem")
	if p.Flow != "client_credentials" || p.Tenant != fakeTenant || p.ClientID != fakeAppID ||
		p.CertificateFile != pemFile || p.Mailbox != "alerts@contoso.com" || p.ClientSecretFile != "" {
		t.Errorf("profile = %+v", p)
	}

	// The key file is private and holds the key of the uploaded certificate.
	fi, err := os.Stat(pemFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s mode = %v, want 0600", pemFile, fi.Mode().Perm())
	}
	pemBytes, _ := os.ReadFile(pemFile)
	pair, err := tls.X509KeyPair(pemBytes, pemBytes)
	if err != nil {
		t.Fatalf("certificate_file is not a PEM certificate + key: %v", err)
	}
	uploaded, err := os.ReadFile(filepath.Join(tn.state, "uploaded-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(uploaded)
	if block == nil || block.Type != "CERTIFICATE" || !bytes.Equal(block.Bytes, pair.Certificate[0]) {
		t.Errorf("the uploaded certificate is not the one in %s", pemFile)
	}
	if bytes.Contains(uploaded, []byte("PRIVATE KEY")) {
		t.Error("the private key was uploaded")
	}
	if _, err := x509.ParseCertificate(pair.Certificate[0]); err != nil {
		t.Error(err)
	}

	// The Exchange step names the enterprise application's object ID and
	// never the app registration's.
	ps := section(t, r.stdout, "Exchange Online PowerShell")
	for _, want := range []string{
		"New-ServicePrincipal -AppId " + fakeAppID + " -ObjectId " + fakeSPObjectID,
		"Add-MailboxPermission -Identity 'alerts@contoso.com' -User " + fakeSPObjectID + " -AccessRights FullAccess",
		"Add-MailboxPermission -Identity 'reports@contoso.com' -User " + fakeSPObjectID + " -AccessRights FullAccess",
		"Set-CASMailbox -Identity 'alerts@contoso.com' -SmtpClientAuthenticationDisabled $false",
		"setup-exchange.ps1 -AppId " + fakeAppID + " -ObjectId " + fakeSPObjectID + " -Mailbox 'alerts@contoso.com','reports@contoso.com'",
	} {
		if !strings.Contains(ps, want) {
			t.Errorf("PowerShell lines lack %q:\n%s", want, ps)
		}
	}
	if strings.Contains(r.stdout+r.stderr, fakeAppObjectID) {
		t.Errorf("output names the app registration's object ID %s:\n%s", fakeAppObjectID, r.stdout)
	}
	checkPowerShellParams(t, "printed lines", ps)
}

func TestSetupEntraAppRunTwiceChangesNothingTheSecondTime(t *testing.T) {
	tn := newTenant(t)
	args := []string{"--name", "m365send-test", "--mailbox", "alerts@contoso.com"}
	first := tn.run(nil, args...)
	if first.code != 0 {
		t.Fatalf("first run: exit %d:\n%s", first.code, first.stderr)
	}
	n := len(tn.calls())
	pem1, _ := os.ReadFile(filepath.Join(tn.configDir, "m365send-test.pem"))

	second := tn.run(nil, args...)
	if second.code != 0 {
		t.Fatalf("second run: exit %d:\n%s", second.code, second.stderr)
	}
	again := tn.calls()[n:]
	for _, c := range again {
		for _, change := range []string{"ad app create", "ad sp create", "ad app permission add", "ad app credential reset"} {
			if strings.HasPrefix(c, change) {
				t.Errorf("second run changed the tenant: az %s", c)
			}
		}
	}
	pem2, _ := os.ReadFile(filepath.Join(tn.configDir, "m365send-test.pem"))
	if !bytes.Equal(pem1, pem2) {
		t.Error("second run replaced the certificate")
	}
	if section(t, first.stdout, "m365send profile") != section(t, second.stdout, "m365send profile") {
		t.Errorf("profiles differ:\n%s\n%s", first.stdout, second.stdout)
	}
}

// uploadedMatches fails the test unless the last certificate the fake
// tenant received is the one in pemFile.
func uploadedMatches(t *testing.T, tn *tenant, pemFile string) {
	t.Helper()
	pemBytes, err := os.ReadFile(pemFile)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(pemBytes, pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	uploaded, err := os.ReadFile(filepath.Join(tn.state, "uploaded-cert.pem"))
	if err != nil {
		t.Fatalf("no certificate was uploaded: %v", err)
	}
	block, _ := pem.Decode(uploaded)
	if block == nil || !bytes.Equal(block.Bytes, pair.Certificate[0]) || bytes.Contains(uploaded, []byte("PRIVATE KEY")) {
		t.Errorf("the uploaded certificate is not the public part of %s", pemFile)
	}
}

// countPrefix counts the calls starting with prefix.
func countPrefix(calls []string, prefix string) int {
	n := 0
	for _, c := range calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func TestSetupEntraAppUploadsAKeptCertificateToARecreatedApp(t *testing.T) {
	tn := newTenant(t)
	args := []string{"--name", "m365send-test", "--mailbox", "alerts@contoso.com"}
	if r := tn.run(nil, args...); r.code != 0 {
		t.Fatalf("first run: exit %d:\n%s", r.code, r.stderr)
	}
	pemFile := filepath.Join(tn.configDir, "m365send-test.pem")
	pem1, _ := os.ReadFile(pemFile)
	// The app registration is deleted (in the portal, say): the tenant
	// forgets it, its service principal, permission and certificates.
	for _, f := range []string{"app", "sp", "perm", "consent", "cert-thumbprints", "uploaded-cert.pem"} {
		if err := os.Remove(filepath.Join(tn.state, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	n := len(tn.calls())

	r := tn.run(nil, args...)
	if r.code != 0 {
		t.Fatalf("second run: exit %d:\n%s", r.code, r.stderr)
	}
	again := tn.calls()[n:]
	if countPrefix(again, "ad app create") != 1 {
		t.Fatalf("the second run did not create the app again: %q", again)
	}
	if got := countPrefix(again, "ad app credential reset --id "+fakeAppID+" --cert @"); got != 1 {
		t.Errorf("the kept certificate was uploaded %d times to the new app, want once; calls:\n  %s", got, strings.Join(again, "\n  "))
	}
	pem2, _ := os.ReadFile(pemFile)
	if !bytes.Equal(pem1, pem2) {
		t.Error("the second run replaced the kept key")
	}
	uploadedMatches(t, tn, pemFile)
}

func TestSetupEntraAppUploadsAKeptCertificateTheAppLacks(t *testing.T) {
	tn := newTenant(t)
	args := []string{"--name", "m365send-test", "--mailbox", "alerts@contoso.com"}
	if r := tn.run(nil, args...); r.code != 0 {
		t.Fatalf("first run: exit %d:\n%s", r.code, r.stderr)
	}
	// The certificate credential is removed from the (kept) app, and the
	// .crt next to the key is gone too.
	for _, f := range []string{filepath.Join(tn.state, "cert-thumbprints"), filepath.Join(tn.state, "uploaded-cert.pem"), filepath.Join(tn.configDir, "m365send-test.crt")} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	n := len(tn.calls())

	r := tn.run(nil, args...)
	if r.code != 0 {
		t.Fatalf("second run: exit %d:\n%s", r.code, r.stderr)
	}
	again := tn.calls()[n:]
	if countPrefix(again, "ad app create") != 0 {
		t.Errorf("the app was created again: %q", again)
	}
	if countPrefix(again, "ad app credential list --id "+fakeAppID+" --cert") != 1 ||
		countPrefix(again, "ad app credential reset --id "+fakeAppID+" --cert @") != 1 {
		t.Errorf("want one credential list and one upload; calls:\n  %s", strings.Join(again, "\n  "))
	}
	uploadedMatches(t, tn, filepath.Join(tn.configDir, "m365send-test.pem"))

	// Now the app holds it: a third run uploads nothing.
	n = len(tn.calls())
	if r := tn.run(nil, args...); r.code != 0 {
		t.Fatalf("third run: exit %d:\n%s", r.code, r.stderr)
	}
	if got := countPrefix(tn.calls()[n:], "ad app credential reset"); got != 0 {
		t.Errorf("third run uploaded %d times; want none", got)
	}
}

func TestSetupEntraAppStopsAtFirstFailureNamingTheCommand(t *testing.T) {
	tn := newTenant(t)
	r := tn.run([]string{"FAKE_AZ_FAIL=ad app permission admin-consent"}, "--name", "m365send-test", "--mailbox", "alerts@contoso.com")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		"FAILED (exit 1): az ad app permission admin-consent --id " + fakeAppID,
		"ERROR: Insufficient privileges to complete the operation.",
		"hint: admin consent needs a Privileged Role Administrator or Global Administrator",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	calls := tn.calls()
	if last := calls[len(calls)-1]; !strings.HasPrefix(last, "ad app permission admin-consent") {
		t.Errorf("the script went on after the failure; last call: az %s", last)
	}
	if strings.Contains(r.stdout, "[profiles.") {
		t.Errorf("a profile was printed after a failure:\n%s", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(tn.configDir, "m365send-test.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a key file was written after a failure (stat: %v)", err)
	}
}

func TestSetupEntraAppFailsWhenTheFirstCallFails(t *testing.T) {
	tn := newTenant(t)
	r := tn.run([]string{"FAKE_AZ_FAIL=account show"}, "--mailbox", "alerts@contoso.com")
	if r.code != 1 || !strings.Contains(r.stderr, "FAILED (exit 1): az account show") || !strings.Contains(r.stderr, "az login") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if got := tn.calls(); len(got) != 2 {
		t.Errorf("calls after the failure: %q", got)
	}
}

func TestSetupEntraAppRefusesAnotherCloud(t *testing.T) {
	tn := newTenant(t)
	r := tn.run([]string{"FAKE_AZ_CLOUD=AzureCloud"}, "--cloud", "usgov", "--mailbox", "alerts@contoso.us")
	if r.code != 1 || !strings.Contains(r.stderr, "az cloud set --name AzureUSGovernment") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if got := tn.calls(); len(got) != 1 {
		t.Errorf("went on after the cloud check: %q", got)
	}
	r = tn.run([]string{"FAKE_AZ_CLOUD=AzureUSGovernment"}, "--cloud", "usgov", "--mailbox", "alerts@contoso.us")
	if r.code != 0 {
		t.Fatalf("usgov: exit %d:\n%s", r.code, r.stderr)
	}
	if p := loadProfile(t, tn, section(t, r.stdout, "m365send profile"), "app"); p.Cloud != "usgov" {
		t.Errorf("cloud = %q, want usgov", p.Cloud)
	}
}

func TestSetupEntraAppDryRunPrintsEveryCommandAndRunsNone(t *testing.T) {
	tn := newTenant(t)
	r := tn.run(nil, "--dry-run", "--name", "m365send-test", "--mailbox", "alerts@contoso.com")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	if got := tn.calls(); len(got) != 0 {
		t.Errorf("--dry-run ran az: %q", got)
	}
	for _, want := range []string{
		"+ az cloud show --query name -o tsv",
		"+ az account show --query tenantId -o tsv",
		"+ az ad app list --filter 'displayName eq '\\''m365send-test'\\''' --query '[].appId' -o tsv",
		"+ az ad app create --display-name m365send-test --sign-in-audience AzureADMyOrg",
		"+ az ad sp create --id '<appId>'",
		"+ az ad sp show --id '<appId>' --query id -o tsv",
		"+ az ad sp show --id " + exoAppID + " --query 'appRoles[?value=='\\''SMTP.SendAsApp'\\''].id' -o tsv",
		"+ az ad app permission add --id '<appId>' --api " + exoAppID + " --api-permissions '<smtpSendAsAppRoleId>=Role'",
		"+ az ad app permission admin-consent --id '<appId>'",
		"+ (umask 077; openssl req -x509",
		"+ az ad app credential reset --id '<appId>' --cert",
		"-ObjectId <servicePrincipalObjectId>",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, r.stdout)
		}
	}
	if _, err := os.Stat(tn.configDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--dry-run created %s (stat: %v)", tn.configDir, err)
	}
}

func TestSetupEntraAppSecretOnlyWithFlagAndNeverPrinted(t *testing.T) {
	tn := newTenant(t)
	r := tn.run(nil, "--secret", "--name", "m365send-test", "--profile", "alerts", "--mailbox", "alerts@contoso.com")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	issued, err := os.ReadFile(filepath.Join(tn.state, "issued-secret"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.stdout+r.stderr, string(issued)) {
		t.Errorf("the secret was printed")
	}
	secretFile := filepath.Join(tn.configDir, "m365send-test.secret")
	got, err := os.ReadFile(secretFile)
	if err != nil || string(got) != string(issued) {
		t.Fatalf("secret file holds %q (%v), want the issued secret", got, err)
	}
	if fi, _ := os.Stat(secretFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, want 0600", fi.Mode().Perm())
	}
	for _, c := range tn.calls() {
		if strings.Contains(c, "--cert") {
			t.Errorf("--secret also made a certificate: az %s", c)
		}
	}
	p := loadProfile(t, tn, section(t, r.stdout, "m365send profile"), "alerts")
	if p.ClientSecretFile != secretFile || p.CertificateFile != "" {
		t.Errorf("profile = %+v", p)
	}
	secret, err := p.Secret(t.Context())
	if err != nil || secret != string(issued) {
		t.Errorf("profile's secret resolves to %q, %v", secret, err)
	}
}

func TestSetupEntraAppRbacSkipsEntraPermission(t *testing.T) {
	tn := newTenant(t)
	r := tn.run(nil, "--rbac", "--name", "m365send-test", "--mailbox", "alerts@contoso.com")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	for _, c := range tn.calls() {
		if strings.HasPrefix(c, "ad app permission") {
			t.Errorf("--rbac still touched Entra permissions: az %s", c)
		}
	}
	ps := section(t, r.stdout, "Exchange Online PowerShell")
	for _, want := range []string{
		"New-ServicePrincipal -AppId " + fakeAppID + " -ObjectId " + fakeSPObjectID,
		"New-ManagementScope -Name 'm365send " + fakeAppID + "' -RecipientRestrictionFilter \"PrimarySmtpAddress -eq 'alerts@contoso.com'\"",
		"New-ManagementRoleAssignment -Name 'm365send SMTP " + fakeAppID + "' -Role 'Application SMTP.SendAsApp' -App " + fakeAppID,
		"-UseRbac",
	} {
		if !strings.Contains(ps, want) {
			t.Errorf("PowerShell lines lack %q:\n%s", want, ps)
		}
	}
	if strings.Contains(ps, "Add-MailboxPermission") {
		t.Errorf("--rbac still prints Add-MailboxPermission:\n%s", ps)
	}
	checkPowerShellParams(t, "printed lines", ps)
}

func TestSetupEntraAppUsage(t *testing.T) {
	tn := newTenant(t)
	if r := tn.run(nil, "--help"); r.code != 0 || !strings.Contains(r.stdout, "Usage: setup-entra-app.sh --mailbox ADDRESS") || !strings.Contains(r.stdout, "--dry-run") {
		t.Errorf("--help: exit %d, stdout:\n%s", r.code, r.stdout)
	}
	for _, args := range [][]string{
		{},                                // no mailbox
		{"--mailbox", "not-an-address"},   // malformed
		{"--mailbox", "a@b.com", "--bad"}, // unknown flag
		{"--mailbox", "a@b.com", "--cloud", "mars"},
		{"--mailbox"},
	} {
		r := tn.run(nil, args...)
		if r.code != 64 || !strings.Contains(r.stderr, "--help") {
			t.Errorf("%q: exit %d, want 64; stderr:\n%s", args, r.code, r.stderr)
		}
	}
	if got := tn.calls(); len(got) != 0 {
		t.Errorf("usage errors ran az: %q", got)
	}
}

// documentedParams lists, per Exchange Online cmdlet the scripts use, the
// parameters Microsoft documents for it (Exchange Online PowerShell
// reference), plus the common parameters the scripts use. -ServiceId of
// New-ServicePrincipal is documented but deprecated, so it is left out.
var documentedParams = map[string][]string{
	"New-ServicePrincipal":         {"AppId", "ObjectId", "DisplayName", "Organization", "Confirm", "WhatIf"},
	"Get-ServicePrincipal":         {"Identity", "Organization"},
	"Add-MailboxPermission":        {"Identity", "User", "AccessRights", "AutoMapping", "Deny", "InheritanceType", "Owner", "GroupMailbox", "IgnoreDefaultScope", "Confirm", "WhatIf"},
	"Get-MailboxPermission":        {"Identity", "User", "Owner", "GroupMailbox", "ResultSize", "SoftDeletedMailbox", "IncludeSoftDeletedUserPermissions", "IncludeUnresolvedPermissions"},
	"Add-RecipientPermission":      {"Identity", "Trustee", "AccessRights", "Deny", "Confirm", "WhatIf", "SkipDomainValidationForMailContact", "SkipDomainValidationForMailUser", "SkipDomainValidationForSharedMailbox"},
	"Get-RecipientPermission":      {"Identity", "Trustee", "AccessRights", "ResultSize"},
	"Get-CASMailbox":               {"Identity", "ResultSize", "Filter"},
	"Set-CASMailbox":               {"Identity", "SmtpClientAuthenticationDisabled", "Confirm", "WhatIf"},
	"New-ManagementScope":          {"Name", "RecipientRestrictionFilter", "RecipientRoot", "Exclusive", "Force", "Confirm", "WhatIf"},
	"Get-ManagementScope":          {"Identity", "Exclusive", "Orphan"},
	"New-ManagementRoleAssignment": {"Name", "Role", "App", "User", "SecurityGroup", "Policy", "CustomResourceScope", "CustomRecipientWriteScope", "ExclusiveRecipientWriteScope", "RecipientAdministrativeUnitScope", "RecipientGroupScope", "RecipientOrganizationalUnitScope", "RecipientRelativeWriteScope", "Delegating", "Confirm", "WhatIf"},
	"Get-ManagementRoleAssignment": {"Identity", "Role", "RoleAssignee", "RoleAssigneeType", "Enabled", "Delegating", "Exclusive"},
	"Connect-ExchangeOnline":       {},
}

var commonParams = []string{"ErrorAction", "WarningAction", "Verbose"}

var cmdletCall = regexp.MustCompile(`\b((?:New|Get|Add|Set|Remove|Connect)-[A-Za-z]+)\b([^|;}\n]*)`)
var paramName = regexp.MustCompile(`(?:^|\s)-([A-Za-z]+)\b`)

// checkPowerShellParams fails when a line calls a known Exchange cmdlet
// with a parameter Microsoft does not document for it (or -ServiceId).
func checkPowerShellParams(t *testing.T, what, text string) {
	t.Helper()
	for i, line := range strings.Split(text, "\n") {
		code := strings.TrimSpace(line)
		if strings.HasPrefix(code, "#") {
			continue
		}
		for _, m := range cmdletCall.FindAllStringSubmatch(code, -1) {
			allowed, known := documentedParams[m[1]]
			if !known {
				continue
			}
			// Drop quoted text (filters, messages) before reading parameters.
			args := regexp.MustCompile(`'[^']*'|"[^"]*"`).ReplaceAllString(m[2], "''")
			for _, p := range paramName.FindAllStringSubmatch(args, -1) {
				name := p[1]
				if !contains(allowed, name) && !contains(commonParams, name) {
					t.Errorf("%s line %d: %s -%s is not a documented parameter: %s", what, i+1, m[1], name, code)
				}
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// statementAt returns where src first calls cmdlet as a statement (at the
// start of a line, after an assignment, or inside a { } block), or -1.
func statementAt(src, cmdlet string) int {
	re := regexp.MustCompile(`(?m)(^\s*|=\s*|@\(\s*|\{\s*)` + regexp.QuoteMeta(cmdlet) + ` -`)
	loc := re.FindStringIndex(src)
	if loc == nil {
		return -1
	}
	return loc[0]
}

func TestSetupExchangeScriptUsesDocumentedParameters(t *testing.T) {
	b, err := os.ReadFile("setup-exchange.ps1")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	// The comment-based help block is prose, not code.
	if i := strings.Index(src, "#>"); i >= 0 {
		src = src[i+2:]
	}
	checkPowerShellParams(t, "setup-exchange.ps1", src)
	for _, want := range []string{
		"New-ServicePrincipal -AppId $AppId -ObjectId $ObjectId",
		"Get-ServicePrincipal -Identity $AppId",
		"Add-MailboxPermission -Identity $m -User $ObjectId -AccessRights FullAccess",
		"Add-RecipientPermission -Identity $m -Trustee $ObjectId -AccessRights SendAs",
		"Set-CASMailbox -Identity $m -SmtpClientAuthenticationDisabled $false",
		"New-ManagementRoleAssignment -Name $assignmentName -Role 'Application SMTP.SendAsApp' -App $AppId -CustomResourceScope $scopeName",
		"[switch] $Help",
		"[switch] $UseRbac",
		"[switch] $SendAs",
		"[switch] $Graph",
		"New-ManagementRoleAssignment -Name $graphAssignmentName -Role 'Application Mail.Send' -App $AppId -CustomResourceScope $scopeName",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("setup-exchange.ps1 lacks %q", want)
		}
	}
	// Every change is guarded by a lookup, so a second run changes nothing.
	for change, lookup := range map[string]string{
		"New-ServicePrincipal":         "Get-ServicePrincipal",
		"Add-MailboxPermission":        "Get-MailboxPermission",
		"Add-RecipientPermission":      "Get-RecipientPermission",
		"Set-CASMailbox":               "Get-CASMailbox",
		"New-ManagementScope":          "Get-ManagementScope",
		"New-ManagementRoleAssignment": "Get-ManagementRoleAssignment",
	} {
		c, l := statementAt(src, change), statementAt(src, lookup)
		if c < 0 || l < 0 || l > c {
			t.Errorf("setup-exchange.ps1: %s is not preceded by a %s check", change, lookup)
		}
	}
	if !strings.Contains(string(b), "CANNOT RUN IN THE PROJECT'S TEST ENVIRONMENT") {
		t.Error("setup-exchange.ps1's header does not say it cannot run here")
	}
}

// --graph adds Microsoft Graph's Mail.Send (looked up at run time) besides
// SMTP.SendAsApp, once, and prints transport = "auto"; with --rbac it adds
// no Entra permission and prints the 'Application Mail.Send' role
// assignment instead.
func TestSetupEntraAppGraphGrantsMailSend(t *testing.T) {
	const graphAppID = "00000003-0000-0000-c000-000000000000"
	tn := newTenant(t)
	for range 2 {
		r := tn.run(nil, "--graph", "--name", "m365send-test", "--mailbox", "alerts@contoso.com")
		if r.code != 0 {
			t.Fatalf("exit %d:\n%s", r.code, r.stderr)
		}
		if prof := section(t, r.stdout, "m365send profile"); !strings.Contains(prof, `transport = "auto"`) {
			t.Errorf("profile lacks transport = \"auto\":\n%s", prof)
		}
		if ps := section(t, r.stdout, "Exchange Online PowerShell"); !strings.Contains(ps, "-Graph") {
			t.Errorf("PowerShell lines lack -Graph:\n%s", ps)
		}
	}
	adds := 0
	for _, c := range tn.calls() {
		if strings.HasPrefix(c, "ad app permission add") && strings.Contains(c, "--api "+graphAppID) {
			adds++
			if !strings.Contains(c, "b633e1c5-b582-4048-a93e-9f11b44c7e96=Role") {
				t.Errorf("Graph permission added as %q", c)
			}
		}
	}
	if adds != 1 {
		t.Errorf("Graph Mail.Send added %d times over two runs, want 1", adds)
	}

	tn = newTenant(t)
	r := tn.run(nil, "--graph", "--rbac", "--name", "m365send-test", "--mailbox", "alerts@contoso.com")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	for _, c := range tn.calls() {
		if strings.HasPrefix(c, "ad app permission") {
			t.Errorf("--rbac --graph touched Entra permissions: az %s", c)
		}
	}
	ps := section(t, r.stdout, "Exchange Online PowerShell")
	if !strings.Contains(ps, "New-ManagementRoleAssignment -Name 'm365send Graph "+fakeAppID+"' -Role 'Application Mail.Send' -App "+fakeAppID) {
		t.Errorf("PowerShell lines lack the Mail.Send role assignment:\n%s", ps)
	}
	checkPowerShellParams(t, "printed lines", ps)
}
