package config_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/m365send/m365send/config"
)

// A container needs no file: the environment alone makes a profile.
func ExampleLoad() {
	env := map[string]string{
		"AZURE_TENANT_ID":     "contoso.onmicrosoft.com",
		"AZURE_CLIENT_ID":     "00000000-0000-0000-0000-0000000000aa",
		"AZURE_CLIENT_SECRET": "example-secret",
		"M365SEND_MAILBOX":    "alerts@contoso.com",
		"M365SEND_CACHE_DIR":  "/var/cache/m365send",
	}
	p, err := config.Load(config.LoadOptions{Env: func(k string) string { return env[k] }})
	if err != nil {
		fmt.Println(err)
		return
	}
	secret, _ := p.Secret(context.Background())
	fmt.Println(p.Name, p.Flow, p.Mailbox, p.SMTPPort, p.CacheFile(), secret != "")
	// Output: default client_credentials alerts@contoso.com 587 /var/cache/m365send/default.json true
}

// Errors name where the bad value came from and what to do.
func ExampleError() {
	env := map[string]string{
		"AZURE_TENANT_ID":    "contoso.onmicrosoft.com",
		"AZURE_CLIENT_ID":    "00000000-0000-0000-0000-0000000000aa",
		"M365SEND_SMTP_PORT": "465",
	}
	_, err := config.Load(config.LoadOptions{Env: func(k string) string { return env[k] }})
	if e, ok := err.(*config.Error); ok {
		fmt.Println(e)
		fmt.Println("hint:", e.Hint())
	}
	// Output:
	// M365SEND_SMTP_PORT: port 465 (implicit TLS) is not supported
	// hint: Office 365 doesn't support 465; use 587 STARTTLS
}

// Passing the whole environment lets Load catch a mistyped variable of the
// program's own, which would otherwise be ignored.
func ExampleLoadOptions_environ() {
	environ := []string{
		"AZURE_TENANT_ID=contoso.onmicrosoft.com",
		"AZURE_CLIENT_ID=00000000-0000-0000-0000-0000000000aa",
		"M365SEND_CLIENT_SECRET=example-secret",
	}
	env := func(k string) string {
		for _, kv := range environ {
			if name, v, _ := strings.Cut(kv, "="); name == k {
				return v
			}
		}
		return ""
	}
	_, err := config.Load(config.LoadOptions{Env: env, Environ: environ})
	if e, ok := err.(*config.Error); ok {
		fmt.Println(e)
		fmt.Println("hint:", e.Hint())
	}
	// Output:
	// M365SEND_CLIENT_SECRET: unknown environment variable: m365send reads no variable of this name
	// hint: did you mean M365SEND_CLIENT_SECRET_FILE, or AZURE_CLIENT_SECRET?
}

// Keys is the one table of profile keys; the command's help and the
// documentation's key reference are made from it.
func ExampleKeys() {
	for _, k := range config.Keys()[:4] {
		fmt.Printf("%s (%s, $%s): %s\n", k.Name, k.Type, k.Env, k.Doc)
	}
	// Output:
	// flow (string, $M365SEND_FLOW): "client_credentials" (an app registration sends) or "device_code" (a person signs in once)
	// tenant (string, $AZURE_TENANT_ID): the Entra ID tenant: its directory ID (a GUID) or a verified domain; "organizations" or "common" only with device_code
	// client_id (string, $AZURE_CLIENT_ID): the app registration's Application (client) ID, a GUID
	// client_secret (string, $AZURE_CLIENT_SECRET): the client secret itself; only from the environment, never in the file
}
