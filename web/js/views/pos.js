// pos.js: the till screen. Left: search (also takes a scanner), category bar and
// product grid. Right: the open order with its lines, the selected line, totals
// with tax, the numpad (quantity, price, discount), customer, note, and Pay.
// Keyboard: digits . - Backspace on the numpad; Q/P/D choose what the numpad sets;
// arrows pick a line; Delete removes it; / or F2 searches; F4 pays; F8 Manual Sync;
// F9 orders. A scanner (fast digits then Enter) adds the product anywhere.

import { h, replace, frameScheduler, isTyping } from '../dom.js';
import { formatMoney, bpToPercent, discountToBp } from '../money.js';
import { formatQty, parseQty } from '../quantity.js';
import { numpadStart, numpadPress, numpadKeyFor } from '../numpad.js';
import { createScanDetector } from '../scanner.js';
import { orderLabel, timeAgo } from '../wording.js';
import { topbar } from './topbar.js';
import { money, promptText, confirmDialog } from './ui.js';
import { pickCustomer } from './dialogs/customerpicker.js';

const MODE_LABELS = { qty: 'Qty', discount: 'Disc %', price: 'Price' };
const FLASH_MS = 1200;

export function mountPos(root, app) {
  const till = app.till;
  let category = null;
  let query = '';
  let pad = numpadStart('qty');
  let padLineId = null;
  const flashing = new Map(); // line_id -> until

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
  const lines = h('ul', { class: 'order-lines', testid: 'order-lines', 'aria-label': 'Order lines' });
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
        lines,
        totals,
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

    if (!order || !order.lines.length) {
      replace(lines, h('li', { class: 'empty', testid: 'order-empty' }, 'No items yet. Tap a product or scan a barcode.'));
    } else {
      if (!order.lines.some((l) => l.id === till.selectedLineId)) till.selectedLineId = order.lines[order.lines.length - 1].id;
      const scroll = lines.scrollTop;
      const t = Date.now();
      replace(lines, order.lines.map((l) => {
        const selected = l.id === till.selectedLineId;
        const disc = discountToBp(l.discount) || 0;
        return h('li', {
          class: ['line', selected ? 'selected' : null, (flashing.get(l.id) || 0) > t ? 'flash' : null],
          testid: 'order-line', 'data-line-id': l.id, 'data-product-id': l.product_id,
          'aria-selected': String(selected), role: 'option', tabindex: selected ? '0' : '-1',
          onclick: () => selectLine(l.id),
        },
        h('div', { class: 'line-main' },
          h('span', { class: 'line-name', testid: 'line-name' }, l.name),
          h('span', { class: 'line-total money', testid: 'line-total' }, formatMoney(l.total))),
        h('div', { class: 'line-sub' },
          h('span', { testid: 'line-qty', class: 'line-qty' }, formatQty(parseQty(l.qty) ?? 0)),
          ` × ${formatMoney(l.unit_price)}`,
          disc ? h('span', { class: 'line-disc', testid: 'line-discount' }, ` −${bpToPercent(disc)}%`) : null),
        l.note ? h('div', { class: 'line-note' }, l.note) : null);
      }));
      lines.setAttribute('role', 'listbox');
      lines.scrollTop = scroll;
      const sel = lines.querySelector('.line.selected');
      if (sel && sel.scrollIntoView) sel.scrollIntoView({ block: 'nearest' });
    }

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
      b.classList.toggle('active', pad.mode === mode);
      b.setAttribute('aria-pressed', String(pad.mode === mode));
    }
  }

  // ---- actions ----
  function selectedLine() {
    const order = till.currentOrder();
    return order ? order.lines.find((l) => l.id === till.selectedLineId) || null : null;
  }

  function selectLine(id) {
    till.selectLine(id);
    pad = numpadStart(pad.mode);
  }

  function setMode(mode) {
    pad = numpadStart(mode);
    render();
  }

  function currentText(line) {
    if (pad.mode === 'qty') return formatQty(parseQty(line.qty) ?? 0);
    if (pad.mode === 'price') return formatMoney(line.unit_price);
    return bpToPercent(discountToBp(line.discount) || 0);
  }

  function press(k) {
    const line = selectedLine();
    if (!line) return;
    if (padLineId !== line.id) {
      pad = numpadStart(pad.mode);
      padLineId = line.id;
    }
    // Backspace on a quantity already at zero takes the line away, as on most tills.
    if (k === 'backspace' && pad.mode === 'qty' && pad.fresh && parseQty(line.qty) === 0) {
      till.removeSelectedLine();
      return;
    }
    const r = numpadPress(pad, k, currentText(line));
    pad = r.state;
    if (r.value === undefined) return;
    if (pad.mode === 'qty' && r.value !== parseQty(line.qty)) till.lineOp('set_qty', { qty: formatQty(r.value) });
    else if (pad.mode === 'price' && r.value !== line.unit_price) till.lineOp('set_price', { unit_price: r.value });
    else if (pad.mode === 'discount' && r.value !== (discountToBp(line.discount) || 0)) till.lineOp('set_discount', { discount: bpToPercent(r.value) });
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
    const text = await promptText({ title: 'Order note', value: order ? order.note : '', multiline: true, testid: 'order-note' });
    if (text === null || (order && text === order.note)) return;
    till.setNote(text);
  }

  async function editLineNote() {
    const line = selectedLine();
    if (!line) return;
    const text = await promptText({ title: `Note on ${line.name}`, value: line.note || '', testid: 'line-note' });
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
    if (e.key === 'ArrowUp') { e.preventDefault(); moveSelection(-1); return; }
    if (e.key === 'ArrowDown') { e.preventDefault(); moveSelection(1); return; }
    if (e.key === 'Delete') { e.preventDefault(); till.removeSelectedLine(); return; }
    if (e.key === 'Backspace') { e.preventDefault(); scanner.flush(); press('backspace'); return; }
    if (e.key === 'Enter') {
      // Enter on a focused button clicks it; otherwise it may end a scan.
      if (document.activeElement && document.activeElement.tagName === 'BUTTON') { scanner.flush(); return; }
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

  // ---- updates ----
  const render = frameScheduler(() => renderOrder());
  const off = till.subscribe((e) => {
    if (e.type === 'catalog') { renderCategories(); renderProducts(); render(); }
    if (e.type === 'remote_change' && e.order_id === till.currentOrderId) {
      const until = Date.now() + FLASH_MS;
      for (const id of e.line_ids) flashing.set(id, until);
      setTimeout(render, FLASH_MS + 50);
    }
    if (['orders', 'current', 'selection', 'pending', 'sync', 'welcome'].includes(e.type)) {
      if (e.type === 'current') {
        pad = numpadStart('qty');
        padLineId = null;
        app.lifecycle.setPresence(till.currentOrderId);
      }
      render();
    }
  });
  const ticker = setInterval(render, 15_000); // lock expiry and "2 min ago"

  renderCategories();
  renderProducts();
  renderOrder();
  app.lifecycle.setPresence(till.currentOrderId);

  return {
    unmount() {
      alive = false;
      off();
      clearInterval(ticker);
      bar.destroy();
      scanner.flush();
      document.removeEventListener('keydown', onKeyDown);
    },
  };
}
