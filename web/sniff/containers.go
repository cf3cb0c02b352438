package sniff

import (
	"bytes"
	"math/bits"
	"strings"
)

// ebmlDocType is the ID of the DocType element in the EBML header
// (RFC 8794).
const ebmlDocType = 0x4282

// detectEBML reads the DocType of an EBML header: "webm" is WebM and
// "matroska" is Matroska. Matroska audio files (.mka) use the same DocType,
// so Matroska counts as video. DocType is mandatory, so a header without
// one, or one cut off before it, is unknown.
func detectEBML(b []byte) (Format, bool) {
	if !at(b, 0, "\x1a\x45\xdf\xa3") {
		return Format{}, false
	}
	size, n, ok := ebmlSize(b, 4)
	if !ok {
		return Format{}, false
	}
	start := 4 + n
	end := len(b)
	if size < uint64(end-start) {
		end = start + int(size)
	}
	for off := start; off < end; {
		id, idLen, ok := ebmlID(b, off)
		if !ok {
			return Format{}, false
		}
		size, sizeLen, ok := ebmlSize(b, off+idLen)
		data := off + idLen + sizeLen
		if !ok || data > end || size > uint64(end-data) {
			// A bad size, or a child running past the header or the
			// sample: either way the DocType cannot be read.
			return Format{}, false
		}
		if id == ebmlDocType {
			switch strings.TrimRight(string(b[data:data+int(size)]), "\x00") {
			case "webm":
				return formatWebM, true
			case "matroska":
				return formatMKV, true
			}
			return Format{}, false
		}
		off = data + int(size)
	}
	return Format{}, false
}

// ebmlID reads an element ID at off. IDs keep their length marker and are
// at most 4 bytes long (RFC 8794).
func ebmlID(b []byte, off int) (id uint32, n int, ok bool) {
	if off < 0 || off >= len(b) || b[off] == 0 {
		return 0, 0, false
	}
	n = bits.LeadingZeros8(b[off]) + 1
	if n > 4 || off+n > len(b) {
		return 0, 0, false
	}
	for _, c := range b[off : off+n] {
		id = id<<8 | uint32(c)
	}
	return id, n, true
}

// ebmlSize reads an element data size at off, without its length marker.
// The reserved "unknown size" value, all value bits set, comes back as the
// largest uint64, so a caller comparing it with the bytes left treats the
// element as running past the sample.
func ebmlSize(b []byte, off int) (size uint64, n int, ok bool) {
	if off < 0 || off >= len(b) || b[off] == 0 {
		return 0, 0, false
	}
	n = bits.LeadingZeros8(b[off]) + 1
	if off+n > len(b) {
		return 0, 0, false
	}
	size = uint64(b[off]) & (0xff >> n)
	for _, c := range b[off+1 : off+n] {
		size = size<<8 | uint64(c)
	}
	if size == 1<<(7*n)-1 {
		size = ^uint64(0)
	}
	return size, n, true
}

// detectRIFF tells AVI, WAV and WebP apart by the RIFF form type at offset
// 8. RF64 and BW64 are the 64-bit WAV variants (EBU Tech 3306, ITU-R
// BS.2088).
func detectRIFF(b []byte) (Format, bool) {
	if len(b) < 12 {
		return Format{}, false
	}
	form := string(b[8:12])
	switch {
	case at(b, 0, "RIFF") && form == "AVI ":
		// "RIFF" and "AVI " are printable, so refuse a text file
		// that happens to start like this. A real AVI header is full
		// of zero bytes.
		if isText(b) {
			return Format{}, false
		}
		return formatAVI, true
	case at(b, 0, "RIFF") && form == "WAVE",
		at(b, 0, "RF64") && form == "WAVE",
		at(b, 0, "BW64") && form == "WAVE":
		return formatWAV, true
	case at(b, 0, "RIFF") && form == "WEBP":
		return formatWebP, true
	}
	return Format{}, false
}

// ASF GUIDs as they appear on disk, with the first three fields
// little-endian (Advanced Systems Format Specification).
const (
	asfHeaderObject = "\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c"
	asfVideoMedia   = "\xc0\xef\x19\xbc\x4d\x5b\xcf\x11\xa8\xfd\x00\x80\x5f\x5c\x44\x2b"
	asfAudioMedia   = "\x40\x9e\x69\xf8\x4d\x5b\xcf\x11\xa8\xfd\x00\x80\x5f\x5c\x44\x2b"
)

// detectASF recognises ASF, the container of WMV and WMA. The two differ
// only in their streams, so when the whole header object is in the sample
// it looks for the stream type GUIDs: a header naming audio streams and no
// video one is WMA. Stream properties may sit at the top level or inside
// the header extension, so it searches the whole header rather than walking
// its objects. A header cut off by the sample is taken to be WMV, since a
// WMA with cover art can have a header that large but guessing audio would
// reject real videos.
func detectASF(b []byte) (Format, bool) {
	if !at(b, 0, asfHeaderObject) {
		return Format{}, false
	}
	size := le64(b, 16)
	if size < 30 || size > uint64(len(b)) {
		return formatWMV, true
	}
	header := b[:size]
	if !bytes.Contains(header, []byte(asfVideoMedia)) && bytes.Contains(header, []byte(asfAudioMedia)) {
		return formatWMA, true
	}
	return formatWMV, true
}

// detectFLV recognises an FLV version 1 header whose data offset is at
// least the 9-byte header itself. The audio and video flags in byte 4 are
// not checked: muxers are known to set them wrongly, so FLV counts as
// video.
func detectFLV(b []byte) (Format, bool) {
	if at(b, 0, "FLV\x01") && len(b) >= 9 && be32(b, 5) >= 9 {
		return formatFLV, true
	}
	return Format{}, false
}

// detectMPEGPS recognises an MPEG program stream pack header (00 00 01 BA),
// checking the marker bits that follow it: '01' for MPEG-2 and '0010' for
// MPEG-1 (ISO/IEC 13818-1 and ISO/IEC 11172-1).
func detectMPEGPS(b []byte) (Format, bool) {
	if !at(b, 0, "\x00\x00\x01\xba") || len(b) < 5 {
		return Format{}, false
	}
	if b[4]&0xc4 == 0x44 || b[4]&0xf1 == 0x21 {
		return formatMPEGPS, true
	}
	return Format{}, false
}

// oggVideoCodecs are the first bytes of the identification packet of the
// video codecs carried in Ogg: Theora, Daala, Dirac and OGM video.
var oggVideoCodecs = []string{"\x80theora", "\x80daala", "BBCD\x00", "\x01video\x00\x00\x00"}

// maxOggStreams bounds the walk over beginning-of-stream pages.
const maxOggStreams = 32

// detectOgg reads the beginning-of-stream (BOS) pages that open an Ogg file.
// Every logical stream has one, they all come before any other page, and
// each carries the codec's identification packet (RFC 3533, section 4). A
// file with a video codec among them is Ogg video; one whose BOS pages all
// fit in the sample and name no video codec is Ogg audio. If the sample
// ends first, the answer is unknown.
func detectOgg(b []byte) (Format, bool) {
	off := 0
	for range maxOggStreams {
		if off+27 > len(b) || !at(b, off, "OggS") || b[off+4] != 0 {
			return Format{}, false
		}
		if b[off+5]&0x02 == 0 {
			if off == 0 {
				return Format{}, false
			}
			return formatOGA, true
		}
		segments := int(b[off+26])
		payload := off + 27 + segments
		if payload > len(b) {
			return Format{}, false
		}
		n := 0
		for _, s := range b[off+27 : payload] {
			n += int(s)
		}
		packet := b[payload:min(payload+n, len(b))]
		for _, codec := range oggVideoCodecs {
			if bytes.HasPrefix(packet, []byte(codec)) {
				return formatOgg, true
			}
		}
		off = payload + n
	}
	return Format{}, false
}

// minTSPackets is how many sync bytes in a row make an MPEG transport
// stream. One 0x47 is a letter G; five at the right spacing are not chance.
const minTSPackets = 5

// detectMPEGTS recognises an MPEG transport stream by its sync byte 0x47
// at the start of every packet in the sample: 188-byte packets
// (ISO/IEC 13818-1), 192-byte M2TS packets from Blu-ray and AVCHD cameras,
// which put a 4-byte timestamp before each packet, and 204-byte packets
// that carry Reed-Solomon parity after each one. A sample that reads as
// text is refused, since a real stream has stuffing bytes that are not
// UTF-8.
func detectMPEGTS(b []byte) (Format, bool) {
	if (tsSynced(b, 0, 188) || tsSynced(b, 4, 192) || tsSynced(b, 0, 204)) && !isText(b) {
		return formatMPEGTS, true
	}
	return Format{}, false
}

func tsSynced(b []byte, first, stride int) bool {
	n := 0
	for i := first; i < len(b); i += stride {
		if b[i] != 0x47 {
			return false
		}
		n++
	}
	return n >= minTSPackets
}

// detectAudio recognises MP3 and AAC streams by an ID3v2 tag or by the
// frame header that starts the audio. An ID3 tag says nothing about what
// follows it, so when the tag ends inside the sample the frame after it
// decides; otherwise the tag counts as MP3, its usual companion.
func detectAudio(b []byte) (Format, bool) {
	if len(b) >= 10 && at(b, 0, "ID3") && b[3] >= 2 && b[3] <= 4 && b[4] != 0xff &&
		b[6]|b[7]|b[8]|b[9] < 0x80 {
		// The tag size is 28 bits in four 7-bit bytes and excludes
		// the 10-byte header and the optional 10-byte footer
		// (ID3v2.4 structure, section 3.1).
		end := 10 + (int(b[6])<<21 | int(b[7])<<14 | int(b[8])<<7 | int(b[9]))
		if b[5]&0x10 != 0 {
			end += 10
		}
		if end < len(b) {
			if at(b, end, "fLaC") {
				return formatFLAC, true
			}
			if f, ok := detectAudioFrame(b[end:]); ok {
				return f, true
			}
		}
		return formatMP3, true
	}
	return detectAudioFrame(b)
}

// detectAudioFrame checks an MPEG audio or ADTS frame header at the start
// of b: an 11-bit sync and no reserved values in the fields after it
// (ISO/IEC 11172-3). ADTS (AAC) uses the layer bits MPEG audio reserves
// (ISO/IEC 13818-7). Layer II is reported as
// MP3 too. Layer I is not recognised: nobody uses it any more, and its
// header with a CRC starts FF FE, the byte order mark of UTF-16 text.
func detectAudioFrame(b []byte) (Format, bool) {
	if len(b) < 4 || b[0] != 0xff || b[1]&0xe0 != 0xe0 {
		return Format{}, false
	}
	version := b[1] >> 3 & 0x03
	layer := b[1] >> 1 & 0x03
	switch layer {
	case 0:
		if b[1]&0xf0 == 0xf0 && b[2]>>2&0x0f < 13 {
			return formatAAC, true
		}
		return Format{}, false
	case 3:
		return Format{}, false
	}
	bitrate := b[2] >> 4
	rate := b[2] >> 2 & 0x03
	emphasis := b[3] & 0x03
	if version == 1 || bitrate == 0x0f || rate == 0x03 || emphasis == 2 {
		return Format{}, false
	}
	return formatMP3, true
}
