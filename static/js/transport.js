// transport.js: the engine's transport in the browser. JSON calls go
// through fetch; parts through XMLHttpRequest, because fetch reports no
// upload progress. No DOM. The engine's tests use a fake transport with
// the same two methods instead.

import { Failure } from './codes.js'

// browserTransport returns the transport the page gives the engine.
export function browserTransport () {
  return { call, put }
}

// call makes a JSON call and resolves to the answer's body, with its
// status as $status, or rejects with a Failure: the server's problem, or
// status 0 for a network failure, a timeout after ms, or a body that is
// not JSON (a captive portal, a proxy's error page).
async function call (method, url, body, ms) {
  const ctl = new AbortController()
  const timer = setTimeout(() => ctl.abort(), ms)
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
    if (!data) throw new Failure(res.ok ? 0 : res.status, null, res.headers.get('Retry-After'))
    if (!res.ok) throw new Failure(res.status, data, res.headers.get('Retry-After'))
    return data
  } catch (e) {
    throw e instanceof Failure ? e : new Failure(0)
  } finally {
    clearTimeout(timer)
  }
}

// put sends one part and returns { done, abort }: done resolves to the
// server's answer or rejects with a Failure. A part that makes no upload
// progress for o.stall ms, or gets no answer o.reply ms after its last
// byte, is given up (status 0). o.onProgress hears the bytes sent.
function put (url, blob, o) {
  const x = new XMLHttpRequest()
  let timer = 0
  let why = ''
  const done = new Promise((resolve, reject) => {
    const arm = ms => {
      clearTimeout(timer)
      timer = setTimeout(() => { why = 'timeout'; x.abort() }, ms)
    }
    x.open('PUT', url)
    x.setRequestHeader('Content-Type', 'application/octet-stream')
    x.upload.onprogress = e => { arm(o.stall); o.onProgress(e.loaded) }
    x.upload.onload = () => arm(o.reply)
    x.onload = () => {
      clearTimeout(timer)
      const body = parse(x.responseText)
      if (x.status >= 200 && x.status < 300 && body) resolve(body)
      else reject(new Failure(x.status < 300 ? 0 : x.status, body, x.getResponseHeader('Retry-After')))
    }
    x.onerror = () => { clearTimeout(timer); reject(new Failure(0)) }
    x.onabort = () => { clearTimeout(timer); reject(new Failure(0, why && { title: 'The connection stalled.' })) }
    arm(o.stall)
    x.send(blob)
  })
  return { done, abort: () => x.abort() }
}

function parse (text) {
  try { return JSON.parse(text) } catch (_) { return null }
}
