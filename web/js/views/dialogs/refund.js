// refund.js: the till's refund of a paid order (PROTOCOL.md "Refunds"). From the
// Paid screen, Refund… lists the order's lines with what is still refundable (sold
// minus what its refunds the till knows of, paid or draft, bring back); the cashier
// sets how many of each come back and the server makes the refund draft
// (`POST /orders/{id}/refund`), whose lines are fixed. The server has the last
// word: a refund made elsewhere meanwhile is refused with its reason, shown here.

import { h, replace } from '../../dom.js';
import { formatMoney } from '../../money.js';
import { parseQty, formatQty } from '../../quantity.js';
import { openDialog } from '../ui.js';

/** What may still come back of each line of `order` (milli, by line id), given the
 * refunds of it in `known` (orders with `refund_of` = its id; cancelled ones free
 * their quantities). */
export function refundableMilli(order, known) {
  const back = new Map();
  for (const refund of known) {
    if (refund.refund_of !== order.id || refund.state === 'cancelled') continue;
    for (const line of refund.lines) back.set(line.id, (back.get(line.id) || 0) - (parseQty(line.qty) || 0));
  }
  const left = new Map();
  for (const line of order.lines) left.set(line.id, Math.max(0, (parseQty(line.qty) || 0) - (back.get(line.id) || 0)));
  return left;
}

/** The refund's lines from what was typed per line ({line_id: text}), checked
 * against what is left; throws Error with a sentence a cashier can read. */
export function refundLinesFrom(order, typed, left) {
  const lines = [];
  for (const line of order.lines) {
    const text = (typed[line.id] || '').trim();
    if (!text) continue;
    const milli = parseQty(text);
    if (milli === null || milli < 0) throw new Error(`“${text}” is not a quantity (${line.name}).`);
    if (milli === 0) continue;
    if (milli > (left.get(line.id) || 0)) {
      throw new Error(`Only ${formatQty(left.get(line.id) || 0)} of ${line.name} can still be refunded.`);
    }
    lines.push({ line_id: line.id, qty: formatQty(milli) });
  }
  if (!lines.length) throw new Error('Choose at least one line to refund.');
  return lines;
}

/** Opens the dialog for the paid `order`. `submit(lines)` asks the server and
 * resolves {ok, order} or {ok:false, message}. Resolves the refund draft, or null
 * when the cashier gave up. */
export function askRefund(order, { known, submit }) {
  const left = refundableMilli(order, known);
  return openDialog((close) => {
    const inputs = new Map();
    const rows = order.lines.map((line) => {
      const available = left.get(line.id) || 0;
      const input = h('input', {
        type: 'text', inputmode: 'decimal', autocomplete: 'off', class: 'refund-qty',
        testid: 'refund-qty', 'data-line-id': line.id, 'aria-label': `${line.name}: quantity to refund`,
        value: available ? formatQty(available) : '', disabled: !available,
      });
      inputs.set(line.id, input);
      return h('tr', { testid: 'refund-line', 'data-line-id': line.id },
        h('td', {}, line.name),
        h('td', { class: 'num' }, line.qty),
        h('td', { class: 'num', testid: 'refund-left' }, formatQty(available)),
        h('td', { class: 'num money' }, formatMoney(line.unit_price)),
        h('td', {}, input));
    });
    const error = h('p', { class: 'form-error', role: 'alert', testid: 'refund-error' });
    const create = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'refund-create' }, 'Make refund');
    const form = h('form', { class: 'dialog-form refund-form', testid: 'refund-form' });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      error.textContent = '';
      let lines;
      try {
        const typed = {};
        for (const [line_id, input] of inputs) typed[line_id] = input.value;
        lines = refundLinesFrom(order, typed, left);
      } catch (err) {
        error.textContent = err.message;
        return;
      }
      create.disabled = true;
      const answer = await submit(lines);
      create.disabled = false;
      if (answer.ok) close(answer.order);
      else error.textContent = answer.message;
    });
    replace(form,
      h('h2', {}, `Refund ${order.receipt_number || ''}`.trim()),
      h('p', { class: 'muted' }, 'How many of each line come back? The refund is paid out on the payment screen.'),
      h('table', { class: 'table refund-table' },
        h('thead', {}, h('tr', {},
          h('th', {}, 'Line'), h('th', { class: 'num' }, 'Sold'), h('th', { class: 'num' }, 'Refundable'),
          h('th', { class: 'num' }, 'Price'), h('th', {}, 'Refund'))),
        h('tbody', {}, rows)),
      error,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', testid: 'refund-cancel', onclick: () => close(null) }, 'Cancel'),
        create));
    return form;
  }, { testid: 'refund-dialog', label: 'Refund' });
}
