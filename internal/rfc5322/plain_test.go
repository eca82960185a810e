package rfc5322

import (
	"errors"
	"strings"
	"testing"
)

// TestAddressErrorsInPlainWords checks that each common mistake is told
// in words a person understands, never in net/mail's grammar terms.
func TestAddressErrorsInPlainWords(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "the address is empty"},
		{"a@contoso.com; b@contoso.com", "separated by commas, not semicolons"},
		{"bob", "no @ in it"},
		{"Bob Smith bob@contoso.com", "Name <user@example.com>"},
		{"<bob@contoso.com", "a < without its >"},
		{"bob@contoso.com>", "a < without its >"},
		{`"Bob <bob@contoso.com>`, "without its closing quote"},
		{"bob@contoso.com (x", "a ( without its )"},
		{"bob@", "nothing after the @"},
		{"@contoso.com", "nothing before the @"},
		{"a..b@contoso.com", "two dots in a row"},
		{"bob@contoso.com extra", "something follows the address"},
		{"Smith, Bob <bob@contoso.com>", `quoted, as "Smith, Bob"`},
	} {
		_, err := ParseAddress(c.in)
		if err == nil {
			t.Errorf("ParseAddress(%q) accepted it", c.in)
			continue
		}
		if !errors.Is(err, ErrAddress) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseAddress(%q) = %v, want ErrAddress saying %q", c.in, err, c.want)
		}
		for _, jargon := range []string{"mail:", "angle-addr", "addr-spec", "phrase", "atom"} {
			if strings.Contains(err.Error(), jargon) {
				t.Errorf("ParseAddress(%q) = %v: says %q", c.in, err, jargon)
			}
		}
	}
	if _, err := ParseAddressList("a@contoso.com; b@contoso.com"); err == nil || !strings.Contains(err.Error(), "not semicolons") {
		t.Errorf("ParseAddressList with semicolons = %v", err)
	}
}
