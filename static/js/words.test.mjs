// Tests of what the upload page says (words.js): node --test static/js/
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { summary, statusText, uploadsText, receiptsOnly, bytes, formatBytes } from './words.js'
import { Upload } from './upload.js'
import { Failure } from './codes.js'

const up = (name, state, extra = {}) => Object.assign(new Upload({ key: name, name, size: 100, lastModified: 1 }), { state, phase: state }, extra)
const refusedMP3 = new Failure(415, { code: 'file-type-not-allowed', title: 'This type of file is not accepted.', detail: 'This is an MP3 audio file. This link takes video files (MP4, WebM).' })
const cut = new Failure(0)

test('the summary tells the truth about a batch', () => {
  assert.deepEqual(summary([up('a', 'done')]), { good: true, text: 'Thank you. Everything has arrived.' })
  assert.deepEqual(summary([up('a', 'done'), up('b', 'done'), up('c', 'done')]), { good: true, text: 'Thank you. All 3 files have arrived.' })
  assert.deepEqual(summary([up('a', 'done'), up('b', 'done'), up('c', 'failed', { failure: refusedMP3 })]),
    { good: false, text: '2 of 3 arrived; 1 was refused: this is an MP3 audio file, this link takes video files.' })
  assert.deepEqual(summary([up('a', 'done'), up('b', 'failed', { failure: refusedMP3 }), up('c', 'failed', { failure: cut })]),
    { good: false, text: '1 of 3 arrived; 1 was refused: this is an MP3 audio file, this link takes video files; 1 did not arrive: the connection was interrupted.' })
  assert.deepEqual(summary([up('a', 'failed', { failure: refusedMP3 }), up('b', 'failed', { failure: refusedMP3 })]),
    { good: false, text: 'None of the 2 files arrived; 2 were refused: this is an MP3 audio file, this link takes video files.' })
  assert.deepEqual(summary([up('a', 'failed', { failure: refusedMP3 })]),
    { good: false, text: 'The file was refused: this is an MP3 audio file, this link takes video files.' })
  assert.deepEqual(summary([up('a', 'done'), up('b', 'cancelled')]), { good: true, text: 'Thank you. Everything has arrived; 1 was cancelled.' })
  const tooBig = new Failure(413, { code: 'file-too-large', title: 'The file is too large.', detail: 'This link takes files up to 1 GiB; this one is 2 GiB.' })
  assert.equal(summary([up('a', 'done'), up('b', 'failed', { failure: refusedMP3 }), up('c', 'failed', { failure: tooBig })]).text,
    '1 of 3 arrived; 2 were refused: see each file below.')
})

test('no summary while an upload is left to go, or with nothing done', () => {
  assert.equal(summary([up('a', 'done'), up('b', 'active')]), null)
  assert.equal(summary([up('a', 'done'), up('b', 'paused')]), null)
  assert.equal(summary([up('a', 'cancelled')]), null)
  assert.equal(summary([]), null)
})

test('uploads of an earlier visit count only when this visit has none', () => {
  assert.deepEqual(summary([up('old', 'done', { prior: true })]), { good: true, text: 'Thank you. Everything has arrived.' })
  assert.equal(summary([up('old', 'done', { prior: true }), up('new', 'ready')]), null)
  assert.equal(summary([up('old', 'done', { prior: true }), up('new', 'failed', { failure: refusedMP3 })]).good, false)
})

test('status lines', () => {
  assert.equal(statusText(up('a', 'waiting', { wait: { left: 7200, failure: cut, offline: false } })), 'The connection was interrupted. Trying again in 8 s…')
  assert.equal(statusText(up('a', 'waiting', { wait: { left: 7200, failure: cut, offline: true } })), 'You are offline. The upload continues by itself when the connection is back.')
  assert.equal(statusText(up('a', 'failed', { failure: refusedMP3 })), 'This type of file is not accepted. This is an MP3 audio file. This link takes video files (MP4, WebM).')
  assert.equal(statusText(Object.assign(up('a', 'missing'), { nextPart: 2, chunkSize: 50 })), '50% of it arrived on an earlier visit. Choose the same file again to continue where it stopped.')
})

test('uploads left, and when to show only receipts', () => {
  assert.equal(uploadsText({ maxUploads: 3, remaining: 2 }, []), 'Up to 3 uploads (2 left)')
  assert.equal(uploadsText({ maxUploads: 1, remaining: 0 }, []), '')
  assert.equal(uploadsText({ maxUploads: 1, remaining: 0 }, [up('a', 'active', { videoId: 'v' })]), 'One upload')
  assert.equal(uploadsText({ maxUploads: 0, remaining: -1 }, []), '')
  assert.equal(receiptsOnly({ closed: '' }, [up('a', 'done')], 0), true)
  assert.equal(receiptsOnly({ closed: 'link-used-up' }, [up('a', 'done')], Infinity), true)
  assert.equal(receiptsOnly({ closed: '' }, [up('a', 'done')], 1), false)
  assert.equal(receiptsOnly({ closed: 'link-used-up' }, [up('a', 'done'), up('b', 'missing')], 0), false)
  assert.equal(receiptsOnly({ closed: 'link-used-up' }, [], 0), false)
})

test('bytes', () => {
  assert.equal(bytes(512), '512 B')
  assert.equal(bytes(1536), '1.5 KiB')
  assert.equal(bytes(40 << 20), '40 MiB')
})

test('formatBytes writes sizes as the server does', () => {
  for (const [n, want] of [[512, '512 B'], [1024, '1 KiB'], [1536, '1.5 KiB'], [10 * 2 ** 30, '10 GiB'], [128545, '125.5 KiB']]) assert.equal(formatBytes(n), want)
})
