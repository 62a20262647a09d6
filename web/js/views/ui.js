// ui.js: the pieces every screen shares: toasts (messages in words, announced to
// screen readers), modal dialogs (a text prompt, a confirmation, a pick list), and
// the amount/money cells.

import { h, replace } from '../dom.js';
import { formatMoney } from '../money.js';
import { textFit, groupThousands, cleanNote } from '../limits.js';

const TOAST_MS = 5000;

/** A message for a few seconds. The same sentence again while it shows restarts
 * its time instead of stacking a copy: one message, however many times it is said. */
export function toast(text, tone = 'info') {
  const host = document.getElementById('toasts');
  if (!host) return;
  const same = [...host.children].find((t) => t.textContent === text && !t.classList.contains('toast-out'));
  const el = same || h('div', { class: ['toast', `toast-${tone}`], testid: 'toast', role: tone === 'warn' || tone === 'bad' ? 'alert' : 'status' }, text);
  if (!same) host.appendChild(el);
  // Keep at most four on screen; the oldest leaves first.
  while (host.children.length > 4) host.firstChild.remove();
  clearTimeout(el.possyncTimer);
  el.possyncTimer = setTimeout(() => {
    el.classList.add('toast-out');
    setTimeout(() => el.remove(), 300);
  }, TOAST_MS);
}

export function money(minor, props = {}) {
  return h('span', { class: 'money', ...props }, formatMoney(minor));
}

/** Open a modal <dialog>; `build(close)` answers its content. Resolves with the
 * value given to close(), or null on Escape / backdrop. */
export function openDialog(build, { testid = 'dialog', label = '' } = {}) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'dialog', testid, 'aria-label': label });
    let done = false;
    const close = (value = null) => {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      close(null);
    });
    dialog.addEventListener('click', (e) => {
      if (e.target === dialog) close(null);
    });
    replace(dialog, build(close));
    document.body.appendChild(dialog);
    dialog.showModal();
    const first = dialog.querySelector('[autofocus], input, textarea, select, button');
    if (first) first.focus();
  });
}

/** Ask for a line of text (or a paragraph). With `maxChars`, a count under the field
 * says how much is typed and, past the bound, how much too much; Save waits until it
 * fits, and nothing typed is ever cut or lost. */
export function promptText({ title, value = '', multiline = false, placeholder = '', testid = 'prompt', okLabel = 'Save', maxChars = null }) {
  return openDialog((close) => {
    const field = multiline
      ? h('textarea', { testid: `${testid}-input`, rows: 4, placeholder, autofocus: true }, value)
      : h('input', { type: 'text', testid: `${testid}-input`, value, placeholder, autofocus: true });
    if (multiline) field.value = value;
    const ok = h('button', { type: 'submit', class: 'btn btn-primary', testid: `${testid}-ok` }, okLabel);
    const count = maxChars ? h('p', { class: 'char-count', testid: `${testid}-count`, 'aria-live': 'polite' }) : null;
    const fits = () => {
      if (!maxChars) return true;
      const fit = textFit(field.value, maxChars);
      count.textContent = fit.over
        ? `${groupThousands(fit.count)} / ${groupThousands(maxChars)} characters: ${groupThousands(fit.over)} too many`
        : `${groupThousands(fit.count)} / ${groupThousands(maxChars)}`;
      count.classList.toggle('over', fit.over > 0);
      ok.disabled = fit.over > 0;
      return fit.over === 0;
    };
    field.addEventListener('input', fits);
    fits();
    const form = h('form', { class: 'dialog-form', onsubmit: (e) => { e.preventDefault(); if (fits()) close(cleanNote(field.value)); } },
      h('h2', {}, title),
      field,
      count,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', testid: `${testid}-cancel`, onclick: () => close(null) }, 'Cancel'),
        ok));
    return form;
  }, { testid, label: title });
}

export function confirmDialog({ title, text = '', okLabel = 'OK', danger = false, testid = 'confirm' }) {
  return openDialog((close) => h('div', { class: 'dialog-form' },
    h('h2', {}, title),
    text ? h('p', {}, text) : null,
    h('div', { class: 'dialog-actions' },
      h('button', { type: 'button', class: 'btn', testid: `${testid}-cancel`, onclick: () => close(false) }, 'Cancel'),
      h('button', { type: 'button', class: ['btn', danger ? 'btn-danger' : 'btn-primary'], testid: `${testid}-ok`, autofocus: true, onclick: () => close(true) }, okLabel))),
  { testid, label: title });
}
