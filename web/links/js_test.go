package links_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/uplink-video/uplink/static/jstest"
	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/sniff"
)

// refusalJS asks the uploader's check (static/js/sniff.js, refusal) about
// each case, with the words for the link's types that the page is given.
const refusalJS = jstest.ReadStdin + `
import { refusal } from './sniff.js'
const cases = await input()
process.stdout.write(JSON.stringify(cases.map(c => {
  const b = Buffer.from(c.head || '', 'base64')
  const r = refusal(c.types, c.typesText, new Uint8Array(b.buffer, b.byteOffset, b.length))
  return r && { status: r.status, code: r.code, title: r.title, detail: r.detail }
})))
`

// TestCheckTypeAgreesWithTheUploader checks that the uploader refuses,
// before sending anything, exactly the files the server refuses when the
// first part arrives, in the same words: each real file of web/sniff's
// testdata against links taking several sets of types.
func TestCheckTypeAgreesWithTheUploader(t *testing.T) {
	type jsCase struct {
		Types     []string `json:"types"`
		TypesText string   `json:"typesText"`
		Head      []byte   `json:"head"`
		file      string
	}
	dir := filepath.Join("..", "sniff", "testdata")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []jsCase
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		b = b[:min(len(b), sniff.HeaderSize)]
		for _, types := range [][]string{{"video"}, {"any"}, {"mp4"}, {"webm", "mkv"}, {"mov", "mp4"}, {"mp3"}, {"png", "video"}} {
			cases = append(cases, jsCase{Types: types, TypesText: links.TypesText(types), Head: b, file: e.Name()})
		}
		// A file cut before its format shows: refused by both as unknown.
		cases = append(cases, jsCase{Types: []string{"video"}, TypesText: links.TypesText([]string{"video"}), Head: b[:3], file: e.Name() + "[:3]"})
	}
	type answer struct {
		Status              int
		Code, Title, Detail string
	}
	var got []*answer
	jstest.Eval(t, refusalJS, cases, &got)
	if len(got) != len(cases) {
		t.Fatalf("node answered %d cases, want %d", len(got), len(cases))
	}
	refused := 0
	for i, c := range cases {
		want := links.CheckType(store.Link{AllowedTypes: c.Types}, c.Head)
		switch {
		case want == nil && got[i] != nil:
			t.Errorf("%s for %v: the uploader refuses it (%s), the server takes it", c.file, c.Types, got[i].Detail)
		case want != nil && got[i] == nil:
			t.Errorf("%s for %v: the server refuses it (%s), the uploader takes it", c.file, c.Types, want.Detail)
		case want != nil:
			refused++
			if g := *got[i]; g != (answer{want.Status, want.Code, want.Title, want.Detail}) {
				t.Errorf("%s for %v: the uploader says %+v, the server %d %s %q %q", c.file, c.Types, g, want.Status, want.Code, want.Title, want.Detail)
			}
		}
	}
	if refused == 0 || refused == len(cases) {
		t.Errorf("%d of %d cases refused: the cases do not test both answers", refused, len(cases))
	}
}
