// countedcash.js: the one counted-cash dialog, used wherever a session is closed (the
// till's menu, the back office's sessions). Empty means "not counted"; anything
// else must be an amount. Resolves {counted: minor units | null}, or null when the
// cashier cancels.

import { h } from '../../dom.js';
import { parseMoney } from '../../money.js';
import { openDialog } from '../ui.js';

export function askCountedCash({ title, hint = 'Count the cash in the drawer. Drafts stay drafts and come back at the next session.' }) {
  return openDialog((close) => {
    const input = h('input', { type: 'text', inputmode: 'decimal', id: 'counted-cash', testid: 'counted-cash', placeholder: '0.00', autofocus: true, autocomplete: 'off' });
    const error = h('p', { class: 'form-error', role: 'alert' });
    return h('form', {
      class: 'dialog-form',
      onsubmit: (e) => {
        e.preventDefault();
        if (input.value.trim() === '') return close({ counted: null });
        const counted = parseMoney(input.value);
        if (counted === null || counted < 0) {
          error.textContent = 'Not a valid amount.';
          input.focus();
          return undefined;
        }
        return close({ counted });
      },
    },
    h('h2', {}, title),
    hint ? h('p', { class: 'muted' }, hint) : null,
    h('label', { for: 'counted-cash' }, 'Counted cash'),
    input, error,
    h('div', { class: 'dialog-actions' },
      h('button', { type: 'button', class: 'btn', testid: 'close-session-cancel', onclick: () => close(null) }, 'Cancel'),
      h('button', { type: 'submit', class: 'btn btn-danger', testid: 'close-session-confirm' }, 'Close session')));
  }, { testid: 'close-session', label: title });
}
