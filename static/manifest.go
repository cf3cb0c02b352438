package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"regexp"
	"strings"
	"sync"
)

// Asset is one embedded file, ready to serve.
type Asset struct {
	Name        string // Path under the static root, e.g. "css/app.css".
	Hashed      string // Name with a content hash, e.g. "css/app.1a2b3c4d5e.css".
	ContentType string
	Body        []byte
	Gzip        []byte // Body gzipped, or nil when that would not help.
	ETag        string
	// Imports are the names of the modules a script imports, directly
	// or through others, each once, every module after those it imports.
	Imports []string
}

// manifest indexes the embedded files by name and by hashed name. It is
// derived from Files, which is fixed at build time, so it is computed
// once and never changes.
type manifest struct {
	byName   map[string]*Asset
	byHashed map[string]*Asset
}

var load = sync.OnceValue(func() *manifest {
	m, err := build(Files)
	if err != nil {
		panic("static: " + err.Error())
	}
	return m
})

// importSpec matches the relative specifier of a static import or export
// in a script: the './engine.js' of "import { x } from './engine.js'" and
// of "import './engine.js'". Scripts import their siblings only, by these
// plain names.
var importSpec = regexp.MustCompile(`(\b(?:from|import)\s*)(['"])\./([A-Za-z0-9_-]+\.js)(['"])`)

// build reads every file of fsys into a manifest. A script's imports of
// its siblings are rewritten to the siblings' hashed names before the
// script is hashed: a page that loads a script by its hashed name then
// gets exactly the modules it was built with, each cached for good, and a
// change to any module a script imports changes that script's name too.
func build(fsys fs.FS) (*manifest, error) {
	raw := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		raw[p] = body
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the embedded files: %w", err)
	}
	m := &manifest{byName: map[string]*Asset{}, byHashed: map[string]*Asset{}}
	var add func(p string, chain []string) (*Asset, error)
	add = func(p string, chain []string) (*Asset, error) {
		if a, ok := m.byName[p]; ok {
			return a, nil
		}
		for _, c := range chain {
			if c == p {
				return nil, fmt.Errorf("%s imports itself through %s", p, strings.Join(chain, " -> "))
			}
		}
		chain = append(chain, p)
		body, ok := raw[p]
		if !ok {
			return nil, fmt.Errorf("%s imports %s, which is not embedded", chain[len(chain)-2], p)
		}
		var imports []string
		if path.Ext(p) == ".js" {
			var failed error
			body = importSpec.ReplaceAllFunc(body, func(match []byte) []byte {
				g := importSpec.FindSubmatch(match)
				dep, err := add(path.Join(path.Dir(p), string(g[3])), chain)
				if err != nil {
					failed = err
					return match
				}
				for _, name := range append(dep.Imports, dep.Name) {
					if !contains(imports, name) {
						imports = append(imports, name)
					}
				}
				return fmt.Appendf(nil, "%s%s./%s%s", g[1], g[2], path.Base(dep.Hashed), g[4])
			})
			if failed != nil {
				return nil, failed
			}
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])[:10]
		ext := path.Ext(p)
		a := &Asset{
			Name:        p,
			Hashed:      strings.TrimSuffix(p, ext) + "." + hash + ext,
			ContentType: mime.TypeByExtension(ext),
			Body:        body,
			ETag:        `"` + hash + `"`,
			Imports:     imports,
		}
		if a.ContentType == "" {
			a.ContentType = "application/octet-stream"
		}
		a.Gzip = compress(body)
		m.byName[p], m.byHashed[a.Hashed] = a, a
		return a, nil
	}
	for p := range raw {
		if _, err := add(p, nil); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// compress gzips b, or returns nil when that saves too little to matter.
func compress(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write(b)
	w.Close()
	if buf.Len() > len(b)*9/10 {
		return nil
	}
	return buf.Bytes()
}

// URL returns the URL of an embedded file under its content-hashed name,
// which can be cached for good: a changed file gets a new URL. It panics
// on a name that is not embedded, which is a programming error caught by
// any test that renders the page.
func URL(name string) string {
	a, ok := load().byName[name]
	if !ok {
		panic("static: no embedded file " + name)
	}
	return "/static/" + a.Hashed
}

// ImportURLs returns the hashed URLs of the modules the script name
// imports, directly or not, each after those it imports: the page can
// name them in <link rel="modulepreload"> so that the browser fetches them
// all at once rather than one level of imports after another. It panics
// on a name that is not embedded, as URL does.
func ImportURLs(name string) []string {
	a, ok := load().byName[name]
	if !ok {
		panic("static: no embedded file " + name)
	}
	urls := make([]string, 0, len(a.Imports))
	for _, dep := range a.Imports {
		urls = append(urls, URL(dep))
	}
	return urls
}

// Lookup finds an embedded file by its hashed name (immutable reports
// true) or by its plain name.
func Lookup(name string) (a *Asset, immutable bool, ok bool) {
	m := load()
	if a, ok := m.byHashed[name]; ok {
		return a, true, true
	}
	a, ok = m.byName[name]
	return a, false, ok
}
