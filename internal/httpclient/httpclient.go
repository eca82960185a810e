// Package httpclient makes package token's HTTP clients for Entra ID:
// TLS 1.2 or later verified against given roots, the proxy from
// HTTPS_PROXY/NO_PROXY, a timeout per request, and optionally roots that
// are loaded only on the first request (a token from the cache needs
// none).
package httpclient

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"sync"
	"time"
)

// Transport is the transport of New: TLS 1.2 or later verified against
// roots (nil: the system roots), the proxy from HTTPS_PROXY/NO_PROXY.
func Transport(roots *x509.CertPool) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return tr
}

// New returns a client with Transport(roots) and timeout per request.
func New(roots *x509.CertPool, timeout time.Duration) *http.Client {
	return &http.Client{Transport: Transport(roots), Timeout: timeout}
}

// NewLazy is New whose roots come from roots, called once, on the first
// request: a process that makes no request never loads them (the
// system's roots are hundreds of files to parse). An error from roots
// fails every request made with the client.
func NewLazy(roots func() (*x509.CertPool, error), timeout time.Duration) *http.Client {
	return &http.Client{Transport: &lazyTransport{roots: roots}, Timeout: timeout}
}

// lazyTransport builds Transport on the first request.
type lazyTransport struct {
	roots func() (*x509.CertPool, error)
	once  sync.Once
	rt    http.RoundTripper
	err   error
}

// RoundTrip implements http.RoundTripper.
func (t *lazyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.once.Do(func() {
		pool, err := t.roots()
		if err != nil {
			t.err = err
			return
		}
		t.rt = Transport(pool)
	})
	if t.err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, t.err
	}
	return t.rt.RoundTrip(req)
}
