package token_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/m365send/m365send/token"
	"github.com/m365send/m365send/token/entratest"
)

// Client credentials (a service principal with a secret) against a local
// fake Entra ID. The second Token call is answered from the cache file.
func Example() {
	auth, err := entratest.New(entratest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	if err := auth.AddApp(entratest.App{ClientID: "app-id", Secret: "app-secret", Mailboxes: []string{"alerts@contoso.com"}}); err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "m365send-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	src, err := token.New(token.Config{
		Flow:          token.FlowClientCredentials,
		Tenant:        "contoso.onmicrosoft.com",
		ClientID:      "app-id",
		ClientSecret:  "app-secret",
		AuthorityHost: auth.URL(),        // a custom host: instance discovery is off
		HTTPClient:    auth.HTTPClient(), // trusts the fake's CA
		CacheFile:     filepath.Join(dir, "alerts.json"),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(src.Scopes())
	for range 2 {
		tok, err := src.Token()
		if err != nil {
			log.Fatal(err)
		}
		claims, _ := token.ParseClaims(tok.AccessToken)
		fmt.Println(claims.Roles, auth.Verify(tok.AccessToken, "alerts@contoso.com") == nil)
	}
	fmt.Println("token requests:", auth.Requests(entratest.EndpointToken, ""))
	// Output:
	// [https://outlook.office365.com/.default]
	// [SMTP.SendAsApp] true
	// [SMTP.SendAsApp] true
	// token requests: 1
}

// A person signs in once with a device code; later calls are silent.
func ExampleSource_Login() {
	auth, err := entratest.New(entratest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	auth.AddPublicClient("cli-app-id")
	dir, err := os.MkdirTemp("", "m365send-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	cfg := token.Config{
		Flow:          token.FlowDeviceCode,
		Tenant:        "contoso.onmicrosoft.com",
		ClientID:      "cli-app-id",
		AuthorityHost: auth.URL(),
		HTTPClient:    auth.HTTPClient(),
		CacheFile:     filepath.Join(dir, "me.json"),
		DeviceCodePrompt: func(ctx context.Context, dc token.DeviceCode) error {
			// A real prompt prints dc.Message; here the "person" approves at once.
			return auth.ApproveDeviceCode(dc.UserCode, "adele@contoso.com")
		},
	}
	src, err := token.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := src.Token(); errors.Is(err, token.ErrLoginRequired) {
		fmt.Println("before login:", err)
	}
	if _, err := src.Login(context.Background()); err != nil {
		log.Fatal(err)
	}
	later, _ := token.New(cfg) // e.g. the next `m365send send`
	tok, err := later.Token()
	if err != nil {
		log.Fatal(err)
	}
	claims, _ := token.ParseClaims(tok.AccessToken)
	fmt.Println(claims.UPN, claims.Scopes)
	// Output:
	// before login: sign-in required: this profile has no usable sign-in
	// adele@contoso.com [SMTP.Send]
}

// Entra ID's refusals come back as *token.Error with the AADSTS code and a
// hint saying what to do.
func ExampleError() {
	auth, err := entratest.New(entratest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	if err := auth.AddApp(entratest.App{ClientID: "app-id", Secret: "app-secret", SecretExpired: true}); err != nil {
		log.Fatal(err)
	}
	src, err := token.New(token.Config{
		Flow:          token.FlowClientCredentials,
		Tenant:        "contoso.onmicrosoft.com",
		ClientID:      "app-id",
		ClientSecret:  "app-secret",
		AuthorityHost: auth.URL(),
		HTTPClient:    auth.HTTPClient(),
	})
	if err != nil {
		log.Fatal(err)
	}
	_, err = src.Token()
	var te *token.Error
	if errors.As(err, &te) {
		fmt.Println(te.OAuthError, te.Code)
		fmt.Println(te.Hint())
	}
	// Output:
	// invalid_client 7000222
	// the client secret has expired: create a new one under the app registration's Certificates & secrets and update the profile
}
