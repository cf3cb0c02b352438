package sniff_test

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/uplink-video/uplink/web/sniff"
)

// The builders below write just enough of each format's header for Detect,
// following the cited specifications, so that the cases can cover brands
// and variants the real files in testdata do not.

// binaryFiller stands in for compressed media after a header: bytes that
// are neither text nor any signature.
var binaryFiller = bytes.Repeat([]byte{0x00, 0x9c, 0xff, 0x13}, 64)

// box returns an ISO BMFF box (ISO/IEC 14496-12, section 4.2).
func box(typ string, payload ...[]byte) []byte {
	body := bytes.Join(payload, nil)
	b := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
	return append(append(b, typ...), body...)
}

// ftyp returns an ftyp box followed by an mdat box, as an MP4 file starts.
func ftyp(major string, compat ...string) []byte {
	body := []byte(major)
	body = binary.BigEndian.AppendUint32(body, 0x200)
	for _, c := range compat {
		body = append(body, c...)
	}
	return append(box("ftyp", body), box("mdat", binaryFiller)...)
}

// ebmlHeader returns an EBML header with the given DocType (RFC 8794),
// followed by the start of a Matroska Segment. Every element here is
// shorter than 127 bytes, so each size fits in a one-byte vint. An empty
// docType leaves the DocType element out.
func ebmlHeader(docType string) []byte {
	body := []byte{0x42, 0x86, 0x81, 0x01} // EBMLVersion 1.
	body = append(body, 0x42, 0xf7, 0x81, 0x01)
	if docType != "" {
		body = append(body, 0x42, 0x82, byte(0x80|len(docType)))
		body = append(body, docType...)
	}
	body = append(body, 0x42, 0x87, 0x81, 0x04)
	b := append([]byte{0x1a, 0x45, 0xdf, 0xa3, byte(0x80 | len(body))}, body...)
	// The Segment ID, with an unknown size.
	return append(b, 0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
}

// riff returns a RIFF file of the given form with one chunk.
func riff(magic, form, chunk string, payload []byte) []byte {
	b := append([]byte(magic), 0, 0, 0, 0)
	b = append(b, form...)
	b = append(b, chunk...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, payload...)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

// ASF GUIDs in their on-disk byte order (ASF specification).
const (
	asfHeaderObject      = "\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c"
	asfStreamProperties  = "\x91\x07\xdc\xb7\xb7\xa9\xcf\x11\x8e\xe6\x00\xc0\x0c\x20\x53\x65"
	asfVideoMedia        = "\xc0\xef\x19\xbc\x4d\x5b\xcf\x11\xa8\xfd\x00\x80\x5f\x5c\x44\x2b"
	asfAudioMedia        = "\x40\x9e\x69\xf8\x4d\x5b\xcf\x11\xa8\xfd\x00\x80\x5f\x5c\x44\x2b"
	asfNoErrorCorrection = "\x00\x57\xfb\x20\x55\x5b\xcf\x11\xa8\xfd\x00\x80\x5f\x5c\x44\x2b"
)

// asf returns an ASF header object holding one stream properties object per
// stream type, followed by the start of the data object. If sizeSlack is
// not zero, the header object claims that many bytes more than it has, as
// a header cut off by the sample would.
func asf(sizeSlack int, streamTypes ...string) []byte {
	var objects []byte
	for _, typ := range streamTypes {
		obj := []byte(asfStreamProperties)
		obj = binary.LittleEndian.AppendUint64(obj, 24+16+16+8+4+4+2+4)
		obj = append(obj, typ...)
		obj = append(obj, asfNoErrorCorrection...)
		obj = append(obj, make([]byte, 8+4+4+2+4)...)
		objects = append(objects, obj...)
	}
	b := []byte(asfHeaderObject)
	b = binary.LittleEndian.AppendUint64(b, uint64(30+len(objects)+sizeSlack))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(streamTypes)))
	b = append(b, 0x01, 0x02)
	b = append(b, objects...)
	return append(b, binaryFiller...)
}

// oggPage returns an Ogg page holding one whole packet (RFC 3533, section
// 6). The CRC is left zero: Detect does not check it.
func oggPage(headerType byte, serial uint32, packet []byte) []byte {
	b := []byte("OggS\x00")
	b = append(b, headerType)
	b = append(b, make([]byte, 8)...) // Granule position.
	b = binary.LittleEndian.AppendUint32(b, serial)
	b = append(b, make([]byte, 8)...) // Sequence number and CRC.
	var lacing []byte
	n := len(packet)
	for ; n >= 255; n -= 255 {
		lacing = append(lacing, 255)
	}
	lacing = append(lacing, byte(n))
	b = append(b, byte(len(lacing)))
	b = append(b, lacing...)
	return append(b, packet...)
}

const oggBOS = 0x02

// Identification packets of codecs carried in Ogg, cut to the fields
// Detect reads plus some padding.
var (
	theoraID   = append([]byte("\x80theora\x03\x02\x01"), make([]byte, 31)...)
	vorbisID   = append([]byte("\x01vorbis"), make([]byte, 23)...)
	opusID     = append([]byte("OpusHead\x01\x02"), make([]byte, 9)...)
	skeletonID = append([]byte("fishead\x00"), make([]byte, 56)...)
	dataPacket = bytes.Repeat([]byte{0x5a}, 100)
)

func oggFile(pages ...[]byte) []byte { return bytes.Join(pages, nil) }

// tsStream returns packets of an MPEG transport stream: each is prefix
// bytes, the 0x47 sync byte, a null-packet header and stuffing, padded to
// stride bytes in all.
func tsStream(packets, stride, prefix int) []byte {
	var b []byte
	for range packets {
		p := make([]byte, prefix, stride)
		p = append(p, 0x47, 0x1f, 0xff, 0x10)
		p = append(p, bytes.Repeat([]byte{0xff}, stride-len(p))...)
		b = append(b, p...)
	}
	return b
}

// id3 returns an ID3v2.4 tag with a body of n zero bytes.
func id3(n int) []byte {
	return append([]byte{'I', 'D', '3', 4, 0, 0, byte(n >> 21 & 0x7f), byte(n >> 14 & 0x7f), byte(n >> 7 & 0x7f), byte(n & 0x7f)}, make([]byte, n)...)
}

var (
	// An MPEG-1 layer III frame header: 128 kbit/s, 44.1 kHz.
	mp3Frame = append([]byte{0xff, 0xfb, 0x90, 0x64}, make([]byte, 413)...)
	// An ADTS header: AAC LC, 44.1 kHz, stereo.
	adtsFrame = append([]byte{0xff, 0xf1, 0x50, 0x80, 0x2e, 0x7f, 0xfc}, make([]byte, 360)...)
)

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

type syntheticCase struct {
	description string
	head        []byte
	wantName    string // Empty when Detect must not know the format.
	wantVideo   bool
}

func syntheticCases() []syntheticCase {
	// A text file of many lines with a G at the start of every
	// 188-byte packet position.
	line := "G" + strings.Repeat("x", 186) + "\n"
	gText := []byte(strings.Repeat(line, 10))

	// An ASF header with audio, cut by the sample before its end.
	truncatedWMA := asf(sniff.HeaderSize, asfAudioMedia)

	return []syntheticCase{
		// ISO base media: the ftyp brands decide.
		{description: "ftyp isom is MP4", head: ftyp("isom", "isom", "iso2", "avc1", "mp41"), wantName: "mp4", wantVideo: true},
		{description: "ftyp mp42 is MP4", head: ftyp("mp42", "mp42", "isom"), wantName: "mp4", wantVideo: true},
		{description: "ftyp dash is MP4", head: ftyp("dash", "iso6", "mp41"), wantName: "mp4", wantVideo: true},
		{description: "ftyp iso5 is MP4", head: ftyp("iso5"), wantName: "mp4", wantVideo: true},
		{description: "ftyp mmp4 is MP4", head: ftyp("mmp4", "mmp4"), wantName: "mp4", wantVideo: true},
		{description: "ftyp M4V is MP4", head: ftyp("M4V ", "M4V ", "M4A ", "mp42", "isom"), wantName: "mp4", wantVideo: true},
		{description: "ftyp qt is MOV", head: ftyp("qt  ", "qt  "), wantName: "mov", wantVideo: true},
		{description: "ftyp 3gp4 is 3GP", head: ftyp("3gp4", "isom", "3gp4"), wantName: "3gp", wantVideo: true},
		{description: "ftyp 3gp5 is 3GP", head: ftyp("3gp5", "3gp5", "isom"), wantName: "3gp", wantVideo: true},
		{description: "ftyp 3g2a is 3GP", head: ftyp("3g2a", "3g2a"), wantName: "3gp", wantVideo: true},
		{description: "ftyp M4A is audio", head: ftyp("M4A ", "M4A ", "mp42", "isom"), wantName: "m4a", wantVideo: false},
		{description: "ftyp M4B is audio", head: ftyp("M4B ", "M4B ", "mp42"), wantName: "m4a", wantVideo: false},
		{description: "ftyp M4P is audio", head: ftyp("M4P ", "M4P ", "mp42"), wantName: "m4a", wantVideo: false},
		{description: "generic major brand refined by compatible qt", head: ftyp("isom", "isom", "qt  "), wantName: "mov", wantVideo: true},
		{description: "generic major brand refined by compatible 3gp", head: ftyp("isom", "isom", "3gp6"), wantName: "3gp", wantVideo: true},
		{description: "generic video major brand stays video despite compatible M4A", head: ftyp("mp42", "mp42", "M4A ", "isom"), wantName: "mp4", wantVideo: true},
		{description: "unknown major brand with compatible M4A is audio", head: ftyp("abcd", "M4A ", "mp42", "isom"), wantName: "m4a", wantVideo: false},
		{description: "unknown major brand with compatible qt is MOV", head: ftyp("abcd", "qt  "), wantName: "mov", wantVideo: true},
		{description: "unknown major brand with compatible isom is MP4", head: ftyp("abcd", "wxyz", "isom"), wantName: "mp4", wantVideo: true},
		{description: "no known brand is unknown", head: ftyp("abcd", "wxyz"), wantName: ""},
		{description: "ftyp heic is a HEIF image", head: ftyp("heic", "mif1", "heic"), wantName: "heif", wantVideo: false},
		{description: "ftyp mif1 with compatible avif is an AVIF image", head: ftyp("mif1", "avif", "mif1", "miaf"), wantName: "avif", wantVideo: false},
		{description: "ftyp avis is an AVIF image sequence", head: ftyp("avis", "avif", "msf1", "iso8"), wantName: "avif", wantVideo: false},
		{description: "ftyp cut after the major brand", head: ftyp("qt  ", "qt  ")[:12], wantName: "mov", wantVideo: true},
		{description: "ftyp box smaller than 16 bytes is refused", head: cat(box("ftyp", []byte("isom")), binaryFiller), wantName: ""},
		{description: "text with ftyp at offset 4 is text", head: []byte("The ftyp box comes first in MP4 files.\n"), wantName: "text"},

		// QuickTime files from before ftyp.
		{description: "moov first is MOV", head: cat(box("moov", box("mvhd", make([]byte, 100))), box("mdat", binaryFiller)), wantName: "mov", wantVideo: true},
		{description: "wide then mdat is MOV", head: cat(box("wide"), box("mdat", binaryFiller)), wantName: "mov", wantVideo: true},
		{description: "free then skip then moov is MOV", head: cat(box("free", make([]byte, 8)), box("skip"), box("moov", binaryFiller)), wantName: "mov", wantVideo: true},
		{description: "mdat running to the end of the file is MOV", head: cat([]byte{0, 0, 0, 0}, []byte("mdat"), binaryFiller), wantName: "mov", wantVideo: true},
		{description: "mdat with a 64-bit size is MOV", head: cat([]byte{0, 0, 0, 1}, []byte("mdat"), []byte{0, 0, 0, 1, 0, 0, 0, 0}, binaryFiller), wantName: "mov", wantVideo: true},
		{description: "free then an unknown atom is unknown", head: cat(box("free"), box("abcd", binaryFiller)), wantName: ""},
		{description: "atom size below 8 is unknown", head: cat([]byte{0, 0, 0, 4}, []byte("moov"), binaryFiller), wantName: ""},
		{description: "oversized moov is unknown", head: cat([]byte{0x7f, 0, 0, 0}, []byte("moov"), binaryFiller), wantName: ""},
		{description: "text with moov at offset 4 is text", head: []byte("the moov atom holds the index\n"), wantName: "text"},

		// EBML: the DocType decides.
		{description: "EBML webm is WebM", head: ebmlHeader("webm"), wantName: "webm", wantVideo: true},
		{description: "EBML matroska is Matroska", head: ebmlHeader("matroska"), wantName: "mkv", wantVideo: true},
		{description: "EBML DocType padded with NUL", head: ebmlHeader("webm\x00\x00"), wantName: "webm", wantVideo: true},
		{description: "EBML unknown DocType", head: ebmlHeader("notmkv"), wantName: ""},
		{description: "EBML header without DocType", head: ebmlHeader(""), wantName: ""},
		{description: "EBML header cut inside DocType", head: ebmlHeader("matroska")[:20], wantName: ""},
		{description: "EBML magic alone", head: []byte{0x1a, 0x45, 0xdf, 0xa3}, wantName: ""},

		// RIFF: the form type decides.
		{description: "RIFF AVI is AVI", head: riff("RIFF", "AVI ", "LIST", cat([]byte("hdrlavih"), binaryFiller)), wantName: "avi", wantVideo: true},
		{description: "RIFF WAVE is WAV", head: riff("RIFF", "WAVE", "fmt ", []byte{1, 0, 2, 0, 0x44, 0xac, 0, 0, 0x10, 0xb1, 2, 0, 4, 0, 16, 0}), wantName: "wav", wantVideo: false},
		{description: "RF64 WAVE is WAV", head: riff("RF64", "WAVE", "ds64", make([]byte, 28)), wantName: "wav", wantVideo: false},
		{description: "RIFF WEBP is a WebP image", head: riff("RIFF", "WEBP", "VP8 ", binaryFiller), wantName: "webp", wantVideo: false},
		{description: "text starting RIFFxxxxAVI is text", head: []byte("RIFFxxxxAVI is how an AVI file starts.\n"), wantName: "text"},

		// ASF: WMV unless the whole header shows audio only.
		{description: "ASF with a video stream is WMV", head: asf(0, asfAudioMedia, asfVideoMedia), wantName: "wmv", wantVideo: true},
		{description: "ASF with only audio streams is WMA", head: asf(0, asfAudioMedia), wantName: "wma", wantVideo: false},
		{description: "ASF header cut off by the sample is WMV", head: truncatedWMA, wantName: "wmv", wantVideo: true},
		{description: "ASF header GUID alone is WMV", head: []byte(asfHeaderObject), wantName: "wmv", wantVideo: true},
		{description: "ASF GUID cut short is unknown", head: []byte(asfHeaderObject)[:8], wantName: ""},

		// FLV.
		{description: "FLV with audio and video", head: cat([]byte("FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00"), binaryFiller), wantName: "flv", wantVideo: true},
		{description: "FLV with a data offset inside its header is unknown", head: cat([]byte("FLV\x01\x05\x00\x00\x00\x03"), binaryFiller), wantName: ""},
		{description: "FLV version 2 is unknown", head: cat([]byte("FLV\x02\x05\x00\x00\x00\x09"), binaryFiller), wantName: ""},

		// MPEG program stream.
		{description: "MPEG-2 pack header is MPEG-PS", head: cat([]byte{0, 0, 1, 0xba, 0x44, 0, 4, 0, 4, 1, 1, 0x89, 0xc3, 0xf8}, binaryFiller), wantName: "mpegps", wantVideo: true},
		{description: "MPEG-1 pack header is MPEG-PS", head: cat([]byte{0, 0, 1, 0xba, 0x21, 0, 1, 0, 1, 0x80, 0, 1}, binaryFiller), wantName: "mpegps", wantVideo: true},
		{description: "pack start code with bad marker bits is unknown", head: cat([]byte{0, 0, 1, 0xba, 0x00}, binaryFiller), wantName: ""},

		// MPEG transport stream.
		{description: "188-byte packets are MPEG-TS", head: tsStream(22, 188, 0), wantName: "mpegts", wantVideo: true},
		{description: "192-byte M2TS packets are MPEG-TS", head: tsStream(22, 192, 4), wantName: "mpegts", wantVideo: true},
		{description: "204-byte packets are MPEG-TS", head: tsStream(22, 204, 0), wantName: "mpegts", wantVideo: true},
		{description: "five 188-byte packets are MPEG-TS", head: tsStream(5, 188, 0)[:4*188+1], wantName: "mpegts", wantVideo: true},
		{description: "four packets are too few", head: tsStream(4, 188, 0), wantName: ""},
		{description: "sync byte missing in the third packet", head: func() []byte { b := tsStream(22, 188, 0); b[2*188] = 0; return b }(), wantName: ""},
		{description: "sync byte missing in the last packet of the sample", head: func() []byte { b := tsStream(22, 188, 0); b[21*188] = 0; return b }(), wantName: ""},
		{description: "text with G every 188 bytes is text", head: gText, wantName: "text"},

		// Ogg: video only if a BOS page names a video codec.
		{description: "Ogg Theora and Vorbis is Ogg video", head: oggFile(oggPage(oggBOS, 1, theoraID), oggPage(oggBOS, 2, vorbisID), oggPage(0, 1, dataPacket)), wantName: "ogg", wantVideo: true},
		{description: "Ogg Skeleton then Theora is Ogg video", head: oggFile(oggPage(oggBOS, 1, skeletonID), oggPage(oggBOS, 2, theoraID), oggPage(0, 1, dataPacket)), wantName: "ogg", wantVideo: true},
		{description: "Ogg Vorbis is Ogg audio", head: oggFile(oggPage(oggBOS, 1, vorbisID), oggPage(0, 1, dataPacket)), wantName: "oga", wantVideo: false},
		{description: "Ogg Opus is Ogg audio", head: oggFile(oggPage(oggBOS, 1, opusID), oggPage(0, 1, dataPacket)), wantName: "oga", wantVideo: false},
		{description: "Ogg cut before the BOS pages end is unknown", head: oggPage(oggBOS, 1, vorbisID), wantName: ""},
		{description: "Ogg whose first page is not BOS is unknown", head: oggFile(oggPage(0, 1, dataPacket), oggPage(0, 1, dataPacket)), wantName: ""},
		{description: "Ogg packet longer than 255 bytes", head: oggFile(oggPage(oggBOS, 1, append(bytes.Clone(vorbisID), make([]byte, 600)...)), oggPage(0, 1, dataPacket)), wantName: "oga", wantVideo: false},

		// Audio streams.
		{description: "MP3 frame", head: mp3Frame, wantName: "mp3", wantVideo: false},
		{description: "ID3 tag then MP3 frame", head: cat(id3(100), mp3Frame), wantName: "mp3", wantVideo: false},
		{description: "ID3 tag larger than the sample", head: id3(sniff.HeaderSize)[:sniff.HeaderSize], wantName: "mp3", wantVideo: false},
		{description: "ID3 tag then ADTS is AAC", head: cat(id3(100), adtsFrame), wantName: "aac", wantVideo: false},
		{description: "ID3 tag then fLaC is FLAC", head: cat(id3(100), []byte("fLaC"), binaryFiller), wantName: "flac", wantVideo: false},
		{description: "ADTS is AAC", head: adtsFrame, wantName: "aac", wantVideo: false},
		{description: "FLAC", head: cat([]byte("fLaC\x00\x00\x00\x22"), binaryFiller), wantName: "flac", wantVideo: false},
		{description: "MPEG audio sync with a reserved version is unknown", head: cat([]byte{0xff, 0xeb, 0x90, 0x64}, binaryFiller), wantName: ""},
		{description: "MPEG audio sync with a bad bitrate is unknown", head: cat([]byte{0xff, 0xfb, 0xf0, 0x64}, binaryFiller), wantName: ""},

		// Other files people send by mistake.
		{description: "JPEG", head: cat([]byte{0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F', 0}, binaryFiller), wantName: "jpeg", wantVideo: false},
		{description: "GIF87a", head: cat([]byte("GIF87a\x40\x01\xf0\x00"), binaryFiller), wantName: "gif", wantVideo: false},
		{description: "GIF89a", head: cat([]byte("GIF89a\x40\x01\xf0\x00"), binaryFiller), wantName: "gif", wantVideo: false},
		{description: "PDF", head: []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"), wantName: "pdf", wantVideo: false},
		{description: "ASCII-only PDF is still PDF", head: []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"), wantName: "pdf", wantVideo: false},
		{description: "empty ZIP archive", head: cat([]byte("PK\x05\x06"), make([]byte, 18)), wantName: "zip", wantVideo: false},

		// Text.
		{description: "ASCII text", head: []byte("hello, world\r\n\tindented\f\x1b[0m\n"), wantName: "text"},
		{description: "UTF-8 text", head: []byte("Grüße, 世界, 🎬\n"), wantName: "text"},
		{description: "UTF-8 text with a BOM", head: []byte("\xef\xbb\xbfhello\n"), wantName: "text"},
		{description: "UTF-8 character cut at the end", head: []byte("caf\xc3"), wantName: "text"},
		{description: "four-byte character cut at the end", head: []byte("clap \xf0\x9f\x8e"), wantName: "text"},
		{description: "invalid UTF-8 is unknown", head: []byte("caf\xe9 au lait\n"), wantName: ""},
		{description: "invalid sequence cut at the end is unknown", head: []byte("abc\xe0\x41"), wantName: ""},
		{description: "NUL byte is unknown", head: []byte("hello\x00world"), wantName: ""},
		{description: "UTF-16 text is unknown", head: []byte("\xff\xfeh\x00i\x00"), wantName: ""},
		{description: "empty input is unknown", head: []byte{}, wantName: ""},
		{description: "nil input is unknown", head: nil, wantName: ""},
	}
}

func TestDetectSynthetic(t *testing.T) {
	for _, tt := range syntheticCases() {
		t.Run(tt.description, func(t *testing.T) {
			f, ok := sniff.Detect(tt.head)
			if got, want := ok, tt.wantName != ""; got != want {
				t.Fatalf("ok=%v, want=%v (format=%v)", got, want, f)
			}
			if !ok {
				if got, want := f, (sniff.Format{}); got != want {
					t.Errorf("format=%v with ok=false, want the zero Format", got)
				}
				return
			}
			if got, want := f.Name, tt.wantName; got != want {
				t.Errorf("name=%q, want=%q", got, want)
			}
			if got, want := f.Video, tt.wantVideo; got != want {
				t.Errorf("video=%v, want=%v", got, want)
			}
		})
	}
}

// TestDetectSyntheticPrefixes cuts every synthetic header at every length,
// as a short or truncated upload would. Detect must not panic, and a cut
// header of a file recognised as not video must not pass for video. The
// unknown cases are left out, since most are damaged video headers whose
// prefixes, cut before the damage, are valid. ASF is the documented
// exception: an audio-only header cut by the sample is taken for WMV.
func TestDetectSyntheticPrefixes(t *testing.T) {
	for _, tt := range syntheticCases() {
		notVideo := !tt.wantVideo && tt.wantName != "" && tt.wantName != "wma"
		for n := range len(tt.head) {
			if f, ok := sniff.Detect(tt.head[:n]); notVideo && ok && f.Video {
				t.Errorf("%s[:%d]: %q is video, but the file is not", tt.description, n, f.Name)
			}
		}
	}
}
