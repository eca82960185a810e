package refresh

import (
	"testing"
	"time"
)

func TestRedeemRotatesAndRefusals(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var s Store
	tok := Token{ClientID: "app", UPN: "adele@contoso.com", TenantID: "tid", Issued: now, Expires: now.Add(time.Hour)}
	rt := s.Issue(tok)
	if _, code, _ := s.Redeem(rt, "app", "other-tid", now); code != 9002313 {
		t.Fatalf("another tenant: AADSTS%d", code)
	}
	if _, code, _ := s.Redeem(rt, "other-app", "", now); code != 9002313 {
		t.Fatalf("another client: AADSTS%d", code)
	}
	if live := s.Live("ADELE@contoso.com", now); len(live) != 1 || live[0] != rt {
		t.Fatalf("refusals spent the token: Live = %d tokens", len(live))
	}
	got, code, _ := s.Redeem(rt, "app", "", now)
	if code != 0 || got.UPN != "adele@contoso.com" {
		t.Fatalf("redeem: %+v AADSTS%d", got, code)
	}
	if _, code, _ := s.Redeem(rt, "app", "tid", now); code != 9002313 {
		t.Fatalf("a spent token: AADSTS%d", code)
	}

	expired, revoked := s.Issue(tok), s.Issue(tok)
	if _, code, issued := s.Redeem(expired, "app", "tid", now.Add(2*time.Hour)); code != 700082 || !issued.Equal(now) {
		t.Errorf("past its lifetime: AADSTS%d issued %v", code, issued)
	}
	s.Revoke("adele@contoso.com")
	if _, code, _ := s.Redeem(revoked, "app", "tid", now); code != 50173 {
		t.Errorf("revoked: AADSTS%d", code)
	}
	if live := s.Live("adele@contoso.com", now); len(live) != 0 {
		t.Errorf("Live after Revoke = %d tokens", len(live))
	}
}
