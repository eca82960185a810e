// Package aliases maps local names (root, postmaster, a local user) to real
// addresses for the sendmail interface, so that mail a program addresses
// to a local name (cron's mail to root) reaches a mailbox Microsoft 365
// delivers to. A table comes from the configuration file's aliases table
// or from a file in /etc/aliases syntax (docs/sendmail.md, "Aliases").
package aliases

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// Table maps a local name (lower case) to what it stands for: addresses
// and other local names.
type Table map[string][]string

// localName is a name without a domain that an alias may define or a
// program may address mail to.
var localName = regexp.MustCompile(`^[A-Za-z0-9_.+-]+$`)

// IsLocal reports whether s (trimmed) is a bare local name such as root or
// www-data: no @, no angle brackets, no spaces.
func IsLocal(s string) bool { return localName.MatchString(strings.TrimSpace(s)) }

// Error is a line of an aliases file that cannot be used, or a name
// defined in a loop.
type Error struct {
	// File and Line say where ("" and 0 for the configuration's table).
	File string
	Line int
	// Msg says what is wrong.
	Msg string
}

// Error returns "file:line: msg".
func (e *Error) Error() string {
	if e.File == "" {
		return e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Parse reads data in /etc/aliases syntax: "name: target, target", with
// continuation lines that start with a blank, # comments and blank lines.
// Targets are addresses or other names; a target that is a command
// ("|..."), a file ("/...") or an include (":include:") cannot be
// delivered through Microsoft 365 and is skipped, as is a name left with
// no target. name is the file's name for errors.
func Parse(name string, data []byte) (Table, error) {
	t := Table{}
	var cur string
	var curLine int
	var val strings.Builder
	flush := func() error {
		if cur == "" {
			return nil
		}
		targets, err := splitTargets(val.String())
		if err != nil {
			return &Error{File: name, Line: curLine, Msg: err.Error()}
		}
		if len(targets) > 0 {
			t[strings.ToLower(cur)] = append(t[strings.ToLower(cur)], targets...)
		}
		cur = ""
		val.Reset()
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur == "" {
				return nil, &Error{File: name, Line: n, Msg: "a continuation line with no alias before it"}
			}
			val.WriteString(", " + trimmed)
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
		k, v, ok := strings.Cut(line, ":")
		k = strings.TrimSpace(k)
		if !ok || !IsLocal(k) {
			return nil, &Error{File: name, Line: n, Msg: `not an alias line: want "name: address, address"`}
		}
		cur, curLine = k, n
		val.WriteString(v)
	}
	if err := sc.Err(); err != nil {
		return nil, &Error{File: name, Line: n, Msg: err.Error()}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return t, nil
}

// splitTargets splits a comma-separated list of targets, skipping those
// that cannot be mail addresses (commands, files, includes).
func splitTargets(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		p := strings.Trim(strings.TrimSpace(part), `"`)
		switch {
		case p == "":
			continue
		case strings.HasPrefix(p, "|"), strings.HasPrefix(p, "/"), strings.HasPrefix(strings.ToLower(p), ":include:"):
			continue
		case IsLocal(p) || strings.Contains(p, "@"):
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(p, "<"), ">"))
		default:
			return nil, fmt.Errorf("%q is not an address or a local name", p)
		}
	}
	return out, nil
}

// Merge returns a table with the names of t and of over, over's
// definition winning for a name both define.
func Merge(t, over Table) Table {
	out := Table{}
	for k, v := range t {
		out[k] = v
	}
	for k, v := range over {
		out[strings.ToLower(k)] = v
	}
	return out
}

// maxDepth bounds how many aliases deep a name may expand.
const maxDepth = 16

// Expand returns the addresses name stands for, following aliases of
// aliases, each once. ok is false when name has no alias. A local name
// that an alias leads to and that has no alias itself is returned as it
// is (the caller refuses it as it would name). A loop is an *Error.
func (t Table) Expand(name string) (addrs []string, ok bool, err error) {
	if _, ok := t[strings.ToLower(strings.TrimSpace(name))]; !ok {
		return nil, false, nil
	}
	seen := map[string]bool{}
	var walk func(n string, depth int) error
	walk = func(n string, depth int) error {
		key := strings.ToLower(strings.TrimSpace(n))
		targets, isAlias := t[key]
		if !isAlias || !IsLocal(n) {
			if !seen[strings.ToLower(n)] {
				seen[strings.ToLower(n)] = true
				addrs = append(addrs, n)
			}
			return nil
		}
		if depth > maxDepth {
			return &Error{Msg: fmt.Sprintf("alias %s expands more than %d levels deep (a loop?)", name, maxDepth)}
		}
		for _, tg := range targets {
			if strings.EqualFold(tg, key) {
				// "root: root, ops@x" keeps root's local copy in sendmail;
				// here the local name cannot be delivered: skip it.
				continue
			}
			if err := walk(tg, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(name, 0); err != nil {
		return nil, true, err
	}
	return addrs, true, nil
}
