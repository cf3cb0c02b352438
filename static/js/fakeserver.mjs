// A fake of the server side of the uploader's protocol, for the engine's
// tests (engine.test.mjs): an in-memory link with its uploads, reached
// through a transport with the browser transport's two methods, where a
// test can make any call fail once or for a while. Not a test file
// itself; node --test runs only *.test.mjs, and the binary embeds only
// *.js (static/static.go).

import { Failure } from './codes.js'
import { Memory } from './memory.js'
import { Engine } from './engine.js'

export const API = '/u/link/uploads'
export const STATE = '/u/link/state'

// fakeFile is a File of the given bytes (a string or a Uint8Array).
export function fakeFile (name, content, lastModified = 1700000000000) {
  const data = typeof content === 'string' ? new TextEncoder().encode(content) : content
  return new File([data], name, { lastModified })
}

// videoBytes is n bytes that the type check takes for an MP4 video.
export function videoBytes (n, seed = 1) {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 17) % 251
  const head = [0, 0, 0, 24, ...ascii('ftypisom'), 0, 0, 2, 0, ...ascii('isommp41')]
  b.set(head.slice(0, n))
  return b
}
const ascii = s => Array.from(s, c => c.charCodeAt(0))

// storage is a Storage backed by a Map.
export function storage () {
  const m = new Map()
  return {
    getItem: k => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => m.set(k, String(v)),
    removeItem: k => m.delete(k),
    get size () { return m.size }
  }
}

// fakeServer returns the server and its transport. maxUploads 0 is any
// number. Each call is logged in server.log as "METHOD path".
export function fakeServer ({ chunkSize = 8, maxUploads = 0 } = {}) {
  const server = {
    chunkSize,
    maxUploads,
    completed: 0,
    uploads: new Map(), // videoId -> upload
    log: [],
    faults: [], // { when(method, url), failure, times }
    state: 'open',
    // fail makes the next times calls that when(method, url) matches
    // fail with failure (a Failure, or a function returning one).
    fail (when, failure, times = 1) { this.faults.push({ when, failure, times }) },
    inFlight () { return [...this.uploads.values()].filter(u => !u.complete && !u.released).length },
    remaining () { return this.maxUploads ? Math.max(0, this.maxUploads - this.completed - this.inFlight()) : -1 }
  }
  const view = (u, status = 200) => ({
    $status: status,
    videoId: u.videoId,
    filename: u.filename,
    size: u.size,
    chunkSize: server.chunkSize,
    totalParts: u.totalParts,
    nextPart: u.nextPart,
    uploadedBytes: Math.min(u.size, (u.nextPart - 1) * server.chunkSize),
    complete: u.complete,
    receipt: u.complete ? { filename: u.filename, size: u.size, sha256: 'sum-of-' + u.filename, completedAt: '2026-12-03T06:33:48Z' } : null
  })
  const problem = (status, code, title, extra) => new Failure(status, { code, title, detail: '', ...extra })
  const fault = (method, url) => {
    const f = server.faults.find(f => f.times > 0 && f.when(method, url))
    if (!f) return null
    f.times--
    return typeof f.failure === 'function' ? f.failure() : f.failure
  }
  let serial = 0
  const call = async (method, url, body) => {
    server.log.push(`${method} ${url}`)
    await Promise.resolve()
    const bad = fault(method, url)
    if (bad) throw bad
    if (url === STATE) {
      if (server.state !== 'open') return { $status: 200, state: server.state, remaining: 0, maxUploads: server.maxUploads, title: 'Closed.' }
      return { $status: 200, state: 'open', remaining: server.remaining(), maxUploads: server.maxUploads }
    }
    if (method === 'POST') {
      const same = [...server.uploads.values()].find(u => !u.released && u.filename === body.filename && u.size === body.size && u.lastModified === body.lastModified)
      if (same) return view(same, 200)
      if (server.state !== 'open') throw problem(410, server.state, 'This link has been used.')
      if (server.remaining() === 0) throw problem(409, 'link-busy', 'This link is in use.')
      const u = { videoId: 'vi' + ++serial, ...body, totalParts: Math.ceil(body.size / server.chunkSize), nextPart: 1, complete: false, parts: [] }
      server.uploads.set(u.videoId, u)
      return view(u, 201)
    }
    const u = server.uploads.get(decodeURIComponent(url.slice(API.length + 1)))
    if (!u) throw problem(404, 'upload-not-found', 'Upload not found.')
    if (method === 'DELETE') {
      u.released = true
      return {}
    }
    return view(u)
  }
  const put = (url, blob, o) => {
    server.log.push(`PUT ${url}`)
    let abort
    const done = new Promise((resolve, reject) => {
      abort = () => reject(new Failure(0))
      setTimeout(async () => {
        try {
          const bad = fault('PUT', url)
          if (bad) throw bad
          const [, id, n] = url.match(/\/([^/]+)\/parts\/(\d+)$/)
          const u = server.uploads.get(decodeURIComponent(id))
          if (!u || u.released) throw problem(410, 'upload-abandoned', 'This upload was stopped.')
          const part = Number(n)
          if (part < u.nextPart || u.complete) return resolve(view(u))
          if (part > u.nextPart) throw problem(409, 'part-out-of-order', 'Parts must be sent in order.', { nextPart: u.nextPart })
          const bytes = new Uint8Array(await blob.arrayBuffer())
          o.onProgress(bytes.length)
          u.parts.push(bytes)
          u.nextPart++
          if (u.nextPart > u.totalParts) {
            u.complete = true
            server.completed++
          }
          resolve(view(u))
        } catch (e) {
          reject(e)
        }
      }, 1)
    })
    return { done, abort: () => abort() }
  }
  return { server, transport: { call, put } }
}

// fastTimers are timers short enough for tests.
export const fastTimers = { stall: 1000, reply: 1000, call: 1000, delay: 5, maxDelay: 20, probe: 5, finishing: 5 }

// newEngine makes an engine on a fake server; events are logged in
// engine.events as "type:file:state/phase".
export function newEngine ({ server, transport, link = {}, timers = {}, local = storage(), session = storage(), online } = {}) {
  if (!server) ({ server, transport } = fakeServer())
  const memory = new Memory('link', { local, session })
  const engine = new Engine({
    api: API,
    stateURL: STATE,
    transport,
    link: { remaining: server.remaining(), maxUploads: server.maxUploads, types: ['video'], typesText: 'video files', ...link },
    memory,
    timers: { ...fastTimers, ...timers },
    online,
    random: () => 0.5,
    describe: u => ({ title: 'Title of ' + u.name })
  })
  engine.events = []
  // unannounced are the events about an upload that came before its
  // "add": the page would have no row to draw them in.
  engine.unannounced = []
  const announced = new Set()
  engine.on('add', u => announced.add(u))
  for (const type of ['add', 'state', 'phase', 'progress', 'wait', 'started', 'halt', 'remove', 'trouble', 'link']) {
    engine.on(type, d => {
      const upload = d && d.key !== undefined
      if (upload && !announced.has(d)) engine.unannounced.push(`${type}:${d.name}`)
      if (type !== 'progress' && type !== 'wait') engine.events.push(upload ? `${type}:${d.name}:${d.state}/${d.phase}` : type)
    })
  }
  return { engine, server, memory, local }
}

// until resolves once cond() holds, or rejects after ms.
export function until (cond, ms = 2000, what = 'the condition') {
  return new Promise((resolve, reject) => {
    const end = Date.now() + ms
    const check = () => {
      if (cond()) return resolve()
      if (Date.now() > end) return reject(new Error(`timed out waiting for ${what}`))
      setTimeout(check, 1)
    }
    check()
  })
}
