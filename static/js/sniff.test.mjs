// Tests of sniff.js under Node's test runner: node --test static/js/
// (web/uploader_js_test.go runs them from go test). Its agreement with
// the server on every sample is checked from Go (web/sniff/js_test.go).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { detect, refusal, article, HEADER_SIZE } from './sniff.js'

const media = new URL('../../web/sniff/testdata/', import.meta.url)
const head = async name => new Uint8Array((await readFile(new URL(name, media))).subarray(0, HEADER_SIZE))

test('detect names the real files as the server does', async () => {
  for (const [file, name, video] of [
    ['h264-aac-faststart.mp4', 'mp4', true],
    ['h264-aac.mov', 'mov', true],
    ['h264-aac.mkv', 'mkv', true],
    ['vp9-opus.webm', 'webm', true],
    ['mpeg4-mp3.avi', 'avi', true],
    ['h264-aac.ts', 'mpegts', true],
    ['audio-only.mp3', 'mp3', false],
    ['image.png', 'png', false],
    ['archive.zip', 'zip', false],
    ['text-named.mp4', 'text', false]
  ]) {
    const f = detect(await head(file))
    assert.ok(f, `${file}: unknown`)
    assert.equal(f.name, name, file)
    assert.equal(f.video, video, file)
  }
})

test('too few bytes, binary noise and nothing are unknown', () => {
  assert.equal(detect(new Uint8Array([0x00, 0x00, 0x00])), null)
  assert.equal(detect(new Uint8Array([0x00, 0x9c, 0xff, 0x13, 0x00, 0x01])), null)
  assert.equal(detect(new Uint8Array(0)), null)
})

test('refusal says what the file is and what the link takes', async () => {
  const r = refusal(['video'], 'video files (MP4, WebM)', await head('audio-only.mp3'))
  assert.equal(r.code, 'file-type-not-allowed')
  assert.equal(r.status, 415)
  assert.equal(r.detail, 'This is an MP3 audio file. This link takes video files (MP4, WebM).')
  assert.equal(refusal(['video'], 'video files', await head('h264-aac.mov')), null)
  assert.equal(refusal(['any'], 'any file', await head('image.png')), null)
  assert.equal(refusal(['mp4'], 'MP4 files', await head('vp9-opus.webm')).detail, 'This is a WebM file. This link takes MP4 files.')
  assert.equal(refusal(['video'], 'video files', new Uint8Array([1, 2])).detail, 'This is a file of a type uplink does not recognise. This link takes video files.')
})

test('article', () => {
  for (const [label, want] of [['MP4', 'an'], ['MPEG-TS', 'an'], ['AVI', 'an'], ['Ogg video', 'an'], ['WebM', 'a'], ['Matroska (MKV)', 'a'], ['3GPP', 'a'], ['PNG image', 'a'], ['plain text', 'a']]) {
    assert.equal(article(label), want, label)
  }
})
