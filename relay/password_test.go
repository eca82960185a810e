package relay

import (
	"strings"
	"testing"
)

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Errorf("hash %q, want the PHC form with the default parameters", h)
	}
	p, err := parseHash(h)
	if err != nil {
		t.Fatal(err)
	}
	if !p.verify("correct horse") {
		t.Error("the password does not verify")
	}
	if p.verify("correct horse ") || p.verify("") {
		t.Error("a wrong password verifies")
	}
	a, _ := hashPassword("correct horse", testParams)
	b, _ := hashPassword("correct horse", testParams)
	if a == b {
		t.Error("two hashes of one password are equal: no random salt")
	}
	if _, err := HashPassword(""); err == nil {
		t.Error("an empty password was hashed")
	}
}

func TestParseHashRefuses(t *testing.T) {
	good := testHash(t, "pw")
	for _, s := range []string{
		"", "pw", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",
		strings.Replace(good, "v=19", "v=16", 1),
		strings.Replace(good, "m=64", "m=99999999", 1),
		strings.Replace(good, "t=1", "t=0", 1),
		good + "$",
	} {
		if _, err := parseHash(s); err == nil {
			t.Errorf("parseHash(%q) accepted", s)
		}
	}
}

// An unknown user costs one argon2id computation with the users' own
// parameters, as a wrong password does.
func TestDecoyHasUsersCost(t *testing.T) {
	c := baseConfig(t)
	r := newRig(t, c)
	if r.srv.acc.Load().decoy.p != testParams {
		t.Errorf("decoy parameters %+v, want the users' %+v", r.srv.acc.Load().decoy.p, testParams)
	}
	if r.srv.authenticate("nobody", "") != nil || r.srv.authenticate("scanner", "wrong") != nil {
		t.Error("authenticated")
	}
	if u := r.srv.authenticate("scanner", "s3cret"); u == nil || u.Name != "scanner" {
		t.Error("not authenticated")
	}
}
