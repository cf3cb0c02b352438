// Live progress on a link's page. Every ~2 s it polls the link's progress
// JSON and updates each upload in flight: bytes, percent and speed. The
// speed is computed here from successive samples. When an upload starts,
// finishes or stops, the uploads and the timeline are reloaded from the
// page itself, so the markup stays the server's.

const root = document.getElementById('link-detail');
const POLL_MS = 2000;
// Seconds of samples the speed is averaged over.
const SPEED_WINDOW_MS = 8000;

if (root && root.dataset.progressUrl) {
  const samples = new Map(); // upload ID -> [{t, bytes}]
  let live = root.dataset.live === 'true';
  let timer = 0;

  const formatBytes = (n) => {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    // The rule of links.FormatBytes and uploader.js: one decimal below 10.
    return (i === 0 ? String(n) : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
  };

  const announce = (text) => {
    const el = document.getElementById('upload-announcer');
    if (el) el.textContent = text;
  };

  // speed returns bytes per second over the recent samples of an upload.
  const speed = (id, bytes) => {
    const now = performance.now();
    const list = samples.get(id) || [];
    list.push({ t: now, bytes });
    while (list.length > 2 && now - list[0].t > SPEED_WINDOW_MS) list.shift();
    samples.set(id, list);
    if (list.length < 2) return null;
    const first = list[0];
    const dt = (now - first.t) / 1000;
    return dt > 0 ? Math.max(0, bytes - first.bytes) / dt : null;
  };

  // rowsChanged reports whether the server's uploads differ from the
  // table's, in number or status.
  const rowsChanged = (uploads) => {
    const rows = root.querySelectorAll('[data-testid="upload-row"]');
    if (rows.length !== uploads.length) return true;
    const status = new Map([...rows].map((r) => [r.dataset.uploadId, r.dataset.status]));
    return uploads.some((u) => status.get(u.id) !== u.status);
  };

  // refresh replaces the sections that list uploads and events (and the
  // state badge and settings) with the page's current ones.
  const refresh = async () => {
    const res = await fetch(location.pathname, { headers: { Accept: 'text/html' }, credentials: 'same-origin' });
    if (!res.ok) return;
    const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
    for (const id of ['link-state', 'link-settings', 'link-uploads-section', 'link-timeline-section']) {
      const fresh = doc.getElementById(id);
      const old = document.getElementById(id);
      if (fresh && old) old.replaceWith(document.importNode(fresh, true));
    }
  };

  const update = (uploads) => {
    for (const u of uploads) {
      const row = root.querySelector(`[data-testid="upload-row"][data-upload-id="${CSS.escape(u.id)}"]`);
      if (!row) continue;
      const bar = row.querySelector('progress');
      if (bar) {
        bar.max = u.size;
        bar.value = u.received;
        bar.textContent = u.percent + '%';
      }
      const text = row.querySelector('[data-role="progress-text"]');
      if (text) text.textContent = `${u.receivedText} of ${u.sizeText} (${u.percent}%)`;
      const sp = row.querySelector('[data-role="speed"]');
      if (sp && (u.status === 'uploading' || u.status === 'starting')) {
        const bps = speed(u.id, u.received);
        sp.textContent = bps === null ? '' : bps > 0 ? formatBytes(Math.round(bps)) + '/s' : 'Waiting for data…';
      }
    }
  };

  const poll = async () => {
    timer = 0;
    try {
      const res = await fetch(root.dataset.progressUrl, {
        headers: { Accept: 'application/json' },
        credentials: 'same-origin',
      });
      if (res.status === 401) {
        announce('Your session has ended: reload the page to sign in again.');
        return; // Stop polling.
      }
      if (res.ok) {
        const data = await res.json();
        const changed = rowsChanged(data.uploads);
        if (changed) {
          const before = new Map([...root.querySelectorAll('[data-testid="upload-row"]')]
            .map((r) => [r.dataset.uploadId, r.dataset.status]));
          await refresh();
          for (const u of data.uploads) {
            if (before.get(u.id) !== u.status) announce(`${u.filename}: ${u.statusText}`);
          }
        }
        update(data.uploads);
        live = data.live;
      }
    } catch {
      // A network hiccup: try again at the next tick.
    }
    schedule();
  };

  const schedule = () => {
    if (live && !timer && !document.hidden) timer = setTimeout(poll, POLL_MS);
  };

  document.addEventListener('visibilitychange', () => {
    if (document.hidden) {
      clearTimeout(timer);
      timer = 0;
      samples.clear(); // A gap would skew the speed.
    } else {
      schedule();
    }
  });

  schedule();
}
