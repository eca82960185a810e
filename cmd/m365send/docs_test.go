package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/graph"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/token"
)

// updateDocs makes TestDocs* rewrite the generated parts of the docs
// instead of comparing them:
//
//	go test ./cmd/m365send -run TestDocs -update
var updateDocs = flag.Bool("update", false, "rewrite the generated docs (docs/man, generated tables) instead of checking them")

// repoRoot is the repository's top folder, seen from this package.
const repoRoot = "../.."

// docFiles lists README.md and every Markdown file under docs/.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{filepath.Join(repoRoot, "README.md")}
	err := filepath.WalkDir(filepath.Join(repoRoot, "docs"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".md") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

var (
	mdLink     = regexp.MustCompile(`\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	mdCodeSpan = regexp.MustCompile("`[^`]*`")
	mdScheme   = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// markdownProse returns the lines of a Markdown document outside fenced
// code blocks, with inline code spans blanked, so that links and headings
// are found only where a renderer would find them.
func markdownProse(text string) []string {
	var out []string
	fence := ""
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			out = append(out, "")
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			out = append(out, "")
			continue
		}
		out = append(out, mdCodeSpan.ReplaceAllString(line, "``"))
	}
	return out
}

// headingAnchors returns the anchors GitHub makes for a document's
// headings: lower case, punctuation dropped, spaces as hyphens, and -1, -2
// ... for repeats.
func headingAnchors(text string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	fence := ""
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		if !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		slug := githubSlug(title)
		if n := seen[slug]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			anchors[slug] = true
		}
		seen[slug]++
	}
	return anchors
}

// githubSlug is GitHub's anchor for a heading's text.
func githubSlug(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_',
			r >= 'a' && r <= 'z', r >= '0' && r <= '9', r > 0x7f && r != '—' && r != '–' && r != '→':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestDocsLinks checks that every relative link in README.md and docs/
// leads to a file or folder that exists and, with a #fragment, to a
// heading that exists in that file.
func TestDocsLinks(t *testing.T) {
	anchorsOf := map[string]map[string]bool{}
	anchors := func(path string) (map[string]bool, error) {
		if a, ok := anchorsOf[path]; ok {
			return a, nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		a := headingAnchors(string(b))
		anchorsOf[path] = a
		return a, nil
	}
	checked := 0
	for _, file := range docFiles(t) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(repoRoot, file)
		for n, line := range markdownProse(string(b)) {
			for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if mdScheme.MatchString(target) {
					continue // http:, https:, mailto:
				}
				checked++
				path, frag, _ := strings.Cut(target, "#")
				dest := file
				if path != "" {
					dest = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
				}
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s:%d: link %q: no such file or folder", rel, n+1, target)
					continue
				}
				if frag == "" {
					continue
				}
				if !strings.HasSuffix(dest, ".md") {
					t.Errorf("%s:%d: link %q: a #fragment on a file that is not Markdown", rel, n+1, target)
					continue
				}
				a, err := anchors(dest)
				if err != nil {
					t.Errorf("%s:%d: link %q: %v", rel, n+1, target, err)
					continue
				}
				if !a[frag] {
					t.Errorf("%s:%d: link %q: no heading with the anchor #%s", rel, n+1, target, frag)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative links found: the link scanner is broken")
	}
}

// TestDocsLinkCheckerFindsBrokenLinks makes sure TestDocsLinks can fail:
// its parts find a missing heading and skip links inside code.
func TestDocsLinkCheckerFindsBrokenLinks(t *testing.T) {
	text := "# Exit codes\n\n## SMTP replies (5.7.x)\n\n```\n[not a link](nowhere.md)\n```\n`[nor this](nowhere.md)` [real](other.md#smtp-replies-57x)\n## Exit codes\n"
	a := headingAnchors(text)
	for _, want := range []string{"exit-codes", "smtp-replies-57x", "exit-codes-1"} {
		if !a[want] {
			t.Errorf("anchor %q missing from %v", want, a)
		}
	}
	if a["smtp-replies"] {
		t.Error("an anchor that is not there was found")
	}
	var targets []string
	for _, line := range markdownProse(text) {
		for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
			targets = append(targets, m[1])
		}
	}
	if strings.Join(targets, " ") != "other.md#smtp-replies-57x" {
		t.Errorf("links found: %q, want only the one outside code", targets)
	}
}

// manDate is the date printed in the generated manual pages. It is fixed
// so that the pages change only when the commands do.
func manDate() *time.Time {
	d := time.Date(2026, time.November, 1, 0, 0, 0, 0, time.UTC)
	return &d
}

// docsRootCmd is the command tree as users meet it, completion included.
func docsRootCmd() *cobra.Command {
	a := &app{io: IO{In: strings.NewReader(""), Out: new(bytes.Buffer), Err: new(bytes.Buffer), Env: func(string) string { return "" }}}
	root := a.newRootCmd()
	root.InitDefaultCompletionCmd()
	var noTag func(*cobra.Command)
	noTag = func(c *cobra.Command) {
		c.DisableAutoGenTag = true
		for _, sub := range c.Commands() {
			noTag(sub)
		}
	}
	noTag(root)
	return root
}

// TestDocsManPages checks that docs/man holds exactly the manual pages the
// command tree generates (cobra/doc); -update rewrites them.
func TestDocsManPages(t *testing.T) {
	gen := t.TempDir()
	header := &doc.GenManHeader{Title: "M365SEND", Section: "1", Date: manDate(), Source: "m365send", Manual: "m365send manual"}
	if err := doc.GenManTree(docsRootCmd(), header, gen); err != nil {
		t.Fatal(err)
	}
	want := readDir(t, gen)
	if len(want) == 0 {
		t.Fatal("cobra/doc generated no manual pages")
	}
	if _, ok := want["m365send-send.1"]; !ok {
		t.Fatalf("no page for send among %v", names(want))
	}
	dir := filepath.Join(repoRoot, "docs", "man")
	if *updateDocs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name := range readDir(t, dir) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		for name, content := range want {
			if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	got := readDir(t, dir)
	for name, content := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("docs/man/%s is missing; run: go test ./cmd/m365send -run TestDocs -update", name)
		} else if !bytes.Equal(g, content) {
			t.Errorf("docs/man/%s is stale; run: go test ./cmd/m365send -run TestDocs -update", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("docs/man/%s belongs to no command; run: go test ./cmd/m365send -run TestDocs -update", name)
		}
	}
}

// readDir returns the regular files of dir (none if it does not exist),
// by name.
func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return map[string][]byte{}
	}
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files
}

func names(m map[string][]byte) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// TestDocsREADMEIsTheFrontDoor keeps the README short (the manual is in
// docs/) and keeps its two commands, which must work on a fresh clone.
func TestDocsREADMEIsTheFrontDoor(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("\n")); n >= 200 {
		t.Errorf("README.md has %d lines; keep it under 200 and move the rest to docs/", n)
	}
	for _, cmd := range []string{"go run ./cmd/m365send sandbox --demo", "scripts/test.sh"} {
		if !bytes.Contains(b, []byte(cmd)) {
			t.Errorf("README.md no longer shows %q", cmd)
		}
	}
}

// docsGenerators are the generated regions of the docs, by name: each
// returns the Markdown that sits between
// "<!-- generated: NAME -->" and "<!-- end -->", made from the tables the
// code itself uses.
func docsGenerators() map[string]func() string {
	return map[string]func() string{
		"aadsts-hints": aadstsHintsTable,
		"reply-hints":  replyHintsTable,
		"graph-hints":  graphHintsTable,
		"config-keys":  configKeysTable,
		"exit-codes":   exitCodesTable,
	}
}

// mdCell makes s safe inside a Markdown table cell.
func mdCell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

// aadstsHintsTable is token's AADSTS table with the exit code the command
// gives for each code.
func aadstsHintsTable() string {
	var b strings.Builder
	b.WriteString("| code | meaning | kind | exit | on a refresh | what to do |\n|---|---|---|---|---|---|\n")
	for _, h := range token.AADSTSHints() {
		exit := exitCodeFor(&token.Error{Code: h.Code, Description: fmt.Sprintf("AADSTS%d", h.Code)})
		refresh := ""
		if h.SignIn {
			refresh = fmt.Sprintf("%s, %d", failure.SignIn, exitCodeFor(token.ErrLoginRequired))
		}
		fmt.Fprintf(&b, "| AADSTS%d | %s | %s | %d | %s | %s |\n", h.Code, mdCell(h.Meaning), h.Kind, exit, refresh, mdCell(h.Hint))
	}
	return b.String()
}

// graphHintsTable is graph's error table, in the order its rows are
// tried, with the exit code the command gives for each.
func graphHintsTable() string {
	var b strings.Builder
	b.WriteString("| status | code | step | kind | exit | what to do |\n|---|---|---|---|---|---|\n")
	for _, h := range graph.ErrorHints() {
		e := &graph.Error{Op: h.Op, Status: h.Status, Code: h.Code, Message: h.Message}
		code, op := "*(any)*", "*(any)*"
		if h.Code != "" {
			code = "`" + h.Code + "`"
		}
		if h.Op != "" {
			op = h.Op
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %d | %s |\n", h.Status, code, op, h.Kind, exitCodeFor(e), mdCell(h.Hint))
	}
	return b.String()
}

// sysexitsNames are sysexits(3)'s names for the codes the command uses.
func sysexitsNames() map[int]string {
	return map[int]string{0: "EX_OK", 64: "EX_USAGE", 65: "EX_DATAERR", 66: "EX_NOINPUT", 69: "EX_UNAVAILABLE",
		70: "EX_SOFTWARE", 71: "EX_OSERR", 73: "EX_CANTCREAT", 74: "EX_IOERR", 75: "EX_TEMPFAIL", 76: "EX_PROTOCOL",
		77: "EX_NOPERM", 78: "EX_CONFIG"}
}

// kindDocs returns what internal/failure's doc comments say of each Kind,
// by the kind's String(), with the leading "Name is"/"Name means" cut.
func kindDocs() (map[string]string, error) {
	fset := gotoken.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join(repoRoot, "internal", "failure", "failure.go"), nil, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	docs := map[string]string{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != gotoken.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if vs.Doc == nil || len(vs.Names) != 1 {
				continue
			}
			name := vs.Names[0].Name
			text := strings.Join(strings.Fields(vs.Doc.Text()), " ")
			for _, verb := range []string{" is ", " means "} {
				text = strings.TrimPrefix(text, name+verb)
			}
			// In a table sorted by exit code, "the above" is not the
			// other kinds any more.
			text = strings.ReplaceAll(text, "none of the above", "none of the other kinds")
			docs[kebab(name)] = strings.TrimSuffix(text, ".")
		}
	}
	return docs, nil
}

// kebab turns a Go name such as BadMessage into bad-message.
func kebab(name string) string {
	var b strings.Builder
	for i, r := range name {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// exitCodesTable is the command's kind → exit code table, one row per
// kind in exit-code order, with each kind's meaning from internal/failure.
func exitCodesTable() string {
	docs, err := kindDocs()
	if err != nil {
		return "error: " + err.Error()
	}
	kinds := failure.Kinds()
	sort.SliceStable(kinds, func(i, j int) bool { return exitCodeOf(kinds[i]) < exitCodeOf(kinds[j]) })
	var b strings.Builder
	b.WriteString("| exit | sysexits(3) | kind | what it means | the command adds to the hint |\n|---|---|---|---|---|\n")
	b.WriteString("| 0 | EX_OK | | sent, or the command did what it says | |\n")
	for _, k := range kinds {
		code := exitCodeOf(k)
		doc, ok := docs[k.String()]
		if !ok {
			doc = "(no doc comment in internal/failure)"
		}
		advice := reporter{prog: "m365send", profile: "P"}.advice(k, failure.New(k, "example", ""))
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s |\n", code, sysexitsNames()[code], k, mdCell(doc), mdCell(advice))
	}
	return b.String()
}

// configKeysTable is the key reference, made from config.Keys.
func configKeysTable() string {
	var b strings.Builder
	b.WriteString("| key (`[profiles.NAME]`) | environment | type | default | what it holds |\n|---|---|---|---|---|\n")
	for _, k := range config.Keys() {
		name := "`" + k.Name + "`"
		if k.EnvOnly {
			name = "(environment only)"
		}
		env := "—"
		if k.Env != "" {
			env = "`" + k.Env + "`"
		}
		def := mdCell(k.Default)
		if k.Required {
			def = "required"
		}
		doc := mdCell(k.Doc)
		if k.SecretRef {
			doc += " *(a client credential: at most one per layer)*"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name, env, k.Type, def, doc)
	}
	return b.String()
}

// replyHintsTable is sender's reply table, in the order its rows are
// tried, with the exit code the command gives for each example reply.
func replyHintsTable() string {
	var b strings.Builder
	b.WriteString("| reply (example) | covers | kind | exit | what to do |\n|---|---|---|---|---|\n")
	for _, h := range sender.ReplyHints() {
		e := &sender.Error{Server: "smtp.office365.com:587", Stage: sender.StageData, Code: h.Code,
			EnhancedCode: h.EnhancedCode, Text: h.Text, Temporary: h.Code >= 400 && h.Code < 500}
		reply := strings.Join(strings.Fields(fmt.Sprintf("%d %s %s", h.Code, h.EnhancedCode, h.Text)), " ")
		covers := h.Match
		if h.Default {
			covers = "*(default)* " + covers
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %d | %s |\n", mdCell(reply), mdCell(covers), h.Kind, exitCodeFor(e), mdCell(h.Hint))
	}
	return b.String()
}

var mdGenerated = regexp.MustCompile(`(?s)(<!-- generated: ([a-z0-9-]+) -->\n)(.*?)(<!-- end -->)`)

// TestDocsGenerated checks that every generated region of the docs holds
// what its generator makes now, and that every generator has a region;
// -update rewrites the regions.
func TestDocsGenerated(t *testing.T) {
	gens := docsGenerators()
	used := map[string]bool{}
	for _, file := range docFiles(t) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(repoRoot, file)
		var stale []string
		out := mdGenerated.ReplaceAllStringFunc(string(b), func(region string) string {
			m := mdGenerated.FindStringSubmatch(region)
			name := m[2]
			gen, ok := gens[name]
			if !ok {
				t.Errorf("%s: generated region %q has no generator", rel, name)
				return region
			}
			used[name] = true
			want := gen()
			if m[3] != want {
				stale = append(stale, name)
			}
			return m[1] + want + m[4]
		})
		if len(stale) == 0 {
			continue
		}
		if *updateDocs {
			if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("%s: generated regions %s are stale; run: go test ./cmd/m365send -run TestDocs -update", rel, strings.Join(stale, ", "))
	}
	for name := range gens {
		if !used[name] {
			t.Errorf("no doc has the generated region %q (<!-- generated: %s -->...<!-- end -->)", name, name)
		}
	}
}

var (
	docsCitation    = regexp.MustCompile(`docs/[A-Za-z0-9_./-]*[A-Za-z0-9_]`)
	outsideCitation = regexp.MustCompile(`\b(FACTS|STYLE|SPEC)\.md\b`)
)

// TestDocsCitedByCodeExist checks that every docs/... file named in the
// repository's Go, shell and PowerShell files exists, and that none cites
// the project's notes that are not in the repository (the facts, style and
// spec files).
func TestDocsCitedByCodeExist(t *testing.T) {
	cited := 0
	err := filepath.WalkDir(repoRoot, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != repoRoot && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".sh", ".ps1":
		default:
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, path)
		if m := outsideCitation.Find(b); m != nil {
			t.Errorf("%s cites %s, which is not in this repository: cite a file under docs/", rel, m)
		}
		for _, m := range docsCitation.FindAll(b, -1) {
			cite := strings.TrimRight(string(m), ".")
			cited++
			if _, err := os.Stat(filepath.Join(repoRoot, filepath.FromSlash(cite))); err != nil {
				t.Errorf("%s cites %s, which does not exist", rel, cite)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if cited == 0 {
		t.Fatal("no citation of docs/ found: the scanner is broken")
	}
}

// TestDocsLibraryProgramCompiles type-checks the complete program in
// docs/library.md against the packages as they are, with go build and a
// build overlay (nothing is written into the repository).
func TestDocsLibraryProgramCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build")
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, "docs", "library.md"))
	if err != nil {
		t.Fatal(err)
	}
	var program string
	for _, block := range regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		if strings.HasPrefix(block[1], "package main\n") {
			program = block[1]
			break
		}
	}
	if program == "" {
		t.Fatal("docs/library.md has no complete program (a ```go block starting with package main)")
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	src := filepath.Join(tmp, "main.go")
	if err := os.WriteFile(src, []byte(program), 0o644); err != nil {
		t.Fatal(err)
	}
	// The overlay adds the program as a file of a folder that does not
	// exist in the repository.
	virtual := filepath.Join(root, "internal", "docsprogram", "main.go")
	overlay := filepath.Join(tmp, "overlay.json")
	o := fmt.Sprintf(`{"Replace":{%q:%q}}`, virtual, src)
	if err := os.WriteFile(overlay, []byte(o), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-overlay", overlay, "-o", filepath.Join(tmp, "program"), "./internal/docsprogram")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the program in docs/library.md does not compile: %v\n%s", err, out)
	}
}
