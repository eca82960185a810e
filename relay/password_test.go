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
	if _, err := HashPassword(""); err == nil {
		t.Error("an empty password was hashed")
	}
}

// An unknown user costs one argon2id computation with the users' own
// parameters, as a wrong password does.
func TestDecoyHasUsersCost(t *testing.T) {
	c := baseConfig(t)
	r := newRig(t, c)
	if r.srv.acc.Load().decoy.Params() != testParams {
		t.Errorf("decoy parameters %+v, want the users' %+v", r.srv.acc.Load().decoy.Params(), testParams)
	}
	if r.srv.authenticate("nobody", "") != nil || r.srv.authenticate("scanner", "wrong") != nil {
		t.Error("authenticated")
	}
	if u := r.srv.authenticate("scanner", "s3cret"); u == nil || u.Name != "scanner" {
		t.Error("not authenticated")
	}
}
