// uploader.js is the page of uplink's upload link (/u/{id}) and of its
// embed (/embed/{id}). It reads its configuration from the data-
// attributes of #uploader (templates/upload.templ), hands the files the
// person chooses to the upload engine (engine.js), and draws what the
// engine reports: a row per file (rows.js), and around them what holds
// for the whole page, in the words of words.js. It keeps the page true
// while it is open: the uploads the link still takes, a link used up or
// closed elsewhere, and, once nothing is left to go, a summary of what
// arrived and why anything did not.
//
// Opened again in the same browser, the page shows the receipts of the
// uploads this browser finished through the link, and the unfinished
// ones waiting for their file (memory.js).

import { Engine, Failure, DEFAULT_TIMERS } from './engine.js'
import { browserTransport } from './transport.js'
import { Memory, storageOf } from './memory.js'
import { Row } from './rows.js'
import { summary, uploadsText, receiptsOnly } from './words.js'

// The page's timers, in milliseconds: the engine's (engine.js), and how
// often to ask about the link while the page is visible. No page of
// uplink changes them: the browser tests shorten them (web/e2e) by
// defining window.uplinkTestTimers before this script runs.
const TIMERS = timers({ ...DEFAULT_TIMERS, poll: 30e3 })

const root = document.getElementById('uploader')
if (root) start(root)

function start (root) {
  const d = root.dataset
  const cfg = {
    linkId: d.linkId,
    embed: d.embed === 'true',
    origins: parse(d.embedOrigins) || []
  }
  const $ = id => root.querySelector(`[data-testid="${id}"]`)
  const form = $('upload-form')
  const input = $('file-input')
  const zone = $('drop-zone')
  const list = $('files')
  const fields = root.querySelector('.fields')
  const startBtn = $('start')
  const keepOpen = $('keep-open')
  const doneNote = $('done')
  const errorBox = $('error')
  const closedBox = $('closed')
  const limits = $('limits')
  const live = $('announcer')
  const person = [['uploader-name', 'uploaderName'], ['uploader-email', 'uploaderEmail']].map(([id, key]) => [$(id), key]).filter(([el]) => el)
  const memory = new Memory(cfg.linkId, { local: storageOf('localStorage'), session: storageOf('sessionStorage') })
  const rows = new Map()
  // row is the row of an upload; the engine announces each upload
  // ("add") before anything else about it.
  const row = u => rows.get(u.id)
  const engine = new Engine({
    api: d.uploadsUrl,
    stateURL: d.stateUrl,
    transport: browserTransport(),
    memory,
    timers: TIMERS,
    online: () => navigator.onLine !== false,
    link: {
      remaining: int(d.remaining, -1),
      maxUploads: int(d.maxUploads, 0),
      maxSize: int(d.maxSize, 0),
      types: parse(d.types) || ['any'],
      typesText: d.typesText || 'any file',
      closed: d.closed || ''
    },
    describe: u => {
      const m = row(u).meta()
      for (const [el, key] of person) if (el.value.trim()) m[key] = el.value.trim()
      return m
    }
  })
  const target = parentOrigin(cfg)
  let lastSay = 0

  // ---- events to the embedding page

  function post (type, data) {
    if (target === null) return
    try { window.parent.postMessage({ type, ...data }, target) } catch (_) {}
  }

  // ---- what the engine reports

  engine.on('add', u => {
    const r = new Row(u, { template: root.querySelector('#row-template'), engine, memory, say, page: { closed: () => !!engine.link.closed } })
    rows.set(u.id, r)
    list.append(r.el)
    r.draw()
    refresh()
  })
  engine.on('remove', u => {
    row(u).el.remove()
    rows.delete(u.id)
    refresh()
  })
  engine.on('state', u => {
    row(u).draw()
    told(u)
    refresh()
  })
  engine.on('phase', u => row(u).status())
  engine.on('wait', u => row(u).status())
  engine.on('progress', u => {
    if (row(u).progress() && u.state === 'active') {
      post('uplink:progress', { file: u.name, uploadedBytes: u.sent, totalBytes: u.size })
      const tenth = Math.floor(u.percent / 10)
      if (tenth > (u.said || 0) && performance.now() - lastSay > 10e3) {
        u.said = tenth
        say(`${u.name}: ${u.percent}% uploaded.`)
      }
    }
  })
  engine.on('started', () => engine.refreshLink())
  engine.on('trouble', u => say(`${u.name}: connection problem, still trying.`))
  engine.on('halt', e => showError(e))
  engine.on('link', () => refresh())

  // told says what happened to an upload to the screen reader and to the
  // embedding page.
  function told (u) {
    switch (u.state) {
      case 'done':
        say(`${u.name}: uploaded.`)
        if (u.prior) return
        post('uplink:progress', { file: u.name, uploadedBytes: u.size, totalBytes: u.size })
        post('uplink:complete', { videoId: u.videoId, title: u.meta.title || u.name, size: u.size, sha256: (u.receipt && u.receipt.sha256) || '' })
        engine.refreshLink()
        return
      case 'failed':
        say(`${u.name}: not uploaded. ${u.failure.text}`)
        post('uplink:error', { code: u.failure.code || 'error', message: u.failure.text, file: u.name })
        return
      case 'paused': return say(`${u.name}: paused.`)
      case 'cancelled': return say(`${u.name}: cancelled.`)
    }
  }

  // ---- drawing what depends on every upload

  function refresh () {
    const ups = engine.uploads
    const link = engine.link
    const slots = engine.slotsLeft()
    const only = receiptsOnly(link, ups, slots)
    const halted = !!engine.halted
    const full = slots <= 0
    const visit = ups.filter(u => !u.prior && u.state !== 'missing')
    keepOpen.hidden = !engine.busy()
    list.hidden = !ups.length
    zone.hidden = only || halted || full
    fields.hidden = only || halted || (full && !engine.open())
    startBtn.hidden = only || halted || (visit.length > 0 && !ups.some(u => u.state === 'ready'))
    // A closed link only continues uploads, as the server's page says.
    const label = link.closed ? 'Continue upload' : 'Start upload'
    if (startBtn.textContent.trim() !== label) startBtn.textContent = label
    if (limits) {
      limits.hidden = only || !!link.closed
      const t = uploadsText(link, ups)
      const line = limits.querySelector('[data-testid="max-uploads"]')
      if (t && line && line.textContent !== t) line.textContent = t
    }
    // Why the link takes no new file: the server's notice, or the one
    // the page learns while open; not when the receipts say it all, nor
    // next to the error that says it already.
    if (link.closed && link.title) {
      $('closed-heading').textContent = link.title
      $('closed-message').textContent = link.detail || ''
    }
    closedBox.hidden = !link.closed || only || (halted && !errorBox.hidden)
    if (only) errorBox.hidden = true
    const sum = summary(ups)
    doneNote.hidden = !sum
    if (sum) {
      doneNote.textContent = sum.text
      doneNote.classList.toggle('partial', !sum.good)
    }
    for (const [el] of person) el.readOnly = engine.busy()
    wake(engine.busy())
  }

  function say (text) {
    lastSay = performance.now()
    live.textContent = text
  }

  function showError (e) {
    errorBox.replaceChildren()
    const strong = document.createElement('strong')
    strong.textContent = e.message
    errorBox.append(strong, e.detail ? ` ${e.detail}` : '')
    errorBox.hidden = false
    post('uplink:error', { code: e.code || 'error', message: e.text })
    refresh()
  }

  function clearError () { if (!engine.halted) errorBox.hidden = true }

  // ---- the person's actions

  function add (files) {
    clearError()
    const skipped = engine.add(files)
    if (skipped.length) {
      showError(new Failure(400, { code: 'too-many-files', title: 'This link takes no more files.', detail: `Not added: ${skipped.map(f => f.name).join(', ')}.` }))
    }
    refresh()
  }

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
    if (!engine.uploads.some(u => u.state === 'ready')) {
      if (!engine.busy()) {
        showError(new Failure(400, { code: 'no-file', title: 'Choose a file first.', detail: 'Then press “Start upload”.' }))
        input.focus()
      }
      return
    }
    clearError()
    engine.start()
    const active = engine.uploads.find(u => u.state === 'active')
    if (active) row(active).$('pause').focus()
  })

  // What the person typed of their name and email survives a reload.
  const typed = memory.draft('person')
  for (const [el, key] of person) {
    if (typed[key] && !el.value) el.value = typed[key]
    el.addEventListener('input', () => memory.keepDraft('person', Object.fromEntries(person.map(([el, key]) => [key, el.value]))))
  }

  // ---- keeping up with the network and the link

  let polled = 0
  function poll () {
    polled = Date.now()
    engine.refreshLink()
  }
  // A link with a number of uploads can be used up from elsewhere while
  // the page is open; the count and the page follow within TIMERS.poll,
  // while the page is visible, until the link is revoked or used up,
  // which nothing undoes (an expired link may be extended).
  if (engine.link.maxUploads > 0) {
    const ended = () => engine.halted || engine.link.closed === 'link-used-up'
    setInterval(() => { if (document.visibilityState === 'visible' && !ended()) poll() }, TIMERS.poll)
  }
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible') return
    wake(engine.busy())
    engine.wake()
    if (engine.link.maxUploads > 0 && Date.now() - polled > 10e3) poll()
  })
  addEventListener('online', () => {
    engine.online()
    if (engine.link.maxUploads > 0) poll()
  })
  addEventListener('offline', () => engine.offline())
  addEventListener('beforeunload', e => {
    if (!engine.busy()) return
    e.preventDefault()
    e.returnValue = ''
  })

  // ---- staying awake

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
  // What this browser uploaded through the link on earlier visits.
  engine.restore().then(refresh)
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
