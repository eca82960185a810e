package entratest_test

import (
	"fmt"
	"log"
	"net/url"

	"github.com/m365send/m365send/token/entratest"
)

// A fake Entra ID issues an app-only token that its verifier (what a fake
// SMTP server calls) accepts for the app's mailbox only.
func Example() {
	auth, err := entratest.New(entratest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	if err := auth.AddApp(entratest.App{
		ClientID:  "app-id",
		Secret:    "app-secret",
		Mailboxes: []string{"alerts@contoso.com"},
	}); err != nil {
		log.Fatal(err)
	}
	// Any OAuth client works; token.Source drives it through MSAL.
	resp, err := auth.HTTPClient().PostForm(auth.URL()+"/contoso.onmicrosoft.com/oauth2/v2.0/token", url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {"app-id"},
		"client_secret": {"app-secret"},
		"scope":         {"https://outlook.office365.com/.default"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := jsonDecode(resp.Body, &body); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode)
	fmt.Println(auth.Verify(body.AccessToken, "alerts@contoso.com"))
	fmt.Println(auth.Verify(body.AccessToken, "ceo@contoso.com"))
	fmt.Println(auth.Requests(entratest.EndpointToken, entratest.GrantClientCredentials))
	// Output:
	// 200
	// <nil>
	// access token refused: app app-id has no permission on mailbox ceo@contoso.com (Add-MailboxPermission)
	// 1
}
