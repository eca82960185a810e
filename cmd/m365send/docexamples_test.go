package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// The msmtp and mail(1) configuration snippets the documentation shows
// (README.md, docs/*.md, `m365send help token`) are run for real against
// the sandbox by testdata/script/doc_examples.txtar, so that an example
// that no longer works (msmtp 1.8 refusing an account without `from`)
// fails the build. docExamplesCmd finds and runs them.

// docSnippet is a fenced code block of the documentation.
type docSnippet struct {
	where string // file:line, or "help token"
	text  string
}

// docSources are the files whose snippets are run, relative to the
// repository's root.
func docSources(root string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		return nil, err
	}
	return append([]string{filepath.Join(root, "README.md")}, files...), nil
}

// fencedBlocks returns the fenced code blocks of the Markdown text.
func fencedBlocks(name, text string) []docSnippet {
	var out []docSnippet
	var cur *docSnippet
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(text))
	line := 0
	for sc.Scan() {
		line++
		l := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			if cur == nil {
				cur = &docSnippet{where: fmt.Sprintf("%s:%d", name, line)}
				b.Reset()
				continue
			}
			cur.text = b.String()
			out = append(out, *cur)
			cur = nil
			continue
		}
		if cur != nil {
			b.WriteString(l + "\n")
		}
	}
	return out
}

// docSnippets returns every snippet of the documentation and of the
// token command's help.
func docSnippets(root string) ([]docSnippet, error) {
	files, err := docSources(root)
	if err != nil {
		return nil, err
	}
	var all []docSnippet
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(root, f)
		all = append(all, fencedBlocks(rel, string(b))...)
	}
	help := (&app{}).newTokenCmd().Example
	all = append(all, docSnippet{where: "help token", text: help})
	return all, nil
}

// msmtpSnippet reports whether s is an msmtp account (it has passwordeval).
func msmtpSnippet(s docSnippet) bool {
	return regexp.MustCompile(`(?m)^\s*passwordeval\s`).MatchString(s.text)
}

// mailxSnippet reports whether s configures mail(1)'s sendmail variable.
func mailxSnippet(s docSnippet) bool {
	return strings.Contains(s.text, "set sendmail=")
}

// msmtpAccount turns an msmtp snippet into a configuration for the
// sandbox: the account's lines as shown, with host and port pointed at the
// fake Office 365 and the sandbox's CA trusted. It returns the config and
// the account's name.
func msmtpAccount(ts *testscript.TestScript, s docSnippet) (string, string) {
	var out strings.Builder
	account := ""
	in := false
	for _, l := range strings.Split(s.text, "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "curl ") {
			in = in && t != ""
			continue
		}
		if name, ok := strings.CutPrefix(t, "account "); ok {
			account, in = strings.TrimSpace(name), true
		}
		if !in && !strings.HasPrefix(t, "#") && account == "" {
			continue
		}
		switch {
		case strings.HasPrefix(t, "host "):
			t = "host " + ts.Getenv("SMTP_HOST")
		case strings.HasPrefix(t, "port "):
			t = "port " + ts.Getenv("SMTP_PORT")
		}
		out.WriteString(t + "\n")
	}
	if account == "" {
		ts.Fatalf("%s: msmtp snippet without an account line:\n%s", s.where, s.text)
	}
	out.WriteString("tls_trust_file " + ts.Getenv("CA_FILE") + "\n")
	return out.String(), account
}

// docExamplesCmd is `docexamples msmtp|mailx`: run every such snippet of
// the documentation against the world, each sending one message, and
// check that the fake Office 365 received it.
func docExamplesCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "docexamples")
	if len(args) != 1 || args[0] != "msmtp" && args[0] != "mailx" {
		ts.Fatalf("usage: docexamples msmtp|mailx")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	ts.Check(err)
	all, err := docSnippets(root)
	ts.Check(err)
	ran := 0
	for _, s := range all {
		var script string
		switch {
		case args[0] == "msmtp" && msmtpSnippet(s):
			rc, account := msmtpAccount(ts, s)
			path := ts.MkAbs(fmt.Sprintf("msmtprc-%d", ran))
			ts.Check(os.WriteFile(path, []byte(rc), 0o600))
			msgFile := ts.MkAbs(fmt.Sprintf("msmtp-message-%d", ran))
			msg := fmt.Sprintf("To: ops@example.com\nSubject: doc example %s\n\nsent by the msmtp example in %s\n", s.where, s.where)
			ts.Check(os.WriteFile(msgFile, []byte(msg), 0o600))
			script = "msmtp -C '" + path + "' -a '" + account + "' ops@example.com < '" + msgFile + "'"
		case args[0] == "mailx" && mailxSnippet(s):
			script = strings.ReplaceAll(s.text, "/usr/local/bin/sendmail", ts.Getenv("SENDMAIL"))
			script = regexp.MustCompile(`(?m)\|\s*mail\s`).ReplaceAllString(script, "| bsd-mailx ")
		default:
			continue
		}
		before := len(world(ts).SMTP.Messages())
		if err := ts.Exec("sh", "-e", "-c", script); err != nil {
			ts.Fatalf("the %s example in %s failed: %v\nsnippet:\n%s\nrun as:\n%s", args[0], s.where, err, s.text, script)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err := world(ts).SMTP.WaitMessages(ctx, before+1)
		cancel()
		if err != nil {
			ts.Fatalf("the %s example in %s sent nothing: %v", args[0], s.where, err)
		}
		fmt.Fprintf(ts.Stdout(), "ran the %s example in %s\n", args[0], s.where)
		ran++
	}
	if ran == 0 {
		ts.Fatalf("no %s example found in the documentation", args[0])
	}
}
