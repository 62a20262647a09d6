// ui.js: the pieces every screen shares: toasts (messages in words, announced to
// screen readers), modal dialogs (a text prompt, a confirmation, a pick list), and
// the amount/money cells.

import { h, replace } from '../dom.js';
import { formatMoney } from '../money.js';

const TOAST_MS = 5000;

export function toast(text, tone = 'info') {
  const host = document.getElementById('toasts');
  if (!host) return;
  const el = h('div', { class: ['toast', `toast-${tone}`], testid: 'toast', role: tone === 'warn' || tone === 'bad' ? 'alert' : 'status' }, text);
  host.appendChild(el);
  // Keep at most four on screen; the oldest leaves first.
  while (host.children.length > 4) host.firstChild.remove();
  setTimeout(() => {
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

/** Ask for a line of text (or a paragraph). */
export function promptText({ title, value = '', multiline = false, placeholder = '', testid = 'prompt', okLabel = 'Save' }) {
  return openDialog((close) => {
    const field = multiline
      ? h('textarea', { testid: `${testid}-input`, rows: 4, placeholder, autofocus: true }, value)
      : h('input', { type: 'text', testid: `${testid}-input`, value, placeholder, autofocus: true });
    if (multiline) field.value = value;
    const form = h('form', { class: 'dialog-form', onsubmit: (e) => { e.preventDefault(); close(field.value); } },
      h('h2', {}, title),
      field,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', testid: `${testid}-cancel`, onclick: () => close(null) }, 'Cancel'),
        h('button', { type: 'submit', class: 'btn btn-primary', testid: `${testid}-ok` }, okLabel)));
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
