package sniff_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/uplink-video/uplink/web/sniff"
)

// mediaFiles are the real files in testdata, copied from the shared test
// media (see testdata/README.md), with what Detect must make of them.
var mediaFiles = []struct {
	file      string
	wantName  string
	wantVideo bool
}{
	{"h264-aac-faststart.mp4", "mp4", true},
	{"h264-aac-moov-at-end.mp4", "mp4", true},
	{"h264-aac.mov", "mov", true},
	{"h264-aac.mkv", "mkv", true},
	{"vp9-opus.webm", "webm", true},
	{"mpeg4-mp3.avi", "avi", true},
	{"h264-aac.ts", "mpegts", true},
	{"image.png", "png", false},
	{"audio-only.mp3", "mp3", false},
	{"archive.zip", "zip", false},
	{"text-named.mp4", "text", false},
	{"README.md", "text", false},
}

func readMedia(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// head returns what an upload handler passes to Detect: the first
// HeaderSize bytes, or the whole file if it is shorter.
func head(b []byte) []byte {
	return b[:min(len(b), sniff.HeaderSize)]
}

func TestDetectMediaFiles(t *testing.T) {
	for _, tt := range mediaFiles {
		t.Run(tt.file, func(t *testing.T) {
			data := readMedia(t, tt.file)
			f, ok := sniff.Detect(head(data))
			if got, want := ok, true; got != want {
				t.Fatalf("ok=%v, want=%v", got, want)
			}
			if got, want := f.Name, tt.wantName; got != want {
				t.Errorf("name=%q, want=%q", got, want)
			}
			if got, want := f.Video, tt.wantVideo; got != want {
				t.Errorf("video=%v, want=%v", got, want)
			}
			if f.Label == "" {
				t.Errorf("label is empty for %q", f.Name)
			}

			// Bytes past HeaderSize are ignored, so the whole file
			// gives the same answer as its head.
			whole, wholeOK := sniff.Detect(data)
			if got, want := whole, f; got != want || !wholeOK {
				t.Errorf("whole file=%v (ok=%v), want=%v", got, wholeOK, want)
			}
		})
	}
}

// TestDetectPrefixes feeds every short prefix of each real file, as a
// truncated upload would. Detect must not panic, and a prefix may be
// unknown or read as text (the first bytes of "ID3" or "PK" are letters),
// but must never be taken for a format the file is not.
func TestDetectPrefixes(t *testing.T) {
	for _, tt := range mediaFiles {
		data := readMedia(t, tt.file)
		for n := 0; n <= 64 && n <= len(data); n++ {
			f, ok := sniff.Detect(data[:n])
			if !ok {
				if got, want := f, (sniff.Format{}); got != want {
					t.Errorf("%s[:%d]: format=%v with ok=false, want the zero Format", tt.file, n, got)
				}
				continue
			}
			if f.Name != tt.wantName && f.Name != "text" {
				t.Errorf("%s[:%d]: name=%q, want %q, text or unknown", tt.file, n, f.Name, tt.wantName)
			}
			if f.Video && !tt.wantVideo {
				t.Errorf("%s[:%d]: %q is video, but the file is not", tt.file, n, f.Name)
			}
		}
	}
}

func TestDetectIgnoresBytesPastHeaderSize(t *testing.T) {
	text := bytes.Repeat([]byte("plain text "), sniff.HeaderSize)[:sniff.HeaderSize]
	for _, tt := range []struct {
		description string
		input       []byte
		wantName    string
	}{
		{
			description: "text that turns binary after HeaderSize is text",
			input:       append(bytes.Clone(text), 0, 0, 0, 0),
			wantName:    "text",
		},
		{
			description: "a UTF-8 character cut at HeaderSize is still text",
			input:       append(append(bytes.Clone(text[:sniff.HeaderSize-1]), "é"...), "tail"...),
			wantName:    "text",
		},
	} {
		t.Run(tt.description, func(t *testing.T) {
			f, ok := sniff.Detect(tt.input)
			if got, want := f.Name, tt.wantName; got != want || !ok {
				t.Errorf("name=%q (ok=%v), want=%q", got, ok, want)
			}
		})
	}
}

func TestDetectDoesNotModifyInput(t *testing.T) {
	for _, tt := range mediaFiles {
		data := head(readMedia(t, tt.file))
		before := bytes.Clone(data)
		sniff.Detect(data)
		if !bytes.Equal(data, before) {
			t.Errorf("%s: Detect modified its input", tt.file)
		}
	}
}

func TestVideoFormats(t *testing.T) {
	formats := sniff.VideoFormats()
	var names []string
	for _, f := range formats {
		names = append(names, f.Name)
		if !f.Video {
			t.Errorf("%q is listed as a video format but Video=false", f.Name)
		}
		if f.Label == "" {
			t.Errorf("%q has no label", f.Name)
		}
		if got, ok := sniff.Lookup(f.Name); got != f || !ok {
			t.Errorf("Lookup(%q)=%v (ok=%v), want=%v", f.Name, got, ok, f)
		}
	}
	// The order is part of the contract: UI text lists formats in it.
	want := []string{"mp4", "mov", "webm", "mkv", "avi", "mpegts", "mpegps", "3gp", "flv", "wmv", "ogg"}
	if got := names; !slices.Equal(got, want) {
		t.Errorf("names=%v, want=%v", got, want)
	}

	// The caller owns the slice, so changing it must not leak into the
	// next call.
	formats[0] = sniff.Format{Name: "changed"}
	if got, want := sniff.VideoFormats()[0].Name, "mp4"; got != want {
		t.Errorf("after changing a returned slice, first name=%q, want=%q", got, want)
	}
}

func TestLookup(t *testing.T) {
	for _, tt := range []struct {
		description string
		name        string
		wantOK      bool
		wantVideo   bool
	}{
		{description: "video format", name: "webm", wantOK: true, wantVideo: true},
		{description: "audio format", name: "m4a", wantOK: true, wantVideo: false},
		{description: "image format", name: "png", wantOK: true, wantVideo: false},
		{description: "text", name: "text", wantOK: true, wantVideo: false},
		{description: "unknown name", name: "mp5", wantOK: false},
		{description: "names are case-sensitive", name: "MP4", wantOK: false},
		{description: "empty name", name: "", wantOK: false},
		// Link settings use "video" and "any" as keywords next to
		// format names (store.Link.AllowedTypes), so no format may take
		// them.
		{description: "keyword video is not a format", name: "video", wantOK: false},
		{description: "keyword any is not a format", name: "any", wantOK: false},
	} {
		t.Run(tt.description, func(t *testing.T) {
			f, ok := sniff.Lookup(tt.name)
			if got, want := ok, tt.wantOK; got != want {
				t.Fatalf("ok=%v, want=%v", got, want)
			}
			if !ok {
				if got, want := f, (sniff.Format{}); got != want {
					t.Errorf("format=%v, want the zero Format", got)
				}
				return
			}
			if got, want := f.Name, tt.name; got != want {
				t.Errorf("name=%q, want=%q", got, want)
			}
			if got, want := f.Video, tt.wantVideo; got != want {
				t.Errorf("video=%v, want=%v", got, want)
			}
		})
	}
}

// TestDetectedFormatsAreLookedUp checks that every Name Detect can return
// is one Lookup knows, with the same Label and Video, so that a name
// stored in link settings means the same thing to both.
func TestDetectedFormatsAreLookedUp(t *testing.T) {
	for _, tt := range syntheticCases() {
		f, ok := sniff.Detect(tt.head)
		if !ok {
			continue
		}
		if got, found := sniff.Lookup(f.Name); got != f || !found {
			t.Errorf("%s: Lookup(%q)=%v (ok=%v), want=%v", tt.description, f.Name, got, found, f)
		}
		if strings.TrimSpace(f.Label) == "" {
			t.Errorf("%s: %q has no label", tt.description, f.Name)
		}
	}
}
