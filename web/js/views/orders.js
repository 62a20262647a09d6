// orders.js: every draft this counter can see, its own and those shared by linked
// counters: origin counter, customer, items, total, last change (when, by which
// counter), who has it open now, and a lock badge while another counter takes the
// payment. Everything updates live; a row opens the order on the till. Orders paid
// on this till without the server are listed apart until the server has them.

import { h, replace, frameScheduler } from '../dom.js';
import { formatMoney } from '../money.js';
import { orderLabel, timeAgo, abandonedLockText } from '../wording.js';
import { topbar } from './topbar.js';

export function mountOrders(root, app) {
  const till = app.till;
  let filter = 'all'; // all | mine | shared
  const bar = topbar(app, { active: 'orders' });
  const body = h('tbody', { testid: 'orders-list' });
  const count = h('span', { class: 'muted', testid: 'orders-count' });
  const chips = h('div', { class: 'chips', role: 'group', 'aria-label': 'Filter' });
  const paidOfflineBox = h('section', { class: 'paid-offline', testid: 'orders-paid-offline', hidden: true, 'aria-label': 'Paid offline' });

  /** Payments taken without the server, until it has them (their receipts stay at hand). */
  function renderPaidOffline() {
    const paid = till.paidOffline();
    paidOfflineBox.hidden = paid.length === 0;
    replace(paidOfflineBox, paid.length ? [
      h('h2', {}, `Paid offline, waiting for the server (${paid.length})`),
      h('ul', { class: 'paid-offline-list' }, paid.map((o) => h('li', { testid: 'paid-offline-row', 'data-order-id': o.id },
        h('span', {}, orderLabel(o)),
        h('span', { class: 'money' }, formatMoney(o.totals.total)),
        h('a', { class: 'btn btn-small', href: `#/receipt/${encodeURIComponent(o.id)}` }, 'Receipt')))),
    ] : null);
  }

  function renderChips() {
    const chip = (key, label) => h('button', {
      class: ['chip', filter === key ? 'active' : null], testid: `orders-filter-${key}`, 'aria-pressed': String(filter === key),
      onclick: () => { filter = key; renderChips(); render(); },
    }, label);
    replace(chips, chip('all', 'All'), chip('mine', 'This counter'), chip('shared', 'From other counters'));
  }

  const el = h('div', { class: 'screen screen-orders' },
    bar.el,
    h('main', { class: 'orders' },
      h('div', { class: 'orders-head' },
        h('h1', {}, 'Open orders ', count),
        chips,
        h('div', { class: 'spacer' }),
        h('button', { class: 'btn', testid: 'orders-back', onclick: () => { location.hash = '#/pos'; } }, 'Back to till'),
        h('button', { class: 'btn btn-primary', testid: 'orders-new', onclick: () => { till.newOrder(); location.hash = '#/pos'; } }, '+ New order')),
      paidOfflineBox,
      h('div', { class: 'table-wrap' },
        h('table', { class: 'table orders-table' },
          h('thead', {}, h('tr', {},
            h('th', {}, 'Order'), h('th', {}, 'Counter'), h('th', {}, 'Customer'), h('th', { class: 'num' }, 'Items'),
            h('th', { class: 'num' }, 'Total'), h('th', {}, 'Last change'), h('th', {}, 'Open now'), h('th', {}, 'Status'))),
          body))));
  replace(root, el);

  function open(order_id) {
    till.setCurrent(order_id);
    location.hash = '#/pos';
  }

  function renderNow() {
    renderPaidOffline();
    const now = till.serverNow();
    const all = till.drafts();
    const shown = all.filter((o) => filter === 'all' || (filter === 'mine') === (o.origin.config_id === till.config.id));
    count.textContent = `(${all.length})`;
    if (!shown.length) {
      replace(body, h('tr', {}, h('td', { colspan: 8, class: 'empty', testid: 'orders-empty' }, 'No open orders.')));
      return;
    }
    replace(body, shown.map((o) => {
      const customer = o.customer_id != null ? till.catalog.customers.get(o.customer_id) : null;
      const lock = till.foreignLock(o);
      const ownLock = o.lock && o.lock.terminal === till.terminalId && Date.parse(o.lock.until) > now;
      const present = till.presence(o.id);
      const by = o.updated_by;
      return h('tr', {
        class: ['orders-row', o.id === till.currentOrderId ? 'current' : null, lock ? 'locked' : null],
        testid: 'orders-row', 'data-order-id': o.id, tabindex: '0',
        onclick: () => open(o.id),
        onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(o.id); } },
      },
      h('td', { testid: 'orders-ref' }, h('strong', {}, orderLabel(o)), o.shared ? h('span', { class: 'tag tag-shared' }, 'shared') : null),
      h('td', { testid: 'order-origin' }, till.configName(o.origin.config_id)),
      h('td', { testid: 'order-customer' }, customer ? customer.name : o.customer_id != null ? `#${o.customer_id}` : h('span', { class: 'muted' }, '—')),
      h('td', { class: 'num', testid: 'order-items' }, String(o.lines.length)),
      h('td', { class: 'num money', testid: 'order-total' }, formatMoney(o.totals.total)),
      h('td', { testid: 'order-last-change' }, `${timeAgo(o.updated_at, now)}${by && by.config_name ? ` · ${by.config_name}` : ''}`,
        till.store.hasPendingOps(o.id) ? h('span', { class: 'tag tag-pending' }, 'saving…') : null),
      h('td', { testid: 'order-presence' }, present.length ? [...new Set(present.map((t) => t.config_name))].map((n) => h('span', { class: 'tag' }, n)) : h('span', { class: 'muted' }, '—')),
      h('td', {},
        lock ? h('span', { class: 'lock-badge', testid: 'lock-badge' }, `Being paid at ${lock.config_name || 'another counter'}`) : null,
        lock && till.abandonedLock(o) ? h('div', { class: 'lock-lease', testid: 'lock-lease' }, abandonedLockText(lock, now)) : null,
        ownLock ? h('span', { class: 'tag' }, 'paying here') : null));
    }));
  }

  const render = frameScheduler(renderNow);
  const off = till.subscribe((e) => {
    if (['orders', 'pending', 'catalog', 'welcome', 'sync'].includes(e.type)) {
      till.markSharedSeen(); // what arrives while the list is open is seen
      render();
    }
  });
  // A lock whose holder left counts down its lease, by the second.
  const ticker = setInterval(() => { if (till.drafts().some((o) => till.abandonedLock(o))) render(); }, 1000);
  const slowTicker = setInterval(render, 15_000);
  app.lifecycle.setPresence(null);
  till.markSharedSeen();
  renderChips();
  renderNow();

  function onKeyDown(e) {
    if (e.key === 'Escape' || e.key === 'F9') { e.preventDefault(); location.hash = '#/pos'; }
  }
  document.addEventListener('keydown', onKeyDown);
  const first = body.querySelector('tr[tabindex]');
  if (first) first.focus();

  return {
    unmount() {
      off();
      clearInterval(ticker);
      clearInterval(slowTicker);
      bar.destroy();
      document.removeEventListener('keydown', onKeyDown);
    },
  };
}
