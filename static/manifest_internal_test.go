package static

import (
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// TestBuildRewritesImportsToHashedNames checks that a script loaded by
// its hashed name imports its siblings by theirs, and that a change to a
// module changes the hashed name of every script that imports it.
func TestBuildRewritesImportsToHashedNames(t *testing.T) {
	files := func(leaf string) fstest.MapFS {
		return fstest.MapFS{
			"js/leaf.js":   {Data: []byte(leaf)},
			"js/engine.js": {Data: []byte("import { x } from './leaf.js'\nexport const y = x\n")},
			"js/page.js":   {Data: []byte("import { y } from \"./engine.js\"\nimport './leaf.js'\n// a word from './nowhere' stays\nconsole.log(y)\n")},
			"css/app.css":  {Data: []byte("body { color: red }")},
		}
	}
	m, err := build(files("export const x = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, engine, page := m.byName["js/leaf.js"], m.byName["js/engine.js"], m.byName["js/page.js"]
	if got, want := string(engine.Body), "import { x } from './"+strings.TrimPrefix(leaf.Hashed, "js/")+"'\nexport const y = x\n"; got != want {
		t.Errorf("engine.js=%q, want=%q", got, want)
	}
	for _, want := range []string{`from "./` + strings.TrimPrefix(engine.Hashed, "js/") + `"`, `import './` + strings.TrimPrefix(leaf.Hashed, "js/") + `'`, "from './nowhere' stays"} {
		if !strings.Contains(string(page.Body), want) {
			t.Errorf("page.js=%q, want it to contain %q", page.Body, want)
		}
	}
	if got, want := page.Imports, []string{"js/leaf.js", "js/engine.js"}; !slices.Equal(got, want) {
		t.Errorf("page.js imports %v, want=%v (each after what it imports)", got, want)
	}
	if m.byHashed[page.Hashed] != page {
		t.Errorf("page.js is not found by its hashed name %s", page.Hashed)
	}

	changed, err := build(files("export const x = 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"js/leaf.js", "js/engine.js", "js/page.js"} {
		if m.byName[name].Hashed == changed.byName[name].Hashed {
			t.Errorf("%s kept its hashed name %s when a module it depends on changed", name, m.byName[name].Hashed)
		}
	}
	if got, want := changed.byName["css/app.css"].Hashed, m.byName["css/app.css"].Hashed; got != want {
		t.Errorf("css/app.css changed its name to %s, want %s", got, want)
	}
}

// TestBuildRefusesBrokenImports checks that an import of a file that is
// not embedded, or a cycle, fails the build rather than serving a page
// whose script cannot load.
func TestBuildRefusesBrokenImports(t *testing.T) {
	for _, tt := range []struct {
		description string
		files       fstest.MapFS
		want        string
	}{
		{"missing module", fstest.MapFS{"js/a.js": {Data: []byte("import './gone.js'")}}, "js/gone.js, which is not embedded"},
		{"cycle", fstest.MapFS{
			"js/a.js": {Data: []byte("import './b.js'")},
			"js/b.js": {Data: []byte("import './a.js'")},
		}, "imports itself"},
	} {
		t.Run(tt.description, func(t *testing.T) {
			_, err := build(tt.files)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("build: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestEmbeddedFilesHoldNoTests checks that the Node tests and Node's
// package.json, which sit next to the scripts, are not in the binary.
func TestEmbeddedFilesHoldNoTests(t *testing.T) {
	err := fs.WalkDir(Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.Contains(p, ".test.") || strings.HasSuffix(p, ".mjs") || strings.HasSuffix(p, "package.json") {
			t.Errorf("%s is embedded; only what pages load may be", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := Lookup("js/uploader.js"); !ok {
		t.Errorf("js/uploader.js is not embedded")
	}
}
