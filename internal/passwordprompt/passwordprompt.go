// Package passwordprompt reads a password the way `m365send relay passwd`
// asks for one (Read: without echo and twice at a terminal, else one line
// of standard input, for scripts), and a client secret the way `m365send
// secret set` does (ReadSecret: once).
package passwordprompt

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/m365send/m365send/internal/failure"
)

// Read reads a password: without echo, twice, from in when it is a
// terminal (prompting on errw); else one line of in. An empty password,
// or two that differ, is a usage error.
func Read(in io.Reader, errw io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(errw, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(errw)
		if err != nil {
			return "", fmt.Errorf("read the password: %w", err)
		}
		fmt.Fprint(errw, "Again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(errw)
		if err != nil {
			return "", fmt.Errorf("read the password: %w", err)
		}
		if string(p1) != string(p2) {
			return "", failure.New(failure.Usage, "the passwords do not match", "type the same password twice")
		}
		return checkPassword(string(p1))
	}
	if in == nil {
		return "", failure.New(failure.Usage, "no password on standard input", "echo the password into `m365send relay passwd`")
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password: %w", err)
	}
	return checkPassword(strings.TrimRight(line, "\r\n"))
}

func checkPassword(pw string) (string, error) {
	if pw == "" {
		return "", failure.New(failure.Usage, "the password is empty", "give one line with the password on standard input")
	}
	return pw, nil
}

// ReadSecret reads a secret such as a client secret: without echo, once,
// from in when it is a terminal (after prompt on errw); else one line of
// in. Surrounding spaces are dropped; nothing left is a usage error.
func ReadSecret(in io.Reader, errw io.Writer, prompt string) (string, error) {
	var line string
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(errw, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(errw)
		if err != nil {
			return "", fmt.Errorf("read the secret: %w", err)
		}
		line = string(b)
	} else if in != nil {
		var err error
		line, err = bufio.NewReader(in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the secret: %w", err)
		}
	}
	if line = strings.TrimSpace(line); line == "" {
		return "", failure.New(failure.Usage, "no secret given", "type the client secret's Value, or give it as one line on standard input")
	}
	return line, nil
}
