"""The review desk's keyboard shortcuts: a small page script, run once on page load, and the line that lists them."""

from __future__ import annotations

# Keyboard shortcuts of the desk (only while the Annotate tab is shown). Single keys act when the focus is not in a
# text field (Esc leaves one); Ctrl/Cmd+Enter saves from anywhere, the note included. e.code, not e.key: Alt and
# keyboard layouts change the character, not the key.
KEYS_HELP = (
    "**Keys:** N next in queue · P previous · 1–4 status (unreviewed, confirmed, corrected, second opinion) · "
    "L labels (type, Enter adds) · Ctrl+Enter save · Esc leaves a field"
)
KEYS_JS = """
() => {
  if (window.__annotateKeys) return;
  window.__annotateKeys = true;
  const STATUS = {Digit1: 'unreviewed', Digit2: 'confirmed', Digit3: 'corrected', Digit4: 'needs_second_opinion'};
  const shown = () => { const b = document.querySelector('#annotate-save'); return b && b.offsetParent !== null; };
  const click = (id) => { const b = document.querySelector(id); if (b) b.click(); };
  const typing = (el) => el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
  document.addEventListener('keydown', (e) => {
    if (!shown()) return;
    if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') { e.preventDefault(); click('#annotate-save'); return; }
    const el = document.activeElement;
    if (e.key === 'Escape' && typing(el)) { el.blur(); return; }
    if (typing(el) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.code === 'KeyN') { e.preventDefault(); click('#annotate-next'); }
    else if (e.code === 'KeyP') { e.preventDefault(); click('#annotate-prev'); }
    else if (e.code === 'KeyL') {
      e.preventDefault();
      const box = document.querySelector('#annotate-labels input');
      if (box) box.focus();
    } else if (STATUS[e.code]) {
      const radio = document.querySelector(`#annotate-status input[value="${STATUS[e.code]}"]`);
      if (radio) { e.preventDefault(); radio.click(); }
    }
  });
}
"""
