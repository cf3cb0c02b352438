// engine.js: the upload engine of the uploader, as Mux's UpChunk keeps
// one apart from the page that draws it. It holds the files, runs their
// sessions and parts, retries, and reports every change as an event; it
// never touches the DOM. The page (uploader.js) draws what it reports and
// calls it when the person acts. Its tests (engine.test.mjs) drive it
// through a fake transport.
//
// Files go one after another, one part in flight at a time, in order: the
// server checks the type on the first bytes and hashes the file as it
// passes. The protocol, through the transport (transport.js):
//
//	POST   {api}                       open or resume a session for a file
//	GET    {api}/{videoId}             what the server holds (source of truth)
//	PUT    {api}/{videoId}/parts/{n}   part n, raw bytes
//	DELETE {api}/{videoId}             cancel
//	GET    {stateURL}                  the link: open or why not, uploads left
//
// Network errors, timeouts and 5xx answers are retried for as long as the
// page is open, with exponential backoff and jitter; while it waits after
// a network failure, the engine looks for the server every TIMERS.probe
// and goes on as soon as it answers again, and online() (the browser's
// "online" event) ends any wait at once. Before re-sending, it asks the
// server which part it needs next.

import { Emitter, Upload, TRANSITIONS } from './upload.js'
import { Failure, pageError } from './codes.js'
import { Sessions } from './session.js'
import { fileKey } from './memory.js'
import { refusal, HEADER_SIZE } from './sniff.js'
import { formatBytes } from './words.js'

export { Upload, TRANSITIONS, Failure }

// DEFAULT_TIMERS are the engine's timers, in milliseconds.
export const DEFAULT_TIMERS = Object.freeze({
  stall: 60e3, // no upload progress for this long: give up on the part and retry
  reply: 120e3, // part sent, no answer for this long: ask the server what it holds
  call: 30e3, // timeout of the JSON calls
  delay: 1e3, // first retry delay; it doubles after each failure
  maxDelay: 30e3, // cap of the retry backoff
  probe: 2e3, // while waiting after a network failure, how often to look for the server
  finishing: 2e3 // how often to ask whether the server has finished the file
})

// Engine runs the uploads of one page.
//
// Options: api and stateURL (the endpoints above); transport; link, what
// the page was told of the link ({ remaining: -1 for any number,
// maxUploads, maxSize, types, typesText, closed: the code of why it takes
// no new uploads, or "", and then title and detail: why, in words });
// memory (memory.js); describe(upload), the
// metadata to start an upload with; timers; and, for tests, clock
// ({ setTimeout, clearTimeout, setInterval, clearInterval }), online()
// and random().
//
// Events (on): "add", "state", "phase", "progress", "wait" and "remove"
// with the upload, "add" always first; "started" with the upload when the server opened a
// session for it; "trouble" with an upload whose connection failed three
// times running; "halt" with the Failure that stopped the link; "link"
// when what is known of the link changed.
export class Engine extends Emitter {
  constructor (o) {
    super()
    const engine = this
    this.api = o.api
    this.stateURL = o.stateURL
    this.transport = o.transport
    this.link = { remaining: -1, maxUploads: 0, maxSize: 0, types: ['any'], typesText: 'any file', closed: '', ...o.link }
    this.memory = o.memory
    this.describe = o.describe || (() => ({}))
    this.timers = { ...DEFAULT_TIMERS, ...o.timers }
    this.clock = o.clock || globalThis
    this.isOnline = o.online || (() => true)
    this.random = o.random || Math.random
    this.uploads = []
    this.halted = null // the Failure that stopped the link
    this.sessions = new Sessions({
      api: this.api,
      stateURL: this.stateURL,
      transport: this.transport,
      timers: this.timers,
      clock: this.clock,
      isOnline: this.isOnline,
      random: this.random,
      memory: this.memory,
      describe: u => this.describe(u),
      emit: (type, detail) => this.emit(type, detail),
      phase: (u, phase) => this.#phase(u, phase),
      halt: e => this.#halt(e),
      setLink: st => this.setLink(st),
      get link () { return engine.link }
    })
  }

  // ---- what the page asks

  // add takes files the person chose. A file already in the list is not
  // added twice; one this browser remembers without its file gets it. It
  // returns the files left out because the link takes no more.
  add (files) {
    const skipped = []
    for (const file of files) {
      const key = fileKey(file)
      const waiting = this.uploads.find(u => u.key === key && u.state === 'missing')
      if (waiting) {
        waiting.file = file
        this.#to(waiting, 'ready', 'ready')
        this.#check(waiting)
        continue
      }
      if (this.uploads.some(u => u.key === key && !['cancelled', 'failed'].includes(u.state))) continue
      const hinted = !!this.memory.recall(key)
      if (!hinted && this.slotsLeft() <= 0) {
        skipped.push(file)
        continue
      }
      const u = new Upload({ file, key })
      u.hinted = hinted
      this.uploads.push(u)
      this.emit('add', u)
      this.#check(u)
    }
    return skipped
  }

  // start queues every file that is ready. A file added later waits
  // for start again, so that it can be given its own title first.
  start () {
    for (const u of this.uploads) if (u.state === 'ready') this.#to(u, 'queued', 'queued')
    this.#pump()
  }

  pause (u) {
    if (u.state !== 'active') return
    this.#phase(u, 'pausing')
    this.#interrupt(u, 'pause')
  }

  // canRetry says whether "Try again" can help a failed upload.
  canRetry (u) { return u.state === 'failed' && !this.halted && !(u.failure && u.failure.final) }

  resume (u) {
    if (this.halted || !(u.state === 'paused' || this.canRetry(u))) return
    Object.assign(u, { stop: '', resync: !!u.videoId, attempt: 0, restarted: false, failure: null })
    this.#to(u, 'queued', 'queued')
    this.#pump()
  }

  // cancel stops an upload for good and frees its slot on the server.
  cancel (u) {
    if (u.running) return this.#interrupt(u, 'cancel')
    if (['ready', 'queued', 'paused'].includes(u.state)) {
      u.stop = 'cancel'
      this.#stopped(u)
    }
  }

  // discard takes a failed upload off the list.
  discard (u) {
    if (u.state !== 'failed') return
    this.uploads.splice(this.uploads.indexOf(u), 1)
    this.emit('remove', u)
  }

  // online is the browser's "online" event: the device has a network
  // again. Every wait ends at once, and a network failure right after
  // (the network not quite up yet) is waited out with the shortest delay
  // and ends as soon as the server answers.
  online () {
    for (const u of this.uploads) {
      u.gone = true
      u.attempt = 0
      if (u.wake) u.wake()
    }
  }

  // offline is the browser's "offline" event: parts in flight are given
  // up at once rather than after the stall timer.
  offline () {
    for (const u of this.uploads) if (u.abort) u.abort()
  }

  // wake ends the waits early, for instance when the page is visible
  // again after a phone kept it in the background.
  wake () {
    for (const u of this.uploads) if (u.wake) u.wake()
  }

  // restore shows what this browser uploaded through the link on earlier
  // visits: finished uploads with their receipts, and unfinished ones
  // waiting for their file to be chosen again. Only uploads this browser
  // remembers are asked for, by their videoId.
  async restore () {
    await Promise.all(this.memory.uploads().map(async r => {
      if (this.uploads.some(u => u.key === r.key)) return
      let s
      try { s = await this.sessions.call('GET', `${this.api}/${encodeURIComponent(r.videoId)}`) } catch (e) {
        if (!e.retryable) this.memory.forget(r)
        return
      }
      if (this.uploads.some(u => u.key === r.key)) return
      const u = new Upload({ key: r.key, name: r.name, size: r.size, lastModified: r.lastModified })
      u.videoId = s.videoId || r.videoId
      this.sessions.apply(u, s, true)
      if (s.complete && s.receipt) {
        u.prior = true
        u.state = 'done'
        u.phase = 'earlier'
      } else if (s.uploadedBytes === undefined || (s.nextPart || 1) <= 1) {
        return // Nothing of it arrived: nothing to show.
      } else {
        // The session call finds it again once its file is chosen.
        u.videoId = ''
        u.hinted = true
        u.state = 'missing'
        u.phase = 'missing'
      }
      this.uploads.push(u)
      this.emit('add', u)
    }))
  }

  // setLink takes what the server says of the link (GET stateURL).
  setLink (st) {
    if (!st || !st.state) return
    const closed = st.state === 'open' ? '' : st.state
    this.link = {
      ...this.link,
      remaining: closed ? this.link.remaining : st.remaining,
      maxUploads: st.maxUploads,
      closed,
      title: st.title || '',
      detail: st.detail || ''
    }
    if (closed === 'link-revoked' || closed === 'link-not-found') this.#halt(new Failure(410, { code: closed, title: st.title, detail: st.detail }))
    this.emit('link', this.link)
  }

  // refreshLink asks the server about the link, and reports whether it
  // answered.
  async refreshLink () {
    try {
      this.setLink(await this.sessions.call('GET', this.stateURL))
      return true
    } catch (e) {
      if (e.code === 'link-not-found') this.setLink({ state: e.code, title: e.message, detail: e.detail })
      return false
    }
  }

  // slotsLeft is how many more files may be added. The server's count
  // leaves out the slots held by unfinished uploads, which may be this
  // person's own, coming back to resume: so, while this page holds no
  // slot itself, one file may always be added. Files this browser knows
  // as unfinished uploads take no new slot. The server has the last word
  // (link-busy).
  slotsLeft () {
    const { remaining } = this.link
    if (remaining < 0) return Infinity
    const holding = this.uploads.some(u => u.videoId && ['queued', 'active', 'paused', 'done'].includes(u.state) && !u.prior)
    const pending = this.uploads.filter(u => ['ready', 'queued', 'active'].includes(u.state) && !u.videoId && !u.hinted)
    return Math.max(remaining, holding ? 0 : 1) - pending.length
  }

  busy () { return this.uploads.some(u => u.state === 'active' || u.state === 'queued') }

  // open says whether some upload is still to go (not done, failed or
  // cancelled).
  open () { return this.uploads.some(u => ['ready', 'queued', 'active', 'paused'].includes(u.state)) }

  // ---- the state machine

  #to (u, state, phase) {
    if (u.state !== state && !TRANSITIONS[u.state].includes(state)) {
      throw new Error(`uploader: ${u.name} cannot go from ${u.state} to ${state}`)
    }
    u.state = state
    u.phase = phase || state
    this.emit('state', u)
  }

  #phase (u, phase) {
    if (u.phase === phase) return
    u.phase = phase
    this.emit('phase', u)
  }

  #fail (u, e) {
    e = pageError(e)
    u.loaded = 0
    u.failure = e
    this.#to(u, 'failed', 'failed')
  }

  // #halt stops everything after a refusal that concerns the whole link.
  #halt (e) {
    if (this.halted) return
    this.halted = e
    for (const u of this.uploads) {
      if (u.state === 'ready' || u.state === 'queued') this.#fail(u, e)
    }
    this.emit('halt', e)
  }

  // ---- checks before anything is sent

  // #check refuses a file the server would refuse (size, emptiness, type
  // by its first bytes, as web/sniff), then shows what an earlier visit
  // uploaded of it. u.checked resolves to the refusal, or null.
  #check (u) {
    const f = u.file
    const bad = this.link.maxSize > 0 && f.size > this.link.maxSize
      ? new Failure(413, { code: 'file-too-large', title: 'The file is too large.', detail: `This link takes files up to ${formatBytes(this.link.maxSize)}; this one is ${formatBytes(f.size)}.` })
      : f.size === 0 ? new Failure(400, { code: 'file-empty', title: 'The file is empty.', detail: 'Choose a file that has something in it.' }) : null
    if (bad) {
      u.checked = Promise.resolve(bad)
      this.#fail(u, bad)
      return
    }
    u.checked = this.#sniff(u)
    u.checked.then(ref => {
      if (ref && (u.state === 'ready' || u.state === 'queued')) this.#fail(u, ref)
      else if (!ref) this.#peek(u)
    })
  }

  async #sniff (u) {
    const types = this.link.types || []
    if (types.includes('any')) return null
    let head
    try {
      head = new Uint8Array(await u.file.slice(0, HEADER_SIZE).arrayBuffer())
    } catch (_) {
      return null // Unreadable: the upload says so when it starts.
    }
    const r = refusal(types, this.link.typesText, head)
    return r && new Failure(r.status, r)
  }

  // #peek shows what an earlier visit already uploaded of this file, when
  // this browser remembers it. The session call does the real matching.
  async #peek (u) {
    const id = this.memory.recall(u.key)
    if (!id || u.videoId) return
    let s
    try { s = await this.sessions.call('GET', `${this.api}/${encodeURIComponent(id)}`) } catch (e) {
      if (!e.retryable) this.memory.forget({ key: u.key })
      return
    }
    if (u.state !== 'ready' && u.state !== 'queued') return
    if (s.complete && s.receipt) {
      u.prior = true
      u.videoId = s.videoId || id
      this.sessions.apply(u, s)
      this.#finish(u, 'earlier')
      return
    }
    this.sessions.apply(u, s)
    u.videoId = '' // The session call resumes it.
    if (u.state === 'ready') this.#phase(u, 'earlier-progress')
  }

  // ---- the queue

  #pump () {
    if (this.halted || this.uploads.some(u => u.running)) return
    const u = this.uploads.find(u => u.state === 'queued')
    if (!u) return
    u.running = true
    this.#to(u, 'active', 'starting')
    this.sessions.run(u).then(end => {
      if (end === 'done') this.#finish(u, 'done')
      else this.#stopped(u)
    }).catch(e => this.#fail(u, e)).finally(() => {
      u.running = false
      this.#pump()
    })
  }

  // ---- pause, cancel, finish

  #interrupt (u, why) {
    u.stop = why
    if (u.abort) u.abort()
    if (u.wake) u.wake()
  }

  #stopped (u) {
    if (u.stop === 'cancel') {
      this.memory.forget(u)
      if (u.videoId) {
        if (this.link.remaining >= 0 && !u.resumed) this.link.remaining++
        this.sessions.remove(u.videoId).then(() => this.refreshLink())
      }
      u.loaded = 0
      this.#to(u, 'cancelled', 'cancelled')
    } else {
      this.#to(u, 'paused', 'paused')
    }
  }

  // #finish marks an upload done: this visit's, or, with phase "earlier",
  // one an earlier visit finished. This browser remembers it, so that the
  // receipt is shown again when the page is.
  #finish (u, phase) {
    u.complete = true
    this.memory.remember(u, true)
    this.#to(u, 'done', phase)
  }
}
