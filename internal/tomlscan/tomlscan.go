// Package tomlscan reads what the TOML decoder does not tell: the line each
// key of a document is defined on, and nesting too deep to hand to the
// parser. It scans the raw text and never fails: a key it cannot place
// gets no line.
package tomlscan

import (
	"bufio"
	"bytes"
	"regexp"
	"strings"
)

// MaxSize is the longest line KeyLines reads: a configuration file is at
// most this long.
const MaxSize = 1 << 20

var headerRE = regexp.MustCompile(`^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$`)
var keyRE = regexp.MustCompile(`^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*)\s*=`)

// KeyLines maps each dotted key (and table) of a TOML document to the line
// it is defined on, for error messages: the decoder does not expose key
// positions. Multi-line values are skipped over roughly; a key it cannot
// place gets no line number, nothing worse.
func KeyLines(raw []byte) map[string]int {
	lines := map[string]int{}
	table := ""
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64*1024), MaxSize+1)
	n := 0
	inMulti := ""
	for sc.Scan() {
		n++
		line := sc.Text()
		if inMulti != "" {
			if strings.Contains(line, inMulti) {
				inMulti = ""
			}
			continue
		}
		if m := headerRE.FindStringSubmatch(line); m != nil {
			table = JoinKey(m[1])
			if _, ok := lines[table]; !ok {
				lines[table] = n
			}
			continue
		}
		if m := keyRE.FindStringSubmatch(line); m != nil {
			k := JoinKey(m[1])
			if table != "" {
				k = table + "." + k
			}
			if _, ok := lines[k]; !ok {
				lines[k] = n
			}
			rest := line[len(m[0]):]
			for _, q := range []string{`"""`, `'''`} {
				if strings.Count(rest, q) == 1 {
					inMulti = q
				}
			}
		}
	}
	return lines
}

// JoinKey normalises a dotted TOML key: unquoted parts joined by dots.
func JoinKey(k string) string {
	var parts []string
	for len(k) > 0 {
		k = strings.TrimSpace(k)
		var part string
		switch {
		case strings.HasPrefix(k, `"`) || strings.HasPrefix(k, `'`):
			end := strings.IndexByte(k[1:], k[0])
			if end < 0 {
				return k
			}
			part, k = k[1:end+1], k[end+2:]
		default:
			end := strings.IndexByte(k, '.')
			if end < 0 {
				end = len(k)
			}
			part, k = strings.TrimSpace(k[:end]), k[end:]
		}
		parts = append(parts, part)
		k = strings.TrimSpace(k)
		k = strings.TrimPrefix(k, ".")
	}
	return strings.Join(parts, ".")
}

// TooDeep scans a TOML document for brackets and braces (outside strings
// and comments) nested more than max deep, and returns the line where
// they first do and false; else 0, true. It reads each byte once, so it
// is cheap on any input, unlike the parser on deep nesting.
func TooDeep(raw []byte, max int) (int, bool) {
	line, depth := 1, 0
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '\n':
			line++
		case '#':
			for i+1 < len(raw) && raw[i+1] != '\n' {
				i++
			}
		case '"', '\'':
			delim := string(c)
			if bytes.HasPrefix(raw[i:], []byte{c, c, c}) {
				delim = strings.Repeat(delim, 3)
			}
			i += len(delim)
			for i < len(raw) && !bytes.HasPrefix(raw[i:], []byte(delim)) {
				switch raw[i] {
				case '\\':
					if c == '"' {
						i++ // the escaped byte cannot end the string
					}
				case '\n':
					if len(delim) == 1 {
						i-- // an unterminated string ends at the line; the parser reports it
						goto next
					}
					line++
				}
				i++
			}
			if i+1 < len(raw) && len(delim) == 3 {
				// A multi-line string may end in up to two more quotes.
				for k := 0; k < 2 && i+3 < len(raw) && raw[i+3] == c; k++ {
					i++
				}
			}
			i += len(delim) - 1
		case '[', '{':
			if depth++; depth > max {
				return line, false
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	next:
	}
	return 0, true
}
