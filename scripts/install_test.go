package scripts_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// installLine is the README's install command: `go install` of the
// command, with the environment it sets.
var installLine = regexp.MustCompile(`(?m)^((?:[A-Z_]+=\S+ )*)go install (github\.com/m365send/m365send/cmd/m365send)@latest$`)

// TestReadmeInstallBuildsStaticBinary runs the README's install command
// (from this checkout instead of @latest) and checks that the binary is a
// release build: CGO_ENABLED=0 in its build info, and statically linked,
// so it runs on any Linux of the architecture (docs/development.md).
func TestReadmeInstallBuildsStaticBinary(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := installLine.FindStringSubmatch(string(readme))
	if m == nil {
		t.Fatal("README.md has no `go install github.com/m365send/m365send/cmd/m365send@latest` line")
	}
	env := strings.Fields(m[1])
	if !strings.Contains(m[1], "CGO_ENABLED=0") {
		t.Fatalf("the README's install command %q does not set CGO_ENABLED=0", strings.TrimSpace(m[0]))
	}
	bin := t.TempDir()
	cmd := exec.Command("go", "install", "./cmd/m365send")
	cmd.Dir = ".."
	cmd.Env = append(append(os.Environ(), "GOBIN="+bin, "GOFLAGS=-buildvcs=false"), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", m[0], err, out)
	}
	exe := filepath.Join(bin, "m365send")
	out, err := exec.Command("go", "version", "-m", exe).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^\s*build\s+CGO_ENABLED=0$`).Match(out) {
		t.Fatalf("go version -m does not show CGO_ENABLED=0:\n%s", out)
	}
	if _, err := exec.LookPath("file"); err != nil {
		if os.Getenv("REQUIRE_TEST_TOOLS") == "1" {
			t.Fatal("file(1) is required (REQUIRE_TEST_TOOLS=1) but not found")
		}
		t.Skip("file(1) is not installed (apt-get install file); set REQUIRE_TEST_TOOLS=1 to make this a failure")
	}
	out, err = exec.Command("file", "-L", exe).CombinedOutput()
	if err != nil {
		t.Fatalf("file: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "statically linked") {
		t.Fatalf("file does not say statically linked: %s", out)
	}
}
