// Package passwordprompt reads a password the way `m365send relay passwd`
// asks for one: without echo and twice at a terminal, else one line of
// standard input (for scripts).
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
