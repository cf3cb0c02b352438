// Tests of the upload engine (engine.js, session.js, upload.js) under
// Node's test runner, against the fake server of fakeserver.mjs:
// node --test static/js/ (web/uploader_scripts_test.go runs them too).
import { test, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { TRANSITIONS, Failure } from './engine.js'
import { HANDLING } from './codes.js'
import { fakeServer, fakeFile, videoBytes, newEngine, until, storage, API, STATE } from './fakeserver.mjs'

const settled = e => e.uploads.every(u => !['queued', 'active'].includes(u.state))

// Every engine a test makes must announce each upload before anything
// else about it.
const engines = []
afterEach(() => {
  for (const e of engines.splice(0)) assert.deepEqual(e.unannounced, [], 'events before the upload\'s "add"')
})
const track = made => { engines.push(made.engine); return made }

test('a file goes through in parts, in order, and ends with its receipt', async () => {
  const { engine, server, memory } = track(newEngine())
  const f = fakeFile('holiday.mp4', videoBytes(30))
  assert.deepEqual(engine.add([f]), [])
  const [u] = engine.uploads
  assert.equal(u.state, 'ready')
  await u.checked
  engine.start()
  await until(() => u.state === 'done', 2000, 'the upload to finish')
  assert.equal(u.receipt.sha256, 'sum-of-holiday.mp4')
  assert.equal(u.percent, 100)
  assert.equal(u.meta.title, 'Title of holiday.mp4')
  const stored = server.uploads.get(u.videoId)
  assert.deepEqual(Buffer.concat(stored.parts), Buffer.from(videoBytes(30)))
  assert.deepEqual(server.log.filter(l => l.startsWith('PUT')).map(l => l.split('/').pop()), ['1', '2', '3', '4'])
  assert.deepEqual(engine.events.filter(e => e.startsWith('state')), [
    'state:holiday.mp4:queued/queued', 'state:holiday.mp4:active/starting', 'state:holiday.mp4:done/done'
  ])
  // This browser remembers it, finished, for the receipt on a later visit.
  assert.deepEqual(memory.uploads().map(r => [r.videoId, r.done]), [[u.videoId, true]])
})

test('the state machine has no way out of done or cancelled, and every move names a state', () => {
  for (const [from, tos] of Object.entries(TRANSITIONS)) {
    for (const to of tos) assert.ok(to in TRANSITIONS, `${from} -> ${to}`)
  }
  assert.deepEqual(TRANSITIONS.done, [])
  assert.deepEqual(TRANSITIONS.cancelled, [])
  assert.ok(!TRANSITIONS.failed.includes('done'), 'a failed upload is tried again, never done by itself')
})

test('a file of the wrong type is refused before anything is sent', async () => {
  const { engine, server } = track(newEngine())
  const mp3 = await readFile(new URL('../../web/sniff/testdata/audio-only.mp3', import.meta.url))
  engine.add([fakeFile('song.mp3', new Uint8Array(mp3))])
  const [u] = engine.uploads
  await u.checked
  await until(() => u.state === 'failed')
  assert.equal(u.failure.code, 'file-type-not-allowed')
  assert.ok(u.failure.refused && u.failure.final)
  assert.equal(u.failure.detail, 'This is an MP3 audio file. This link takes video files.')
  assert.equal(engine.canRetry(u), false)
  engine.start()
  await new Promise(resolve => setTimeout(resolve, 20))
  assert.deepEqual(server.log, [], 'no request for a refused file')
})

test('a link that takes any file reads nothing of it', async () => {
  const { engine } = track(newEngine({ link: { types: ['any'] } }))
  engine.add([fakeFile('notes.txt', 'hello')])
  assert.equal(await engine.uploads[0].checked, null)
})

test('too large and empty files are refused at once', () => {
  const { engine } = track(newEngine({ link: { maxSize: 10 } }))
  engine.add([fakeFile('big.mp4', videoBytes(11)), fakeFile('empty.mp4', '')])
  const [big, empty] = engine.uploads
  assert.equal(big.state, 'failed')
  assert.equal(big.failure.code, 'file-too-large')
  assert.equal(big.failure.detail, 'This link takes files up to 10 B; this one is 11 B.')
  assert.equal(empty.failure.code, 'file-empty')
})

test('after a network failure the engine asks what the server holds and goes on from there', async () => {
  const { engine, server } = track(newEngine())
  // Part 2 arrives but its answer is lost.
  let lost = false
  server.fail((m, url) => m === 'PUT' && url.endsWith('/parts/2') && !lost, () => { lost = true; return null })
  server.fail((m, url) => m === 'PUT' && url.endsWith('/parts/3'), new Failure(0))
  engine.add([fakeFile('cut.mp4', videoBytes(40))])
  const [u] = engine.uploads
  await u.checked
  engine.start()
  await until(() => u.state === 'done')
  const after = server.log.slice(server.log.findIndex(l => l.endsWith('/parts/3')) + 1)
  assert.equal(after[0], `GET ${API}/${u.videoId}`, 'the next call after the failure asks what the server holds')
  assert.equal(Buffer.concat(server.uploads.get(u.videoId).parts).length, 40)
})

test('online() ends a long wait at once', async () => {
  const { engine, server } = track(newEngine({ timers: { delay: 60e3, maxDelay: 60e3, probe: 60e3 } }))
  server.fail((m, url) => m === 'PUT' && url.endsWith('/parts/2'), new Failure(0))
  engine.add([fakeFile('train.mp4', videoBytes(24))])
  const [u] = engine.uploads
  await u.checked
  engine.start()
  await until(() => u.phase === 'waiting')
  const t0 = Date.now()
  engine.online()
  await until(() => u.state === 'done', 1000, 'the upload to go on without waiting out its delay')
  assert.ok(Date.now() - t0 < 500)
})

test('online() with the network not quite up: the first try fails, the next probe that succeeds goes on', async () => {
  const { engine, server } = track(newEngine({ timers: { delay: 60e3, maxDelay: 60e3, probe: 10 } }))
  // Part 2 fails, then the first tries after online() fail too, as when
  // the device has a link but no route yet.
  server.fail((m, url) => m === 'PUT' && url.endsWith('/parts/2'), new Failure(0))
  engine.add([fakeFile('tunnel.mp4', videoBytes(24))])
  const [u] = engine.uploads
  await u.checked
  engine.start()
  await until(() => u.phase === 'waiting')
  server.fail(() => true, new Failure(0), 2)
  const t0 = Date.now()
  engine.online()
  await until(() => u.state === 'done', 1500, 'the upload to go on once the server answers')
  assert.ok(Date.now() - t0 < 1000, 'no countdown after online()')
})

test('a probe that succeeds with no failure before does not cut the wait short (a reset, not a lost network)', async () => {
  const { engine, server } = track(newEngine({ timers: { delay: 300, maxDelay: 300, probe: 5 } }))
  server.fail((m, url) => m === 'PUT' && url.endsWith('/parts/1'), new Failure(0))
  engine.add([fakeFile('reset.mp4', videoBytes(24))])
  const [u] = engine.uploads
  await u.checked
  engine.start()
  await until(() => u.phase === 'waiting')
  const t0 = Date.now()
  await until(() => u.state === 'done')
  assert.ok(Date.now() - t0 >= 100, `went on after ${Date.now() - t0} ms, want the wait (150 to 300 ms) to run its course`)
})

test('pause, resume and cancel; cancel frees the slot on the server', async () => {
  const { engine, server } = track(newEngine({ server: undefined }))
  server.maxUploads = 2
  engine.link.remaining = 2
  engine.add([fakeFile('long.mp4', videoBytes(80))])
  const [u] = engine.uploads
  await u.checked
  engine.start()
  await until(() => u.nextPart > 2)
  engine.pause(u)
  await until(() => u.state === 'paused')
  const held = server.uploads.get(u.videoId).nextPart
  engine.resume(u)
  await until(() => u.state === 'active' && u.nextPart > held)
  engine.cancel(u)
  await until(() => u.state === 'cancelled')
  await until(() => server.log.includes(`DELETE ${API}/${u.videoId}`))
  await until(() => engine.link.remaining === 2, 1000, 'the freed slot to show')
  assert.ok(server.uploads.get(u.videoId).released)
})

test('a refusal of the link halts the files not yet under way', async () => {
  const { engine, server } = track(newEngine())
  server.state = 'link-used-up'
  engine.add([fakeFile('one.mp4', videoBytes(24, 1)), fakeFile('two.mp4', videoBytes(24, 2))])
  await Promise.all(engine.uploads.map(u => u.checked))
  engine.start()
  await until(() => settled(engine))
  assert.deepEqual(engine.uploads.map(u => [u.state, u.failure.code]), [['failed', 'link-used-up'], ['failed', 'link-used-up']])
  assert.equal(engine.halted.code, 'link-used-up')
  assert.equal(engine.canRetry(engine.uploads[0]), false)
  assert.equal(engine.events.filter(e => e === 'halt').length, 1)
})

test('an upload the server let go is started again once', async () => {
  const { engine, server } = track(newEngine())
  server.fail((m, url) => m === 'PUT' && url.endsWith('/parts/2'), () => {
    for (const u of server.uploads.values()) u.released = true
    return new Failure(410, { code: 'upload-abandoned', title: 'This upload was abandoned.' })
  })
  engine.add([fakeFile('idle.mp4', videoBytes(16))])
  const [u] = engine.uploads
  await u.checked
  engine.start()
  await until(() => settled(engine))
  assert.equal(u.state, 'done')
  assert.equal(server.log.filter(l => l.startsWith('POST')).length, 2)
})

test('part-out-of-order jumps to the part the server needs', async () => {
  const { engine, server } = track(newEngine())
  engine.add([fakeFile('jump.mp4', videoBytes(24))])
  const [u] = engine.uploads
  await u.checked
  // The server already holds part 1 of it from elsewhere.
  server.fail((m, url) => m === 'PUT' && url.endsWith('/parts/1'), () => {
    const s = server.uploads.get(u.videoId)
    s.parts.push(videoBytes(24).subarray(0, 8))
    s.nextPart = 2
    return new Failure(409, { code: 'part-out-of-order', title: 'Parts must be sent in order.', nextPart: 2 })
  })
  engine.start()
  await until(() => u.state === 'done')
  assert.equal(server.log.filter(l => l.endsWith('/parts/1')).length, 1)
})

test('busy answers (part-in-flight, 429) are tried again', async () => {
  const { engine, server } = track(newEngine())
  server.fail((m, url) => m === 'PUT' && url.endsWith('/parts/1'), new Failure(409, { code: 'part-in-flight', title: 'This part is being sent already.' }))
  server.fail(m => m === 'POST', new Failure(429, { code: 'too-many-requests', title: 'Too many uploads were started from your network.' }))
  engine.add([fakeFile('busy.mp4', videoBytes(24))])
  await engine.uploads[0].checked
  engine.start()
  await until(() => engine.uploads[0].state === 'done')
})

test('a refusal that trying again cannot fix fails the file, with "Try again" offered', async () => {
  const { engine, server } = track(newEngine())
  server.fail((m, url) => m === 'PUT', new Failure(422, { code: 'upload-refused', title: 'The upload was refused.' }))
  engine.add([fakeFile('odd.mp4', videoBytes(24))])
  const [u] = engine.uploads
  await u.checked
  engine.start()
  await until(() => u.state === 'failed')
  assert.ok(engine.canRetry(u))
  engine.resume(u)
  await until(() => u.state === 'done')
})

test('restore shows this browser\'s finished uploads and waits for the file of an unfinished one', async () => {
  const { server, transport } = fakeServer()
  const local = storage()
  const first = track(newEngine({ server, transport, local }))
  const done = fakeFile('done.mp4', videoBytes(24, 1))
  const half = fakeFile('half.mp4', videoBytes(24, 3))
  server.fail((m, url) => m === 'PUT' && url.endsWith('/parts/2') && url.includes('vi2'), new Failure(400, { code: 'invalid-request', title: 'Stop here.' }))
  first.engine.add([done, half])
  await Promise.all(first.engine.uploads.map(u => u.checked))
  first.engine.start()
  await until(() => settled(first.engine))
  assert.deepEqual(first.engine.uploads.map(u => u.state), ['done', 'failed'])

  // A later visit, in the same browser.
  const later = track(newEngine({ server, transport, local }))
  await later.engine.restore()
  const byName = Object.fromEntries(later.engine.uploads.map(u => [u.name, u]))
  assert.equal(byName['done.mp4'].state, 'done')
  assert.equal(byName['done.mp4'].phase, 'earlier')
  assert.ok(byName['done.mp4'].prior)
  assert.equal(byName['done.mp4'].receipt.sha256, 'sum-of-done.mp4')
  assert.equal(byName['half.mp4'].state, 'missing')
  assert.equal(byName['half.mp4'].percent, 33)
  assert.deepEqual(server.log.filter(l => l.startsWith('GET')).slice(-2).sort(), [`GET ${API}/vi1`, `GET ${API}/vi2`])

  // Choosing the file again continues it.
  later.engine.add([half])
  const u = byName['half.mp4']
  assert.equal(later.engine.uploads.length, 2, 'the file joins its row')
  await u.checked
  later.engine.start()
  await until(() => u.state === 'done')
  assert.equal(server.uploads.get('vi2').parts.length, 3)

  // A browser that remembers nothing shows nothing.
  const other = track(newEngine({ server, transport }))
  await other.engine.restore()
  assert.equal(other.engine.uploads.length, 0)
})

test('restore forgets an upload the server does not know', async () => {
  const { server, transport } = fakeServer()
  const local = storage()
  const { engine, memory } = track(newEngine({ server, transport, local }))
  memory.remember({ videoId: 'vigone', key: '["x.mp4",1,1]', name: 'x.mp4', size: 1, lastModified: 1 }, true)
  await engine.restore()
  assert.equal(engine.uploads.length, 0)
  assert.deepEqual(memory.uploads(), [])
})

test('a one-time link takes one file; once this page holds its slot, no more', async () => {
  const { server, transport } = fakeServer({ maxUploads: 1 })
  const { engine } = track(newEngine({ server, transport }))
  assert.equal(engine.slotsLeft(), 1)
  engine.add([fakeFile('a.mp4', videoBytes(24, 1))])
  assert.equal(engine.slotsLeft(), 0)
  assert.equal(engine.add([fakeFile('b.mp4', videoBytes(24, 2))]).length, 1, 'a second file is left out')
  await engine.uploads[0].checked
  engine.start()
  await until(() => settled(engine))
  assert.equal(engine.slotsLeft(), 0, 'the page used the link\'s upload')
  await engine.refreshLink()
  assert.equal(engine.link.remaining, 0)
})

test('a link used up elsewhere: the state says so; revoked halts', async () => {
  const { server, transport } = fakeServer({ maxUploads: 3 })
  const { engine } = track(newEngine({ server, transport }))
  server.completed = 1
  await engine.refreshLink()
  assert.equal(engine.link.remaining, 2)
  server.state = 'link-used-up'
  await engine.refreshLink()
  assert.equal(engine.link.closed, 'link-used-up')
  assert.equal(engine.halted, null)
  server.state = 'link-revoked'
  await engine.refreshLink()
  assert.equal(engine.halted.code, 'link-revoked')
  assert.ok(server.log.every(l => l === `GET ${STATE}`))
})

test('every code the engine acts on is in HANDLING', () => {
  for (const how of Object.values(HANDLING)) assert.ok(['halt', 'final', 'restart', 'jump', 'retry', 'generic'].includes(how))
  assert.equal(new Failure(409, { code: 'part-in-flight' }).retryable, true)
  assert.equal(new Failure(409, { code: 'link-busy' }).retryable, false)
  assert.equal(new Failure(503, { code: 'internal-error' }).retryable, true)
  assert.equal(new Failure(0).retryable, true)
})

test('a network lost before the session exists is found again by probing the link, without online()', async () => {
  const { engine, server } = track(newEngine({ timers: { delay: 60e3, maxDelay: 60e3, probe: 10 } }))
  // Every call fails for a while (the start, then the probes), as
  // behind a wifi that lets nothing through, then all go through.
  server.fail(() => true, new Failure(0), 4)
  engine.add([fakeFile('hotel.mp4', videoBytes(24))])
  const [u] = engine.uploads
  await u.checked
  engine.start()
  await until(() => u.state === 'done', 2000, 'the upload to go on once the server answers')
  assert.ok(server.log.filter(l => l === `GET ${STATE}`).length >= 3, 'the link was probed')
})
