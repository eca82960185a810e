// Package rfc5322 is what m365send knows of the Internet Message Format
// (RFC 5322) and of SMTP's limits on addresses and lines (RFC 5321): the
// one address parser, Message-ID making, CRLF line endings, header
// folding and the repair of message text that breaks the line rules.
// Every package that reads or writes a message uses it, so that each rule
// is written once. It is a leaf: it imports only the standard library.
package rfc5322

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of RFC 5321 (section 4.5.3.1) and RFC 5322 (section 2.1.1), in
// octets.
const (
	// MaxLocalPart is the longest local part (before the @).
	MaxLocalPart = 64
	// MaxDomain is the longest domain (after the @).
	MaxDomain = 255
	// MaxPath is the longest reverse- or forward-path, the angle brackets
	// included, so an address has at most MaxPath-2 octets.
	MaxPath = 256
	// MaxLine is the longest line of a message, CRLF excluded.
	MaxLine = 998
	// FoldAt is the line length that folding aims for (RFC 5322 section
	// 2.1.1 recommends 78).
	FoldAt = 78
)

// ErrAddress is wrapped by every error of ParseAddress, ParseAddressList
// and CheckAddress.
var ErrAddress = errors.New("malformed address")

// ParseAddress parses one address, "user@example.com" or
// "Name <user@example.com>", and checks it with CheckAddress. Display
// names in RFC 2047 encoded words are decoded; an encoded word in a
// charset Go does not know is kept as its bytes, because only the address
// matters to the caller that meets one.
func ParseAddress(s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("%w: contains CR or LF", ErrAddress)
	}
	a, err := parser().Parse(s)
	if err != nil {
		return nil, plainError(s, err)
	}
	if err := CheckAddress(a.Address); err != nil {
		return nil, err
	}
	if err := checkName(a); err != nil {
		return nil, err
	}
	return a, nil
}

// checkName refuses a display name that cannot be written back into a
// header: one with a control character (a NUL or an escape in a name is
// never meant), or one that net/mail's formatter would turn into an
// encoded word that no parser accepts (it keeps a backslash inside a
// Q-encoded word). Found by FuzzParseAddress: "a@b (\\\x00)" parsed,
// and the From line made from it did not.
func checkName(a *mail.Address) error {
	for _, r := range a.Name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: the display name %q contains a control character", ErrAddress, a.Name)
		}
	}
	if a.Name == "" {
		return nil
	}
	if _, err := parser().Parse(a.String()); err != nil {
		return fmt.Errorf("%w: the display name %q cannot be written back into a header; leave out the backslash", ErrAddress, a.Name)
	}
	return nil
}

// ParseAddressList parses a comma-separated list of addresses (a To or
// Cc header value) and checks each with CheckAddress.
func ParseAddressList(s string) ([]*mail.Address, error) {
	list, err := parser().ParseList(s)
	if err != nil {
		return nil, plainError(s, err)
	}
	for _, a := range list {
		if err := CheckAddress(a.Address); err != nil {
			return nil, err
		}
		if err := checkName(a); err != nil {
			return nil, err
		}
	}
	return list, nil
}

func parser() *mail.AddressParser {
	return &mail.AddressParser{WordDecoder: &mime.WordDecoder{
		CharsetReader: func(_ string, input io.Reader) (io.Reader, error) { return input, nil },
	}}
}

// CheckAddress checks a bare address ("user@example.com") for what SMTP
// cannot carry: control characters (C0, DEL and C1), spaces or angle
// brackets, invalid UTF-8, no @, and
// the lengths of RFC 5321 (local part MaxLocalPart, domain MaxDomain,
// the whole MaxPath-2 octets).
func CheckAddress(addr string) error {
	for _, r := range addr {
		if unicode.IsControl(r) || r == ' ' || r == '<' || r == '>' || r == utf8.RuneError {
			return fmt.Errorf("%w: %q holds a control character, space, angle bracket or invalid UTF-8", ErrAddress, Truncate(addr, 80))
		}
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return fmt.Errorf("%w: %q is not local-part@domain", ErrAddress, Truncate(addr, 80))
	}
	switch local, domain := addr[:at], addr[at+1:]; {
	case len(local) > MaxLocalPart:
		return fmt.Errorf("%w: the part before the @ has %d octets, more than SMTP's %d", ErrAddress, len(local), MaxLocalPart)
	case len(domain) > MaxDomain:
		return fmt.Errorf("%w: the domain has %d octets, more than SMTP's %d", ErrAddress, len(domain), MaxDomain)
	case len(addr) > MaxPath-2:
		return fmt.Errorf("%w: %d octets, more than SMTP's %d", ErrAddress, len(addr), MaxPath-2)
	}
	return nil
}

// IsASCII reports whether s is all ASCII: an address that is not needs
// the SMTPUTF8 extension (RFC 6531), text that is not is no us-ascii.
func IsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Domain returns the part of addr after its last @, or "".
func Domain(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 && i < len(addr)-1 {
		return addr[i+1:]
	}
	return ""
}

// NewMessageID makes "<32 hex digits@domain>", as Outlook does, with 16
// bytes read from r (nil: crypto/rand).
func NewMessageID(r io.Reader, domain string) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("make Message-ID: %w", err)
	}
	return "<" + hex.EncodeToString(b[:]) + "@" + domain + ">", nil
}

// Truncate shortens s to at most n bytes (on a rune boundary) and marks
// the cut with "...".
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
