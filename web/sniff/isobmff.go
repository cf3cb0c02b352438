package sniff

import "strings"

// maxFtypSize bounds the ftyp box. Real ones list a handful of brands in
// well under a hundred bytes; the bound keeps "abcdftyp" at the start of a
// text file from passing for one, since printable size bytes make a size of
// at least 0x20202020.
const maxFtypSize = 4096

// brand is what an ftyp brand says about the file. A generic brand names a
// structure shared by several formats ("isom" is any ISO base media file,
// "mif1" any HEIF image), so a specific compatible brand may refine it.
type brand struct {
	format  Format
	generic bool
}

// brands maps ftyp brands to formats. Sources: the MP4 registration
// authority's brand list (https://mp4ra.org/registered-types/brands), Apple's
// QuickTime File Format reference, and 3GPP TS 26.244. Brands starting with
// "3g" (3GPP and 3GPP2) and "iso" (ISO base media) are matched by prefix in
// lookupBrand.
var brands = map[string]brand{
	"qt  ": {format: formatMOV},

	"M4V ": {format: formatMP4},
	"M4VH": {format: formatMP4},
	"M4VP": {format: formatMP4},
	"f4v ": {format: formatMP4},
	"f4p ": {format: formatMP4},
	"MSNV": {format: formatMP4}, // Sony PSP.
	"XAVC": {format: formatMP4}, // Sony cameras.
	"CAEP": {format: formatMP4}, // Canon cameras.
	"mp41": {format: formatMP4, generic: true},
	"mp42": {format: formatMP4, generic: true},
	"mp71": {format: formatMP4, generic: true},
	"avc1": {format: formatMP4, generic: true},
	"dash": {format: formatMP4, generic: true},
	"mmp4": {format: formatMP4, generic: true},
	"cmfc": {format: formatMP4, generic: true},
	"cmf2": {format: formatMP4, generic: true},
	"dby1": {format: formatMP4, generic: true},

	"M4A ": {format: formatM4A},
	"M4B ": {format: formatM4A}, // Audiobook.
	"M4P ": {format: formatM4A}, // Protected iTunes audio.
	"F4A ": {format: formatM4A},
	"F4B ": {format: formatM4A},

	// HEIF and AVIF are still images, or image sequences such as Live
	// Photos' stills and animated AVIF, and are not accepted as video.
	"mif1": {format: formatHEIF, generic: true},
	"msf1": {format: formatHEIF, generic: true},
	"miaf": {format: formatHEIF, generic: true},
	"heic": {format: formatHEIF},
	"heix": {format: formatHEIF},
	"heim": {format: formatHEIF},
	"heis": {format: formatHEIF},
	"hevc": {format: formatHEIF},
	"hevx": {format: formatHEIF},
	"hevm": {format: formatHEIF},
	"hevs": {format: formatHEIF},
	"avif": {format: formatAVIF},
	"avis": {format: formatAVIF},
}

func lookupBrand(name string) (brand, bool) {
	switch {
	case strings.HasPrefix(name, "3g"):
		return brand{format: format3GP}, true
	case strings.HasPrefix(name, "iso"):
		return brand{format: formatMP4, generic: true}, true
	}
	b, ok := brands[name]
	return b, ok
}

// detectISOBMFF reads an ftyp box at the start of the file: MP4, MOV with
// an ftyp, 3GP, M4A, HEIF and AVIF all begin this way and differ only in
// their brands.
//
// The major brand decides when it is specific. A generic or unknown major
// brand is refined by the first specific compatible brand, but never from
// video to not video or back: an "mp42" file listing "M4A " is still
// treated as video, because rejecting a real video is worse than letting an
// audio file through to the transcoder. With no brand known at all, the
// file is unknown rather than guessed.
func detectISOBMFF(b []byte) (Format, bool) {
	if len(b) < 12 || !at(b, 4, "ftyp") {
		return Format{}, false
	}
	size := int(be32(b, 0))
	if size < 16 || size > maxFtypSize {
		return Format{}, false
	}
	// The compatible brands fill the rest of the box, 4 bytes each.
	var compat []byte
	if end := min(size, len(b)); end > 16 {
		compat = b[16:end]
		compat = compat[:len(compat)/4*4]
	}

	major, majorKnown := lookupBrand(string(b[8:12]))
	if majorKnown && !major.generic {
		return major.format, true
	}
	for i := 0; i < len(compat); i += 4 {
		cb, ok := lookupBrand(string(compat[i : i+4]))
		if ok && !cb.generic && (!majorKnown || cb.format.Video == major.format.Video) {
			return cb.format, true
		}
	}
	if majorKnown {
		return major.format, true
	}
	for i := 0; i < len(compat); i += 4 {
		if cb, ok := lookupBrand(string(compat[i : i+4])); ok {
			return cb.format, true
		}
	}
	return Format{}, false
}

// qtAtoms are the top-level atoms that may appear in a QuickTime file
// written before ftyp existed (QuickTime File Format, "Atoms"). qtFirst are
// the ones such a file starts with.
var (
	qtAtoms = map[string]bool{
		"moov": true, "mdat": true, "free": true, "skip": true, "wide": true,
		"pnot": true, "uuid": true, "udta": true, "PICT": true,
	}
	qtFirst = map[string]bool{
		"moov": true, "mdat": true, "free": true, "skip": true, "wide": true, "pnot": true,
	}
)

// maxQTAtom bounds every top-level atom but mdat, which holds the media and
// may be any size. A moov index for hours of video is tens of megabytes.
const maxQTAtom = 1 << 30

// detectQuickTime recognises an older QuickTime file that starts with a
// moov, mdat, wide, free, skip or pnot atom instead of ftyp. Four letters
// at offset 4 are weak evidence, so it walks the atoms in the sample and
// requires each to be a known top-level atom with a sane size, and it
// refuses a sample that reads as text.
func detectQuickTime(b []byte) (Format, bool) {
	if len(b) < 8 || !qtFirst[string(b[4:8])] || isText(b) {
		return Format{}, false
	}
	off := 0
	for range 16 {
		if off+8 > len(b) {
			break
		}
		typ := string(b[off+4 : off+8])
		if !qtAtoms[typ] {
			return Format{}, false
		}
		size := uint64(be32(b, off))
		switch {
		case size == 0:
			// The atom runs to the end of the file.
			return formatMOV, true
		case size == 1:
			// A 64-bit size follows the type.
			if off+16 > len(b) {
				return formatMOV, true
			}
			size = be64(b, off+8)
			if size < 16 {
				return Format{}, false
			}
		case size < 8:
			return Format{}, false
		}
		if typ != "mdat" && size > maxQTAtom {
			return Format{}, false
		}
		if size >= uint64(len(b)-off) {
			break
		}
		off += int(size)
	}
	return formatMOV, true
}
