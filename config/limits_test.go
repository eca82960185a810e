package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/configfile"
	"github.com/m365send/m365send/internal/failure"
)

// deepInline is a 32 KB configuration file of deeply nested inline tables:
// the TOML parser takes time quadratic in the depth (28 s and 2.7 GB
// before the depth was checked first).
func deepInline() string {
	n := 32 * 1024 / 4
	return "x = " + strings.Repeat("{a=", n) + "1" + strings.Repeat("}", n) + "\n"
}

// TestConfigLimits checks that a configuration file over 1 MB, or nested
// deeper than the schema needs, is refused before it is parsed, with a
// configuration error and a hint (issue 16, item 14).
func TestConfigLimits(t *testing.T) {
	base := "[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\nclient_secret_env = \"S\"\n"
	for _, tc := range []struct {
		name, content, msg, hint string
		line                     int
	}{
		{"deeply nested inline tables", deepInline(), "nest more than 3 deep", "flat tables", 1},
		{"deep arrays", base + "client_secret_command = [[[[\"x\"]]]]\n", "nest more than 3 deep", "flat tables", 5},
		{"over 1 MB", base + strings.Repeat("# padding\n", (1<<20)/10+1), "larger than 1048576 bytes", "a few kilobytes", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.config(tc.content)
			_, err := f.load(LoadOptions{Profile: "p"})
			var ce *Error
			if !errors.As(err, &ce) || failure.KindOf(err) != failure.Config {
				t.Fatalf("Load error = %v (%T), want a *config.Error of kind config", err, err)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(ce.Hint(), tc.hint) {
				t.Errorf("error %q, hint %q; want %q, hint %q", err, ce.Hint(), tc.msg, tc.hint)
			}
			if ce.Line != tc.line {
				t.Errorf("Line = %d, want %d", ce.Line, tc.line)
			}
		})
	}
}

// TestDeepestSchemaLoads checks that the nesting limit leaves room for
// the deepest form the schema allows: everything in inline tables.
func TestDeepestSchemaLoads(t *testing.T) {
	f := newFixture(t)
	f.config(`profiles = { p = { tenant = "` + tenantID + `", client_id = "` + clientID + `", client_secret_command = ["echo", "[{x}]"] } } # [[[[{{{{` + "\n" +
		"# a comment with [[[[[ and {{{{{ is not nesting\n" +
		"default_profile = '''\np'''\n")
	p, err := f.load(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.ClientSecretCommand, " ") != "echo [{x}]" {
		t.Errorf("command %q", p.ClientSecretCommand)
	}
}

func BenchmarkLoadDeepInline(b *testing.B) {
	raw := []byte(deepInline())
	for b.Loop() {
		if _, err := configfile.Parse("config.toml", raw); err == nil {
			b.Fatal("a deeply nested file was accepted")
		}
	}
}

// TestSecretPastedAsKeyIsMasked checks that an unknown key that looks
// like a secret is not printed in the error, as a secret pasted in any
// other place is not (issue 16, item 11).
func TestSecretPastedAsKeyIsMasked(t *testing.T) {
	for _, tc := range []struct{ name, line, leak string }{
		{"Entra secret, quoted, in a profile", `"` + entraSecret + `" = "x"`, "PFB8Q"},
		{"legacy secret, quoted", `"` + legacySecret + `" = 1`, "Jd4C/nN"},
		{"long random bare key", `Xk9vQ2mLr7vT9wY1bF3hA5sDpZ8 = 1`, "Xk9vQ2m"},
		{"secret as a dotted key", `client_secret_env."` + entraSecret + `" = 1`, "PFB8Q"},
		{"top-level", "TOP", "PFB8Q"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			content := "[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\n" + tc.line + "\n"
			if tc.line == "TOP" {
				content = `"` + entraSecret + `" = 1` + "\n" + content
			}
			f.config(content)
			_, err := f.load(LoadOptions{Profile: "p"})
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Load error = %v (%T), want *config.Error", err, err)
			}
			for e := error(ce); e != nil; e = errors.Unwrap(e) {
				if text := e.Error() + "\n" + hintOf(e); strings.Contains(text, tc.leak) {
					t.Errorf("the error shows the secret:\n%s", text)
				}
			}
			if tc.name == "Entra secret, quoted, in a profile" && !strings.Contains(ce.Msg, "secrets never sit in the TOML") {
				t.Errorf("Msg = %q, want the advice for a secret in the file", ce.Msg)
			}
		})
	}
}

// TestParseErrorsMaskTheDocument checks that a syntax error near a pasted
// secret does not quote the secret (the parser's messages quote the
// document).
func TestParseErrorsMaskTheDocument(t *testing.T) {
	for _, tc := range []struct{ name, doc string }{
		{"bare value", "a = " + entraSecret + "\n"},
		{"bare value after digits", "a = tru" + entraSecret + "\n"},
		{"key defined twice", `"` + entraSecret + `" = 1` + "\n" + `"` + entraSecret + `" = 2` + "\n"},
		{"table defined twice", `["` + entraSecret + `"]` + "\n" + `["` + entraSecret + `"]` + "\n"},
		{"profile key defined twice", "[profiles.p]\n\"" + entraSecret + "\" = 1\n\"" + entraSecret + "\" = 1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.config(tc.doc)
			_, err := f.load(LoadOptions{})
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Load error = %v (%T), want *config.Error", err, err)
			}
			for e := error(ce); e != nil; e = errors.Unwrap(e) {
				text := e.Error() + "\n" + hintOf(e)
				for _, part := range []string{"PFB", "snfX2k", "Tz3hWm", "4eUa7bGi"} {
					if strings.Contains(text, part) {
						t.Errorf("the error shows part of the secret (%s):\n%s", part, text)
					}
				}
			}
		})
	}
}
