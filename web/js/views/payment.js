// payment.js: the payment screen. The order is locked to this terminal while it is
// open (begin_payment, renewed every 20 s; leaving sends cancel_payment). The cashier
// picks methods, types amounts on the numpad, sees what remains and the change due,
// may ask for an invoice (needs a customer), and validates: a `pay` op with the
// expected total. The receipt follows once the server has accepted it.
//
// Without the server, a private draft of this counter can still be paid: the `pay`
// op goes into the outbox like any other (applied here, kept in IndexedDB, sent by
// its op_id when the server is back, where it takes effect exactly once) and the
// receipt says it was taken offline. A shared draft cannot: another counter may be
// taking its payment at this moment, and only the server can say which one wins.

import { h, replace, frameScheduler, isTyping, tapWithoutFocus } from '../dom.js';
import { formatMoney } from '../money.js';
import { formatQty, parseQty } from '../quantity.js';
import { numpadStart, numpadPress, numpadKeyFor } from '../numpad.js';
import { summarizePayment, defaultAmount, payOp } from '../payment.js';
import { orderLabel } from '../wording.js';
import { topbar } from './topbar.js';
import { money, toast } from './ui.js';
import { pickCustomer } from './dialogs/customerpicker.js';

const LOCK_RENEW_MS = 20_000;
const OFFLINE_SHARED_REFUSAL = 'This order is shared with other counters, so it can be paid only while the till is connected: another counter may be taking its payment.';

export function mountPayment(root, app, { order_id }) {
  const till = app.till;
  const start = till.store.view(order_id);
  if (!start || start.state !== 'draft') {
    toast('This order cannot be paid now', 'warn');
    location.hash = '#/pos';
    return { unmount() {} };
  }
  if (till.currentOrderId !== order_id) till.setCurrent(order_id);
  // A shared order without the server cannot be paid here (see above): locking it
  // would only queue an op the cashier cannot use. It is locked once the till is live.
  const mayLock = () => till.syncState() === 'live' || till.canPayOffline(till.store.view(order_id));
  if (mayLock()) {
    const lockOp = till.op(order_id, { kind: 'begin_payment' });
    if (!lockOp.ok) {
      location.hash = '#/pos';
      return { unmount() {} };
    }
  }

  let payLines = []; // {method_id, amount}
  let selected = -1;
  let pad = numpadStart('amount');
  let invoice = false;
  let validating = false;
  let finished = false; // paid, or left because the order went away
  let snapshot = null;
  let padRefusal = ''; // why the last numpad key was refused, in words

  const bar = topbar(app, { active: 'pay' });
  const summary = h('div', { class: 'pay-summary-lines', testid: 'payment-order-lines' });
  const totalEl = h('div', { class: 'pay-total', testid: 'payment-total' });
  const customerRow = h('div', { class: 'pay-customer' });
  const invoiceToggle = h('button', {
    class: 'toggle', testid: 'invoice-toggle', role: 'switch', 'aria-checked': 'false',
    onclick: () => { invoice = !invoice; render(); },
  }, h('span', { class: 'toggle-knob', 'aria-hidden': 'true' }), ' Invoice');
  const methods = h('div', { class: 'pay-methods', testid: 'payment-methods' });
  const lineList = h('ul', { class: 'pay-lines', testid: 'payment-lines' });
  const remainingEl = h('div', { class: 'pay-figure' });
  const changeEl = h('div', { class: 'pay-figure' });
  const problemEl = h('div', { class: 'pay-problem', testid: 'payment-problem', 'aria-live': 'polite' });
  const lockEl = h('div', { class: 'pay-lock', testid: 'payment-lock' });
  const validate = h('button', { class: 'btn btn-pay', testid: 'payment-validate', onclick: () => doValidate() }, 'Validate');
  const back = h('button', { class: 'btn', testid: 'payment-back', onclick: () => leave() }, '← Back to order');
  const key = (k, label, testid) => h('button', { class: 'key', testid: `numpad-key-${testid}`, onclick: () => press(k) }, label);
  const numpad = h('div', { class: 'numpad numpad-pay', testid: 'numpad', role: 'group', 'aria-label': 'Amount' },
    key('1', '1', '1'), key('2', '2', '2'), key('3', '3', '3'), h('button', { class: 'key', testid: 'numpad-add-10', onclick: () => bump(1000) }, '+10'),
    key('4', '4', '4'), key('5', '5', '5'), key('6', '6', '6'), h('button', { class: 'key', testid: 'numpad-add-20', onclick: () => bump(2000) }, '+20'),
    key('7', '7', '7'), key('8', '8', '8'), key('9', '9', '9'), h('button', { class: 'key', testid: 'numpad-add-50', onclick: () => bump(5000) }, '+50'),
    key('+/-', '+/−', 'sign'), key('0', '0', '0'), key('.', '.', 'dot'), h('button', { class: 'key', testid: 'numpad-key-backspace', 'aria-label': 'Backspace', onclick: () => press('backspace') }, '⌫'));

  const el = h('div', { class: 'screen screen-pay' },
    bar.el,
    h('main', { class: 'payment', testid: 'payment-screen' },
      h('section', { class: 'pay-col pay-order', 'aria-label': 'Order' },
        h('h2', { testid: 'payment-title' }, `Payment · ${orderLabel(start)}`),
        summary, totalEl, customerRow, invoiceToggle, lockEl),
      h('section', { class: 'pay-col', 'aria-label': 'Payment methods' },
        h('h3', {}, 'Methods'), methods, h('h3', {}, 'Payments'), lineList),
      h('section', { class: 'pay-col pay-entry', 'aria-label': 'Amount' },
        h('div', { class: 'pay-figures' }, remainingEl, changeEl),
        numpad, problemEl, validate, back)));
  replace(root, el);

  function order() {
    return till.store.view(order_id) || null;
  }

  function addMethod(m) {
    const o = order();
    if (!o) return;
    payLines.push({ method_id: m.id, amount: defaultAmount(o.totals.total, payLines) });
    selected = payLines.length - 1;
    pad = numpadStart('amount');
    render();
  }

  function press(k) {
    if (selected < 0 || !payLines[selected]) return;
    const r = numpadPress(pad, k, formatMoney(payLines[selected].amount));
    pad = r.state;
    padRefusal = r.refused || '';
    if (r.value === undefined) {
      render();
      return;
    }
    payLines[selected] = { ...payLines[selected], amount: r.value };
    render();
  }

  function bump(minor) {
    if (selected < 0 || !payLines[selected]) return;
    payLines[selected] = { ...payLines[selected], amount: payLines[selected].amount + minor };
    pad = numpadStart('amount');
    render();
  }

  function removeLine(i) {
    payLines.splice(i, 1);
    selected = Math.min(selected, payLines.length - 1);
    pad = numpadStart('amount');
    render();
  }

  function renderNow() {
    const o = order();
    if (!o) return;
    const methodsMap = till.catalog.payment_methods;
    const s = summarizePayment(o.totals.total, payLines, methodsMap);

    replace(summary, o.lines.map((l) => h('div', { class: 'pay-line' },
      h('span', {}, `${formatQty(parseQty(l.qty) ?? 0)} × ${l.name}`), money(l.total))));
    replace(totalEl, h('span', {}, 'Total'), money(o.totals.total, { testid: 'payment-order-total' }),
      h('span', { class: 'muted small' }, `incl. tax ${formatMoney(o.totals.tax)}`));

    const customer = o.customer_id != null ? till.catalog.customers.get(o.customer_id) : null;
    replace(customerRow,
      h('span', { testid: 'payment-customer' }, customer ? `Customer: ${customer.name}` : o.customer_id != null ? `Customer #${o.customer_id}` : 'No customer'),
      h('button', { class: 'btn btn-small', testid: 'payment-customer-button', onclick: () => chooseCustomer() }, customer ? 'Change' : 'Choose'));
    if (o.customer_id == null) invoice = false;
    invoiceToggle.disabled = o.customer_id == null;
    invoiceToggle.title = o.customer_id == null ? 'An invoice needs a customer' : '';
    invoiceToggle.setAttribute('aria-checked', String(invoice));
    invoiceToggle.classList.toggle('on', invoice);

    const ownLock = o.lock && o.lock.terminal === till.terminalId;
    const online = till.syncState() === 'live';
    const offlineSale = !online && till.canPayOffline(o);
    lockEl.textContent = offlineSale
      ? 'Offline: this sale is kept on this till and sent to the server when it is back'
      : ownLock ? 'Locked for payment on this till' : online ? 'Locking…' : 'Waiting for the server to lock the order…';
    lockEl.classList.toggle('pay-offline', offlineSale);

    const list = [...methodsMap.values()];
    replace(methods, list.length ? list.map((m) => h('button', {
      class: ['btn', 'method', `method-${m.kind}`], testid: 'payment-method', 'data-method-id': m.id, 'data-kind': m.kind,
      disabled: validating, onclick: () => addMethod(m),
    }, m.name)) : h('p', { class: 'empty' }, 'No payment methods for this counter.'));

    replace(lineList, payLines.length ? payLines.map((l, i) => h('li', {
      class: ['pay-entry-line', i === selected ? 'selected' : null], testid: 'payment-line', 'data-method-id': l.method_id,
      onclick: () => { selected = i; pad = numpadStart('amount'); render(); },
    },
    h('span', {}, (methodsMap.get(l.method_id) || { name: `#${l.method_id}` }).name),
    money(l.amount, { testid: 'payment-line-amount' }),
    h('button', { class: 'btn btn-icon', testid: 'payment-line-remove', 'aria-label': 'Remove payment', onclick: (e) => { e.stopPropagation(); removeLine(i); } }, '✕')))
      : h('li', { class: 'empty' }, 'Pick a method to add a payment.'));

    replace(remainingEl, h('span', { class: 'label' }, o.totals.total < 0 ? 'To refund' : 'Remaining'), money(s.remaining, { testid: 'payment-remaining' }));
    replace(changeEl, h('span', { class: 'label' }, 'Change'), money(s.change, { testid: 'payment-change', class: ['money', s.change > 0 ? 'change-due' : null] }));

    // Offline, a shared order cannot be paid at all: that comes before any other problem.
    let problem = !online && !offlineSale ? OFFLINE_SHARED_REFUSAL : s.problem;
    if (!problem && invoice && o.customer_id == null) problem = 'An invoice needs a customer';
    // The sentence about a shared order offline is said at once, payments or not.
    problemEl.textContent = validating ? 'Validating…' : padRefusal || (problem && (payLines.length || problem === OFFLINE_SHARED_REFUSAL) ? problem : '');
    validate.disabled = validating || !!problem;
    validate.textContent = validating ? 'Validating…' : 'Validate';
  }
  const render = frameScheduler(renderNow);

  async function chooseCustomer() {
    const o = order();
    const picked = await pickCustomer(till, o ? o.customer_id : null);
    if (picked === undefined || !o || picked === o.customer_id) return;
    till.op(order_id, { kind: 'set_customer', customer_id: picked });
  }

  async function doValidate() {
    const o = order();
    if (!o || validating) return;
    const s = summarizePayment(o.totals.total, payLines, till.catalog.payment_methods);
    if (!s.valid) return;
    const online = till.syncState() === 'live';
    if (!online && !till.canPayOffline(o)) return;
    const r = till.op(order_id, payOp(o.totals.total, payLines, invoice));
    if (!r.ok) return;
    snapshot = { ...r.order };
    if (!online) {
      // Kept in the outbox by its op_id; the server takes it once, when it is back.
      snapshot.offline = { at: new Date().toISOString(), op_id: r.entry.op_id };
      return done();
    }
    validating = true;
    render();
    const answer = await till.answer(r.entry);
    if (finished) return;
    if (answer.ok) return done();
    validating = answer.code === 'timeout'; // still queued: keep waiting for it
    if (!validating) snapshot = null;
    toast(answer.message, 'warn');
    render();
  }

  function done() {
    if (finished) return;
    finished = true;
    till.keepReceipt(snapshot);
    location.hash = `#/receipt/${order_id}`;
  }

  function leave() {
    location.hash = '#/pos';
  }

  function renewLock() {
    const o = order();
    if (!o || o.state !== 'draft' || validating || !mayLock()) return;
    const waiting = till.outbox.forOrder(order_id).some((e) => e.acked_version === null && e.op.kind === 'begin_payment');
    if (!waiting) till.op(order_id, { kind: 'begin_payment' });
  }
  const renew = setInterval(renewLock, LOCK_RENEW_MS);

  const off = till.subscribe((e) => {
    if (e.type === 'reject' && e.order_id === order_id && e.op && e.op.kind === 'begin_payment') {
      finished = true;
      leave();
      return;
    }
    if (e.type === 'removed' && e.order_id === order_id) {
      if (e.reason === 'paid' && e.mine && snapshot) return done();
      finished = true;
      leave();
      return;
    }
    // Back live on a shared order that could not be locked offline: lock it now.
    if (e.type === 'sync' && till.syncState() === 'live') {
      const o = order();
      if (o && o.state === 'draft' && !(o.lock && o.lock.terminal === till.terminalId)) renewLock();
    }
    if (['orders', 'sync', 'catalog', 'pending'].includes(e.type)) render();
  });

  function onKeyDown(e) {
    if (document.querySelector('dialog[open]') || isTyping(e)) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'Escape') { e.preventDefault(); leave(); return; }
    // Enter validates. Tapped keys and methods never hold the focus (tapWithoutFocus),
    // so Enter cannot repeat them; a button reached with Tab keeps its own Enter.
    if (e.key === 'Enter' && !(document.activeElement && document.activeElement.tagName === 'BUTTON')) { e.preventDefault(); doValidate(); return; }
    if (e.key === 'Delete' && selected >= 0) { e.preventDefault(); removeLine(selected); return; }
    const nk = numpadKeyFor(e.key);
    if (nk) { e.preventDefault(); press(nk); }
  }
  document.addEventListener('keydown', onKeyDown);
  tapWithoutFocus(el);
  app.lifecycle.setPresence(order_id);

  // A single method makes the usual case one tap: cash or card, exact amount.
  renderNow();

  return {
    unmount() {
      off();
      clearInterval(renew);
      bar.destroy();
      document.removeEventListener('keydown', onKeyDown);
      const o = order();
      if (!finished && !snapshot && o && o.state === 'draft' && o.lock && o.lock.terminal === till.terminalId) {
        till.op(order_id, { kind: 'cancel_payment' });
      }
    },
  };
}
