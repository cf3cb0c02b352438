// Tests of what the browser remembers (memory.js): node --test static/js/
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Memory, fileKey } from './memory.js'
import { storage } from './fakeserver.mjs'

test('uploads are remembered per link, and forgotten', () => {
  const local = storage()
  const a = new Memory('linkA', { local })
  const b = new Memory('linkB', { local })
  const key = fileKey({ name: 'a.mp4', size: 3, lastModified: 5 })
  a.remember({ videoId: 'v1', key, name: 'a.mp4', size: 3, lastModified: 5 })
  assert.equal(a.recall(key), 'v1')
  assert.equal(b.recall(key), '', 'another link knows nothing of it')
  a.remember({ videoId: 'v1', key, name: 'a.mp4', size: 3, lastModified: 5 }, true)
  assert.deepEqual(a.uploads().map(r => [r.videoId, r.done]), [['v1', true]])
  a.forget({ key })
  assert.deepEqual(a.uploads(), [])
  assert.equal(local.size, 0)
})

test('old records are dropped', () => {
  let now = 0
  const m = new Memory('link', { local: storage(), now: () => now })
  m.remember({ videoId: 'v1', key: 'k', name: 'a', size: 1, lastModified: 1 }, true)
  now = 29 * 864e5
  assert.equal(m.uploads().length, 1)
  now = 31 * 864e5
  assert.equal(m.uploads().length, 0)
})

test('drafts', () => {
  const m = new Memory('link', { session: storage() })
  m.keepDraft('k', { title: 'Ceremony', description: '' })
  assert.deepEqual(m.draft('k'), { title: 'Ceremony', description: '' })
  m.keepDraft('k', { title: '', description: '' })
  assert.deepEqual(m.draft('k'), {})
})

test('blocked storage remembers nothing and throws nothing', () => {
  const throwing = { getItem () { throw new Error('denied') }, setItem () { throw new Error('denied') }, removeItem () { throw new Error('denied') } }
  for (const s of [null, throwing]) {
    const m = new Memory('link', { local: s, session: s })
    m.remember({ videoId: 'v', key: 'k', name: 'a', size: 1, lastModified: 1 })
    assert.equal(m.recall('k'), '')
    m.keepDraft('k', { title: 'x' })
    assert.deepEqual(m.draft('k'), {})
  }
})
