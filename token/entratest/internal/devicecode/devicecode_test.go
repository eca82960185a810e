package devicecode

import (
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestPollAnswersInOrder(t *testing.T) {
	s := &Store{SlowDownPolls: 1, PendingPolls: 1}
	c := s.Issue("app", "tid", "res", nil, t0.Add(time.Minute))
	if out, _ := s.Poll(c.DeviceCode, "other-app", t0); out != Unknown {
		t.Fatalf("another client's poll: %v, want Unknown", out)
	}
	if out, _ := s.Poll(c.DeviceCode, "app", t0); out != SlowDown {
		t.Fatalf("poll 1: %v, want SlowDown", out)
	}
	if got := s.Pending(t0); !reflect.DeepEqual(got, []string{c.UserCode}) {
		t.Fatalf("Pending = %v", got)
	}
	if err := s.Approve(" "+c.UserCode+" ", "adele@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if got := s.Pending(t0); len(got) != 0 {
		t.Errorf("Pending after approval = %v", got)
	}
	if out, _ := s.Poll(c.DeviceCode, "app", t0); out != Pending {
		t.Fatalf("poll 2: %v, want Pending (PendingPolls)", out)
	}
	out, got := s.Poll(c.DeviceCode, "app", t0)
	if out != Approved || got.ApprovedBy != "adele@contoso.com" || got.TenantID != "tid" {
		t.Fatalf("poll 3: %v %+v", out, got)
	}
	if out, _ := s.Poll(c.DeviceCode, "app", t0); out != Unknown {
		t.Fatalf("a redeemed code: %v, want Unknown", out)
	}
}

func TestDeclinedExpiredAndAutoApproved(t *testing.T) {
	s := &Store{AutoApprove: "joe@contoso.com"}
	declined := s.Issue("app", "tid", "res", nil, t0.Add(time.Minute))
	expired := s.Issue("app", "tid", "res", nil, t0.Add(time.Minute))
	auto := s.Issue("app", "tid", "res", nil, t0.Add(time.Minute))
	if err := s.Decline(declined.UserCode); err != nil {
		t.Fatal(err)
	}
	if out, _ := s.Poll(declined.DeviceCode, "app", t0); out != Declined {
		t.Errorf("declined: %v", out)
	}
	if out, _ := s.Poll(expired.DeviceCode, "app", t0.Add(2*time.Minute)); out != Expired {
		t.Errorf("past its lifetime: %v", out)
	}
	if out, got := s.Poll(auto.DeviceCode, "app", t0); out != Pending || got.ApprovedBy != "joe@contoso.com" {
		t.Errorf("first poll with AutoApprove: %v by %q, want Pending by joe", out, got.ApprovedBy)
	}
	if out, _ := s.Poll(auto.DeviceCode, "app", t0); out != Approved {
		t.Errorf("second poll with AutoApprove: %v", out)
	}
	if err := s.Expire("NOPE"); err == nil {
		t.Error("expired an unknown user code")
	}
}
