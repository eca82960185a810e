package sender

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"strings"
	"testing"
)

func decodeBody(t *testing.T, cte string, raw []byte) []byte {
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
