package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
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
}

// manifest indexes the embedded files by name and by hashed name. It is
// derived from Files, which is fixed at build time, so it is computed
// once and never changes.
type manifest struct {
	byName   map[string]*Asset
	byHashed map[string]*Asset
}

var load = sync.OnceValue(func() *manifest {
	m := &manifest{byName: map[string]*Asset{}, byHashed: map[string]*Asset{}}
	err := fs.WalkDir(Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(Files, p)
		if err != nil {
			return err
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
		}
		if a.ContentType == "" {
			a.ContentType = "application/octet-stream"
		}
		a.Gzip = compress(body)
		m.byName[p], m.byHashed[a.Hashed] = a, a
		return nil
	})
	if err != nil {
		panic("static: reading the embedded files: " + err.Error())
	}
	return m
})

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
