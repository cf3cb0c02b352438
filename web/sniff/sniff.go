// Package sniff identifies a file's container format from its first bytes.
//
// Upload links can restrict the file types they accept, and that check must
// look at the content, never at the file name or the client's claimed MIME
// type: both are chosen by the uploader and say nothing about the bytes.
// Detect reads the magic numbers and the first few structures of the header
// instead.
//
// Sniffing catches honest mistakes, such as a photo, a PDF or a renamed text
// file sent to a video-only link. It does not stop a forger, who can put a
// valid video header in front of anything; later stages that decode the
// media must still treat it as untrusted.
//
// The package has no dependencies outside the standard library and never
// panics, whatever bytes it is given.
package sniff

import (
	"bytes"
	"unicode/utf8"
)

// Format is a recognised container format.
type Format struct {
	// Name is a short, stable ID such as "mp4" or "webm". Upload link
	// settings store it, so a Name never changes once released.
	Name string
	// Label is a human label for messages, such as "QuickTime MOV".
	Label string
	// Video is true for video containers. It says what the container is
	// for, not what a given file holds: see the Video notes on Detect.
	Video bool
}

// HeaderSize is how many leading bytes Detect wants. It is large enough for
// 21 MPEG-TS packets, so that the sync byte repeats often enough to be
// believed, and for the EBML, ASF and Ogg headers that name the codecs.
const HeaderSize = 4096

// The formats Detect can report. videoFormats is in the order that
// VideoFormats promises; new formats are only ever appended.
var (
	formatMP4    = Format{Name: "mp4", Label: "MP4", Video: true}
	formatMOV    = Format{Name: "mov", Label: "QuickTime MOV", Video: true}
	formatWebM   = Format{Name: "webm", Label: "WebM", Video: true}
	formatMKV    = Format{Name: "mkv", Label: "Matroska (MKV)", Video: true}
	formatAVI    = Format{Name: "avi", Label: "AVI", Video: true}
	formatMPEGTS = Format{Name: "mpegts", Label: "MPEG-TS", Video: true}
	formatMPEGPS = Format{Name: "mpegps", Label: "MPEG-PS", Video: true}
	format3GP    = Format{Name: "3gp", Label: "3GPP", Video: true}
	formatFLV    = Format{Name: "flv", Label: "Flash Video (FLV)", Video: true}
	formatWMV    = Format{Name: "wmv", Label: "Windows Media Video (WMV)", Video: true}
	formatOgg    = Format{Name: "ogg", Label: "Ogg video", Video: true}

	formatMP3  = Format{Name: "mp3", Label: "MP3 audio"}
	formatM4A  = Format{Name: "m4a", Label: "MPEG-4 audio (M4A)"}
	formatWAV  = Format{Name: "wav", Label: "WAV audio"}
	formatAAC  = Format{Name: "aac", Label: "AAC audio"}
	formatFLAC = Format{Name: "flac", Label: "FLAC audio"}
	formatOGA  = Format{Name: "oga", Label: "Ogg audio"}
	formatWMA  = Format{Name: "wma", Label: "Windows Media Audio (WMA)"}
	formatPNG  = Format{Name: "png", Label: "PNG image"}
	formatJPEG = Format{Name: "jpeg", Label: "JPEG image"}
	formatGIF  = Format{Name: "gif", Label: "GIF image"}
	formatWebP = Format{Name: "webp", Label: "WebP image"}
	formatHEIF = Format{Name: "heif", Label: "HEIF image"}
	formatAVIF = Format{Name: "avif", Label: "AVIF image"}
	formatPDF  = Format{Name: "pdf", Label: "PDF document"}
	formatZIP  = Format{Name: "zip", Label: "ZIP archive"}
	formatText = Format{Name: "text", Label: "plain text"}

	videoFormats = []Format{
		formatMP4, formatMOV, formatWebM, formatMKV, formatAVI, formatMPEGTS,
		formatMPEGPS, format3GP, formatFLV, formatWMV, formatOgg,
	}
	otherFormats = []Format{
		formatMP3, formatM4A, formatWAV, formatAAC, formatFLAC, formatOGA,
		formatWMA, formatPNG, formatJPEG, formatGIF, formatWebP, formatHEIF,
		formatAVIF, formatPDF, formatZIP, formatText,
	}
)

// Detect identifies the format from the first bytes of a file: up to
// HeaderSize of them, or fewer if the file is shorter. Bytes past HeaderSize
// are ignored, so the answer does not depend on how much the caller read
// beyond that. ok is false, and f is the zero Format, when the format is
// unknown, including when head is too short to tell. Detect does not
// modify or retain head.
//
// Video reflects the container, since telling an audio-only file apart
// would mean parsing track tables that may sit at the end of the file.
// Detect reports audio for the cases the header settles: M4A brands, WAV,
// Ogg without a video stream, and ASF whose complete header lists no video
// stream. An MP4 or Matroska file with only an audio track still reports
// Video.
func Detect(head []byte) (f Format, ok bool) {
	if len(head) > HeaderSize {
		head = head[:HeaderSize]
	}
	// Formats with a long or structured signature go first. MPEG-TS and
	// MPEG audio frame sync rest on a byte or two, so they come after
	// everything that could otherwise be mistaken for them, and text comes
	// last because it is whatever is left that reads as UTF-8.
	for _, detect := range []func([]byte) (Format, bool){
		detectISOBMFF,
		detectQuickTime,
		detectEBML,
		detectRIFF,
		detectASF,
		detectFLV,
		detectMPEGPS,
		detectOgg,
		detectMagic,
		detectMPEGTS,
		detectAudio,
		detectText,
	} {
		if f, ok := detect(head); ok {
			return f, true
		}
	}
	return Format{}, false
}

// VideoFormats returns the video formats in a stable order, for listing them
// in UI text and for validating link settings. New formats are appended, so
// the order of the existing ones never changes. The caller owns the returned
// slice.
func VideoFormats() []Format {
	return append([]Format(nil), videoFormats...)
}

// Lookup returns the format with the given Name, video or not. Names are
// case-sensitive, as Detect reports them.
func Lookup(name string) (Format, bool) {
	for _, list := range [][]Format{videoFormats, otherFormats} {
		for _, f := range list {
			if f.Name == name {
				return f, true
			}
		}
	}
	return Format{}, false
}

// magics are fixed signatures at offset 0 that settle the format on their
// own.
var magics = []struct {
	prefix string
	format Format
}{
	{"\x89PNG\r\n\x1a\n", formatPNG},
	{"\xff\xd8\xff", formatJPEG},
	{"GIF87a", formatGIF},
	{"GIF89a", formatGIF},
	{"%PDF-", formatPDF},
	// Local file header, empty archive, and spanned archive. Office
	// documents and JARs are ZIP files too and are reported as such.
	{"PK\x03\x04", formatZIP},
	{"PK\x05\x06", formatZIP},
	{"PK\x07\x08", formatZIP},
	{"fLaC", formatFLAC},
}

func detectMagic(b []byte) (Format, bool) {
	for _, m := range magics {
		if bytes.HasPrefix(b, []byte(m.prefix)) {
			return m.format, true
		}
	}
	return Format{}, false
}

// detectText reports text for a non-empty sample that is valid UTF-8 and
// holds no binary control bytes. ASCII is UTF-8, so this covers it.
func detectText(b []byte) (Format, bool) {
	if len(b) > 0 && isText(b) {
		return formatText, true
	}
	return Format{}, false
}

// isText reports whether b reads as UTF-8 text. Binary control bytes are
// those of the WHATWG MIME Sniffing Standard: C0 controls other than tab,
// line feed, form feed, carriage return and escape
// (https://mimesniff.spec.whatwg.org/#binary-data-byte). A multi-byte
// character cut off at the end of b is allowed, since b is usually a prefix
// of the file.
func isText(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c <= 0x08 || c == 0x0b || (c >= 0x0e && c <= 0x1a) || (c >= 0x1c && c <= 0x1f) {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			// FullRune is false only for a sequence that is valid so
			// far and ends early, which here is the cut the caller made
			// at the end of the sample, not bad UTF-8.
			return !utf8.FullRune(b[i:])
		}
		i += size
	}
	return true
}

// be32, be64 and le64 read integers and return 0 when b is too short, so
// that callers check lengths once rather than at every read.
func be32(b []byte, off int) uint32 {
	if off < 0 || off+4 > len(b) {
		return 0
	}
	return uint32(b[off])<<24 | uint32(b[off+1])<<16 | uint32(b[off+2])<<8 | uint32(b[off+3])
}

func be64(b []byte, off int) uint64 {
	return uint64(be32(b, off))<<32 | uint64(be32(b, off+4))
}

func le64(b []byte, off int) uint64 {
	if off < 0 || off+8 > len(b) {
		return 0
	}
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[off+i])
	}
	return v
}

// at reports whether b holds s at off.
func at(b []byte, off int, s string) bool {
	return off >= 0 && off+len(s) <= len(b) && string(b[off:off+len(s)]) == s
}
