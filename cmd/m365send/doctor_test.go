package main

import (
	"bytes"
	"testing"

	"github.com/m365send/m365send/internal/doctor"
	"github.com/m365send/m365send/internal/failure"
)

func TestDoctorPrintsFirstFailureCode(t *testing.T) {
	var out bytes.Buffer
	r := &doctor.Report{Results: []doctor.Result{
		{Status: doctor.OK, Step: "config", Detail: "fine"},
		{Status: doctor.Fail, Step: "claims", Kind: failure.Permission, Detail: "no role", Fix: "grant it"},
		{Status: doctor.Fail, Step: "auth", Kind: failure.Temporary, Detail: "451"},
		{Status: doctor.Skip, Step: "x", Detail: "y"},
	}}
	if code := printDoctor(&out, reporter{prog: "m365send", doctor: true}, r); code != exitNoPerm {
		t.Errorf("exit %d, want 77 (the first failure)", code)
	}
	want := "ok    config     fine\nFAIL  claims     no role\n                 fix: grant it\nFAIL  auth       451\nskip  x          y\n"
	if out.String() != want {
		t.Errorf("printed\n%s\nwant\n%s", out.String(), want)
	}
}
