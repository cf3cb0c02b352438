// session.js: runs one upload's session with the server: opening or
// resuming it, its parts in order, retries, and the waits between them.
// No DOM. The engine (engine.js) makes one Sessions and hands it each
// upload in turn.

import { Failure } from './codes.js'

const STOPPED = new Error('stopped') // a pause or cancel interrupted the upload

// Sessions runs uploads for an engine. port gives it what it needs of the
// engine: api and stateURL, transport, timers, clock, isOnline(),
// random(), memory, describe(upload), emit(type, detail), phase(upload,
// phase), halt(failure), setLink(state), link (read and written: a new
// session takes a slot) and finish(upload).
export class Sessions {
  constructor (port) { this.p = port }

  // call makes one JSON call through the transport.
  call (method, url, body) { return this.p.transport.call(method, url, body, this.p.timers.call) }

  // run uploads one file until it is complete, paused or cancelled. It
  // returns "done", "paused" or "cancelled", and throws only what
  // retrying cannot fix.
  async run (u) {
    const p = this.p
    u.stop = ''
    const bad = await u.checked
    if (bad) throw bad
    while (!(u.complete && u.receipt)) {
      if (u.stop) return u.stop === 'cancel' ? 'cancelled' : 'paused'
      try {
        if (!u.videoId) {
          p.phase(u, 'starting')
          u.meta = p.describe(u)
          const s = await this.call('POST', p.api, { filename: u.name, size: u.size, lastModified: u.lastModified, type: u.file.type, ...u.meta })
          u.resumed = s.$status === 200
          this.apply(u, s)
          p.memory.remember(u)
          u.attempt = 0
          if (!u.resumed && p.link.remaining > 0) p.link.remaining--
          p.emit('started', u)
        } else if (u.resync) {
          p.phase(u, 'checking')
          this.apply(u, await this.call('GET', this.videoURL(u)))
          u.resync = false
        } else if (u.complete || u.nextPart > u.totalParts) {
          p.phase(u, 'finishing')
          await this.sleep(u, p.timers.finishing)
          u.resync = true
        } else {
          p.phase(u, 'uploading')
          this.apply(u, await this.putPart(u))
          Object.assign(u, { attempt: 0, conflicts: 0, gone: false })
        }
      } catch (e) {
        if (e === STOPPED || u.stop) continue
        if (!(e instanceof Failure)) throw e
        if (e.how === 'jump') {
          // The server needs another part than the one sent: jump there.
          if (e.problem.nextPart > 0) u.nextPart = e.problem.nextPart
          else u.resync = true
          if (++u.conflicts > 3) await this.backoff(u, e)
          continue
        }
        if (e.how === 'restart' && !u.restarted) {
          // The server let the unfinished upload go: start it again, once.
          u.restarted = true
          p.memory.forget(u)
          Object.assign(u, { videoId: '', nextPart: 1, loaded: 0, resync: false })
          continue
        }
        if (e.how === 'halt') p.halt(e)
        if (!e.retryable) throw e
        await this.backoff(u, e)
      }
    }
    return 'done'
  }

  // backoff waits before the next try: exponential, with jitter, capped
  // at timers.maxDelay, and at least what Retry-After asks; earlier when
  // the browser comes back online, or when the server answers again after
  // a network failure (see sleep). The next try first asks the server
  // what it holds, unless the probe already did.
  async backoff (u, e) {
    const p = this.p
    u.loaded = 0
    u.resync = !!u.videoId
    u.attempt++
    let ms = Math.min(p.timers.maxDelay, p.timers.delay * 2 ** (u.attempt - 1))
    ms = ms / 2 + p.random() * ms / 2
    if (e.retryAfter) ms = Math.max(ms, Math.min(e.retryAfter * 1000, 120e3))
    if (u.attempt === 3) p.emit('trouble', u)
    const until = Date.now() + ms
    const tell = () => {
      u.wait = { left: Math.max(0, until - Date.now()), failure: e, offline: !p.isOnline() }
      p.emit('wait', u)
    }
    p.phase(u, 'waiting')
    tell()
    await this.sleep(u, ms, tell, e.status === 0 ? () => this.probe(u) : null)
    u.wait = null
    if (!u.stop) await this.readable(u)
  }

  // sleep resolves after ms, or earlier through u.wake (pause, cancel,
  // and the engine's online() and wake()), and when the network comes
  // back: given a probe, it tries it every timers.probe ms and resolves
  // once a probe succeeds after the network was gone: after a probe
  // failed, in this wait or an earlier one since the last part went
  // through, or after online(). A probe that succeeds with none failed
  // shows that the network was not gone (the failure was a reset, a proxy
  // cutting the request): then the wait runs its course, so that a fault
  // that keeps coming back is not retried ever faster, and the probing
  // stops. tick, if given, is called every second.
  sleep (u, ms, tick, probe) {
    const { clock: c, timers, isOnline } = this.p
    return new Promise(resolve => {
      let over = false
      let prober = 0
      const done = () => {
        if (over) return
        over = true
        c.clearTimeout(timer)
        c.clearInterval(ticker)
        c.clearTimeout(prober)
        u.wake = null
        resolve()
      }
      const look = () => {
        prober = c.setTimeout(async () => {
          if (!isOnline()) return look() // online() ends the wait.
          const ok = await probe().then(() => true, () => false)
          if (over) return
          if (ok && u.gone) {
            u.gone = false
            return done()
          }
          if (!ok) {
            u.gone = true
            look()
          }
        }, timers.probe)
      }
      const timer = c.setTimeout(done, ms)
      const ticker = tick ? c.setInterval(tick, 1000) : 0
      u.wake = done
      if (probe) look()
    })
  }

  // probe asks the server what the next try would: which part it needs,
  // or, before the upload has a session, the link's state. Nothing else
  // tells the page that the network is back when it was a hotel's wifi, a
  // proxy or a tunnel that let it down rather than the device itself
  // ("online" fires only for the device's own link).
  async probe (u) {
    if (!u.videoId) return this.p.setLink(await this.call('GET', this.p.stateURL))
    this.apply(u, await this.call('GET', this.videoURL(u)))
    u.resync = false
  }

  // readable fails when the file cannot be read any more (moved, changed,
  // or the phone revoked access), instead of retrying forever.
  async readable (u) {
    const at = Math.min(Math.max(0, (u.nextPart - 1) * u.chunkSize), u.size - 1)
    try { await u.file.slice(at, at + 1).arrayBuffer() } catch (_) {
      throw new Failure(-1, { code: 'file-unreadable', title: 'The file can no longer be read.', detail: 'Choose it again to continue where it stopped.' })
    }
  }

  putPart (u) {
    const n = u.nextPart
    const from = (n - 1) * u.chunkSize
    const to = Math.min(from + u.chunkSize, u.size)
    const req = this.p.transport.put(`${this.videoURL(u)}/parts/${n}`, u.file.slice(from, to), {
      stall: this.p.timers.stall,
      reply: this.p.timers.reply,
      onProgress: loaded => { u.loaded = loaded; this.p.emit('progress', u) }
    })
    u.abort = () => req.abort()
    return req.done.then(s => s, e => { throw u.stop ? STOPPED : e }).finally(() => { u.abort = null; u.loaded = 0 })
  }

  // apply takes what the server says it holds of an upload, and
  // reports the progress unless quiet (an upload not yet announced).
  apply (u, s, quiet = false) {
    if (!s) return
    if (s.videoId) u.videoId = s.videoId
    if (s.chunkSize > 0) u.chunkSize = s.chunkSize
    if (s.totalParts > 0) u.totalParts = s.totalParts
    if (s.nextPart > 0) u.nextPart = s.nextPart
    if (s.complete) u.complete = true
    if (s.receipt) u.receipt = s.receipt
    if (!quiet) this.p.emit('progress', u)
  }

  videoURL (u) { return `${this.p.api}/${encodeURIComponent(u.videoId)}` }

  // remove deletes a cancelled upload on the server, freeing the link's
  // slot, and reports whether it did.
  async remove (videoId) {
    for (let i = 0; i < 5; i++) {
      try {
        await this.call('DELETE', `${this.p.api}/${encodeURIComponent(videoId)}`)
        return true
      } catch (e) {
        if (!e.retryable) return false
        await new Promise(resolve => this.p.clock.setTimeout(resolve, 2000 * 2 ** i))
      }
    }
    return false
  }
}
