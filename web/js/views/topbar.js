// topbar.js: the bar over every till screen: the counter's name, the live sync state
// (live / reconnecting / offline with the count of pending changes), the Manual Sync
// button and its result, the receipt printer when it is off or has a queue
// ("Printer offline, 2 queued", from GET /configs/{id}/printer, read every 10 s
// and after each payment), the Orders button with the count of visible drafts,
// the Paid button (this session's receipts), and the menu (back office, reload
// products, till settings, close session, switch counter, sign out).

import { h, replace } from '../dom.js';
import { syncStateLabel, printerStateLabel } from '../wording.js';
import { editTillSettings } from './dialogs/tillsettings.js';
import { recordCashMove } from './dialogs/cashmove.js';

/** How often the till reads its printer's state (PROTOCOL.md: jobs retry at least every 10 s). */
const PRINTER_POLL_MS = 10_000;

export function topbar(app, { active = 'pos' } = {}) {
  const till = app.till;
  const name = h('span', { class: 'counter-name', testid: 'counter-name' });
  const sub = h('span', { class: 'counter-sub', testid: 'session-info' });
  const state = h('span', { class: 'sync-state', testid: 'sync-state', role: 'status', 'aria-live': 'polite' });
  const result = h('span', { class: 'sync-result', testid: 'sync-result', 'aria-live': 'polite' });
  const syncButton = h('button', {
    class: 'btn btn-sync', testid: 'manual-sync', title: 'Share this order with linked counters and send all changes now (F8)',
    onclick: () => till.manualSync(),
    'aria-label': 'Manual Sync',
  }, h('span', { class: 'icon', 'aria-hidden': 'true' }, '⟳'), h('span', { class: 'btn-label' }, 'Manual Sync'));
  const badge = h('span', { class: 'badge', testid: 'orders-badge' }, '0');
  // Shared orders that came from other counters and were not looked at yet.
  const fresh = h('span', { class: 'badge badge-new', testid: 'orders-new', hidden: true });
  const ordersButton = h('button', {
    class: ['btn', 'btn-orders', active === 'orders' ? 'active' : null], testid: 'orders-button', title: 'Open orders (F9)',
    onclick: () => { location.hash = active === 'orders' ? '#/pos' : '#/orders'; },
  }, 'Orders ', badge, fresh);
  const paidButton = h('button', {
    class: ['btn', 'btn-paid', active === 'paid' ? 'active' : null], testid: 'paid-button', title: 'Paid orders and receipts of this session',
    onclick: () => { location.hash = active === 'paid' ? '#/pos' : '#/paid'; },
  }, 'Paid');
  const printer = h('span', { class: 'printer-state', testid: 'printer-state', role: 'status', 'aria-live': 'polite', hidden: true });
  const menu = h('div', { class: 'menu', hidden: true, role: 'menu', testid: 'menu' });
  const menuButton = h('button', { class: 'btn btn-menu', testid: 'menu-button', 'aria-haspopup': 'menu', 'aria-label': 'Menu', onclick: () => toggleMenu() }, '☰');

  function toggleMenu(open = menu.hidden) {
    menu.hidden = !open;
    menuButton.setAttribute('aria-expanded', String(open));
    if (open) {
      replace(menu,
        app.account.isManager() ? h('button', { role: 'menuitem', testid: 'menu-backoffice', onclick: () => { toggleMenu(false); location.hash = '#/office/configs'; } }, 'Back office') : null,
        h('button', { role: 'menuitem', testid: 'menu-refresh', onclick: () => { toggleMenu(false); till.refreshCatalog(); } }, 'Reload products'),
        h('button', { role: 'menuitem', testid: 'menu-settings', onclick: () => { toggleMenu(false); editTillSettings(app); } }, 'Till settings…'),
        h('button', { role: 'menuitem', testid: 'menu-cash-move', onclick: () => { toggleMenu(false); recordCashMove(till); } }, 'Cash in / out…'),
        h('button', { role: 'menuitem', testid: 'menu-close-session', onclick: () => { toggleMenu(false); app.lifecycle.closeSession(); } }, 'Close session…'),
        h('button', { role: 'menuitem', testid: 'menu-switch', onclick: () => { toggleMenu(false); location.hash = '#/session'; } }, 'Switch counter'),
        h('button', { role: 'menuitem', testid: 'menu-logout', onclick: () => { toggleMenu(false); app.account.logout(); } }, 'Sign out'));
      menu.querySelector('button').focus();
    }
  }
  menu.addEventListener('keydown', (e) => { if (e.key === 'Escape') { toggleMenu(false); menuButton.focus(); } });
  const onDocumentClick = (e) => { if (!menu.hidden && !menu.contains(e.target) && e.target !== menuButton) toggleMenu(false); };
  document.addEventListener('click', onDocumentClick);

  const el = h('header', { class: 'topbar' },
    h('div', { class: 'topbar-left' }, name, sub),
    h('div', { class: 'topbar-mid' }, state, syncButton, result, printer),
    h('div', { class: 'topbar-right' }, ordersButton, paidButton, h('div', { class: 'menu-wrap' }, menuButton, menu)));

  /** Reads the printer's state; a till without a printer (or offline) shows nothing. */
  let printerAlive = true;
  let printerTimer = null;
  async function refreshPrinter() {
    clearTimeout(printerTimer);
    // Once the session is closed (its report may still be on screen) the till's
    // token is revoked: asking would only be refused.
    if (!app.auth.terminal_token) return;
    let status = null;
    try {
      status = await till.api.printerStatus(till.config.id);
    } catch {
      status = null; // the server is unreachable: the sync state says so already
    }
    if (!printerAlive) return;
    const said = printerStateLabel(status);
    printer.hidden = !said;
    printer.textContent = said ? said.label : '';
    printer.className = `printer-state tone-${said ? said.tone : 'busy'}`;
    printer.dataset.state = status ? status.state : 'unknown';
    printer.dataset.queued = String(status ? status.queued : 0);
    printerTimer = setTimeout(refreshPrinter, PRINTER_POLL_MS);
  }

  let resultTimer = null;
  function update(event) {
    name.textContent = till.config.name || `Counter #${till.config.id}`;
    sub.textContent = `${app.auth.user ? app.auth.user.name : ''}${till.storageKind === 'memory' ? ' · not saved on this device!' : ''}`;
    const s = till.syncState();
    const pending = till.pendingCount();
    const { label, tone } = syncStateLabel(s, pending);
    replace(state, h('span', { class: 'sync-label' }, label));
    state.title = label;
    state.className = `sync-state tone-${tone}`;
    state.dataset.state = s;
    state.dataset.pending = String(pending);
    const n = till.drafts().length;
    badge.textContent = String(n);
    badge.dataset.count = String(n);
    const unseen = till.unseenSharedCount();
    fresh.hidden = unseen === 0;
    fresh.textContent = `${unseen} new`;
    fresh.dataset.count = String(unseen);
    ordersButton.setAttribute('aria-label', `Orders, ${n} open${unseen ? `, ${unseen} newly shared` : ''}`);
    // "Synced with Counter 2" stops being true at the next change or lost link.
    if (result.textContent && result.classList.contains('ok') && (pending > 0 || s !== 'live')) {
      clearTimeout(resultTimer);
      result.textContent = '';
      result.className = 'sync-result';
    }
    if (event && event.type === 'manual_sync' && till.lastSyncResult) {
      result.textContent = till.lastSyncResult.text;
      result.className = `sync-result ${till.lastSyncResult.busy ? 'busy' : till.lastSyncResult.ok ? 'ok' : 'warn'}`;
      syncButton.disabled = !!till.lastSyncResult.busy;
      clearTimeout(resultTimer);
      if (!till.lastSyncResult.busy) {
        resultTimer = setTimeout(() => { result.textContent = ''; }, 8000);
      }
    }
  }
  update();
  refreshPrinter();
  const off = till.subscribe((e) => {
    if (['sync', 'pending', 'orders', 'manual_sync', 'welcome', 'storage'].includes(e.type)) update(e);
    // A payment queues a receipt: look at the printer soon after.
    if (e.type === 'removed' && e.reason === 'paid') { clearTimeout(printerTimer); printerTimer = setTimeout(refreshPrinter, 1500); }
  });
  return {
    el,
    refreshPrinter,
    destroy: () => {
      off();
      printerAlive = false;
      clearTimeout(resultTimer);
      clearTimeout(printerTimer);
      document.removeEventListener('click', onDocumentClick);
    },
  };
}
