// rows.js: draws one upload as a row of the upload page's list: its
// progress, status, buttons, its own title and description, and its
// receipt. The engine (engine.js) decides; a row only shows what it
// decided and hands the person's clicks back to it.

import { statusText, bytes, eta } from './words.js'

// BUTTONS are the row's buttons in each state of the engine's.
const BUTTONS = {
  missing: [],
  ready: ['cancel'],
  queued: ['cancel'],
  active: ['pause', 'cancel'],
  paused: ['resume', 'cancel'],
  failed: ['cancel'],
  done: [],
  cancelled: []
}

const $ = (el, id) => el.querySelector(`[data-testid="${id}"]`)

// Row is the row of one upload. o: template (the row's <template>),
// engine, memory (for the drafts of its fields), page ({ closed() }),
// say(text) for the screen reader's announcer.
export class Row {
  constructor (u, o) {
    this.u = u
    this.o = o
    this.el = o.template.content.firstElementChild.cloneNode(true)
    this.samples = []
    this.drawn = 0
    this.trailing = 0
    this.focus = ''
    this.confirming = 0
    const name = u.name
    this.$('row-name').textContent = name
    this.$('row-size').textContent = bytes(u.size)
    this.$('progress').setAttribute('aria-label', `Upload of ${name}`)
    for (const f of ['title', 'description']) {
      const input = this.$(f)
      input.id = `${f}-${u.id}`
      this.$(`${f}-label`).htmlFor = input.id
      input.addEventListener('input', () => this.#keepDraft())
    }
    this.$('title').placeholder = name
    const draft = o.memory.draft(u.key)
    this.$('title').value = draft.title || ''
    this.$('description').value = draft.description || ''
    this.$('pause').addEventListener('click', () => { this.focus = 'resume'; o.engine.pause(u) })
    this.$('resume').addEventListener('click', () => { this.focus = 'pause'; o.engine.resume(u) })
    this.$('cancel').addEventListener('click', () => this.#cancelClick())
  }

  $ (id) { return $(this.el, id) }

  // meta is what the person typed for this file, for its session.
  meta () {
    const m = {}
    const title = this.$('title').value.trim()
    const description = this.$('description').value.trim()
    if (title) m.title = title
    if (description) m.description = description
    return m
  }

  #keepDraft () {
    this.o.memory.keepDraft(this.u.key, { title: this.$('title').value, description: this.$('description').value })
  }

  // draw shows the upload's state.
  draw () {
    const u = this.u
    const el = this.el
    el.dataset.state = u.state
    el.classList.toggle('gone', u.state === 'cancelled' || u.state === 'failed')
    // A file refused before anything was sent has no progress to show.
    el.classList.toggle('unsent', u.state === 'failed' && !u.started && u.sent === 0)
    const retry = this.o.engine.canRetry(u)
    const shown = retry ? ['resume', 'cancel'] : BUTTONS[u.state]
    for (const b of ['pause', 'resume', 'cancel']) this.$(b).hidden = !shown.includes(b)
    this.#label('cancel', u.state === 'failed' ? 'Remove' : 'Cancel')
    this.#label('resume', u.state === 'failed' ? 'Try again' : 'Resume')
    this.#label('pause', 'Pause')
    this.confirming = 0
    this.$('cancel').classList.remove('confirm')
    const st = this.$('status')
    st.classList.toggle('bad', u.state === 'failed')
    st.classList.toggle('good', u.state === 'done')
    this.status()
    this.#fields()
    if (u.state === 'done') this.#receipt()
    else this.$('receipt').hidden = true
    if (['done', 'cancelled'].includes(u.state)) this.o.memory.dropDraft(u.key)
    // Keep the keyboard focus in the row when the pressed button hides.
    const f = this.focus && this.$(this.focus)
    if (f && !f.hidden && (document.activeElement === document.body || el.contains(document.activeElement))) {
      f.focus()
      this.focus = ''
    }
    this.progress(true)
  }

  status () {
    const st = this.$('status')
    const text = statusText(this.u)
    if (text && st.textContent !== text) st.textContent = text
  }

  #label (id, text) {
    const b = this.$(id)
    b.textContent = text
    b.setAttribute('aria-label', `${text} ${this.u.name}`)
  }

  // #fields shows the file's own title and description: editable until
  // its session starts, then locked as they were sent, until the receipt
  // (which shows the title) replaces them. A file the server already had
  // (resumed, or from an earlier visit), or a page of a closed link,
  // which only continues uploads, has none.
  #fields () {
    const u = this.u
    const box = this.$('row-fields')
    box.hidden = this.o.page.closed() || u.hinted || u.prior || u.resumed || ['missing', 'done', 'cancelled'].includes(u.state) ||
      (u.state === 'failed' && !u.started && u.failure && u.failure.final)
    const locked = !(['ready', 'queued'].includes(u.state) || (u.state === 'failed' && !u.started))
    for (const f of ['title', 'description']) this.$(f).readOnly = locked
    box.classList.toggle('locked', locked)
  }

  #receipt () {
    const u = this.u
    const r = u.receipt || {}
    const size = r.size ?? u.size
    this.$('receipt-name').textContent = r.filename || u.name
    const title = r.title || (u.meta && u.meta.title) || ''
    this.$('receipt-title').textContent = title
    this.$('receipt-title').hidden = this.$('receipt-title-term').hidden = !title
    const sizeEl = this.$('receipt-size')
    sizeEl.textContent = `${bytes(size)} (${size.toLocaleString()} bytes)`
    sizeEl.dataset.bytes = size
    this.$('receipt-sha256').textContent = r.sha256 || ''
    const time = this.$('receipt-time')
    time.dateTime = r.completedAt || ''
    const at = new Date(r.completedAt)
    time.textContent = isNaN(at) ? (r.completedAt || '') : at.toLocaleString()
    this.$('receipt').hidden = false
  }

  // progress draws the bar, the bytes, and the speed and time left,
  // at most every 250 ms unless forced. It reports whether it drew.
  progress (force) {
    const u = this.u
    const now = performance.now()
    clearTimeout(this.trailing)
    if (!force && now - this.drawn < 250) {
      // Draw the last change too, once the 250 ms are over.
      this.trailing = setTimeout(() => this.progress(true), 250 - (now - this.drawn))
      return false
    }
    this.drawn = now
    const s = u.sent
    const last = this.samples[this.samples.length - 1]
    const moving = u.state === 'active' && u.phase !== 'waiting'
    if (!moving || (last && s < last[1])) this.samples = []
    this.samples.push([now, s])
    while (this.samples.length > 2 && now - this.samples[0][0] > 10e3) this.samples.shift()
    const [t0, s0] = this.samples[0]
    const rate = now - t0 > 2000 ? (s - s0) / (now - t0) * 1000 : 0
    this.$('progress').value = u.complete ? 100 : (u.size ? s / u.size * 100 : 0)
    this.$('percent').textContent = `${u.percent}%`
    let detail = `${bytes(s)} of ${bytes(u.size)}`
    if (moving && rate > 0) detail += ` · ${bytes(rate)}/s · ${eta((u.size - s) / rate)}`
    this.$('detail').textContent = detail
    return true
  }

  // #cancelClick removes a failed row; otherwise, for an upload that
  // has sent something, it asks for a second tap, so that a stray one
  // does not throw away hours of upload.
  #cancelClick () {
    const u = this.u
    const btn = this.$('cancel')
    if (u.state === 'failed') return this.o.engine.discard(u)
    if (!this.confirming && (u.started || u.sent > 0)) {
      btn.classList.add('confirm')
      btn.textContent = 'Confirm cancel'
      btn.setAttribute('aria-label', `Confirm: cancel ${u.name}`)
      this.o.say(`Press cancel again to cancel the upload of ${u.name}.`)
      this.confirming = setTimeout(() => {
        if (!this.confirming) return
        this.confirming = 0
        btn.classList.remove('confirm')
        this.#label('cancel', 'Cancel')
      }, 5000)
      return
    }
    clearTimeout(this.confirming)
    this.confirming = 0
    this.o.engine.cancel(u)
  }
}
