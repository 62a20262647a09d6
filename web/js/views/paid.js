// paid.js: the orders this session took payment for, newest first, each with its
// receipt number, time, total and payments. A row opens its receipt, the very
// HTML of GET /orders/{id}/receipt shown in a sandboxed frame, with Reprint (POST
// /orders/{id}/print: a copy marked REPRINT on this counter's printer, never the
// drawer) and the browser's Print. A sale (not itself a refund) has Refund…: the
// cashier picks lines and quantities, a manager approves when the counter keeps
// refunds for managers, and the refund draft opens on the payment screen to be
// paid out.

import { h, replace } from '../dom.js';
import { formatMoney } from '../money.js';
import { orderLabel } from '../wording.js';
import { uuidv7 } from '../ids.js';
import { topbar } from './topbar.js';
import { toast } from './ui.js';
import { askApproval } from './dialogs/approval.js';
import { askRefund } from './dialogs/refund.js';

/** Paid orders read at most: the newest of the session come first. */
const PAID_LISTED_MAX = 200;

export function mountPaid(root, app, { order_id = null } = {}) {
  const till = app.till;
  const bar = topbar(app, { active: 'paid' });
  const list = h('tbody', { testid: 'paid-list' }, h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'Loading paid orders…')));
  const count = h('span', { class: 'muted', testid: 'paid-count' });
  const frame = h('iframe', {
    class: 'receipt-frame', testid: 'paid-receipt-frame', title: 'Receipt',
    // The receipt is the server's HTML: shown, never run.
    sandbox: 'allow-modal allow-same-origin',
  });
  const viewer = h('section', { class: 'paid-receipt', testid: 'paid-receipt', hidden: true, 'aria-label': 'Receipt' });
  const el = h('div', { class: 'screen screen-paid' },
    bar.el,
    h('main', { class: 'paid' },
      h('div', { class: 'orders-head' },
        h('h1', {}, 'Paid this session ', count),
        h('div', { class: 'spacer' }),
        h('button', { class: 'btn', testid: 'paid-back', onclick: () => { location.hash = '#/pos'; } }, 'Back to till')),
      h('div', { class: 'paid-layout' },
        h('div', { class: 'table-wrap' },
          h('table', { class: 'table paid-table' },
            h('thead', {}, h('tr', {},
              h('th', {}, 'Receipt'), h('th', {}, 'Paid'), h('th', {}, 'Started at'),
              h('th', { class: 'num' }, 'Total'), h('th', {}, 'Payments'))),
            list)),
        viewer)));
  replace(root, el);
  app.lifecycle.setPresence(null);

  let alive = true;
  let orders = [];
  const methodName = (id) => (till.catalog.payment_methods.get(id) || { name: `#${id}` }).name;

  function open(id) {
    for (const row of list.querySelectorAll('tr[data-order-id]')) row.classList.toggle('current', row.dataset.orderId === id);
    const order = orders.find((o) => o.id === id);
    const reprint = h('button', {
      class: 'btn btn-primary', testid: 'paid-reprint',
      onclick: async () => {
        reprint.disabled = true;
        try {
          await till.api.reprint(id);
          toast('Sent to the printer', 'info');
          bar.refreshPrinter();
        } catch (err) {
          toast(err.code === 'no_printer' ? 'This counter has no receipt printer' : err.message, 'warn');
        } finally {
          reprint.disabled = false;
        }
      },
    }, 'Reprint');
    const refund = order && !order.refund_of && order.totals.total > 0
      ? h('button', { class: 'btn', testid: 'paid-refund', onclick: () => refundOrder(order) }, 'Refund…')
      : null;
    const print = h('button', { class: 'btn', testid: 'paid-print', onclick: () => frame.contentWindow && frame.contentWindow.print() }, 'Print here');
    replace(viewer,
      h('div', { class: 'paid-receipt-head' },
        h('h2', {}, order && order.receipt_number ? `Receipt ${order.receipt_number}` : 'Receipt'),
        h('div', { class: 'spacer' }), refund, print, reprint),
      frame);
    viewer.hidden = false;
    viewer.dataset.orderId = id;
    frame.srcdoc = '';
    till.api.receiptHtml(id).then((html) => {
      if (alive && viewer.dataset.orderId === id) {
        frame.srcdoc = html;
        viewer.dataset.loaded = 'true';
      }
    }).catch((err) => {
      if (alive) replace(viewer, h('p', { class: 'empty' }, `The receipt cannot be shown: ${err.message}`));
    });
    viewer.dataset.loaded = 'false';
  }

  /** Refund… of a paid sale: the dialog, the manager's approval when the server
   * asks for it, then the refund draft's payment screen. */
  async function refundOrder(order) {
    // The refunds this till knows of: paid ones in the listing, drafts at the till.
    const known = [...orders, ...till.drafts()].filter((o) => o.refund_of === order.id);
    // One id for this refund, sent again with the manager's approval.
    const order_id = uuidv7();
    const draft = await askRefund(order, {
      known,
      submit: async (lines) => {
        const answer = await till.refund(order.id, { order_id, lines });
        if (answer.ok || answer.code !== 'forbidden') return answer;
        let approved = null;
        const done = await askApproval(till, {
          what: 'A refund: this counter keeps prices, discounts and refunds for managers.',
          send: async (approval) => {
            approved = await till.refund(order.id, { order_id, lines, approval });
            return approved;
          },
        });
        return done && approved && approved.ok ? approved
          : { ok: false, message: 'A refund at this counter needs a manager’s approval.' };
      },
    });
    if (!alive || !draft) return;
    toast(`Refund of ${formatMoney(-draft.totals.total)} ready to pay out`, 'info');
    location.hash = `#/pay/${draft.id}`;
  }

  function render() {
    count.textContent = `(${orders.length})`;
    if (!orders.length) {
      replace(list, h('tr', {}, h('td', { colspan: 5, class: 'empty', testid: 'paid-empty' }, 'No payments in this session yet.')));
      return;
    }
    replace(list, orders.map((o) => h('tr', {
      class: 'clickable', testid: 'paid-row', 'data-order-id': o.id, tabindex: '0',
      onclick: () => open(o.id),
      onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(o.id); } },
    },
    h('td', { testid: 'paid-number' }, h('strong', {}, o.receipt_number || orderLabel(o))),
    h('td', {}, new Date(o.updated_at).toLocaleTimeString()),
    h('td', { testid: 'paid-origin' }, till.configName(o.origin.config_id)),
    h('td', { class: 'num money', testid: 'paid-total' }, formatMoney(o.totals.total)),
    h('td', {}, (o.payments || []).map((p) => `${methodName(p.method_id)} ${formatMoney(p.amount)}`).join(', ')))));
  }

  till.api.paidOrdersPage(PAID_LISTED_MAX).then(({ items }) => {
    if (!alive) return;
    // The listing holds what this till may read; the session's own payments are shown.
    orders = items.filter((o) => o.paid_by && o.paid_by.session_id === till.session.id);
    render();
    if (order_id) open(order_id);
  }).catch((err) => {
    if (alive) replace(list, h('tr', {}, h('td', { colspan: 5, class: 'empty' }, `Paid orders cannot be read now: ${err.message}`)));
  });

  function onKeyDown(e) {
    if (e.key === 'Escape') { e.preventDefault(); location.hash = '#/pos'; }
  }
  document.addEventListener('keydown', onKeyDown);
  return { unmount() { alive = false; bar.destroy(); document.removeEventListener('keydown', onKeyDown); } };
}
