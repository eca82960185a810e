package config

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// entraSecret is shaped like a real Entra ID client secret value.
const entraSecret = "PFB8Q~snfX2kLq9vR.Tz3hWm_Yp0cJd-4eUa7bGi"

func TestSecretCommandFailureKeepsItsOutputOut(t *testing.T) {
	f := newFixture(t)
	f.config("[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\n" +
		`client_secret_command = ["sh", "-c", "echo 'vault: bad token for ` + entraSecret + `' >&2; echo ` + entraSecret + `; exit 3"]` + "\n")
	p, err := f.load(LoadOptions{Profile: "p"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Secret(context.Background())
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("Secret error = %v (%T), want *Error", err, err)
	}
	if !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("Error() = %q, want the exit status", err)
	}
	if !strings.Contains(ce.Hint, "run the command by hand") {
		t.Errorf("Hint = %q, want a hint to run the command by hand", ce.Hint)
	}
	if strings.Contains(err.Error(), "vault: bad token") {
		t.Errorf("error repeats the command's stderr: %v", err)
	}
	for _, s := range []string{err.Error(), ce.Hint} {
		if strings.Contains(s, "PFB8Q") || strings.Contains(s, "snfX2k") {
			t.Errorf("error leaks the secret: %q", s)
		}
	}
}
