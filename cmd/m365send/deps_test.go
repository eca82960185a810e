package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestBinaryLinksNoTestCode checks that the shipped binary does not link
// package testing, net/http/httptest or the module's test-only helpers:
// the sandbox's fakes (token/entratest, sender/smtptest) are libraries
// with plain options, not test helpers.
func TestBinaryLinksNoTestCode(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the binary's packages: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 || !slices.Contains(deps, "github.com/m365send/m365send/internal/sandbox") {
		t.Fatalf("go list -deps printed %d packages, without the sandbox: the check would check nothing", len(deps))
	}
	for _, p := range deps {
		if p == "testing" || strings.HasPrefix(p, "testing/") || p == "net/http/httptest" ||
			p == "github.com/m365send/m365send/internal/testnet" || strings.Contains(p, "/testscript") {
			t.Errorf("the binary links %s", p)
		}
	}
}
