package passwordhash

import (
	"strings"
	"testing"
)

// testParams keep argon2id cheap in tests.
var testParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashPassword(t *testing.T) {
	h, err := Make("correct horse", Params{Memory: 64 * 1024, Time: 3, Threads: 4, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Errorf("hash %q, want the PHC form with the default parameters", h)
	}
	p, err := Parse(h)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Verify("correct horse") {
		t.Error("the password does not verify")
	}
	if p.Verify("correct horse ") || p.Verify("") {
		t.Error("a wrong password verifies")
	}
	a, _ := Make("correct horse", testParams)
	b, _ := Make("correct horse", testParams)
	if a == b {
		t.Error("two hashes of one password are equal: no random salt")
	}
	if _, err := Make("", testParams); err == nil {
		t.Error("an empty password was hashed")
	}
}

func TestParseHashRefuses(t *testing.T) {
	good, err := Make("pw", testParams)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"", "pw", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",
		strings.Replace(good, "v=19", "v=16", 1),
		strings.Replace(good, "m=64", "m=99999999", 1),
		strings.Replace(good, "t=1", "t=0", 1),
		good + "$",
	} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
}
