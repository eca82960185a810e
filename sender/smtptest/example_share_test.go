package smtptest_test

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/url"

	"github.com/wneessen/go-mail/smtp"

	"github.com/m365send/m365send/sender/smtptest"
	"github.com/m365send/m365send/token/entratest"
)

// A fake Entra ID and a fake Office 365 that share one CA: the SMTP server
// presents the authority's certificate and checks tokens with its Verify,
// so a client trusting the authority's RootCAs, and nothing else, gets a
// token from one and sends through the other.
func Example_withEntratest() {
	auth, err := entratest.New(entratest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	if err := auth.AddApp(entratest.App{ClientID: "app-id", Secret: "app-secret", Mailboxes: []string{"alerts@contoso.com"}}); err != nil {
		log.Fatal(err)
	}
	cert := auth.ServerCertificate()
	srv, err := smtptest.New(smtptest.Options{Certificate: &cert, Verify: auth.Verify})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

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
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK {
		log.Fatal(resp.Status, err)
	}

	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	tlsConf := auth.ClientTLSConfig() // trusts the authority's CA only
	tlsConf.ServerName = srv.Host()
	fmt.Println("STARTTLS:", c.StartTLS(tlsConf))
	fmt.Println("AUTH as alerts:", c.Auth(smtp.XOAuth2Auth("alerts@contoso.com", tok.AccessToken)))
	fmt.Println("same CA PEM:", string(srv.CACertPEM()) == string(auth.CACertPEM()))
	// Output:
	// STARTTLS: <nil>
	// AUTH as alerts: <nil>
	// same CA PEM: true
}
