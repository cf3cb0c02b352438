package web

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	_ "image/jpeg" // image.DecodeConfig reads JPEG logos.
	_ "image/png"  // image.DecodeConfig reads PNG logos.
	"math"
	"strconv"
	"strings"
)

// The install's branding: an accent colour and a logo on the pages
// recipients see. This file checks what an admin sends; the handlers are
// in admin_branding.go.

// maxLogoBytes is the largest logo accepted, as the store allows.
const maxLogoBytes = 512 << 10

// maxLogoSide is the largest width or height of a logo, in pixels: a
// logo is shown at most a few hundred pixels wide, and a huge image only
// costs the recipients' bandwidth.
const maxLogoSide = 4096

// logoInfo is what checkLogo learned of an image.
type logoInfo struct {
	Type          string // image/png, image/jpeg or image/webp.
	Width, Height int
}

// checkLogo accepts PNG, JPEG and WebP images, recognised by their first
// bytes, never by a file name or a browser's claim, with a size read from
// their header. SVG is refused: it is a document that can carry scripts
// and links, and making it safe needs a sanitiser uplink does not have.
// It returns a message for the admin when it refuses.
func checkLogo(data []byte) (logoInfo, string) {
	if len(data) > maxLogoBytes {
		return logoInfo{}, fmt.Sprintf("The logo is too large: at most %d KiB. Export it smaller, or as JPEG or WebP.", maxLogoBytes>>10)
	}
	var info logoInfo
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		info.Type = "image/png"
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		info.Type = "image/jpeg"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		info.Type = "image/webp"
	case looksLikeSVG(data):
		return logoInfo{}, "SVG logos are not accepted, as an SVG file can carry scripts: export the logo as PNG, JPEG or WebP."
	default:
		return logoInfo{}, "This is not a PNG, JPEG or WebP image."
	}
	var ok bool
	if info.Type == "image/webp" {
		info.Width, info.Height, ok = webpSize(data)
	} else {
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		info.Width, info.Height, ok = cfg.Width, cfg.Height, err == nil
	}
	switch {
	case !ok || info.Width < 1 || info.Height < 1:
		return logoInfo{}, "The image could not be read: it may be damaged. Export it again."
	case info.Width > maxLogoSide || info.Height > maxLogoSide:
		return logoInfo{}, fmt.Sprintf("The logo is %d×%d pixels: at most %d on a side.", info.Width, info.Height, maxLogoSide)
	}
	return info, ""
}

func looksLikeSVG(data []byte) bool {
	head := strings.ToLower(string(data[:min(len(data), 1024)]))
	return strings.Contains(head, "<svg")
}

// webpSize reads a WebP image's size from its first chunk: lossy (VP8),
// lossless (VP8L) or extended (VP8X). See
// https://developers.google.com/speed/webp/docs/riff_container.
func webpSize(b []byte) (w, h int, ok bool) {
	if len(b) < 30 {
		return 0, 0, false
	}
	switch string(b[12:16]) {
	case "VP8 ":
		// A key frame's start code, then 14-bit width and height.
		if b[23] != 0x9d || b[24] != 0x01 || b[25] != 0x2a {
			return 0, 0, false
		}
		return int(binary.LittleEndian.Uint16(b[26:]) & 0x3fff), int(binary.LittleEndian.Uint16(b[28:]) & 0x3fff), true
	case "VP8L":
		if b[20] != 0x2f {
			return 0, 0, false
		}
		bits := binary.LittleEndian.Uint32(b[21:])
		return int(bits&0x3fff) + 1, int(bits>>14&0x3fff) + 1, true
	case "VP8X":
		u24 := func(p []byte) int { return int(p[0]) | int(p[1])<<8 | int(p[2])<<16 }
		return u24(b[24:]) + 1, u24(b[27:]) + 1, true
	}
	return 0, 0, false
}

// parseAccent reads a colour such as "#0A7CFF" (the value of an
// <input type=color>) and returns it in lower case, or a message. The
// colour is the background of the upload button, under white text, so it
// must be dark enough to read white on: a contrast of at least 4.5:1, as
// WCAG asks of text.
func parseAccent(s string) (string, string) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) != 7 || s[0] != '#' {
		return "", "Give the colour as # and six hexadecimal digits, such as #0a7cff."
	}
	if _, err := strconv.ParseUint(s[1:], 16, 32); err != nil {
		return "", "Give the colour as # and six hexadecimal digits, such as #0a7cff."
	}
	if r := contrast(s, "#ffffff"); r < 4.5 {
		return "", fmt.Sprintf("This colour is too light to read white text on (contrast %.1f:1, at least 4.5:1 is needed): choose a darker shade.", r)
	}
	return s, ""
}

// darkAccent is the accent for pages in dark mode: the colour mixed with
// white until text of it reads on the dark background (4.5:1), as
// uplink's own accent is lighter in dark mode.
func darkAccent(accent string) string {
	const darkBG = "#15181c"
	c := accent
	for i := 1; i <= 10 && contrast(c, darkBG) < 4.5; i++ {
		c = mix(accent, "#ffffff", float64(i)/10)
	}
	return c
}

func rgb(c string) (r, g, b float64) {
	v, _ := strconv.ParseUint(c[1:], 16, 32)
	return float64(v >> 16 & 0xff), float64(v >> 8 & 0xff), float64(v & 0xff)
}

func mix(a, b string, t float64) string {
	ar, ag, ab := rgb(a)
	br, bg, bb := rgb(b)
	f := func(x, y float64) int { return int(math.Round(x + (y-x)*t)) }
	return fmt.Sprintf("#%02x%02x%02x", f(ar, br), f(ag, bg), f(ab, bb))
}

// contrast is the WCAG 2 contrast ratio of two colours.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(c string) float64 {
	r, g, b := rgb(c)
	lin := func(v float64) float64 {
		v /= 255
		if v <= 0.03928 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}
