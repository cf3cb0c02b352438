package api

// Serving a stored source file, and naming it safely for a download.

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uplink-video/uplink/web/sniff"
)

// Source is a stored file to serve: a video's source as uploaded.
type Source struct {
	File     io.ReadSeeker
	Filename string // As uploaded; cleaned for the header.
	ModTime  time.Time
	// Inline asks for the file to be shown in the page (the dashboard's
	// player) rather than saved. Only audio and video are ever inline.
	Inline bool
}

// ServeSource serves a stored file, with Range support, for the API's
// download and the dashboard's player alike. Its type comes from its
// first bytes when package sniff knows them, and otherwise from an audio
// or video extension; anything else is an opaque attachment, so that an
// uploaded "page.html" or "logo.svg" is never served as something a
// browser runs. The browser is told not to guess another type, the bytes
// run nothing even if it shows them, and the name is sanitised for the
// header (ContentDisposition).
func ServeSource(w http.ResponseWriter, r *http.Request, src Source) error {
	head := make([]byte, sniff.HeaderSize)
	n, err := io.ReadFull(src.File, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return err
	}
	if _, err := src.File.Seek(0, io.SeekStart); err != nil {
		return err
	}
	ctype, media := sourceType(head[:n], src.Filename)
	disposition := "attachment"
	if media && src.Inline {
		disposition = "inline"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", ContentDisposition(disposition, src.Filename))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox; frame-ancestors 'none'")
	http.ServeContent(w, r, "", src.ModTime, src.File)
	return nil
}

// playableTypes are the Content-Types of the formats package sniff knows
// that a browser may play.
var playableTypes = map[string]string{
	"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm", "mkv": "video/x-matroska",
	"avi": "video/x-msvideo", "mpegts": "video/mp2t", "mpegps": "video/mpeg", "3gp": "video/3gpp",
	"flv": "video/x-flv", "wmv": "video/x-ms-wmv", "ogg": "video/ogg",
	"mp3": "audio/mpeg", "m4a": "audio/mp4", "wav": "audio/wav", "aac": "audio/aac",
	"flac": "audio/flac", "oga": "audio/ogg", "wma": "audio/x-ms-wma",
}

// sourceType returns the Content-Type of a file from its first bytes, and
// whether it is audio or video. When the content says nothing, an audio
// or video extension decides; anything else is opaque.
func sourceType(head []byte, filename string) (string, bool) {
	if f, ok := sniff.Detect(head); ok {
		if t, ok := playableTypes[f.Name]; ok {
			return t, true
		}
		return "application/octet-stream", false
	}
	t, _, _ := mime.ParseMediaType(mime.TypeByExtension(strings.ToLower(path.Ext(SafeFilename(filename)))))
	if strings.HasPrefix(t, "video/") || strings.HasPrefix(t, "audio/") {
		return t, true
	}
	return "application/octet-stream", false
}

// maxFilenameBytes caps a download's file name, under the 255 bytes most
// file systems allow, keeping the header short.
const maxFilenameBytes = 200

// SafeFilename reduces a stored file name to one safe to offer for saving:
// its base name (either slash), without control, formatting (bidi
// overrides such as U+202E, zero-width characters) or line-separator
// characters, with characters that Windows forbids replaced by "_", no
// leading or trailing dots or spaces, and at most 200 bytes, keeping the
// extension. An empty result becomes "video".
func SafeFilename(name string) string {
	name = strings.ToValidUTF8(name, "")
	name = strings.Map(func(r rune) rune {
		switch {
		case r == '\\':
			return '/'
		case unicode.IsControl(r), unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp):
			return -1
		case strings.ContainsRune(`<>:"|?*`, r):
			return '_'
		}
		return r
	}, name)
	name = strings.Trim(path.Base(name), " .")
	if name == "/" {
		name = ""
	}
	if len(name) > maxFilenameBytes {
		ext := path.Ext(name)
		if len(ext) > 16 {
			ext = ""
		}
		stem := name[:maxFilenameBytes-len(ext)]
		for !utf8.ValidString(stem) {
			stem = stem[:len(stem)-1]
		}
		name = strings.TrimRight(stem, " .") + ext
	}
	if name == "" {
		return "video"
	}
	return name
}

// ContentDisposition returns a Content-Disposition header of the given
// kind ("attachment" or "inline") for a file name, sanitised with
// SafeFilename. A name that is not plain ASCII gets an ASCII fallback in
// filename and the real name in filename* (RFC 6266, RFC 5987), which
// every current browser prefers.
func ContentDisposition(kind, filename string) string {
	name := SafeFilename(filename)
	ascii := strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return '_'
		}
		return r
	}, name)
	d := mime.FormatMediaType(kind, map[string]string{"filename": ascii})
	if d == "" {
		return kind
	}
	if ascii != name {
		d += "; filename*=UTF-8''" + rfc5987(name)
	}
	return d
}

// rfc5987 percent-encodes s as an RFC 5987 ext-value's value: every byte
// but attr-char.
func rfc5987(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
