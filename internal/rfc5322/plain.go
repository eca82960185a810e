package rfc5322

import (
	"fmt"
	"strings"
)

// plainError is ErrAddress with what is wrong with s in plain words,
// for an address that net/mail refused with err: net/mail's own words
// ("no angle-addr", "missing word in phrase") name its grammar, not the
// mistake a person made.
func plainError(s string, err error) error {
	return fmt.Errorf("%w: %s", ErrAddress, plainReason(s, err))
}

// plainReason says what is wrong with s, which net/mail refused with
// err: from s itself where the mistake is a common one, else from err.
func plainReason(s string, err error) string {
	t := strings.TrimSpace(s)
	msg := strings.TrimPrefix(err.Error(), "mail: ")
	switch {
	case t == "":
		return "the address is empty"
	case strings.Contains(t, ";"):
		return "addresses are separated by commas, not semicolons"
	case !strings.Contains(t, "@"):
		return "there is no @ in it (an address is user@example.com)"
	case strings.Count(t, "<") != strings.Count(t, ">"):
		return "a < without its > (or a > without its <)"
	case strings.Count(t, `"`)%2 == 1:
		return `a quote (") without its closing quote`
	case strings.Count(t, "(") != strings.Count(t, ")"):
		return "a ( without its )"
	case strings.HasSuffix(strings.TrimSuffix(t, ">"), "@"):
		return "there is nothing after the @"
	case strings.HasPrefix(strings.TrimPrefix(t, "<"), "@"):
		return "there is nothing before the @"
	case strings.Contains(t, ".."):
		return "it has two dots in a row"
	case strings.Contains(msg, "no angle-addr"):
		return "a name and an address need the address in angle brackets: Name <user@example.com>"
	case strings.HasPrefix(msg, "expected single address"), strings.Contains(msg, "expected comma"):
		return "something follows the address (separate addresses with commas)"
	case strings.Contains(msg, "missing word in phrase"):
		return `the name is not plain words: quote it, as "Name" <user@example.com>`
	case strings.Contains(msg, "no domain in addr-spec"):
		return "there is nothing after the @"
	case strings.Contains(msg, "leading dot"), strings.Contains(msg, "trailing dot"):
		return "a dot starts or ends a part of it"
	case strings.Contains(msg, "invalid utf-8"):
		return "it is not valid UTF-8"
	case strings.Contains(msg, "bad character"), strings.Contains(msg, "invalid string"):
		return "it has a character that is not allowed there"
	case strings.Contains(t, ","):
		return `a name with a comma is quoted, as "Smith, Bob" <user@example.com>; separate addresses with commas`
	case strings.Contains(msg, "empty group"), strings.Contains(msg, "group with"):
		return "a group (name: ...;) is not an address"
	}
	return "it is not an address of the form user@example.com or Name <user@example.com>"
}
