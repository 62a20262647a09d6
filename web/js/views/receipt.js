// receipt.js: the receipt after a payment: lines, totals with tax, payments and
// change, printable (css/app.css has the print rules that show only the receipt),
// and "New order" to go on. A payment taken offline says so, and once the server
// has taken it the receipt is read again from the server (its reference and, when
// the server gives one, its receipt number).

import { h, replace } from '../dom.js';
import { formatMoney, bpToPercent, discountToBp } from '../money.js';
import { formatQty, parseQty } from '../quantity.js';
import { orderLabel } from '../wording.js';
import { topbar } from './topbar.js';

export function renderReceipt(order, { counterName, customerName, methodName }) {
  const paidAt = order.updated_at ? new Date(order.updated_at) : new Date();
  return h('article', { class: 'receipt', testid: 'receipt', 'data-order-id': order.id },
    h('header', { class: 'receipt-head' },
      h('h2', {}, counterName),
      h('div', { testid: 'receipt-reference' }, orderLabel(order)),
      order.receipt_number ? h('div', { class: 'receipt-number', testid: 'receipt-number' }, `Receipt ${order.receipt_number}`) : null,
      h('div', { class: 'small' }, paidAt.toLocaleString())),
    order.offline ? h('div', { class: 'receipt-offline', testid: 'receipt-offline' },
      order.offline.confirmed
        ? `Taken offline at ${new Date(order.offline.at).toLocaleTimeString()}; received by the server.`
        : 'Taken offline: kept on this till and sent to the server when it is back. The receipt number follows then.') : null,
    customerName ? h('div', { class: 'receipt-customer', testid: 'receipt-customer' }, `Customer: ${customerName}`) : null,
    h('table', { class: 'receipt-lines' },
      h('tbody', {}, order.lines.map((l) => {
        const disc = discountToBp(l.discount) || 0;
        return [
          h('tr', { testid: 'receipt-line' },
            h('td', {}, l.name),
            h('td', { class: 'num' }, formatMoney(l.total))),
          h('tr', { class: 'receipt-sub' },
            h('td', { colspan: 2 }, `${formatQty(parseQty(l.qty) ?? 0)} × ${formatMoney(l.unit_price)}${disc ? ` −${bpToPercent(disc)}%` : ''}${l.note ? ` · ${l.note}` : ''}`)),
        ];
      }))),
    h('table', { class: 'receipt-totals' },
      h('tbody', {},
        h('tr', {}, h('td', {}, 'Untaxed'), h('td', { class: 'num' }, formatMoney(order.totals.subtotal))),
        h('tr', {}, h('td', {}, 'Tax'), h('td', { class: 'num', testid: 'receipt-tax' }, formatMoney(order.totals.tax))),
        h('tr', { class: 'receipt-total' }, h('td', {}, 'Total'), h('td', { class: 'num', testid: 'receipt-total' }, formatMoney(order.totals.total))),
        (order.payments || []).map((p) => h('tr', { testid: 'receipt-payment' }, h('td', {}, methodName(p.method_id)), h('td', { class: 'num' }, formatMoney(p.amount)))),
        h('tr', {}, h('td', {}, 'Change'), h('td', { class: 'num', testid: 'receipt-change' }, formatMoney(order.change || 0))))),
    order.note ? h('p', { class: 'receipt-note' }, order.note) : null,
    order.invoice ? h('p', { class: 'receipt-invoice', testid: 'receipt-invoice' }, 'Invoice requested') : null,
    h('footer', { class: 'receipt-foot' }, 'Thank you!'));
}

export function mountReceipt(root, app, { order_id }) {
  const till = app.till;
  const bar = topbar(app, { active: 'receipt' });
  const holder = h('div', { class: 'receipt-holder' }, h('p', { class: 'muted' }, 'Loading receipt…'));
  const newOrder = h('button', { class: 'btn btn-pay', testid: 'receipt-new-order', onclick: () => { till.newOrder(); location.hash = '#/pos'; } }, 'New order');
  const el = h('div', { class: 'screen screen-receipt' },
    bar.el,
    h('main', { class: 'receipt-screen' },
      holder,
      h('div', { class: 'receipt-actions' },
        h('div', { class: 'receipt-done', testid: 'receipt-done' }, '✓ Paid'),
        h('button', { class: 'btn', testid: 'receipt-print', onclick: () => window.print() }, 'Print receipt'),
        newOrder)));
  replace(root, el);
  newOrder.focus();
  app.lifecycle.setPresence(null);

  const names = {
    counterName: till.config.name,
    methodName: (id) => (till.catalog.payment_methods.get(id) || { name: `#${id}` }).name,
  };
  const show = (order) => {
    if (!order) {
      replace(holder, h('p', { class: 'empty' }, 'This receipt is not available on this till.'));
      return;
    }
    const customer = order.customer_id != null ? till.catalog.customers.get(order.customer_id) : null;
    replace(holder, renderReceipt(order, { ...names, customerName: customer ? customer.name : order.customer_id != null ? `#${order.customer_id}` : null }));
  };
  let alive = true;
  let offline = null; // how the payment was taken offline, while it was
  /** The server's copy of the paid order, once it has it. */
  const fromServer = () => till.api.order(order_id).then((server) => {
    if (alive && server && server.state === 'paid') show(offline ? { ...server, offline: { ...offline, confirmed: true } } : server);
  }).catch(() => {});
  till.receipt(order_id).then((order) => {
    if (!alive) return;
    offline = order && order.offline ? order.offline : null;
    show(order);
    // The server's copy has the receipt number it gave the payment (and the
    // reference, which a copy made offline lacks), once the payment reached it.
    if (order && !till.store.hasPendingOps(order_id)) fromServer();
  });
  const off = till.subscribe((e) => {
    if (e.type === 'removed' && e.order_id === order_id && e.reason === 'paid') fromServer();
  });

  function onKeyDown(e) {
    if (e.key === 'Enter' && document.activeElement === document.body) { e.preventDefault(); newOrder.click(); }
  }
  document.addEventListener('keydown', onKeyDown);
  return { unmount() { alive = false; off(); bar.destroy(); document.removeEventListener('keydown', onKeyDown); } };
}
