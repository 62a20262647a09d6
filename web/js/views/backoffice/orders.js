// orders.js: the back office's orders by state (drafts, paid, cancelled; paid ones
// filterable to the invoiced), and each order's facts and full history: every
// accepted op in words, with its version, time, counter and terminal.

import { h, replace } from '../../dom.js';
import { formatMoney } from '../../money.js';
import { describeOp, orderLabel } from '../../wording.js';
import { BoundedMap } from '../../boundedmap.js';
import { nameIn } from './lookups.js';
import { sectionHead } from './layout.js';
import { toast } from '../ui.js';

export const ordersSection = { key: 'orders', title: 'Orders', mount: (ctx, id) => mountOrders(ctx, id) };

/** Orders seen in the lists, so a detail page can show their facts: a manager's token
 * cannot `GET /orders/{id}` (terminals only). Bounded: a day of browsing pages of
 * paid orders must not grow the page's memory without end. */
export const ORDER_CACHE_MAX_ENTRIES = 1000;
const orderCache = new BoundedMap(ORDER_CACHE_MAX_ENTRIES);

async function mountOrders(ctx, id) {
  const configs = await ctx.api.configs();
  await ctx.lookups.load(['products', 'customers', 'payment_methods']);
  const configName = (cid) => nameIn(configs, cid);
  if (id) return orderDetail(ctx, id, configName);

  const state = sessionStorage.getItem('possync:bo-order-state') || 'draft';
  let invoicedOnly = false;
  const tbody = h('tbody', {});
  const tabs = h('div', { class: 'chips', role: 'group', 'aria-label': 'Order state' },
    ['draft', 'paid', 'cancelled'].map((s) => h('button', {
      class: ['chip', s === state ? 'active' : null], testid: `bo-orders-state-${s}`, 'aria-pressed': String(s === state),
      onclick: () => { sessionStorage.setItem('possync:bo-order-state', s); mountOrders(ctx, null).catch(ctx.fail); },
    }, s)));
  // Paged (PROTOCOL.md "Paging"): the first page now, more on "Load more".
  const first = await ctx.api.ordersPage(state);
  const orders = first.items;
  let next = first.next;
  for (const o of orders) orderCache.set(o.id, o);
  const more = h('button', { type: 'button', class: 'btn', testid: 'bo-load-more', hidden: !next }, 'Load more');
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const page = await ctx.api.page(next);
      for (const o of page.items) orderCache.set(o.id, o);
      orders.push(...page.items);
      next = page.next;
      render();
    } catch (err) {
      toast(err.message, 'warn');
    }
    more.disabled = false;
  });
  const render = () => {
    more.hidden = !next;
    const shown = orders.filter((o) => !invoicedOnly || o.invoice).sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1));
    replace(tbody, shown.length ? shown.map((o) => h('tr', {
      testid: 'bo-row', 'data-id': o.id, class: 'clickable', tabindex: '0',
      onclick: () => { location.hash = `#/office/orders/${o.id}`; },
      onkeydown: (e) => { if (e.key === 'Enter') location.hash = `#/office/orders/${o.id}`; },
    },
    h('td', {}, orderLabel(o)),
    h('td', {}, configName(o.origin && o.origin.config_id)),
    h('td', {}, ctx.lookups.name('customers', o.customer_id) || '—'),
    h('td', { class: 'num' }, formatMoney(o.totals.total)),
    h('td', {}, o.invoice ? 'yes' : ''),
    h('td', {}, o.updated_at ? new Date(o.updated_at).toLocaleString() : ''),
    h('td', {}, o.updated_by ? o.updated_by.config_name : '')))
      : h('tr', {}, h('td', { colspan: 7, class: 'empty' }, `No ${state} orders.`)));
  };
  render();
  replace(ctx.content,
    sectionHead('Orders', tabs,
      state === 'paid' ? h('label', { class: 'check' }, h('input', { type: 'checkbox', testid: 'bo-orders-invoiced', onchange: (e) => { invoicedOnly = e.target.checked; render(); } }), ' Invoiced only') : null),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', testid: 'bo-list' },
      h('thead', {}, h('tr', {}, ['Order', 'Counter', 'Customer', 'Total', 'Invoice', 'Last change', 'By'].map((t) => h('th', { class: t === 'Total' ? 'num' : null }, t)))),
      tbody)),
    h('div', { class: 'form-actions' }, more));
  return undefined;
}

async function orderDetail(ctx, id, configName) {
  let order = orderCache.get(id) || null;
  if (!order) {
    try {
      order = await ctx.api.order(id);
    } catch {
      order = null; // the history alone still tells the story
    }
  }
  const history = await ctx.api.history(id);
  const productName = (pid) => ctx.lookups.name('products', pid) || null;
  const lineNames = new Map();
  const rows = history.map((entry) => {
    const op = entry.op || {};
    if (op.kind === 'add_line' && op.line_id) lineNames.set(op.line_id, productName(op.product_id) || `product #${op.product_id}`);
    const text = describeOp(op, {
      productName,
      lineNames,
      customerName: (cid) => ctx.lookups.name('customers', cid),
      methodName: (mid) => ctx.lookups.name('payment_methods', mid),
    });
    const by = entry.by || {};
    return h('tr', { testid: 'history-row', 'data-version': entry.version },
      h('td', { class: 'num' }, String(entry.version)),
      h('td', {}, entry.at ? new Date(entry.at).toLocaleString() : ''),
      h('td', { testid: 'history-by' }, by.config_name || configName(by.config_id)),
      h('td', { class: 'muted small' }, `${by.terminal ? String(by.terminal).slice(0, 8) : ''}${by.session_id ? ` · session #${by.session_id}` : ''}`),
      h('td', { testid: 'history-what' }, text, h('details', {}, h('summary', {}, 'op'), h('code', {}, JSON.stringify(op)))));
  });
  replace(ctx.content,
    sectionHead(order ? `Order ${orderLabel(order)}` : `Order ${id}`, h('a', { class: 'btn', href: '#/office/orders' }, 'All orders')),
    order ? h('div', { class: 'order-facts', testid: 'bo-order' },
      h('span', {}, `State: ${order.state}`),
      h('span', {}, `Counter: ${configName(order.origin && order.origin.config_id)}`),
      h('span', {}, `Total: ${formatMoney(order.totals.total)} (tax ${formatMoney(order.totals.tax)})`),
      order.customer_id != null ? h('span', {}, `Customer: ${ctx.lookups.name('customers', order.customer_id)}`) : null,
      order.paid_by ? h('span', {}, `Paid at ${order.paid_by.config_name}`) : null,
      order.invoice ? h('span', { class: 'tag' }, 'invoice') : null) : null,
    h('h2', {}, 'History'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', testid: 'order-history' },
      h('thead', {}, h('tr', {}, ['Version', 'When', 'Counter', 'Terminal', 'What'].map((t) => h('th', {}, t)))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'No history.'))))));
}
