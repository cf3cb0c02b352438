// words.js: what the upload page says, from the engine's state. Pure
// functions, no DOM; tested in words.test.mjs.

// bytes renders a size in binary units, as the uploader always has:
// "512 B", "1.5 MiB", "126 KiB".
export function bytes (n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++ }
  return `${i === 0 ? Math.round(n) : n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`
}

// formatBytes renders a size as the server does in its messages
// (links.FormatBytes): "512 B", "1.5 MiB", "10 GiB".
export function formatBytes (n) {
  if (n < 1024) return `${n} B`
  let div = 1024
  let exp = 0
  for (let m = Math.floor(n / 1024); m >= 1024; m = Math.floor(m / 1024)) {
    div *= 1024
    exp++
  }
  return (n / div).toFixed(1).replace(/\.0$/, '') + ' ' + 'KMGTPE'[exp] + 'iB'
}

// eta says how long an upload still takes.
export function eta (seconds) {
  if (!Number.isFinite(seconds)) return ''
  if (seconds < 60) return 'less than a minute left'
  const m = Math.round(seconds / 60)
  return m < 60 ? `about ${m} min left` : `about ${Math.floor(m / 60)} h ${m % 60} min left`
}

// statusText is the line under an upload's progress bar.
export function statusText (u) {
  switch (u.phase) {
    case 'ready': return 'Ready. Press “Start upload”.'
    case 'earlier-progress': return `${u.percent}% arrived on an earlier visit. The upload continues from there.`
    case 'queued': return 'Waiting for the file before it…'
    case 'starting': return 'Starting…'
    case 'uploading': return 'Uploading…'
    case 'checking': return 'Checking what the server has…'
    case 'finishing': return 'Finishing…'
    case 'waiting': return waitText(u.wait)
    case 'pausing': return 'Pausing…'
    case 'paused': return 'Paused.'
    case 'cancelled': return 'Cancelled.'
    case 'done': return 'Uploaded.'
    case 'earlier': return 'Uploaded on an earlier visit.'
    case 'missing': return `${u.percent}% of it arrived on an earlier visit. Choose the same file again to continue where it stopped.`
    case 'failed': return u.failure ? u.failure.text : 'Not uploaded.'
  }
  return ''
}

function waitText (w) {
  if (!w) return 'Trying again…'
  if (w.offline) return 'You are offline. The upload continues by itself when the connection is back.'
  return `${w.failure.text} Trying again in ${Math.max(1, Math.ceil(w.left / 1000))} s…`
}

// summary is what the page says once no upload is left to go: every file
// that arrived, and why each other one did not, in a sentence; good is
// true only when all arrived. The uploads of this visit count, or, when
// there are none, those of earlier visits this browser remembers. It is
// null while there is nothing to sum up.
export function summary (uploads) {
  const visit = uploads.filter(u => !u.prior && u.state !== 'missing')
  const pool = visit.length ? visit : uploads.filter(u => u.prior)
  if (pool.some(u => ['ready', 'queued', 'active', 'paused'].includes(u.state))) return null
  const done = pool.filter(u => u.state === 'done').length
  const failed = pool.filter(u => u.state === 'failed')
  const cancelled = pool.filter(u => u.state === 'cancelled').length
  const n = done + failed.length
  if (n === 0) return null
  const also = cancelled ? `; ${cancelled} ${was(cancelled)} cancelled` : ''
  if (!failed.length) {
    const all = n === 1 ? 'Everything has arrived' : `All ${n} files have arrived`
    return { good: true, text: `Thank you. ${all}${also}.` }
  }
  const refused = failed.filter(u => u.failure && u.failure.refused)
  const other = failed.filter(u => !refused.includes(u))
  const why = {
    refused: refused.length && reasons(refused, f => f.detail || f.message),
    other: other.length && reasons(other, f => f.message)
  }
  if (n === 1) {
    const text = refused.length ? `The file was refused: ${why.refused}` : `The file did not arrive: ${why.other}`
    return { good: false, text: text + also + '.' }
  }
  const parts = [done === 0 ? `None of the ${n} files arrived` : `${done} of ${n} arrived`]
  if (refused.length) parts.push(`${refused.length} ${was(refused.length)} refused: ${why.refused}`)
  if (other.length) parts.push(`${other.length} did not arrive: ${why.other}`)
  return { good: false, text: parts.join('; ') + also + '.' }
}

// reasons words why some uploads failed: the one reason if they share it,
// else a pointer to the rows.
function reasons (list, of) {
  const all = [...new Set(list.map(u => u.failure ? of(u.failure) : ''))]
  if (all.length !== 1 || !all[0]) return 'see each file below'
  // The row gives the formats a video link takes; the summary names the
  // kind only.
  return lowerFirst(all[0]).replace('. This link takes', ', this link takes').replace(/\.$/, '').replace(/(takes video files) \(.*\)$/, '$1')
}

function was (n) { return n === 1 ? 'was' : 'were' }
function lowerFirst (s) { return s.charAt(0).toLowerCase() + s.slice(1) }

// uploadsText is the "(N left)" line of the link's limits, or '' to keep
// what the server wrote.
export function uploadsText (link, uploads) {
  if (link.maxUploads > 1) return `Up to ${link.maxUploads} uploads (${Math.max(0, link.remaining)} left)`
  if (link.maxUploads === 1 && uploads.some(u => u.started || u.state === 'done')) return 'One upload'
  return ''
}

// receiptsOnly says whether the page should show nothing but what
// arrived: the link takes no new file from this page (it is closed, or
// this page used its last upload), no upload is left to go, and at least
// one arrived.
export function receiptsOnly (link, uploads, slotsLeft) {
  const full = !!link.closed || slotsLeft <= 0
  const open = uploads.some(u => ['ready', 'queued', 'active', 'paused', 'missing'].includes(u.state))
  return full && !open && uploads.some(u => u.state === 'done')
}
