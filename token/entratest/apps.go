package entratest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/m365send/m365send/token/entratest/internal/ids"
	"github.com/m365send/m365send/token/entratest/internal/mint"
)

// App is a confidential client (an app registration with its service
// principal) allowed to use client credentials.
type App struct {
	// ClientID is the application (client) ID.
	ClientID string
	// ObjectID is the service principal's object ID, put in the oid claim
	// (default: derived from ClientID).
	ObjectID string
	// Secret, if set, is a valid client secret.
	Secret string
	// SecretExpired makes the secret answer AADSTS7000222.
	SecretExpired bool
	// Certificate, if set, is a certificate whose key may sign client
	// assertions.
	Certificate *x509.Certificate
	// CertificatePEM is the certificate in PEM form, another way to give
	// it: AddApp parses it when Certificate is nil.
	CertificatePEM []byte
	// FederatedIssuer, if set, accepts federated (workload identity)
	// assertions with this iss, signed by the authority's federation key
	// (see FederatedAssertion).
	FederatedIssuer string
	// FederatedSubject is the sub that those federated assertions must
	// carry.
	FederatedSubject string
	// Roles are the application permissions granted (nil: SMTP.SendAsApp;
	// an empty non-nil slice grants none).
	Roles []string
	// GraphRoles are the Microsoft Graph application permissions granted
	// (nil: Mail.Send; an empty non-nil slice grants none). Add
	// Mail.ReadWrite to play an app that may make drafts (large messages).
	GraphRoles []string
	// Mailboxes the service principal may send as, as Add-MailboxPermission
	// (or an RBAC scope) grants in Exchange Online. Empty means none: like
	// Office 365, Verify then refuses every mailbox.
	Mailboxes []string
	// Audience, if set, replaces the aud claim of this app's access tokens,
	// to play a misconfigured token (say, one meant for Microsoft Graph) that
	// Entra ID issued but Office 365 must refuse.
	Audience string
}

// User is a person who can approve device codes.
type User struct {
	// UPN is the user principal name, such as adele@contoso.com.
	UPN string
	// ObjectID is the user's object ID (default: derived from UPN).
	ObjectID string
	// Mailboxes are shared mailboxes the user may also send as.
	Mailboxes []string
}

// AddApp registers a confidential client, replacing one with the same
// client ID.
func (a *Authority) AddApp(app App) error {
	if app.ClientID == "" {
		return errors.New("entratest: AddApp: empty ClientID")
	}
	if app.Certificate == nil && len(app.CertificatePEM) > 0 {
		cert, err := parseCertPEM(app.CertificatePEM)
		if err != nil {
			return fmt.Errorf("entratest: AddApp: %w", err)
		}
		app.Certificate = cert
	}
	if app.Certificate != nil {
		if _, ok := app.Certificate.PublicKey.(*rsa.PublicKey); !ok {
			return errors.New("entratest: AddApp: certificate key must be RSA, as Entra ID requires")
		}
	}
	if app.Roles == nil {
		app.Roles = []string{DefaultRole}
	}
	if app.ObjectID == "" {
		app.ObjectID = ids.Derived("sp:" + strings.ToLower(app.ClientID))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.apps[strings.ToLower(app.ClientID)] = &app
	return nil
}

// AddPublicClient registers a public client (device code flow).
func (a *Authority) AddPublicClient(clientID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.public[strings.ToLower(clientID)] = true
}

// AddUser registers a user, replacing one with the same UPN.
func (a *Authority) AddUser(u User) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.addUserLocked(u)
}

// ensureUser returns the user upn, added as AddUser would when unknown.
func (a *Authority) ensureUser(upn string) User {
	a.mu.Lock()
	defer a.mu.Unlock()
	if u, ok := a.users[strings.ToLower(upn)]; ok {
		return *u
	}
	return *a.addUserLocked(User{UPN: upn})
}

func (a *Authority) addUserLocked(u User) *User {
	if u.ObjectID == "" {
		u.ObjectID = ids.Derived("user:" + strings.ToLower(u.UPN))
	}
	a.users[strings.ToLower(u.UPN)] = &u
	return &u
}

func (a *Authority) app(clientID string) *App {
	a.mu.Lock()
	defer a.mu.Unlock()
	if app, ok := a.apps[strings.ToLower(clientID)]; ok {
		cp := *app
		return &cp
	}
	return nil
}

func (a *Authority) isPublic(clientID string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.public[strings.ToLower(clientID)]
}

// NewCertificate makes a self-signed RSA certificate and its PKCS#8 private
// key, both PEM-encoded, for certificate credentials: register certPEM with
// App.CertificatePEM and give the client certPEM + keyPEM.
func NewCertificate(commonName string) (certPEM, keyPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("entratest: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, fmt.Errorf("entratest: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("entratest: create certificate: %w", err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("entratest: marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), nil
}

func parseCertPEM(b []byte) (*x509.Certificate, error) {
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, errors.New("no CERTIFICATE block in PEM")
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}

// FederatedAssertion returns a workload-identity assertion (like the token
// Kubernetes projects into AZURE_FEDERATED_TOKEN_FILE) with the given issuer
// and subject, audience api://AzureADTokenExchange, valid for an hour and
// signed by the authority's federation key. An App whose FederatedIssuer and
// FederatedSubject match accepts it as client_assertion.
func (a *Authority) FederatedAssertion(issuer, subject string) (string, error) {
	return mint.Federated(a.fedKey, time.Now(), issuer, subject, FederatedAudience)
}
