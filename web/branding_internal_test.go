package web

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

func TestCheckLogo(t *testing.T) {
	t.Parallel()
	img := image.NewRGBA(image.Rect(0, 0, 40, 20))
	img.Set(1, 1, color.RGBA{200, 0, 0, 255})
	var pngData, jpegData bytes.Buffer
	if err := png.Encode(&pngData, img); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&jpegData, img, nil); err != nil {
		t.Fatal(err)
	}
	// The extended WebP header alone (VP8X), 300×150.
	webp := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x10\x00\x00\x00" + "\x2b\x01\x00" + "\x95\x00\x00")
	// A lossless one (VP8L), 5×7: 14 bits of width-1, 14 of height-1.
	bits := uint32(4) | uint32(6)<<14
	vp8l := append([]byte("RIFF\x00\x00\x00\x00WEBPVP8L\x05\x00\x00\x00\x2f"), byte(bits), byte(bits>>8), byte(bits>>16), byte(bits>>24), 0, 0, 0, 0, 0)
	huge := image.NewGray(image.Rect(0, 0, maxLogoSide+1, 1))
	var hugeData bytes.Buffer
	_ = png.Encode(&hugeData, huge)

	for _, tc := range []struct {
		description string
		data        []byte
		want        logoInfo
		wantMsg     string
	}{
		{description: "PNG", data: pngData.Bytes(), want: logoInfo{"image/png", 40, 20}},
		{description: "JPEG", data: jpegData.Bytes(), want: logoInfo{"image/jpeg", 40, 20}},
		{description: "WebP, extended", data: webp, want: logoInfo{"image/webp", 300, 150}},
		{description: "WebP, lossless", data: vp8l, want: logoInfo{"image/webp", 5, 7}},
		{description: "SVG", data: []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), wantMsg: "SVG logos are not accepted"},
		{description: "text", data: []byte("hello"), wantMsg: "not a PNG, JPEG or WebP"},
		{description: "a PNG cut short", data: pngData.Bytes()[:12], wantMsg: "could not be read"},
		{description: "too wide", data: hugeData.Bytes(), wantMsg: "at most 4096 on a side"},
		{description: "too large", data: append(append([]byte{}, pngData.Bytes()...), make([]byte, maxLogoBytes)...), wantMsg: "too large"},
	} {
		got, msg := checkLogo(tc.data)
		if tc.wantMsg != "" {
			if !strings.Contains(msg, tc.wantMsg) {
				t.Errorf("%s: message %q, want %q", tc.description, msg, tc.wantMsg)
			}
			continue
		}
		if msg != "" || got != tc.want {
			t.Errorf("%s: %+v %q, want %+v", tc.description, got, msg, tc.want)
		}
	}
}

func TestParseAccent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want, wantMsg string }{
		{"#8A1C7C", "#8a1c7c", ""},
		{" #0b57d0 ", "#0b57d0", ""},
		{"red", "", "six hexadecimal digits"},
		{"#12345", "", "six hexadecimal digits"},
		{"#12345g", "", "six hexadecimal digits"},
		{"#ffff00", "", "too light"},
	} {
		got, msg := parseAccent(tc.in)
		if got != tc.want || !strings.Contains(msg, tc.wantMsg) || (tc.wantMsg == "") != (msg == "") {
			t.Errorf("parseAccent(%q) = %q, %q; want %q, %q", tc.in, got, msg, tc.want, tc.wantMsg)
		}
	}
	// The dark-mode accent reads on the dark background.
	for _, c := range []string{"#8a1c7c", "#000000", "#0b57d0"} {
		if d := darkAccent(c); contrast(d, "#15181c") < 4.5 {
			t.Errorf("darkAccent(%s) = %s, contrast %.2f on the dark background", c, d, contrast(d, "#15181c"))
		}
	}
}
