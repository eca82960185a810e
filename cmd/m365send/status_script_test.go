package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// hookMain is the program the scripts name in on_login_required (as
// `hookrecorder FILE`): it appends one line with the profile and the
// reason it was given in its environment to FILE.
func hookMain() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: hookrecorder FILE")
		os.Exit(2)
	}
	f, err := os.OpenFile(os.Args[1], os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	fmt.Fprintf(f, "profile=%s reason=%s\n", os.Getenv("LOGIN_REQUIRED_PROFILE"), os.Getenv("LOGIN_REQUIRED_REASON"))
}

// cacheExpireCmd (`cacheexpire FILE`) makes every access token in the MSAL
// cache file FILE expired an hour ago, as if the profile had not been used
// for that long.
func cacheExpireCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "cacheexpire")
	if len(args) != 1 {
		ts.Fatalf("usage: cacheexpire FILE")
	}
	path := ts.MkAbs(args[0])
	var c map[string]map[string]map[string]any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(path)), &c))
	past := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	n := 0
	for _, at := range c["AccessToken"] {
		at["expires_on"], at["extended_expires_on"] = past, past
		n++
	}
	if n == 0 {
		ts.Fatalf("%s holds no access token", args[0])
	}
	b, err := json.Marshal(c)
	ts.Check(err)
	ts.Check(os.WriteFile(path, b, 0o600))
}

// ageHealthCmd (`agehealth FILE DAYS`) moves the sign-in and the last
// refresh recorded in the health record FILE back by DAYS days.
func ageHealthCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "agehealth")
	if len(args) != 2 {
		ts.Fatalf("usage: agehealth FILE DAYS")
	}
	days, err := strconv.Atoi(args[1])
	ts.Check(err)
	path := ts.MkAbs(args[0])
	var h map[string]any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(path)), &h))
	then := time.Now().UTC().AddDate(0, 0, -days).Format(time.RFC3339)
	for _, k := range []string{"signed_in", "refresh_used"} {
		if _, ok := h[k]; !ok {
			ts.Fatalf("%s has no %s", args[0], k)
		}
		h[k] = then
	}
	b, err := json.Marshal(h)
	ts.Check(err)
	ts.Check(os.WriteFile(path, b, 0o600))
	fmt.Fprintln(ts.Stdout(), strings.TrimSpace(then))
}
