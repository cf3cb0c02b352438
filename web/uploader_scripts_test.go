package web_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/uplink-video/uplink/static/jstest"
)

// TestUploaderScriptTests runs the uploader's own tests under Node's
// test runner (static/js/*.test.mjs: the upload engine against a fake
// transport, the type check, the page's words), as
// "node --test static/js/" does. The files are named rather than the
// directory, because Node's versions disagree on how they search one.
func TestUploaderScriptTests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(jstest.Dir(), "*.test.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no *.test.mjs in %s", jstest.Dir())
	}
	args := []string{"--test"}
	for _, f := range files {
		args = append(args, filepath.Base(f))
	}
	out := jstest.Run(t, nil, args...)
	if testing.Verbose() {
		t.Logf("%s", out)
	}
}

// TestUploaderKnowsEveryRefusalCode checks that the uploader's script
// and the server agree on the codes of the problems the server sends it.
// The server's codes are the string constants named Code* in
// web/links/refusal.go, and code* in this package (the few it adds, such
// as the rate limit's), read from the source so that a new one cannot be
// missed. The script lists what it does with each in HANDLING
// (static/js/codes.js): the test fails on a server code the script does
// not list, on a listed code the server never sends, and on a code the
// script makes up itself (LOCAL) or uses anywhere that is in neither.
func TestUploaderKnowsEveryRefusalCode(t *testing.T) {
	server := map[string]string{} // code -> where it is declared
	for _, dir := range []string{"links", "."} {
		consts := stringConsts(t, dir)
		for name, v := range consts {
			exported := dir == "links" && strings.HasPrefix(name, "Code")
			local := dir == "." && strings.HasPrefix(name, "code") && len(name) > 4 && unicode.IsUpper(rune(name[4]))
			if exported || local {
				server[v] = filepath.Join("web", dir, name)
			}
		}
	}
	if len(server) < 20 {
		t.Fatalf("found only %d server codes: %v", len(server), server)
	}
	src, err := os.ReadFile(filepath.Join(jstest.Dir(), "codes.js"))
	if err != nil {
		t.Fatal(err)
	}
	handling := jsTable(t, string(src), "HANDLING")
	local := jsTable(t, string(src), "LOCAL")
	for code, where := range server {
		if _, ok := handling[code]; !ok {
			t.Errorf("the server sends %q (%s); add it to HANDLING in static/js/codes.js, as generic if nothing special is to be done", code, where)
		}
	}
	for code := range handling {
		if _, ok := server[code]; !ok {
			t.Errorf("HANDLING in static/js/codes.js lists %q, which the server never sends", code)
		}
	}
	for code := range local {
		if where, ok := server[code]; ok {
			t.Errorf("LOCAL in static/js/codes.js takes %q, a code of the server (%s)", code, where)
		}
	}
	// Every code the scripts name is one of the two tables'.
	used := regexp.MustCompile(`(?:\bcode\s*(?::|===?)\s*|\bclosed\s*===?\s*)'([a-z0-9-]+)'`)
	files, _ := filepath.Glob(filepath.Join(jstest.Dir(), "*.js"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			if _, ok := handling[m[1]]; !ok {
				if _, ok := local[m[1]]; !ok {
					t.Errorf("%s uses the code %q, which is neither the server's (HANDLING) nor the page's own (LOCAL)", filepath.Base(f), m[1])
				}
			}
		}
	}
}

// stringConsts returns the string constants declared in the non-test Go
// files of dir, by name.
func stringConsts(t *testing.T, dir string) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	out := map[string]string{}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, err := strconv.Unquote(lit.Value)
						if err != nil {
							t.Fatal(err)
						}
						out[name.Name] = v
					}
				}
			}
		}
	}
	return out
}

// jsTable returns the keys and values of "export const NAME =
// Object.freeze({ 'key': 'value', ... })" in src.
func jsTable(t *testing.T, src, name string) map[string]string {
	t.Helper()
	start := strings.Index(src, "export const "+name+" = Object.freeze({")
	if start < 0 {
		t.Fatalf("no table %s in static/js/codes.js", name)
	}
	body := src[start:]
	body = body[:strings.Index(body, "})")]
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`'([a-z0-9-]+)':\s*'([a-z]+)'`).FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2]
	}
	if len(out) == 0 {
		t.Fatalf("table %s in static/js/codes.js has no entries", name)
	}
	return out
}
