package fromheader

import (
	"io"
	"strings"
	"testing"
)

func TestRewrite(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"From: Scanner <scan@printer.local>\r\nSubject: s\r\n\r\nbody\r\n",
			"From: \"Scanner\" <sales@contoso.com>\r\nSubject: s\r\n\r\nbody\r\n"},
		{"Subject: s\r\nFrom: a@b.c,\r\n\td@e.f\r\nFrom: x@y.z\r\n\r\nFrom: in body\r\n",
			"Subject: s\r\nFrom: <sales@contoso.com>\r\n\r\nFrom: in body\r\n"},
		{"Subject: s\r\n\r\nbody\r\n",
			"From: <sales@contoso.com>\r\nSubject: s\r\n\r\nbody\r\n"},
	} {
		b, err := io.ReadAll(Rewrite(strings.NewReader(tc.in), "sales@contoso.com"))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("Rewrite(%q) = %q, want %q", tc.in, b, tc.want)
		}
	}
}
