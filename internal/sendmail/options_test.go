package sendmail

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want Options
	}{
		{"none", nil, Options{}},
		{"t", []string{"-t"}, Options{ExtractRecipients: true}},
		{"clustered ti", []string{"-ti"}, Options{ExtractRecipients: true, IgnoreDots: true}},
		{"clustered it then oi", []string{"-it", "-oi"}, Options{ExtractRecipients: true, IgnoreDots: true}},
		{"oi", []string{"-oi"}, Options{IgnoreDots: true}},
		{"o i separate", []string{"-o", "i"}, Options{IgnoreDots: true}},
		{"oi false", []string{"-oiFalse"}, Options{}},
		{"O IgnoreDots", []string{"-O", "IgnoreDots=true"}, Options{IgnoreDots: true}},
		{"O IgnoreDots bare", []string{"-OIgnoreDots"}, Options{IgnoreDots: true}},
		{"O IgnoreDots false", []string{"-O", "ignoredots=False", "-i"}, Options{IgnoreDots: true}},
		{"f separate", []string{"-f", "a@example.com"}, Options{Sender: "a@example.com"}},
		{"f joined", []string{"-fa@example.com"}, Options{Sender: "a@example.com"}},
		{"r", []string{"-r", "b@example.com"}, Options{Sender: "b@example.com"}},
		{"null sender", []string{"-f", "<>"}, Options{}},
		{"tf cluster", []string{"-tf", "a@example.com", "x@example.com"}, Options{ExtractRecipients: true, Sender: "a@example.com", Recipients: []string{"x@example.com"}}},
		{"tfADDR cluster", []string{"-itfa@example.com"}, Options{ExtractRecipients: true, IgnoreDots: true, Sender: "a@example.com"}},
		{"F separate", []string{"-F", "Cron Daemon"}, Options{FullName: "Cron Daemon"}},
		{"F joined", []string{"-FCronDaemon"}, Options{FullName: "CronDaemon"}},
		{"v", []string{"-v"}, Options{Verbose: true}},
		{"C", []string{"-C", "/etc/m365send.toml"}, Options{ConfigFile: "/etc/m365send.toml"}},
		{"C joined", []string{"-C/etc/m.toml"}, Options{ConfigFile: "/etc/m.toml"}},
		{"bm", []string{"-bm", "a@example.com"}, Options{Recipients: []string{"a@example.com"}}},
		{"b m separate", []string{"-b", "m"}, Options{}},
		{"recipients", []string{"a@example.com", "b@example.com, c@example.com"}, Options{Recipients: []string{"a@example.com", "b@example.com, c@example.com"}}},
		{"options after recipients", []string{"a@example.com", "-t", "-f", "s@example.com"}, Options{ExtractRecipients: true, Sender: "s@example.com", Recipients: []string{"a@example.com"}}},
		{"double dash", []string{"-i", "--", "-odd@example.com", "-t"}, Options{IgnoreDots: true, Recipients: []string{"-odd@example.com", "-t"}}},
		{"cron (ISC/Vixie)", []string{"-FCronDaemon", "-odi", "-oem", "-oi", "-t"}, Options{FullName: "CronDaemon", IgnoreDots: true, ExtractRecipients: true, Ignored: []string{"-odi", "-oem"}}},
		{"cron (Debian)", []string{"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root@example.com"}, Options{FullName: "CronDaemon", IgnoreDots: true, Recipients: []string{"root@example.com"}, Ignored: []string{"-B8BITMIME", "-oem"}}},
		{"ignored with arguments", []string{"-oep", "-odi", "-odb", "-B", "8BITMIME", "-N", "never", "-R", "hdrs", "-V", "envid", "-Ltag", "-h", "17", "-e", "m", "-pesmtp:host", "-X", "/tmp/log", "-d0.1", "-A", "m", "-Mrfoo", "-ODeliveryMode=b"},
			Options{Ignored: []string{"-oep", "-odi", "-odb", "-B 8BITMIME", "-N never", "-R hdrs", "-V envid", "-Ltag", "-h 17", "-e m", "-pesmtp:host", "-X /tmp/log", "-d0.1", "-A m", "-Mrfoo", "-ODeliveryMode=b"}}},
		{"ignored flags", []string{"-m", "-n", "-s", "-U", "-G", "-c", "-T"}, Options{Ignored: []string{"-m", "-n", "-s", "-U", "-G", "-c", "-T"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseArgs(tt.args)
			if err != nil {
				t.Fatalf("ParseArgs(%q): %v", tt.args, err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("ParseArgs(%q)\n got %+v\nwant %+v", tt.args, *got, tt.want)
			}
		})
	}
}

func TestParseArgsUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string // in the message
	}{
		{[]string{"-x"}, "unknown option -x"},
		{[]string{"-tx"}, "unknown option -x"},
		{[]string{"--verbose"}, `unknown option "--verbose"`},
		{[]string{"-"}, `unexpected argument "-"`},
		{[]string{"-f"}, "option -f needs an argument"},
		{[]string{"-t", "-F"}, "option -F needs an argument"},
		{[]string{"-C"}, "option -C needs an argument"},
		{[]string{"-bp"}, "-bp (print the mail queue)"},
		{[]string{"-bs"}, "-bs (SMTP on standard input) is not supported"},
		{[]string{"-bd"}, "-bd (run as a daemon) is not supported"},
		{[]string{"-b", "i"}, "-bi (initialise the alias database) is not supported"},
		{[]string{"-bv"}, "-bv is not supported"},
		{[]string{"-I"}, "-I (initialise the alias database) is not supported"},
		{[]string{"-q1h"}, "-q (process the mail queue) is not supported"},
		{[]string{"-q"}, "-q (process the mail queue) is not supported"},
		{[]string{"-q", "to@example.com"}, "-q (process the mail queue) is not supported"},
		{[]string{"-tq"}, "-q (process the mail queue) is not supported"},
		{[]string{"-Q"}, "-Q (quarantine queued mail) is not supported"},
		{[]string{"-Qreason"}, "-Q (quarantine queued mail) is not supported"},
		{[]string{"-F", "a\nBcc: x@example.com"}, "line break"},
		{[]string{"-f", "a@example.com\r\n"}, "line break"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := ParseArgs(tt.args)
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("ParseArgs(%q) = %v, want a *UsageError", tt.args, err)
			}
			if !strings.Contains(ue.Error(), tt.want) {
				t.Errorf("ParseArgs(%q) = %q, want it to contain %q", tt.args, ue.Error(), tt.want)
			}
		})
	}
}
