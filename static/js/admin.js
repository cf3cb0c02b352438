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

// Confirmation for destructive forms: <form data-confirm="Revoke this link?">.
for (const form of document.querySelectorAll('form[data-confirm]')) {
  form.addEventListener('submit', (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
