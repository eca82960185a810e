package failure

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestKindAndHintFollowTheChain(t *testing.T) {
	inner := New(Config, "certificate file has no key", "add the private key to the PEM file")
	outer := fmt.Errorf("load profile: %w", inner)
	if got := KindOf(outer); got != Config {
		t.Errorf("KindOf = %v, want config", got)
	}
	if got := HintOf(outer); got != "add the private key to the PEM file" {
		t.Errorf("HintOf = %q", got)
	}
	// The outermost kind wins; a hintless outer error lets the inner hint through.
	rewrapped := Wrap(Temporary, outer, "")
	if got := KindOf(rewrapped); got != Temporary {
		t.Errorf("KindOf(rewrapped) = %v, want temporary", got)
	}
	if got := HintOf(rewrapped); got != "add the private key to the PEM file" {
		t.Errorf("HintOf(rewrapped) = %q", got)
	}
	if rewrapped.Error() != outer.Error() {
		t.Errorf("Wrap changed the text: %q", rewrapped.Error())
	}
}

func TestKindOfUnclassified(t *testing.T) {
	if got := KindOf(errors.New("boom")); got != Internal {
		t.Errorf("plain error: %v, want internal", got)
	}
	if got := KindOf(fmt.Errorf("send: %w", context.DeadlineExceeded)); got != Temporary {
		t.Errorf("deadline: %v, want temporary", got)
	}
	if got := KindOf(errors.Join(errors.New("a"), New(Quota, "q", ""))); got != Quota {
		t.Errorf("joined: %v, want quota", got)
	}
	if got := HintOf(errors.Join(errors.New("a"), New(Quota, "q", "wait"))); got != "wait" {
		t.Errorf("joined hint: %q", got)
	}
	if Wrap(Config, nil, "x") != nil {
		t.Error("Wrap(nil) is not nil")
	}
}

func TestKindNamesAreDistinct(t *testing.T) {
	seen := map[string]Kind{}
	for _, k := range Kinds() {
		s := k.String()
		if prev, ok := seen[s]; ok {
			t.Errorf("%d and %d are both %q", prev, k, s)
		}
		seen[s] = k
	}
	if len(seen) != 10 {
		t.Errorf("%d kinds, want 10", len(seen))
	}
}
