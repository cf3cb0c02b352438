package sniff_test

import (
	"bytes"
	"testing"

	"github.com/uplink-video/uplink/web/sniff"
)

// FuzzDetect checks that Detect never panics, answers the same for the same
// bytes, leaves its input alone, ignores bytes past HeaderSize, and only
// returns formats Lookup knows. The seeds are the real files in testdata
// and the synthetic headers. A crasher that fuzzing finds belongs in
// testdata/fuzz/FuzzDetect, where go test runs it as a seed from then on.
//
// Run it with: go test -fuzz=FuzzDetect ./web/sniff/
func FuzzDetect(f *testing.F) {
	for _, m := range mediaFiles {
		// Detect reads HeaderSize bytes, so twice that keeps what matters
		// of each file, and some bytes past the cut, without making the
		// fuzzer mutate and copy hundreds of kilobytes per run.
		data := readMedia(f, m.file)
		f.Add(data[:min(len(data), 2*sniff.HeaderSize)])
	}
	for _, c := range syntheticCases() {
		f.Add(c.head)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		input := bytes.Clone(data)
		got, ok := sniff.Detect(input)
		if !bytes.Equal(input, data) {
			t.Fatalf("Detect modified its input")
		}
		if again, againOK := sniff.Detect(bytes.Clone(data)); again != got || againOK != ok {
			t.Fatalf("second call=%v (ok=%v), first=%v (ok=%v)", again, againOK, got, ok)
		}
		if cut, cutOK := sniff.Detect(data[:min(len(data), sniff.HeaderSize)]); cut != got || cutOK != ok {
			t.Fatalf("first HeaderSize bytes=%v (ok=%v), whole input=%v (ok=%v)", cut, cutOK, got, ok)
		}
		if !ok {
			if got != (sniff.Format{}) {
				t.Fatalf("format=%v with ok=false, want the zero Format", got)
			}
			return
		}
		if want, found := sniff.Lookup(got.Name); want != got || !found {
			t.Fatalf("Detect=%v, Lookup(%q)=%v (ok=%v)", got, got.Name, want, found)
		}
	})
}

// BenchmarkDetect measures Detect on the head of each real file, as an
// upload handler calls it once per upload.
func BenchmarkDetect(b *testing.B) {
	for _, m := range mediaFiles {
		data := head(readMedia(b, m.file))
		b.Run(m.file, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				sniff.Detect(data)
			}
		})
	}
}
