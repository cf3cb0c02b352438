// Small enhancements for the dashboard; every page works without them.
// Each feature attaches to elements that declare it with data- attributes.

// Copy buttons: <button data-copy="#element-id"> copies that element's
// text (or value) to the clipboard and says so.
for (const button of document.querySelectorAll('button[data-copy]')) {
  button.addEventListener('click', async () => {
    const source = document.querySelector(button.dataset.copy);
    if (!source) return;
    const text = 'value' in source && source.value !== undefined ? source.value : source.textContent;
    const label = button.textContent;
    try {
      await navigator.clipboard.writeText(text.trim());
      button.textContent = 'Copied';
    } catch {
      if ('select' in source) source.select();
      button.textContent = 'Press Ctrl+C to copy';
    }
    setTimeout(() => { button.textContent = label; }, 2000);
  });
}

// Confirmation for destructive buttons of a form that has others:
// <button data-confirm="Delete the ticked videos?">.
for (const button of document.querySelectorAll('button[data-confirm]')) {
  button.addEventListener('click', (event) => {
    if (!window.confirm(button.dataset.confirm)) event.preventDefault();
  });
}

// Confirmation for destructive forms: <form data-confirm="Revoke this link?">.
for (const form of document.querySelectorAll('form[data-confirm]')) {
  form.addEventListener('submit', (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}

// Times in the viewer's zone: the server writes every <time datetime> in
// UTC ("3 Dec 2026, 06:33 UTC", web/dates.go); this rewrites each in the
// browser's own zone with the same layout and the zone shown. A relative
// time (data-relative, "in 7 days") keeps its text; its tooltip gets the
// local instant. Parts of the page replaced later (a link's live
// sections) are rewritten as they arrive.
const localTime = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric', month: 'short', year: 'numeric',
  hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short',
});
const localise = (root) => {
  for (const el of root.querySelectorAll('time[datetime]')) {
    const at = new Date(el.dateTime);
    if (Number.isNaN(at.getTime()) || !el.dateTime.includes('T')) continue;
    const text = localTime.format(at);
    if ('relative' in el.dataset) el.title = text;
    else if (el.textContent !== text) el.textContent = text;
  }
};
localise(document);
new MutationObserver((records) => {
  for (const r of records) {
    for (const n of r.addedNodes) if (n.nodeType === Node.ELEMENT_NODE) localise(n.parentNode || n);
  }
}).observe(document.body, { childList: true, subtree: true });
