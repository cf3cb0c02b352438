// sniff.js identifies a file's container format from its first bytes,
// with the rules of the server's web/sniff, ported line for line, so
// that the uploader refuses a wrong file before sending anything, for the
// same reason the server would give. The server still decides: this only
// saves the person from waiting for the first part to be refused.
//
// A Go test (web/sniff/js_test.go) runs detect on the real media files,
// the synthetic headers of the Go tests, their prefixes and thousands of
// mutations of them, and checks that every answer is the Go one; another
// (web/links/js_test.go) does the same for refusal against checkType.

// HEADER_SIZE is how many leading bytes detect wants (sniff.HeaderSize).
export const HEADER_SIZE = 4096

const f = (name, label, video = false) => Object.freeze({ name, label, video })

// FORMATS are the formats detect can report, by name, with the labels the
// server uses in its messages.
export const FORMATS = Object.freeze({
  mp4: f('mp4', 'MP4', true),
  mov: f('mov', 'QuickTime MOV', true),
  webm: f('webm', 'WebM', true),
  mkv: f('mkv', 'Matroska (MKV)', true),
  avi: f('avi', 'AVI', true),
  mpegts: f('mpegts', 'MPEG-TS', true),
  mpegps: f('mpegps', 'MPEG-PS', true),
  '3gp': f('3gp', '3GPP', true),
  flv: f('flv', 'Flash Video (FLV)', true),
  wmv: f('wmv', 'Windows Media Video (WMV)', true),
  ogg: f('ogg', 'Ogg video', true),
  mp3: f('mp3', 'MP3 audio'),
  m4a: f('m4a', 'MPEG-4 audio (M4A)'),
  wav: f('wav', 'WAV audio'),
  aac: f('aac', 'AAC audio'),
  flac: f('flac', 'FLAC audio'),
  oga: f('oga', 'Ogg audio'),
  wma: f('wma', 'Windows Media Audio (WMA)'),
  png: f('png', 'PNG image'),
  jpeg: f('jpeg', 'JPEG image'),
  gif: f('gif', 'GIF image'),
  webp: f('webp', 'WebP image'),
  heif: f('heif', 'HEIF image'),
  avif: f('avif', 'AVIF image'),
  pdf: f('pdf', 'PDF document'),
  zip: f('zip', 'ZIP archive'),
  text: f('text', 'plain text')
})
const F = FORMATS

// detect returns the format of a file from its first bytes (a Uint8Array;
// bytes past HEADER_SIZE are ignored), or null when it is unknown,
// including when there are too few bytes to tell (sniff.Detect).
export function detect (head) {
  const b = head.length > HEADER_SIZE ? head.subarray(0, HEADER_SIZE) : head
  for (const d of [isobmff, quickTime, ebml, riff, asf, flv, mpegPS, ogg, magic, mpegTS, audio, text]) {
    const found = d(b)
    if (found) return found
  }
  return null
}

// refusal says why a link that takes types (the link's allowed types:
// "video", "any" or format names) would refuse a file whose first bytes
// are head, or returns null if it takes it (links.checkType). typesText
// is the server's words for the types (links.TypesText).
export function refusal (types, typesText, head) {
  const found = detect(head)
  for (const t of types) {
    if (t === 'any' || (t === 'video' && found && found.video) || (found && t === found.name)) return null
  }
  const what = found ? `${article(found.label)} ${found.label} file` : 'a file of a type uplink does not recognise'
  return {
    status: 415,
    code: 'file-type-not-allowed',
    title: 'This type of file is not accepted.',
    detail: `This is ${what}. This link takes ${typesText}.`,
    format: found
  }
}

// article is "an" before a label said with a vowel sound ("an MP4", "an
// Ogg video"), "a" otherwise, as links.article.
export function article (label) {
  return /^([AEIOUaeiou]|MP)/.test(label) ? 'an' : 'a'
}

// ---- bytes

const ascii = s => Array.from(s, c => c.charCodeAt(0))
function at (b, off, s) {
  if (off < 0 || off + s.length > b.length) return false
  for (let i = 0; i < s.length; i++) if (b[off + i] !== s.charCodeAt(i)) return false
  return true
}
function str (b, from, to) { return String.fromCharCode(...b.subarray(from, to)) }
function be32 (b, off) {
  if (off < 0 || off + 4 > b.length) return 0
  return ((b[off] << 24) >>> 0) + (b[off + 1] << 16) + (b[off + 2] << 8) + b[off + 3]
}
// be64 and le64 return a BigInt, as sizes may pass 2^53.
function be64 (b, off) { return (BigInt(be32(b, off)) << 32n) | BigInt(be32(b, off + 4)) }
function le64 (b, off) {
  if (off < 0 || off + 8 > b.length) return 0n
  let v = 0n
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[off + i])
  return v
}
function indexOf (b, needle) {
  const n = ascii(needle)
  outer: for (let i = 0; i + n.length <= b.length; i++) {
    for (let j = 0; j < n.length; j++) if (b[i + j] !== n[j]) continue outer
    return i
  }
  return -1
}

// isText reports whether b reads as UTF-8 text without binary control
// bytes; a multi-byte character cut off at the end is allowed (isText).
export function isText (b) {
  for (let i = 0; i < b.length;) {
    const c = b[i]
    if (c < 0x80) {
      if (c <= 0x08 || c === 0x0b || (c >= 0x0e && c <= 0x1a) || (c >= 0x1c && c <= 0x1f)) return false
      i++
      continue
    }
    const size = runeSize(b, i)
    if (size === 0) return !fullRune(b, i)
    i += size
  }
  return true
}

// runeSize is the length of the valid UTF-8 sequence at i, or 0 when it
// is not one (Go's utf8.DecodeRune answering RuneError, 1).
function runeSize (b, i) {
  const c = b[i]
  const cont = (k, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k] >= lo && b[i + k] <= hi
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80
    const hi = c === 0xed ? 0x9f : 0xbf
    return cont(1, lo, hi) && cont(2) ? 3 : 0
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80
    const hi = c === 0xf4 ? 0x8f : 0xbf
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0
  }
  return 0
}

// fullRune reports whether the bytes at i begin a complete sequence, valid
// or not: false only for a valid start cut off by the end (utf8.FullRune).
function fullRune (b, i) {
  const c = b[i]
  let need = 1
  let lo = 0x80
  let hi = 0xbf
  if (c >= 0xc2 && c <= 0xdf) need = 2
  else if (c >= 0xe0 && c <= 0xef) { need = 3; if (c === 0xe0) lo = 0xa0; if (c === 0xed) hi = 0x9f } else if (c >= 0xf0 && c <= 0xf4) { need = 4; if (c === 0xf0) lo = 0x90; if (c === 0xf4) hi = 0x8f }
  if (need === 1) return true
  const have = b.length - i
  if (have >= need) return true
  // Cut off: incomplete only if what is there is valid so far.
  if (have > 1 && (b[i + 1] < lo || b[i + 1] > hi)) return true
  for (let k = 2; k < have; k++) if (b[i + k] < 0x80 || b[i + k] > 0xbf) return true
  return false
}

// ---- ISO base media (isobmff.go)

const MAX_FTYP = 4096
const BRANDS = {
  'qt  ': [F.mov],
  'M4V ': [F.mp4],
  M4VH: [F.mp4],
  M4VP: [F.mp4],
  'f4v ': [F.mp4],
  'f4p ': [F.mp4],
  MSNV: [F.mp4],
  XAVC: [F.mp4],
  CAEP: [F.mp4],
  mp41: [F.mp4, true],
  mp42: [F.mp4, true],
  mp71: [F.mp4, true],
  avc1: [F.mp4, true],
  dash: [F.mp4, true],
  mmp4: [F.mp4, true],
  cmfc: [F.mp4, true],
  cmf2: [F.mp4, true],
  dby1: [F.mp4, true],
  'M4A ': [F.m4a],
  'M4B ': [F.m4a],
  'M4P ': [F.m4a],
  'F4A ': [F.m4a],
  'F4B ': [F.m4a],
  mif1: [F.heif, true],
  msf1: [F.heif, true],
  miaf: [F.heif, true],
  heic: [F.heif],
  heix: [F.heif],
  heim: [F.heif],
  heis: [F.heif],
  hevc: [F.heif],
  hevx: [F.heif],
  hevm: [F.heif],
  hevs: [F.heif],
  avif: [F.avif],
  avis: [F.avif]
}

function brand (name) {
  if (name.startsWith('3g')) return { format: F['3gp'], generic: false }
  if (name.startsWith('iso')) return { format: F.mp4, generic: true }
  const b = Object.hasOwn(BRANDS, name) ? BRANDS[name] : null
  return b && { format: b[0], generic: !!b[1] }
}

function isobmff (b) {
  if (b.length < 12 || !at(b, 4, 'ftyp')) return null
  const size = be32(b, 0)
  if (size < 16 || size > MAX_FTYP) return null
  const compat = []
  const end = Math.min(size, b.length)
  for (let i = 16; i + 4 <= end; i += 4) compat.push(str(b, i, i + 4))
  const major = brand(str(b, 8, 12))
  if (major && !major.generic) return major.format
  for (const c of compat) {
    const cb = brand(c)
    if (cb && !cb.generic && (!major || cb.format.video === major.format.video)) return cb.format
  }
  if (major) return major.format
  for (const c of compat) {
    const cb = brand(c)
    if (cb) return cb.format
  }
  return null
}

const QT_ATOMS = new Set(['moov', 'mdat', 'free', 'skip', 'wide', 'pnot', 'uuid', 'udta', 'PICT'])
const QT_FIRST = new Set(['moov', 'mdat', 'free', 'skip', 'wide', 'pnot'])
const MAX_QT_ATOM = 1n << 30n

function quickTime (b) {
  if (b.length < 8 || !QT_FIRST.has(str(b, 4, 8)) || isText(b)) return null
  let off = 0
  for (let n = 0; n < 16; n++) {
    if (off + 8 > b.length) break
    const typ = str(b, off + 4, off + 8)
    if (!QT_ATOMS.has(typ)) return null
    let size = BigInt(be32(b, off))
    if (size === 0n) return F.mov
    if (size === 1n) {
      if (off + 16 > b.length) return F.mov
      size = be64(b, off + 8)
      if (size < 16n) return null
    } else if (size < 8n) {
      return null
    }
    if (typ !== 'mdat' && size > MAX_QT_ATOM) return null
    if (size >= BigInt(b.length - off)) break
    off += Number(size)
  }
  return F.mov
}

// ---- other containers (containers.go)

const EBML_DOC_TYPE = 0x4282

function ebml (b) {
  if (!at(b, 0, '\x1a\x45\xdf\xa3')) return null
  const head = ebmlSize(b, 4)
  if (!head) return null
  const start = 4 + head.n
  let end = b.length
  if (head.size < BigInt(end - start)) end = start + Number(head.size)
  for (let off = start; off < end;) {
    const id = ebmlID(b, off)
    if (!id) return null
    const s = ebmlSize(b, off + id.n)
    const data = off + id.n + (s ? s.n : 0)
    if (!s || data > end || s.size > BigInt(end - data)) return null
    if (id.id === EBML_DOC_TYPE) {
      const docType = str(b, data, data + Number(s.size)).replace(/\x00+$/, '')
      if (docType === 'webm') return F.webm
      if (docType === 'matroska') return F.mkv
      return null
    }
    off = data + Number(s.size)
  }
  return null
}

function leadingZeros8 (c) { return c === 0 ? 8 : Math.clz32(c) - 24 }

function ebmlID (b, off) {
  if (off < 0 || off >= b.length || b[off] === 0) return null
  const n = leadingZeros8(b[off]) + 1
  if (n > 4 || off + n > b.length) return null
  let id = 0
  for (let i = off; i < off + n; i++) id = id * 256 + b[i]
  return { id, n }
}

function ebmlSize (b, off) {
  if (off < 0 || off >= b.length || b[off] === 0) return null
  const n = leadingZeros8(b[off]) + 1
  if (off + n > b.length) return null
  let size = BigInt(b[off] & (0xff >> n))
  for (let i = off + 1; i < off + n; i++) size = (size << 8n) | BigInt(b[i])
  if (size === (1n << BigInt(7 * n)) - 1n) size = (1n << 64n) - 1n
  return { size, n }
}

function riff (b) {
  if (b.length < 12) return null
  const form = str(b, 8, 12)
  if (at(b, 0, 'RIFF') && form === 'AVI ') return isText(b) ? null : F.avi
  if ((at(b, 0, 'RIFF') || at(b, 0, 'RF64') || at(b, 0, 'BW64')) && form === 'WAVE') return F.wav
  if (at(b, 0, 'RIFF') && form === 'WEBP') return F.webp
  return null
}

const ASF_HEADER = '\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c'
const ASF_VIDEO = '\xc0\xef\x19\xbc\x4d\x5b\xcf\x11\xa8\xfd\x00\x80\x5f\x5c\x44\x2b'
const ASF_AUDIO = '\x40\x9e\x69\xf8\x4d\x5b\xcf\x11\xa8\xfd\x00\x80\x5f\x5c\x44\x2b'

function asf (b) {
  if (!at(b, 0, ASF_HEADER)) return null
  const size = le64(b, 16)
  if (size < 30n || size > BigInt(b.length)) return F.wmv
  const header = b.subarray(0, Number(size))
  if (indexOf(header, ASF_VIDEO) < 0 && indexOf(header, ASF_AUDIO) >= 0) return F.wma
  return F.wmv
}

function flv (b) {
  return at(b, 0, 'FLV\x01') && b.length >= 9 && be32(b, 5) >= 9 ? F.flv : null
}

function mpegPS (b) {
  if (!at(b, 0, '\x00\x00\x01\xba') || b.length < 5) return null
  return (b[4] & 0xc4) === 0x44 || (b[4] & 0xf1) === 0x21 ? F.mpegps : null
}

const OGG_VIDEO = ['\x80theora', '\x80daala', 'BBCD\x00', '\x01video\x00\x00\x00']
const MAX_OGG_STREAMS = 32

function ogg (b) {
  let off = 0
  for (let s = 0; s < MAX_OGG_STREAMS; s++) {
    if (off + 27 > b.length || !at(b, off, 'OggS') || b[off + 4] !== 0) return null
    if ((b[off + 5] & 0x02) === 0) return off === 0 ? null : F.oga
    const segments = b[off + 26]
    const payload = off + 27 + segments
    if (payload > b.length) return null
    let n = 0
    for (let i = off + 27; i < payload; i++) n += b[i]
    const packet = b.subarray(payload, Math.min(payload + n, b.length))
    if (OGG_VIDEO.some(codec => at(packet, 0, codec))) return F.ogg
    off = payload + n
  }
  return null
}

const MIN_TS_PACKETS = 5

function mpegTS (b) {
  return (tsSynced(b, 0, 188) || tsSynced(b, 4, 192) || tsSynced(b, 0, 204)) && !isText(b) ? F.mpegts : null
}

function tsSynced (b, first, stride) {
  let n = 0
  for (let i = first; i < b.length; i += stride) {
    if (b[i] !== 0x47) return false
    n++
  }
  return n >= MIN_TS_PACKETS
}

function audio (b) {
  if (b.length >= 10 && at(b, 0, 'ID3') && b[3] >= 2 && b[3] <= 4 && b[4] !== 0xff &&
      (b[6] | b[7] | b[8] | b[9]) < 0x80) {
    let end = 10 + (b[6] << 21 | b[7] << 14 | b[8] << 7 | b[9])
    if (b[5] & 0x10) end += 10
    if (end < b.length) {
      if (at(b, end, 'fLaC')) return F.flac
      const found = audioFrame(b.subarray(end))
      if (found) return found
    }
    return F.mp3
  }
  return audioFrame(b)
}

function audioFrame (b) {
  if (b.length < 4 || b[0] !== 0xff || (b[1] & 0xe0) !== 0xe0) return null
  const version = b[1] >> 3 & 0x03
  const layer = b[1] >> 1 & 0x03
  if (layer === 0) return (b[1] & 0xf0) === 0xf0 && (b[2] >> 2 & 0x0f) < 13 ? F.aac : null
  if (layer === 3) return null
  const bitrate = b[2] >> 4
  const rate = b[2] >> 2 & 0x03
  const emphasis = b[3] & 0x03
  if (version === 1 || bitrate === 0x0f || rate === 0x03 || emphasis === 2) return null
  return F.mp3
}

const MAGICS = [
  ['\x89PNG\r\n\x1a\n', F.png],
  ['\xff\xd8\xff', F.jpeg],
  ['GIF87a', F.gif],
  ['GIF89a', F.gif],
  ['%PDF-', F.pdf],
  ['PK\x03\x04', F.zip],
  ['PK\x05\x06', F.zip],
  ['PK\x07\x08', F.zip],
  ['fLaC', F.flac]
]

function magic (b) {
  for (const [prefix, format] of MAGICS) if (at(b, 0, prefix)) return format
  return null
}

function text (b) { return b.length > 0 && isText(b) ? F.text : null }
