// uploader.js is the browser side of uplink's upload page (/u/{id}) and
// its embed (/embed/{id}). It reads its configuration from the data-
// attributes of #uploader (templates/upload.templ) and talks to the
// same-origin upload endpoints of the link:
//
//	POST   {uploads}                       open or resume a session for a file
//	GET    {uploads}/{videoId}             what the server holds (source of truth)
//	PUT    {uploads}/{videoId}/parts/{n}   part n, raw bytes, in order, one at a time
//	DELETE {uploads}/{videoId}             cancel
//
// Files go one after another, one part in flight at a time. Each part is
// read lazily with Blob.slice and sent with XHR, because fetch has no
// upload progress. Network errors, timeouts and 5xx answers are retried
// for as long as the page is open, with exponential backoff and jitter
// capped at 30 s; after a network failure the client looks for the
// server every 2 s and goes on as soon as it answers again. Before
// re-sending, the client asks the server which part it needs next.
// localStorage only remembers videoIds as a hint: the session call finds
// an unfinished upload of the same file on the server.

// The uploader's timers, in milliseconds. No page of uplink changes them:
// the browser tests shorten them (web/e2e/badnet_test.go) by defining
// window.uplinkTestTimers before this script runs, so that a network
// fault can outlast them in seconds rather than minutes.
const TIMERS = timers({
  stall: 60e3, // no upload progress for this long: give up on the part and retry
  reply: 120e3, // part sent, no answer for this long: ask the server what it holds
  call: 30e3, // timeout of the JSON calls
  delay: 1e3, // first retry delay; it doubles after each failure
  maxDelay: 30e3, // cap of the retry backoff
  probe: 2e3, // while waiting after a network failure, how often to look for the server
  finishing: 2e3 // how often to ask whether the server has finished the file
})
const LINK_CODES = ['link-expired', 'link-revoked', 'link-used-up', 'link-not-found']
// Failures that trying the same file again cannot fix.
const FINAL_CODES = ['file-too-large', 'file-empty', 'file-type-not-allowed', 'file-unreadable', ...LINK_CODES]
const STOPPED = new Error('stopped') // a pause or cancel interrupted the item
const FIELDS = [['title', 'title'], ['description', 'description'], ['uploader-name', 'uploaderName'], ['uploader-email', 'uploaderEmail']]

const root = document.getElementById('uploader')
if (root) start(root)

// Failure is an error answer (a problem+json body) or a network failure
// (status 0). retryable says whether trying again later may help.
class Failure extends Error {
  constructor (status, problem, retryAfter) {
    const p = problem || {}
    super(p.title || (status > 0 ? `The server answered ${status}.` : 'The connection was interrupted.'))
    this.status = status
    this.problem = p
    this.code = p.code || ''
    this.detail = p.detail || ''
    // part-in-flight (409): the server still reads an earlier attempt at
    // this part, for instance one whose connection was cut; it ends soon.
    this.retryable = status === 0 || status >= 500 || status === 408 || status === 429 || this.code === 'part-in-flight'
    this.retryAfter = Number(retryAfter) || 0
  }

  get text () { return this.detail ? `${this.message} ${this.detail}` : this.message }
}

function start (root) {
  const d = root.dataset
  const cfg = {
    api: d.uploadsUrl,
    linkId: d.linkId,
    remaining: int(d.remaining, -1),
    maxSize: int(d.maxSize, 0),
    embed: d.embed === 'true',
    origins: parse(d.embedOrigins) || []
  }
  const $ = (id, el = root) => el.querySelector(`[data-testid="${id}"]`)
  const form = $('upload-form')
  const input = $('file-input')
  const zone = $('drop-zone')
  const list = $('files')
  const fields = root.querySelector('.fields')
  const startBtn = $('start')
  const keepOpen = $('keep-open')
  const doneNote = $('done')
  const errorBox = $('error')
  const live = $('announcer')
  const rowTemplate = root.querySelector('#row-template')
  const items = []
  const ls = storage()
  const target = parentOrigin(cfg)
  let started = false
  let halted = false
  let lastSay = 0

  // ---- events to the embedding page

  function post (type, data) {
    if (target === null) return
    try { window.parent.postMessage({ type, ...data }, target) } catch (_) {}
  }

  // ---- selecting files

  function add (files) {
    clearError()
    const skipped = []
    for (const f of files) {
      const key = hintKey(f)
      if (items.some(i => i.key === key && !['cancelled', 'failed'].includes(i.state))) continue
      const hinted = !!recall({ key })
      if (!hinted && slotsLeft() <= 0) { skipped.push(f.name); continue }
      const it = item(f, key)
      it.hinted = hinted
      if (cfg.maxSize > 0 && f.size > cfg.maxSize) {
        fail(it, new Failure(413, { code: 'file-too-large', title: 'This file is too large.', detail: `It is ${bytes(f.size)}; this link takes up to ${bytes(cfg.maxSize)} per file.` }))
      } else if (f.size === 0) {
        fail(it, new Failure(400, { code: 'file-empty', title: 'This file is empty.', detail: 'Choose another file.' }))
      } else {
        const go = started && form.checkValidity()
        setState(it, go ? 'queued' : 'ready', go ? 'Waiting for the file before it…' : 'Ready. Press “Start upload”.')
        peek(it)
      }
    }
    if (skipped.length) {
      showError(new Failure(400, {
        code: 'too-many-files',
        title: 'This link takes no more files.',
        detail: `Not added: ${skipped.join(', ')}.`
      }))
    }
    pump()
  }

  function item (file, key) {
    const ui = rowTemplate.content.firstElementChild.cloneNode(true)
    const el = id => $(id, ui)
    const it = {
      file, key, state: 'ready', code: '', running: false, stop: '', focus: '',
      videoId: '', chunkSize: 0, totalParts: 0, nextPart: 1, complete: false, receipt: null,
      loaded: 0, attempt: 0, conflicts: 0, waiting: false, restarted: false, resync: false, gone: false,
      prior: false, resumed: false, hinted: false,
      title: '', xhr: null, wake: null, samples: [], drawn: 0, said: 0,
      ui, el
    }
    el('row-name').textContent = file.name
    el('row-size').textContent = bytes(file.size)
    el('progress').setAttribute('aria-label', `Upload of ${file.name}`)
    el('pause').setAttribute('aria-label', `Pause ${file.name}`)
    el('pause').addEventListener('click', () => pause(it))
    el('resume').addEventListener('click', () => resume(it))
    el('cancel').addEventListener('click', () => cancelClick(it))
    items.push(it)
    list.append(ui)
    return it
  }

  // peek shows what an earlier visit already uploaded of this file, when
  // this browser remembers it. The session call does the real matching.
  async function peek (it) {
    const id = recall(it)
    if (!id) return
    let s
    try { s = await call('GET', `${cfg.api}/${encodeURIComponent(id)}`) } catch (e) {
      if (!e.retryable) forget(it)
      return
    }
    if (it.state !== 'ready' && it.state !== 'queued') return
    if (s.complete && s.receipt) {
      it.prior = true
      it.videoId = s.videoId || id
      apply(it, s)
      finish(it, 'Uploaded on an earlier visit.')
      return
    }
    apply(it, s)
    it.videoId = '' // the session call resumes it
    progress(it, true)
    status(it, `${pct(it)}% arrived on an earlier visit. The upload continues from there.`)
  }

  // ---- the queue

  // slotsLeft is how many more files may be added. The server's count
  // leaves out the slots held by unfinished uploads, which may be this
  // person's own, coming back to resume: so at least one file may always
  // be added, and files the server or this browser knows as unfinished
  // uploads do not count. The server has the last word (link-busy).
  function slotsLeft () {
    if (cfg.remaining < 0) return Infinity
    const used = items.filter(i => !['cancelled', 'failed'].includes(i.state) && !i.prior && !i.resumed && !i.hinted)
    return Math.max(cfg.remaining, 1) - used.length
  }

  function busy () { return items.some(i => i.state === 'active' || i.state === 'queued') }

  function pump () {
    if (!halted && !items.some(i => i.running)) {
      const it = items.find(i => i.state === 'queued')
      if (it) {
        it.running = true
        run(it).catch(e => fail(it, e)).finally(() => { it.running = false; pump() })
      }
    }
    refresh()
  }

  // run uploads one file until it is complete, paused or cancelled. It
  // throws only what retrying cannot fix.
  async function run (it) {
    setState(it, 'active', 'Starting…')
    it.stop = ''
    while (!(it.complete && it.receipt)) {
      if (it.stop) return stopped(it)
      try {
        if (!it.videoId) {
          status(it, 'Starting…')
          const s = await call('POST', cfg.api, meta(it))
          it.resumed = s.$status === 200
          apply(it, s)
          remember(it)
          it.attempt = 0
        } else if (it.resync) {
          status(it, 'Checking what the server has…')
          apply(it, await call('GET', videoURL(it)))
          it.resync = false
        } else if (it.complete || it.nextPart > it.totalParts) {
          status(it, 'Finishing…')
          await sleep(it, TIMERS.finishing)
          it.resync = true
        } else {
          status(it, 'Uploading…')
          apply(it, await putPart(it))
          it.attempt = 0
          it.conflicts = 0
          it.gone = false
        }
      } catch (e) {
        if (e === STOPPED || it.stop) continue
        if (!(e instanceof Failure)) throw e
        if (e.code === 'part-out-of-order' || e.code === 'upload-complete') {
          // The server needs another part than the one sent: jump there.
          if (e.problem.nextPart > 0) it.nextPart = e.problem.nextPart
          else it.resync = true
          if (++it.conflicts > 3) await backoff(it, e)
          continue
        }
        if ((e.code === 'upload-not-found' || e.code === 'upload-abandoned') && !it.restarted) {
          // The server let the unfinished upload go: start it again, once.
          it.restarted = true
          forget(it)
          Object.assign(it, { videoId: '', nextPart: 1, loaded: 0, resync: false })
          continue
        }
        if (LINK_CODES.includes(e.code)) halt(e)
        if (!e.retryable) throw e
        await backoff(it, e)
      }
    }
    finish(it, 'Uploaded.')
  }

  // backoff waits before the next try: exponential, with jitter, capped
  // at TIMERS.maxDelay; earlier when the browser comes back online, or
  // when the server answers again after a network failure (see probe).
  // The next try first asks the server what it holds, unless the probe
  // already did.
  async function backoff (it, e) {
    it.loaded = 0
    it.waiting = true
    it.resync = !!it.videoId
    progress(it, true)
    it.attempt++
    let ms = Math.min(TIMERS.maxDelay, TIMERS.delay * 2 ** (it.attempt - 1))
    ms = ms / 2 + Math.random() * ms / 2
    if (e.retryAfter) ms = Math.max(ms, Math.min(e.retryAfter * 1000, 120e3))
    const tell = left => status(it, navigator.onLine === false
      ? 'You are offline. The upload continues by itself when the connection is back.'
      : `${e.text} Trying again in ${Math.ceil(left / 1000)} s…`)
    tell(ms)
    if (it.attempt === 3) say(`${it.file.name}: connection problem, still trying.`)
    await sleep(it, ms, tell, e.status === 0 && it.videoId ? () => probe(it) : null)
    it.waiting = false
    if (!it.stop) await readable(it)
  }

  // sleep resolves after ms, or earlier on "online", on the page becoming
  // visible again, on pause or cancel (through it.wake), and when the
  // network comes back: given a probe, it tries it every TIMERS.probe ms
  // and resolves once a probe succeeds after one failed, in this wait or
  // an earlier one since the last part went through (it.gone). A probe
  // that succeeds with none failed shows that the network was not gone
  // (the failure was a reset, a proxy cutting the request): then the
  // wait runs its course, so that a fault that keeps coming back is not
  // retried ever faster, and the probing stops.
  function sleep (it, ms, tick, probe) {
    return new Promise(resolve => {
      const end = Date.now() + ms
      let over = false
      let prober = 0
      const done = () => {
        if (over) return
        over = true
        clearTimeout(timer); clearInterval(ticker); clearTimeout(prober)
        removeEventListener('online', done)
        it.wake = null
        resolve()
      }
      const look = () => {
        prober = setTimeout(async () => {
          if (navigator.onLine === false) return look() // "online" will end the wait
          const ok = await probe().then(() => true, () => false)
          if (over) return
          if (ok && it.gone) {
            it.gone = false
            return done()
          }
          if (!ok) {
            it.gone = true
            look()
          }
        }, TIMERS.probe)
      }
      const timer = setTimeout(done, ms)
      const ticker = tick ? setInterval(() => tick(end - Date.now()), 1000) : 0
      addEventListener('online', done)
      it.wake = done
      if (probe) look()
    })
  }

  // probe asks the server which part it needs, as the next try would.
  // Nothing else tells the page that the network is back when it was a
  // hotel's wifi, a proxy or a tunnel that let it down rather than the
  // device itself ("online" fires only for the device's own link).
  async function probe (it) {
    apply(it, await call('GET', videoURL(it)))
    it.resync = false
  }

  // readable fails when the file cannot be read any more (moved, changed,
  // or the phone revoked access), instead of retrying forever.
  async function readable (it) {
    const at = Math.min(Math.max(0, (it.nextPart - 1) * it.chunkSize), it.file.size - 1)
    try { await it.file.slice(at, at + 1).arrayBuffer() } catch (_) {
      throw new Failure(-1, { code: 'file-unreadable', title: 'The file can no longer be read.', detail: 'Choose it again to continue where it stopped.' })
    }
  }

  function putPart (it) {
    const n = it.nextPart
    const from = (n - 1) * it.chunkSize
    const to = Math.min(from + it.chunkSize, it.file.size)
    return new Promise((resolve, reject) => {
      const x = new XMLHttpRequest()
      let timer = 0
      let why = ''
      const arm = ms => {
        clearTimeout(timer)
        timer = setTimeout(() => { why = 'timeout'; x.abort() }, ms)
      }
      const end = () => { clearTimeout(timer); it.xhr = null; it.loaded = 0 }
      it.xhr = x
      x.open('PUT', `${videoURL(it)}/parts/${n}`)
      x.setRequestHeader('Content-Type', 'application/octet-stream')
      x.upload.onprogress = e => { it.loaded = e.loaded; arm(TIMERS.stall); progress(it) }
      x.upload.onload = () => arm(TIMERS.reply)
      x.onload = () => {
        end()
        const body = parse(x.responseText)
        if (x.status >= 200 && x.status < 300 && body) resolve(body)
        else reject(new Failure(x.status < 300 ? 0 : x.status, body, x.getResponseHeader('Retry-After')))
      }
      x.onerror = () => { end(); reject(new Failure(0)) }
      x.onabort = () => {
        end()
        reject(it.stop ? STOPPED : new Failure(0, why && { title: 'The connection stalled.' }))
      }
      arm(TIMERS.stall)
      x.send(it.file.slice(from, to))
    })
  }

  async function call (method, url, body) {
    const ctl = new AbortController()
    const timer = setTimeout(() => ctl.abort(), TIMERS.call)
    try {
      const res = await fetch(url, {
        method,
        cache: 'no-store',
        signal: ctl.signal,
        headers: body ? { 'Content-Type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined
      })
      if (res.status === 204) return {}
      const data = parse(await res.text())
      if (data) data.$status = res.status
      // A body that is not JSON (a captive portal, a proxy's error page)
      // is treated like a network failure.
      if (!data) throw new Failure(res.ok ? 0 : res.status, null, res.headers.get('Retry-After'))
      if (!res.ok) throw new Failure(res.status, data, res.headers.get('Retry-After'))
      return data
    } catch (e) {
      throw e instanceof Failure ? e : new Failure(0)
    } finally {
      clearTimeout(timer)
    }
  }

  function meta (it) {
    const f = it.file
    const m = { filename: f.name, size: f.size, lastModified: f.lastModified, type: f.type }
    for (const [id, key] of FIELDS) {
      const el = $(id) // the name and email inputs exist only when the link asks
      if (el && el.value.trim()) m[key] = el.value.trim()
    }
    it.title = m.title || ''
    return m
  }

  function apply (it, s) {
    if (!s) return
    if (s.videoId) it.videoId = s.videoId
    if (s.chunkSize > 0) it.chunkSize = s.chunkSize
    if (s.totalParts > 0) it.totalParts = s.totalParts
    if (s.nextPart > 0) it.nextPart = s.nextPart
    if (s.complete) it.complete = true
    if (s.receipt) it.receipt = s.receipt
    progress(it, true)
  }

  function videoURL (it) { return `${cfg.api}/${encodeURIComponent(it.videoId)}` }

  // ---- pause, resume, cancel

  function pause (it) {
    if (it.state !== 'active') return
    it.focus = 'resume'
    status(it, 'Pausing…')
    interrupt(it, 'pause')
  }

  function resume (it) {
    if (it.state !== 'paused' && !(it.state === 'failed' && canRetry(it))) return
    if (halted) return
    clearError()
    it.stop = ''
    it.resync = !!it.videoId
    it.attempt = 0
    it.restarted = false
    it.focus = 'pause'
    started = true
    setState(it, 'queued', 'Waiting for the file before it…')
    pump()
  }

  function interrupt (it, why) {
    it.stop = why
    if (it.xhr) it.xhr.abort()
    if (it.wake) it.wake()
  }

  function cancelClick (it) {
    const btn = it.el('cancel')
    if (it.state === 'failed') { it.ui.remove(); items.splice(items.indexOf(it), 1); refresh(); return }
    if (!btn.classList.contains('confirm') && (it.videoId || sent(it) > 0)) {
      // Two taps, so that a stray one does not throw away hours of upload.
      btn.classList.add('confirm')
      btn.textContent = 'Confirm cancel'
      btn.setAttribute('aria-label', `Confirm: cancel ${it.file.name}`)
      say(`Press cancel again to cancel the upload of ${it.file.name}.`)
      setTimeout(() => {
        if (!btn.classList.contains('confirm')) return
        btn.classList.remove('confirm')
        btn.textContent = 'Cancel'
        btn.setAttribute('aria-label', `Cancel ${it.file.name}`)
      }, 5000)
      return
    }
    if (it.running) interrupt(it, 'cancel')
    else { it.stop = 'cancel'; stopped(it) }
  }

  function stopped (it) {
    if (it.stop === 'cancel') {
      forget(it)
      if (it.videoId) remove(it.videoId)
      it.loaded = 0
      setState(it, 'cancelled', 'Cancelled.')
      say(`${it.file.name}: cancelled.`)
    } else {
      setState(it, 'paused', 'Paused.')
      say(`${it.file.name}: paused.`)
    }
  }

  // remove deletes a cancelled upload on the server, freeing the link's slot.
  async function remove (videoId) {
    for (let i = 0; i < 5; i++) {
      try { await call('DELETE', `${cfg.api}/${encodeURIComponent(videoId)}`); return } catch (e) {
        if (!e.retryable) return
        await new Promise(resolve => setTimeout(resolve, 2000 * 2 ** i))
      }
    }
  }

  // ---- outcomes

  function finish (it, text) {
    const r = it.receipt || {}
    const size = r.size ?? it.file.size
    forget(it)
    it.el('receipt-name').textContent = r.filename || it.file.name
    const sizeEl = it.el('receipt-size')
    sizeEl.textContent = `${bytes(size)} (${size.toLocaleString()} bytes)`
    sizeEl.dataset.bytes = size
    it.el('receipt-sha256').textContent = r.sha256 || ''
    const time = it.el('receipt-time')
    time.dateTime = r.completedAt || ''
    const at = new Date(r.completedAt)
    time.textContent = isNaN(at) ? (r.completedAt || '') : at.toLocaleString()
    it.el('receipt').hidden = false
    it.complete = true
    setState(it, 'done', text)
    progress(it, true)
    say(`${it.file.name}: uploaded.`)
    if (!it.prior) post('uplink:progress', { file: it.file.name, uploadedBytes: size, totalBytes: size })
    if (!it.prior) post('uplink:complete', { videoId: it.videoId, title: it.title || it.file.name, size, sha256: r.sha256 || '' })
  }

  function canRetry (it) { return !halted && !FINAL_CODES.includes(it.code) }

  function fail (it, e) {
    if (!(e instanceof Failure)) e = new Failure(-1, { title: 'Something went wrong in this page.', detail: String(e && e.message || e) })
    it.loaded = 0
    it.code = e.code
    setState(it, 'failed', e.text)
    say(`${it.file.name}: not uploaded. ${e.text}`)
    post('uplink:error', { code: e.code || 'error', message: e.text, file: it.file.name })
  }

  // halt stops everything after a refusal that concerns the whole link.
  function halt (e) {
    if (halted) return
    halted = true
    showError(e)
    for (const it of items) {
      if (it.state === 'ready' || it.state === 'queued') setState(it, 'failed', e.text)
    }
    refresh()
  }

  function showError (e) {
    errorBox.replaceChildren()
    const strong = document.createElement('strong')
    strong.textContent = e.message
    errorBox.append(strong, e.detail ? ` ${e.detail}` : '')
    errorBox.hidden = false
    post('uplink:error', { code: e.code || 'error', message: e.text })
  }

  function clearError () { if (!halted) errorBox.hidden = true }

  // ---- drawing

  const buttons = {
    ready: ['cancel'], queued: ['cancel'], active: ['pause', 'cancel'],
    paused: ['resume', 'cancel'], failed: ['cancel'], done: [], cancelled: []
  }

  function setState (it, state, text) {
    it.state = state
    it.ui.dataset.state = state
    it.ui.classList.toggle('gone', state === 'cancelled' || state === 'failed')
    const shown = state === 'failed' && canRetry(it) ? ['resume', 'cancel'] : buttons[state]
    for (const b of ['pause', 'resume', 'cancel']) it.el(b).hidden = !shown.includes(b)
    const cancel = it.el('cancel')
    cancel.classList.remove('confirm')
    cancel.textContent = state === 'failed' ? 'Remove' : 'Cancel'
    cancel.setAttribute('aria-label', `${cancel.textContent} ${it.file.name}`)
    it.el('resume').textContent = state === 'failed' ? 'Try again' : 'Resume'
    it.el('resume').setAttribute('aria-label', `${it.el('resume').textContent} ${it.file.name}`)
    const st = it.el('status')
    st.classList.toggle('bad', state === 'failed')
    st.classList.toggle('good', state === 'done')
    if (text !== undefined) status(it, text)
    // Keep the keyboard focus in the row when the pressed button hides.
    const f = it.focus && it.el(it.focus)
    if (f && !f.hidden && (document.activeElement === document.body || it.ui.contains(document.activeElement))) {
      f.focus()
      it.focus = ''
    }
    progress(it, true)
    refresh()
  }

  function status (it, text) {
    const st = it.el('status')
    if (text && st.textContent !== text) st.textContent = text
  }

  function sent (it) {
    if (it.complete) return it.file.size
    const held = Math.max(0, (it.nextPart - 1) * it.chunkSize)
    return Math.min(held + it.loaded, it.file.size)
  }

  function pct (it) {
    if (it.complete) return 100
    return it.file.size ? Math.min(99, Math.floor(sent(it) / it.file.size * 100)) : 0
  }

  function progress (it, force) {
    const now = performance.now()
    if (!force && now - it.drawn < 250) return
    it.drawn = now
    const size = it.file.size
    const s = sent(it)
    const p = pct(it)
    const last = it.samples[it.samples.length - 1]
    if (it.state !== 'active' || it.waiting || (last && s < last[1])) it.samples = []
    it.samples.push([now, s])
    while (it.samples.length > 2 && now - it.samples[0][0] > 10e3) it.samples.shift()
    const [t0, s0] = it.samples[0]
    const rate = now - t0 > 2000 ? (s - s0) / (now - t0) * 1000 : 0
    it.el('progress').value = it.complete ? 100 : (size ? s / size * 100 : 0)
    it.el('percent').textContent = `${p}%`
    let detail = `${bytes(s)} of ${bytes(size)}`
    if (it.state === 'active' && !it.waiting && rate > 0) detail += ` · ${bytes(rate)}/s · ${eta((size - s) / rate)}`
    it.el('detail').textContent = detail
    if (it.state === 'active') {
      if (Math.floor(p / 10) > it.said && now - lastSay > 10e3) {
        it.said = Math.floor(p / 10)
        say(`${it.file.name}: ${p}% uploaded.`)
      }
      post('uplink:progress', { file: it.file.name, uploadedBytes: s, totalBytes: size })
    }
  }

  function say (text) {
    lastSay = performance.now()
    live.textContent = text
  }

  // refresh draws what depends on all items: notices, buttons, wake lock.
  function refresh () {
    const b = busy()
    const open = items.some(i => ['ready', 'queued', 'active', 'paused'].includes(i.state))
    const full = slotsLeft() <= 0
    keepOpen.hidden = !b
    list.hidden = !items.length
    zone.hidden = halted || full
    fields.hidden = halted || (full && !open)
    startBtn.hidden = halted || (items.length > 0 && !items.some(i => i.state === 'ready'))
    doneNote.hidden = !(items.some(i => i.state === 'done') && !open)
    wake(b)
  }

  // ---- staying awake and on the page

  let lock = null
  let locking = false
  async function wake (on) {
    if (!('wakeLock' in navigator) || locking) return
    try {
      if (on && !lock && document.visibilityState === 'visible') {
        locking = true
        lock = await navigator.wakeLock.request('screen')
        lock.addEventListener('release', () => { lock = null })
      } else if (!on && lock) {
        const l = lock
        lock = null
        await l.release()
      }
    } catch (_) {
      // Not allowed here (an iframe without permission, low battery): fine.
    } finally {
      locking = false
    }
  }

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible') return
    wake(busy())
    for (const it of items) if (it.wake) it.wake()
  })
  addEventListener('beforeunload', e => {
    if (!busy()) return
    e.preventDefault()
    e.returnValue = ''
  })
  addEventListener('offline', () => {
    for (const it of items) if (it.xhr) it.xhr.abort()
  })

  // ---- wiring

  input.addEventListener('change', () => {
    add(Array.from(input.files || []))
    input.value = ''
  })
  zone.addEventListener('dragenter', e => { e.preventDefault(); zone.classList.add('over') })
  zone.addEventListener('dragover', e => {
    e.preventDefault()
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy'
    zone.classList.add('over')
  })
  zone.addEventListener('dragleave', e => { if (!zone.contains(e.relatedTarget)) zone.classList.remove('over') })
  zone.addEventListener('drop', e => {
    e.preventDefault()
    zone.classList.remove('over')
    if (e.dataTransfer && e.dataTransfer.files.length) add(Array.from(e.dataTransfer.files))
  })
  // A file dropped next to the zone must not replace the page mid-upload.
  addEventListener('dragover', e => e.preventDefault())
  addEventListener('drop', e => e.preventDefault())

  form.addEventListener('submit', e => {
    e.preventDefault()
    const ready = items.filter(i => i.state === 'ready')
    if (!ready.length) {
      if (!busy()) {
        showError(new Failure(400, { code: 'no-file', title: 'Choose a file first.', detail: 'Then press “Start upload”.' }))
        input.focus()
      }
      return
    }
    clearError()
    started = true
    for (const it of ready) setState(it, 'queued', 'Waiting for the file before it…')
    pump()
    const active = items.find(i => i.state === 'active')
    if (active) active.el('pause').focus()
  })

  if (cfg.embed) {
    let height = 0
    const measure = () => {
      const h = Math.ceil(document.documentElement.getBoundingClientRect().height)
      if (h !== height) { height = h; post('uplink:resize', { height: h }) }
    }
    if ('ResizeObserver' in window) new ResizeObserver(measure).observe(document.documentElement)
    measure()
  }
  refresh()
  post('uplink:ready', { linkId: cfg.linkId })

  // ---- local hints (never trusted; storage may be blocked in iframes)

  function storage () {
    try {
      const s = window.localStorage
      s.setItem('uplink:probe', '1')
      s.removeItem('uplink:probe')
      return s
    } catch (_) {
      return null
    }
  }
  function hintKey (f) { return 'uplink:' + JSON.stringify([cfg.linkId, f.name, f.size, f.lastModified]) }
  function remember (it) { try { if (ls && it.videoId) ls.setItem(it.key, it.videoId) } catch (_) {} }
  function forget (it) { try { if (ls) ls.removeItem(it.key) } catch (_) {} }
  function recall (it) { try { return ls ? ls.getItem(it.key) : null } catch (_) { return null } }
}

// parentOrigin is the postMessage target for events to the embedding
// page, or null when none may be sent: "*" only when the link allows any
// origin, otherwise the embedding origin if the link lists it.
function parentOrigin (cfg) {
  if (!cfg.embed || window.parent === window) return null
  if (cfg.origins.includes('*')) return '*'
  let origin = ''
  try {
    const ao = location.ancestorOrigins
    origin = ao && ao.length ? ao[0] : new URL(document.referrer).origin
  } catch (_) {
    return null
  }
  const norm = o => String(o).replace(/\/+$/, '').toLowerCase()
  return cfg.origins.some(o => norm(o) === norm(origin)) ? origin : null
}

// timers returns the defaults, with any positive number that
// window.uplinkTestTimers gives in their place.
function timers (defaults) {
  const given = globalThis.uplinkTestTimers || {}
  const t = { ...defaults }
  for (const k of Object.keys(t)) {
    if (Number.isFinite(given[k]) && given[k] > 0) t[k] = given[k]
  }
  return Object.freeze(t)
}

function int (s, fallback) {
  const n = Number.parseInt(s, 10)
  return Number.isFinite(n) ? n : fallback
}

function parse (text) {
  try { return JSON.parse(text) } catch (_) { return null }
}

function bytes (n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++ }
  return `${i === 0 ? Math.round(n) : n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`
}

function eta (seconds) {
  if (!Number.isFinite(seconds)) return ''
  if (seconds < 60) return 'less than a minute left'
  const m = Math.round(seconds / 60)
  return m < 60 ? `about ${m} min left` : `about ${Math.floor(m / 60)} h ${m % 60} min left`
}
