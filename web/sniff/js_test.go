package sniff_test

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/uplink-video/uplink/static/jstest"
	"github.com/uplink-video/uplink/web/sniff"
)

// detectJS asks the uploader's port of Detect (static/js/sniff.js) about
// each sample: for each, the format it detects in the first n bytes, for
// each n of cuts, as "name/label/video", or "" when it knows none.
const detectJS = jstest.ReadStdin + `
import { detect } from './sniff.js'
const samples = await input()
const out = samples.map(s => {
  const b = Buffer.from(s.head || '', 'base64')
  const bytes = new Uint8Array(b.buffer, b.byteOffset, b.length)
  return s.cuts.map(n => {
    const f = detect(bytes.subarray(0, n))
    return f ? f.name + '/' + f.label + '/' + f.video : ''
  })
})
process.stdout.write(JSON.stringify(out))
`

// jsSample is a header and the lengths to cut it at.
type jsSample struct {
	what string
	Head []byte `json:"head"`
	Cuts []int  `json:"cuts"`
}

// TestDetectAgreesWithTheUploader checks that the browser refuses a file
// for the reason the server would: the uploader's port of Detect must
// answer as Detect does, format, label and all, on the real files of
// testdata, on the synthetic headers, on their prefixes, and on random
// mutations of both. A sample cut anywhere matters: a short file, or a
// header split oddly, must not be refused by one and taken by the other.
func TestDetectAgreesWithTheUploader(t *testing.T) {
	var samples []jsSample
	every := func(n int) []int {
		cuts := make([]int, n+1)
		for i := range cuts {
			cuts[i] = i
		}
		return cuts
	}
	for _, m := range mediaFiles {
		h := head(readMedia(t, m.file))
		// Every length to 600 bytes, then every 97th, and the whole head.
		cuts := every(min(len(h), 600))
		for n := 601; n < len(h); n += 97 {
			cuts = append(cuts, n)
		}
		samples = append(samples, jsSample{what: m.file, Head: h, Cuts: append(cuts, len(h))})
	}
	for _, c := range syntheticCases() {
		samples = append(samples, jsSample{what: c.description, Head: c.head, Cuts: every(len(c.head))})
	}
	// Mutations: a few bytes of a known header changed, so that the ports'
	// branches on sizes, brands and flags are taken both ways.
	r := rand.New(rand.NewSource(13))
	bases := len(samples)
	for i := 0; i < 3000; i++ {
		base := samples[r.Intn(bases)].Head
		if len(base) == 0 {
			continue
		}
		h := append([]byte(nil), base[:min(len(base), 1024)]...)
		for range 1 + r.Intn(3) {
			h[r.Intn(min(len(h), 64))] = byte(r.Intn(256))
		}
		samples = append(samples, jsSample{what: fmt.Sprintf("mutation %d", i), Head: h, Cuts: []int{len(h)}})
	}

	var got [][]string
	jstest.Eval(t, detectJS, samples, &got)
	if len(got) != len(samples) {
		t.Fatalf("node answered %d samples, want %d", len(got), len(samples))
	}
	checked, failed := 0, 0
	for i, s := range samples {
		for j, n := range s.Cuts {
			want := ""
			if f, ok := sniff.Detect(s.Head[:n]); ok {
				want = fmt.Sprintf("%s/%s/%t", f.Name, f.Label, f.Video)
			}
			checked++
			if got[i][j] != want {
				if failed++; failed <= 20 {
					t.Errorf("%s[:%d] (% x...): the uploader detects %q, the server %q", s.what, n, s.Head[:min(n, 32)], got[i][j], want)
				}
			}
		}
	}
	if failed > 20 {
		t.Errorf("... and %d more disagreements", failed-20)
	}
	t.Logf("%d samples agree", checked-failed)
}
