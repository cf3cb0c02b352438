// upload.js: one file's upload, as the engine keeps it, and the states
// it goes through. No DOM.

// TRANSITIONS is the uploads' state machine: from each state, the states
// it may go to. The engine refuses any other move (a bug of the page),
// and its tests walk every path.
//
//   - missing: this browser remembers an unfinished upload of a file from
//     an earlier visit, and waits for the person to choose it again;
//   - ready: chosen, checked as far as the browser can, not started;
//   - queued: waiting for the files before it;
//   - active: its session and parts are under way (phases below);
//   - paused: stopped by the person, resumable;
//   - failed: stopped by a refusal or a fault retrying cannot fix;
//     "Try again" queues it again unless the failure is final;
//   - done: the server holds the whole file and gave its receipt;
//   - cancelled: stopped by the person for good, its slot freed.
export const TRANSITIONS = Object.freeze({
  missing: Object.freeze(['ready']),
  ready: Object.freeze(['queued', 'failed', 'cancelled', 'done']),
  queued: Object.freeze(['active', 'failed', 'cancelled', 'done']),
  active: Object.freeze(['paused', 'failed', 'cancelled', 'done']),
  paused: Object.freeze(['queued', 'cancelled']),
  failed: Object.freeze(['queued']),
  done: Object.freeze([]),
  cancelled: Object.freeze([])
})

// PHASES say what an upload is doing within its state, for the page's
// words: ready ("earlier-progress" when an earlier visit sent some of
// it), queued, active (starting, uploading, checking, finishing, waiting,
// pausing), paused, failed, done ("earlier" when an earlier visit
// finished it), cancelled, missing.

let serial = 0

// Upload is one file's upload. The engine changes it and reports each
// change; the page reads it.
export class Upload {
  // file is the File, or null for one remembered from an earlier visit
  // (then name, size and lastModified come from what was remembered).
  constructor ({ file = null, key, name, size, lastModified }) {
    this.id = ++serial
    this.file = file
    this.key = key
    this.state = 'ready'
    this.phase = 'ready'
    this.failure = null // the Failure of a failed upload
    this.wait = null // while waiting to try again: { left (ms), failure, offline }
    this.videoId = ''
    this.chunkSize = 0
    this.totalParts = 0
    this.nextPart = 1 // the first part the server does not hold
    this.loaded = 0 // bytes of the part in flight sent so far
    this.complete = false
    this.receipt = null // { filename, size, sha256, completedAt }
    this.meta = {} // what the session was started with (title, ...)
    this.prior = false // finished on an earlier visit
    this.resumed = false // the session call found it unfinished on the server
    this.hinted = false // this browser remembers an unfinished upload of it
    // The session runner's own (session.js).
    Object.assign(this, { running: false, stop: '', attempt: 0, conflicts: 0, restarted: false, resync: false, gone: false, wake: null, abort: null, checked: null })
    this.name = file ? file.name : name
    this.size = file ? file.size : size
    this.lastModified = file ? file.lastModified : lastModified
  }

  // sent is how many bytes of the file the server holds, plus those of
  // the part in flight.
  get sent () {
    if (this.complete) return this.size
    const held = Math.max(0, (this.nextPart - 1) * this.chunkSize)
    return Math.min(held + this.loaded, this.size)
  }

  // percent is sent in whole percent; 100 only once the server has
  // finished the file.
  get percent () {
    if (this.complete) return 100
    return this.size ? Math.min(99, Math.floor(this.sent / this.size * 100)) : 0
  }

  // started says whether the server opened a session for it.
  get started () { return !!this.videoId }
}

// Emitter is a minimal event emitter: on(type, fn) returns a function
// that unsubscribes fn.
export class Emitter {
  #handlers = new Map()

  on (type, fn) {
    if (!this.#handlers.has(type)) this.#handlers.set(type, new Set())
    this.#handlers.get(type).add(fn)
    return () => this.#handlers.get(type).delete(fn)
  }

  emit (type, detail) {
    for (const fn of this.#handlers.get(type) || []) fn(detail)
  }
}
