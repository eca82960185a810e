package scripts_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// verifyUnits copies the systemd units files (name -> text) into a
// folder, with the m365send binary's path replaced by one that exists,
// and returns what `systemd-analyze verify` says about them: "" when it
// finds nothing to say (it exits 0 even for unknown keys, but prints
// them).
func verifyUnits(t *testing.T, analyze string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for name, text := range files {
		text = strings.ReplaceAll(text, "/usr/local/bin/m365send", "/bin/true")
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	out, err := exec.Command(analyze, append([]string{"verify"}, paths...)...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return err.Error()
	}
	return strings.TrimSpace(string(out))
}

// The units in deploy/ parse: systemd-analyze finds no unknown key, no
// bad value and no missing unit. Skipped where systemd is not installed.
func TestSystemdUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	if _, err := os.Stat("/bin/true"); err != nil {
		t.Skip("no /bin/true to stand in for the binary")
	}
	// The check itself sees a mistake.
	if msg := verifyUnits(t, analyze, map[string]string{"bad.service": "[Service]\nExecStart=/bin/true\nProtectSystem=bogus\n"}); msg == "" {
		t.Fatal("systemd-analyze verify found nothing wrong with ProtectSystem=bogus: the check cannot fail")
	}
	units, err := filepath.Glob("../deploy/*")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, u := range units {
		if !strings.HasSuffix(u, ".service") && !strings.HasSuffix(u, ".timer") {
			continue
		}
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(u)] = string(b)
	}
	for _, want := range []string{"m365send-relay.service", "m365send-queue-flush.service", "m365send-queue-flush.timer"} {
		if _, ok := files[want]; !ok {
			t.Errorf("deploy/%s is missing", want)
		}
	}
	if msg := verifyUnits(t, analyze, files); msg != "" {
		t.Errorf("systemd-analyze verify:\n%s", msg)
	}
}
