// Package mimetest splits a message, as a test received or wrote it, into
// its MIME parts with their bodies decoded, for the tests of package
// sender and internal/message.
package mimetest

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
)

// Message is a message split into its parts.
type Message struct {
	Header mail.Header
	Parts  []Part // leaves of the MIME tree, in order
}

// Part is one leaf of the MIME tree.
type Part struct {
	Header map[string][]string
	Type   string            // media type, such as "text/plain"
	Params map[string]string // Content-Type parameters
	Body   []byte            // decoded
}

// Parse splits data into its parts; it fails the test when data is not a
// message it can read (a Content-Type it cannot parse, a broken multipart,
// a body that does not decode).
func Parse(t testing.TB, data []byte) Message {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	p := Message{Header: m.Header}
	walk(t, map[string][]string(m.Header), m.Body, &p.Parts)
	return p
}

// Types lists the parts' media types, for test failures.
func Types(ps []Part) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Type)
	}
	return out
}

func walk(t testing.TB, h map[string][]string, body io.Reader, out *[]Part) {
	t.Helper()
	get := func(k string) string {
		if v := h[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	ct := get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		t.Fatalf("content type %q: %v", ct, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			pp, err := mr.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("multipart: %v", err)
			}
			walk(t, pp.Header, pp, out)
		}
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	*out = append(*out, Part{Header: h, Type: mt, Params: params, Body: decodeBody(t, get("Content-Transfer-Encoding"), raw)})
}

func decodeBody(t testing.TB, cte string, raw []byte) []byte {
	t.Helper()
	switch strings.ToLower(cte) {
	case "base64":
		out, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(raw)))
		if err != nil {
			t.Fatalf("base64: %v", err)
		}
		return out
	case "quoted-printable":
		out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Fatalf("quoted-printable: %v", err)
		}
		return out
	}
	return raw
}
