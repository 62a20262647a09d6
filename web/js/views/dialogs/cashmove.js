// cashmove.js: cash put into or taken out of the drawer during a session (a float, a
// bank drop, a supplier paid from the till), from the till's menu. The amount is typed
// positive and the direction chosen; the reason is required. Sent as
// `POST /sessions/{id}/cash_moves {amount (signed, minor units), reason}`; the session
// report lists it and counts it in the cash expected in the drawer.

import { h } from '../../dom.js';
import { parseMoney, formatMoney } from '../../money.js';
import { openDialog, toast } from '../ui.js';

/** The body of a cash move from what was typed; throws Error with a sentence. */
export function cashMoveBody(direction, typed, reason) {
  const amount = parseMoney(typed);
  if (amount === null || amount <= 0) throw new Error('Type an amount above zero.');
  if (!reason.trim()) throw new Error('Say why the cash moves.');
  return { amount: direction === 'out' ? -amount : amount, reason: reason.trim() };
}

/** Asks for a cash move and records it at the till's session; resolves the move or null. */
export function recordCashMove(till) {
  return openDialog((close) => {
    const direction = h('select', { id: 'cash-move-direction', testid: 'cash-move-direction' },
      h('option', { value: 'in' }, 'Cash in'), h('option', { value: 'out' }, 'Cash out'));
    const amount = h('input', { type: 'text', inputmode: 'decimal', id: 'cash-move-amount', testid: 'cash-move-amount', placeholder: '0.00', autocomplete: 'off', autofocus: true });
    const reason = h('input', { type: 'text', id: 'cash-move-reason', testid: 'cash-move-reason', maxlength: '1000', placeholder: 'Float, bank drop, milk from the shop next door…' });
    const error = h('p', { class: 'form-error', role: 'alert' });
    const save = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'cash-move-save' }, 'Record');
    return h('form', {
      class: 'dialog-form',
      onsubmit: async (e) => {
        e.preventDefault();
        error.textContent = '';
        let body;
        try {
          body = cashMoveBody(direction.value, amount.value, reason.value);
        } catch (err) {
          error.textContent = err.message;
          return;
        }
        save.disabled = true;
        try {
          const move = await till.api.post(`/sessions/${till.session.id}/cash_moves`, body);
          toast(`${move.amount < 0 ? 'Cash out' : 'Cash in'} ${formatMoney(Math.abs(move.amount))} recorded`, 'info');
          close(move);
        } catch (err) {
          error.textContent = err.message;
          save.disabled = false;
        }
      },
    },
    h('h2', {}, 'Cash in / out'),
    h('label', { for: 'cash-move-direction' }, 'Direction'), direction,
    h('label', { for: 'cash-move-amount' }, 'Amount'), amount,
    h('label', { for: 'cash-move-reason' }, 'Reason'), reason,
    error,
    h('div', { class: 'dialog-actions' },
      h('button', { type: 'button', class: 'btn', testid: 'cash-move-cancel', onclick: () => close(null) }, 'Cancel'),
      save));
  }, { testid: 'cash-move', label: 'Cash in / out' });
}
