package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/m365send/m365send/token/entratest"
)

// fakeBrowserMain is the program the scripts name in $BROWSER (as
// `fakebrowser`): it plays a person's browser on the sign-in address
// m365send opens. It checks that the address carries a PKCE S256
// challenge, follows it to the fake Entra ID (trusting $CA_FILE only),
// and posts the sign-in's result to m365send's loopback listener. It
// notes what it did in $WORK/browser.log and exits 1 on any failure.
//
// As `fakebrowser -paste PROGRAM ARGS...` it plays a person at a remote
// shell instead: it runs PROGRAM (`m365send login --no-browser`) with its
// own standard output and error passed through, browses to the sign-in
// address PROGRAM prints, and types the address the browser ended on into
// PROGRAM's standard input. It exits with PROGRAM's status.
func fakeBrowserMain() {
	if len(os.Args) > 2 && os.Args[1] == "-paste" {
		os.Exit(pasteBack(os.Args[2:]))
	}
	if len(os.Args) != 2 {
		browserLog("usage: fakebrowser URL | fakebrowser -paste PROGRAM ARGS...")
		os.Exit(2)
	}
	if _, err := browse(os.Args[1]); err != nil {
		browserLog("error: %v", err)
		os.Exit(1)
	}
	browserLog("posted the sign-in to the loopback listener")
}

// browse checks the PKCE challenge on authorizeURL and follows it.
func browse(authorizeURL string) (string, error) {
	u, err := url.Parse(authorizeURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	browserLog("opened %s%s redirect_uri=%s response_mode=%s code_challenge_method=%s code_challenge_len=%d",
		u.Host, u.Path, q.Get("redirect_uri"), q.Get("response_mode"), q.Get("code_challenge_method"), len(q.Get("code_challenge")))
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
		return "", errors.New("the sign-in address carries no PKCE S256 challenge")
	}
	pem, err := os.ReadFile(os.Getenv("CA_FILE"))
	if err != nil {
		return "", err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return "", errors.New("no certificate in $CA_FILE")
	}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	return entratest.Browse(client, nil, authorizeURL)
}

// pasteBack runs argv as a person at a remote shell would (see
// fakeBrowserMain) and returns its exit status.
func pasteBack(argv []string) int {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = os.Stdout
	stdin, err := cmd.StdinPipe()
	if err != nil {
		browserLog("error: %v", err)
		return 2
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		browserLog("error: %v", err)
		return 2
	}
	if err := cmd.Start(); err != nil {
		browserLog("error: %v", err)
		return 2
	}
	sc := bufio.NewScanner(stderr)
	pasted := false
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(os.Stderr, line)
		if s := strings.TrimSpace(line); !pasted && strings.HasPrefix(s, "https://") && strings.Contains(s, "/oauth2/v2.0/authorize?") {
			pasted = true
			redirect, err := browse(s)
			if err != nil {
				browserLog("error: %v", err)
				redirect = "(the browser failed)"
			}
			browserLog("pasted the address the browser ended on")
			_, _ = io.WriteString(stdin, redirect+"\n")
			_ = stdin.Close()
		}
	}
	if !pasted {
		_ = stdin.Close()
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	browserLog("error: %v", err)
	return 2
}

// browserLog appends a line to $WORK/browser.log.
func browserLog(format string, args ...any) {
	f, err := os.OpenFile(os.Getenv("WORK")+"/browser.log", os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, format+"\n", args...)
}
