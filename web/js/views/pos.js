// pos.js: the till screen. Left: search (also takes a scanner), category bar and
// product grid. Right: the open order with its lines, the selected line, totals
// with tax, the numpad (quantity, price, discount), customer, note, and Pay.
// Keyboard: digits . - Backspace on the numpad; Q/P/D choose what the numpad sets;
// arrows pick a line; Delete removes it; / or F2 searches; F4 pays; F8 Manual Sync;
// F9 orders. A scanner (fast digits then Enter) adds the product anywhere.
// The numpad's rules (a line changed elsewhere starts a new number; values the
// server refuses are refused while typing; large quantities wait for a yes) are in
// lineentry.js; tapping a tile or a key never takes the focus, so Enter never
// repeats the last tap.

import { h, replace, frameScheduler, isTyping, tapWithoutFocus } from '../dom.js';
import { formatMoney, bpToPercent } from '../money.js';
import { formatQty, parseQty } from '../quantity.js';
import { numpadKeyFor } from '../numpad.js';
import { LineEntry, quantityWords } from '../lineentry.js';
import { NOTE_CHARS_MAX } from '../limits.js';
import { createScanDetector } from '../scanner.js';
import { orderLabel, timeAgo, refusalWords, abandonedLockText, needsPriceControl } from '../wording.js';
import { topbar } from './topbar.js';
import { money, promptText, confirmDialog } from './ui.js';
import { orderLines } from './orderlines.js';
import { pickCustomer } from './dialogs/customerpicker.js';
import { askApproval } from './dialogs/approval.js';

const MODE_LABELS = { qty: 'Qty', discount: 'Disc %', price: 'Price' };
const FLASH_MS = 1200;

export function mountPos(root, app) {
  const till = app.till;
  let category = null;
  let query = '';
  const entry = new LineEntry({ confirm_above_milli: app.settings.qty_confirm_above * 1000 });
  const flashing = new Map(); // line_id -> until
  const changedBy = new Map(); // line_id -> the counter that changed it last (not this till)

  const bar = topbar(app, { active: 'pos' });

  // ---- catalog side ----
  const search = h('input', {
    type: 'search', class: 'search', testid: 'product-search', placeholder: 'Search products or scan a barcode',
    'aria-label': 'Search products or scan a barcode', autocomplete: 'off',
    oninput: () => { query = search.value; renderProducts(); },
    onkeydown: (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        submitSearch();
      } else if (e.key === 'Escape') {
        search.value = '';
        query = '';
        renderProducts();
        search.blur();
      }
    },
  });
  const categoryBar = h('nav', { class: 'categories', testid: 'category-bar', 'aria-label': 'Categories' });
  const grid = h('div', { class: 'product-grid', testid: 'product-grid', role: 'list' });

  // ---- order side ----
  const orderTitle = h('h2', { class: 'order-title', testid: 'order-title' });
  const orderBadges = h('div', { class: 'order-badges' });
  const banner = h('div', { class: 'order-banner', testid: 'order-banner', 'aria-live': 'polite' });
  const noteText = h('p', { class: 'order-note-text', testid: 'order-note-text' });
  const lines = orderLines({ onSelect: (id) => selectLine(id) });
  const hint = h('p', { class: 'numpad-hint', testid: 'numpad-hint', role: 'status', 'aria-live': 'polite' });
  const confirmBar = h('div', { class: 'qty-confirm-bar', hidden: true });
  const totals = h('div', { class: 'order-totals', testid: 'order-totals' });
  const customerButton = h('button', { class: 'btn btn-small', testid: 'customer-button', onclick: () => chooseCustomer() });
  const noteButton = h('button', { class: 'btn btn-small', testid: 'order-note-button', onclick: () => editNote() }, 'Note');
  const lineNoteButton = h('button', { class: 'btn btn-small', testid: 'line-note-button', onclick: () => editLineNote() }, 'Line note');
  const removeButton = h('button', { class: 'btn btn-small btn-danger-ghost', testid: 'remove-line', title: 'Remove the selected line (Delete)', onclick: () => till.removeSelectedLine() }, 'Remove');
  const cancelButton = h('button', { class: 'btn btn-small btn-danger-ghost', testid: 'cancel-order', onclick: () => cancelOrder() }, 'Cancel');
  const newButton = h('button', { class: 'btn btn-small', testid: 'new-order', title: 'Start a new order', onclick: () => till.newOrder() }, '+ New');
  const payButton = h('button', { class: 'btn btn-pay', testid: 'pay-button', onclick: () => goPay() });

  const modeButtons = {};
  for (const mode of ['qty', 'discount', 'price']) {
    modeButtons[mode] = h('button', {
      class: 'key key-mode', testid: `numpad-mode-${mode}`, 'aria-pressed': 'false',
      onclick: () => setMode(mode),
    }, MODE_LABELS[mode]);
  }
  const key = (k, label, testid) => h('button', { class: 'key', testid: `numpad-key-${testid}`, onclick: () => press(k) }, label);
  const numpad = h('div', { class: 'numpad', testid: 'numpad', role: 'group', 'aria-label': 'Numpad' },
    key('1', '1', '1'), key('2', '2', '2'), key('3', '3', '3'), modeButtons.qty,
    key('4', '4', '4'), key('5', '5', '5'), key('6', '6', '6'), modeButtons.discount,
    key('7', '7', '7'), key('8', '8', '8'), key('9', '9', '9'), modeButtons.price,
    key('+/-', '+/−', 'sign'), key('0', '0', '0'), key('.', '.', 'dot'), h('button', { class: 'key', testid: 'numpad-key-backspace', 'aria-label': 'Backspace', onclick: () => press('backspace') }, '⌫'));

  const el = h('div', { class: 'screen screen-pos' },
    bar.el,
    h('main', { class: 'pos' },
      h('section', { class: 'catalog-pane', 'aria-label': 'Products' },
        h('div', { class: 'search-row' }, search),
        categoryBar,
        grid),
      h('section', { class: 'order-pane', 'aria-label': 'Current order', testid: 'order-panel' },
        h('header', { class: 'order-head' }, h('div', { class: 'order-head-text' }, orderTitle, orderBadges), cancelButton, newButton),
        h('div', { class: 'order-tools' }, customerButton, noteButton, lineNoteButton, removeButton),
        noteText,
        banner,
        lines.el,
        totals,
        confirmBar,
        hint,
        numpad,
        payButton)));
  replace(root, el);

  // ---- rendering ----
  function renderCategories() {
    const cats = till.catalog.usedCategories();
    const chip = (id, label) => h('button', {
      class: ['chip', category === id ? 'active' : null],
      testid: id === null ? 'category-all' : 'category-button',
      'data-category-id': id === null ? null : id,
      'aria-pressed': String(category === id),
      onclick: () => { category = id; renderCategories(); renderProducts(); },
    }, label);
    replace(categoryBar, chip(null, 'All'), cats.map((c) => chip(c.id, c.name)));
  }

  function renderProducts() {
    const products = till.catalog.search(query, category);
    if (!products.length) {
      replace(grid, h('p', { class: 'empty' }, till.catalog.products.size ? 'No product matches.' : 'No products yet (or not loaded: check the connection).'));
      return;
    }
    replace(grid, products.map((p) => h('button', {
      class: 'tile', role: 'listitem', testid: 'product-tile', 'data-product-id': p.id,
      onclick: () => { till.addProduct(p); },
    },
    h('span', { class: 'tile-name' }, p.name),
    h('span', { class: 'tile-price' }, formatMoney(p.price)),
    p.tracks_stock ? h('span', { class: ['tile-stock', parseQty(p.on_hand) <= 0 ? 'low' : null] }, `${formatQty(parseQty(p.on_hand) ?? 0)} in stock`) : null)));
  }

  function renderOrder() {
    const order = till.currentOrder();
    const now = till.serverNow();
    const lock = till.foreignLock(order);
    const mine = order && order.origin.config_id === till.config.id;

    orderTitle.textContent = order ? orderLabel(order) : 'New order';
    replace(orderBadges,
      order && !mine ? h('span', { class: 'tag tag-origin', testid: 'order-origin' }, `from ${till.configName(order.origin.config_id)}`) : null,
      order && order.shared ? h('span', { class: 'tag tag-shared', testid: 'order-shared' }, 'shared') : null,
      order && till.store.hasPendingOps(order.id) ? h('span', { class: 'tag tag-pending', testid: 'order-pending', title: 'Changes not yet confirmed by the server' }, 'saving…') : null);

    const present = order ? till.presence(order.id) : [];
    replace(banner,
      lock ? h('div', { class: 'lock-badge', testid: 'lock-badge' }, `Being paid at ${lock.config_name || 'another counter'}`) : null,
      lock && till.abandonedLock(order) ? h('div', { class: 'lock-lease', testid: 'lock-lease' }, abandonedLockText(lock, now)) : null,
      // A manager may end a vanished till's lock before its lease does
      // (`cancel_payment` with approval; the history names the manager).
      lock && till.abandonedLock(order) ? h('button', {
        class: 'btn btn-small', testid: 'lock-release',
        onclick: () => askApproval(till, {
          what: `Release the payment lock of ${lock.config_name || 'another counter'} on ${orderLabel(order)} now, before its lease ends.`,
          send: (approval) => till.sendApproved(order.id, { kind: 'cancel_payment' }, approval),
        }),
      }, 'Release (manager)') : null,
      present.length ? h('div', { class: 'presence', testid: 'presence' }, `Also open at ${[...new Set(present.map((t) => t.config_name))].join(', ')}`) : null,
      order && order.updated_by && order.updated_by.terminal !== till.terminalId && order.version > 0
        ? h('div', { class: 'last-change', testid: 'last-change' }, `Last change ${timeAgo(order.updated_at, now)} at ${order.updated_by.config_name}`) : null);
    banner.hidden = !banner.childNodes.length;

    const customer = order && order.customer_id != null ? till.catalog.customers.get(order.customer_id) : null;
    const customerLabel = customer ? customer.name : order && order.customer_id != null ? `Customer #${order.customer_id}` : 'Customer';
    replace(customerButton, h('span', { class: 'btn-label' }, customerLabel));
    customerButton.title = customer ? `Customer: ${customer.name}` : 'Choose a customer';
    replace(noteButton, h('span', { class: 'btn-label' }, order && order.note ? 'Note ✓' : 'Note'));
    noteButton.title = order && order.note ? order.note : 'Order note';
    noteText.textContent = order && order.note ? order.note : '';
    noteText.hidden = !(order && order.note);

    if (order && order.lines.length && !order.lines.some((l) => l.id === till.selectedLineId)) {
      till.selectedLineId = order.lines[order.lines.length - 1].id;
    }
    lines.render(order, { selected: till.selectedLineId, flashing, changedBy, stockShort: stockShort(order) });

    const tot = order ? order.totals : { subtotal: 0, tax: 0, total: 0 };
    replace(totals,
      h('div', { class: 'tot-row' }, h('span', {}, 'Untaxed'), money(tot.subtotal, { testid: 'order-subtotal' })),
      h('div', { class: 'tot-row' }, h('span', {}, 'Tax'), money(tot.tax, { testid: 'order-tax' })),
      h('div', { class: 'tot-row tot-total' }, h('span', {}, 'Total'), money(tot.total, { testid: 'order-total' })));

    const hasLine = !!(order && till.selectedLineId);
    for (const b of [lineNoteButton, removeButton]) b.disabled = !hasLine || !!lock;
    // While another counter takes the payment every edit would be refused.
    for (const b of [customerButton, noteButton]) b.disabled = !!lock;
    cancelButton.disabled = !order || !!lock;
    payButton.disabled = !order || !order.lines.length || !!lock;
    replace(payButton, h('span', {}, 'Pay'), h('span', { class: 'money' }, formatMoney(tot.total)));
    numpad.classList.toggle('disabled', !hasLine || !!lock);
    for (const [mode, b] of Object.entries(modeButtons)) {
      b.classList.toggle('active', entry.mode === mode);
      b.setAttribute('aria-pressed', String(entry.mode === mode));
    }
    hint.textContent = entry.hint;
    renderConfirmBar();
  }

  /** The held quantity and its two answers. */
  function renderConfirmBar() {
    const line = selectedLine();
    if (entry.staged === null || !line) {
      confirmBar.hidden = true;
      replace(confirmBar);
      return;
    }
    confirmBar.hidden = false;
    const [question, answer] = entry.mode === 'discount'
      ? [`${bpToPercent(entry.staged)}% discount on ${line.name}? A manager approves it.`, `Ask for ${bpToPercent(entry.staged)}%`]
      : entry.mode === 'price'
        ? [`${formatMoney(entry.staged)} for ${line.name}? A manager approves it.`, `Ask for ${formatMoney(entry.staged)}`]
        : [`${quantityWords(entry.staged)} × ${line.name}?`, `Set ${quantityWords(entry.staged)}`];
    replace(confirmBar,
      h('span', { class: 'qty-confirm-text', testid: 'qty-confirm-text' }, question),
      h('button', { type: 'button', class: 'btn btn-small', testid: 'qty-confirm-cancel', onclick: () => cancelStaged() }, 'Cancel'),
      h('button', { type: 'button', class: 'btn btn-small btn-primary', testid: 'qty-confirm', onclick: () => confirmStaged() }, answer));
  }

  /** Lines of tracked products whose order quantity is more than the stock on hand:
   * line_id -> units on hand. */
  function stockShort(order) {
    const out = new Map();
    if (!order) return out;
    const wanted = new Map();
    for (const l of order.lines) wanted.set(l.product_id, (wanted.get(l.product_id) || 0) + (parseQty(l.qty) ?? 0));
    for (const l of order.lines) {
      const p = till.catalog.products.get(l.product_id);
      if (!p || !p.tracks_stock) continue;
      const onHand = parseQty(p.on_hand) ?? 0;
      if (wanted.get(l.product_id) > onHand) out.set(l.id, formatQty(Math.max(0, onHand)));
    }
    return out;
  }

  // ---- actions ----
  function selectedLine() {
    const order = till.currentOrder();
    return order ? order.lines.find((l) => l.id === till.selectedLineId) || null : null;
  }

  function selectLine(id) {
    till.selectLine(id);
    entry.select(id);
    render();
  }

  function setMode(mode) {
    entry.setMode(mode);
    render();
  }

  /** Why the till would refuse `op` on the open order, in words; null when it may go. */
  function refusal(op) {
    const order = till.currentOrder();
    if (!order) return 'No order is open';
    const r = till.check(order.id, op);
    return r.ok ? null : refusalWords(r);
  }

  /** Carry out what the numpad decided. */
  function act(result) {
    if (result.type === 'send') {
      changedBy.delete(result.op.line_id);
      const order = till.currentOrder();
      if (order) till.op(order.id, result.op);
    } else if (result.type === 'remove') {
      till.removeSelectedLine();
    }
    render();
  }

  function press(k) {
    const line = selectedLine();
    if (!line) return;
    entry.confirm_above_milli = app.settings.qty_confirm_above * 1000; // may have changed in the menu
    act(entry.press(k, line, refusal, needsApproval));
  }

  /** Whether `op` needs a manager's approval at this till (a cashier at a counter
   * that keeps prices, discounts and returns for managers): the numpad then holds
   * the whole value until the cashier confirms it, and the manager is asked once. */
  function needsApproval(op) {
    const user = till.auth.user;
    return !!till.config.restrict_price_control && !!user && user.role !== 'manager' && needsPriceControl(op);
  }

  function confirmStaged() {
    const line = selectedLine();
    if (line) act(entry.confirm(line, refusal));
  }

  function cancelStaged() {
    act(entry.cancel(selectedLine()));
  }

  function submitSearch() {
    const text = search.value.trim();
    if (!text) return;
    if (/^\d{3,}$/.test(text) && till.catalog.productByBarcode(text)) {
      till.scan(text);
    } else {
      const found = till.catalog.search(text, category);
      if (found.length === 1) till.addProduct(found[0]);
      else if (/^\d{3,}$/.test(text)) till.scan(text);
      else return;
    }
    search.value = '';
    query = '';
    renderProducts();
  }

  async function chooseCustomer() {
    const order = till.currentOrder();
    const picked = await pickCustomer(till, order ? order.customer_id : null);
    if (picked === undefined) return;
    if (order && picked === order.customer_id) return;
    till.setCustomer(picked);
  }

  async function editNote() {
    const order = till.currentOrder();
    const text = await promptText({ title: 'Order note', value: order ? order.note : '', multiline: true, testid: 'order-note', maxChars: NOTE_CHARS_MAX });
    if (text === null || (order && text === order.note)) return;
    till.setNote(text);
  }

  async function editLineNote() {
    const line = selectedLine();
    if (!line) return;
    const text = await promptText({ title: `Note on ${line.name}`, value: line.note || '', testid: 'line-note', maxChars: NOTE_CHARS_MAX });
    if (text === null || text === line.note) return;
    till.lineOp('set_line_note', { note: text });
  }

  async function cancelOrder() {
    const order = till.currentOrder();
    if (!order) return;
    const ok = await confirmDialog({ title: `Cancel ${orderLabel(order)}?`, text: 'The order is dropped on every counter that sees it.', okLabel: 'Cancel order', danger: true, testid: 'confirm-cancel' });
    if (ok) till.cancelOrder();
  }

  function goPay() {
    const order = till.currentOrder();
    if (!order || !order.lines.length) return;
    location.hash = `#/pay/${order.id}`;
  }

  function moveSelection(step) {
    const order = till.currentOrder();
    if (!order || !order.lines.length) return;
    const i = order.lines.findIndex((l) => l.id === till.selectedLineId);
    const j = Math.max(0, Math.min(order.lines.length - 1, (i < 0 ? order.lines.length : i) + step));
    selectLine(order.lines[j].id);
  }

  // ---- keyboard and scanner ----
  const scanner = createScanDetector({
    onBarcode: (code) => till.scan(code),
    onKeys: (keys) => { if (alive) keys.forEach(handleKey); },
  });
  let alive = true;

  function handleKey(k) {
    // Enter ends a barcode: it is never a yes to a held quantity.
    if (k === 'Enter' && entry.staged !== null) return cancelStaged();
    const nk = numpadKeyFor(k);
    if (nk) return press(nk);
    switch (k.toLowerCase()) {
      case 'q': return setMode('qty');
      case 'p': return setMode('price');
      case 'd': return setMode('discount');
      case '/': return search.focus();
      default: return undefined;
    }
  }

  function onKeyDown(e) {
    if (document.querySelector('dialog[open]')) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'F2') { e.preventDefault(); search.focus(); return; }
    if (e.key === 'F4') { e.preventDefault(); goPay(); return; }
    if (e.key === 'F8') { e.preventDefault(); till.manualSync(); return; }
    if (e.key === 'F9') { e.preventDefault(); location.hash = '#/orders'; return; }
    if (isTyping(e)) return; // the search field scans and searches on its own
    if (e.key === 'Escape' && entry.staged !== null) { e.preventDefault(); scanner.flush(); cancelStaged(); return; }
    if (e.key === 'ArrowUp') { e.preventDefault(); moveSelection(-1); return; }
    if (e.key === 'ArrowDown') { e.preventDefault(); moveSelection(1); return; }
    if (e.key === 'Delete') { e.preventDefault(); till.removeSelectedLine(); return; }
    if (e.key === 'Backspace') { e.preventDefault(); scanner.flush(); press('backspace'); return; }
    if (e.key === 'Enter') {
      // The Enter that ends a barcode belongs to the scan, wherever the focus is.
      // Otherwise Enter on a button reached with Tab clicks it, and elsewhere it is
      // an ordinary key (it cancels a held quantity).
      const onButton = document.activeElement && document.activeElement.tagName === 'BUTTON';
      if (onButton && !scanner.pending()) return;
      e.preventDefault();
      scanner.feed('Enter');
      return;
    }
    if (e.key.length === 1 && e.key !== ' ') {
      e.preventDefault();
      scanner.feed(e.key);
    }
  }
  document.addEventListener('keydown', onKeyDown);
  tapWithoutFocus(el);

  // ---- updates ----
  const render = frameScheduler(() => renderOrder());
  const off = till.subscribe((e) => {
    if (e.type === 'catalog') { renderCategories(); renderProducts(); render(); }
    if (e.type === 'remote_change' && e.order_id === till.currentOrderId) {
      const until = Date.now() + FLASH_MS;
      const who = e.by && e.by.config_name ? e.by.config_name : 'another counter';
      for (const id of e.line_ids) {
        flashing.set(id, until);
        changedBy.set(id, who);
        // The digits typed so far were for the line as it was.
        if (entry.remoteChanged(id) && id === till.selectedLineId) entry.hint = `${who} changed this line: type again`;
      }
      setTimeout(render, FLASH_MS + 50);
    }
    if (['orders', 'current', 'selection', 'pending', 'sync', 'welcome'].includes(e.type)) {
      if (e.type === 'current') {
        entry.setMode('qty');
        entry.select(null);
        changedBy.clear();
        app.lifecycle.setPresence(till.currentOrderId);
      }
      render();
    }
  });
  const ticker = setInterval(render, 15_000); // lock expiry and "2 min ago"
  // A lock whose holder left counts down its lease, by the second.
  const leaseTicker = setInterval(() => { if (till.abandonedLock(till.currentOrder())) render(); }, 1000);

  renderCategories();
  renderProducts();
  renderOrder();
  app.lifecycle.setPresence(till.currentOrderId);

  return {
    unmount() {
      alive = false;
      off();
      clearInterval(ticker);
      clearInterval(leaseTicker);
      bar.destroy();
      lines.destroy();
      scanner.flush();
      document.removeEventListener('keydown', onKeyDown);
    },
  };
}
