// memory.js: what this browser remembers of a link's uploads. No DOM.
//
// Nothing here is trusted: the server is the source of truth for what it
// holds, and storage may be blocked (an iframe with third-party storage
// off, a private window), in which case nothing is remembered.
//
//   - localStorage, per link: the uploads this browser started, by
//     videoId, with the file's name, size and modification time. An
//     unfinished one is found again when the same file is chosen; a
//     finished one shows its receipt when the page is opened again. The
//     videoId is the capability: the server answers
//     GET /u/{id}/uploads/{videoId} to whoever knows it, so the page shows
//     only this browser's own uploads. Records older than KEEP_DAYS are
//     dropped.
//   - sessionStorage, per link and file: the title and description being
//     typed, and the uploader's name and email, so that a reload keeps
//     them. They go with the tab.

const KEEP_DAYS = 30

// fileKey identifies a file the way the server matches an unfinished
// upload: by name, size and modification time.
export function fileKey (f) { return JSON.stringify([f.name, f.size, f.lastModified]) }

export class Memory {
  // local and session are Storage objects (or anything with getItem,
  // setItem, removeItem), or null when storage is blocked; now returns
  // the time in milliseconds.
  constructor (linkId, { local = null, session = null, now = () => Date.now() } = {}) {
    this.linkId = linkId
    this.local = local
    this.session = session
    this.now = now
  }

  // ---- uploads (localStorage)

  // uploads returns the remembered uploads of the link, newest last:
  // { videoId, key, name, size, lastModified, done, at }.
  uploads () {
    const all = read(this.local, this.#key('uploads')) || []
    const fresh = all.filter(r => r && r.videoId && this.now() - r.at < KEEP_DAYS * 864e5)
    if (fresh.length !== all.length) this.#save(fresh)
    return fresh
  }

  // recall returns the videoId this browser remembers for a file, or ''.
  recall (key) {
    const r = this.uploads().find(r => r.key === key)
    return r ? r.videoId : ''
  }

  // remember records an upload of a file, or marks it done.
  remember ({ videoId, key, name, size, lastModified }, done = false) {
    if (!videoId) return
    const list = this.uploads().filter(r => r.videoId !== videoId && r.key !== key)
    list.push({ videoId, key, name, size, lastModified, done, at: this.now() })
    this.#save(list)
  }

  // forget drops what is remembered of an upload, by videoId or file key.
  forget ({ videoId = '', key = '' }) {
    const list = this.uploads()
    const kept = list.filter(r => !(videoId && r.videoId === videoId) && !(key && r.key === key))
    if (kept.length !== list.length) this.#save(kept)
  }

  #save (list) {
    if (list.length) write(this.local, this.#key('uploads'), list)
    else remove(this.local, this.#key('uploads'))
  }

  // ---- what is being typed (sessionStorage)

  // draft returns what was typed for a file ({ title, description }), or
  // for the person with key "person" ({ name, email }).
  draft (key) { return read(this.session, this.#key('draft', key)) || {} }

  // keepDraft stores what is typed; an empty one is removed.
  keepDraft (key, values) {
    const k = this.#key('draft', key)
    if (Object.values(values).some(v => v)) write(this.session, k, values)
    else remove(this.session, k)
  }

  dropDraft (key) { remove(this.session, this.#key('draft', key)) }

  #key (...parts) { return 'uplink:' + JSON.stringify([this.linkId, ...parts]) }
}

// storageOf returns window[name] (localStorage or sessionStorage) if it
// can be written, else null: reading the property itself throws where
// storage is blocked.
export function storageOf (name) {
  try {
    const s = globalThis[name]
    s.setItem('uplink:probe', '1')
    s.removeItem('uplink:probe')
    return s
  } catch (_) {
    return null
  }
}

function read (s, k) {
  try {
    return s ? JSON.parse(s.getItem(k)) : null
  } catch (_) {
    return null
  }
}

function write (s, k, v) {
  try { if (s) s.setItem(k, JSON.stringify(v)) } catch (_) {}
}

function remove (s, k) {
  try { if (s) s.removeItem(k) } catch (_) {}
}
