// apply.js: the optimistic local apply of one op to one order, mirroring the server's
// semantics in PROTOCOL.md ("Ops"). The till applies an op here first so the screen
// changes at once, then sends it; the server's answer (ack + change, or reject)
// decides. The function is pure: it never mutates its input and takes the clock,
// the caller's identity and the catalog through `ctx`.
//
// ctx = { now: ms (server-adjusted), by: {session_id, config_id, config_name, terminal},
//         config: {id, auto_share}, products: Map, taxes: Map,
//         payment_methods?: Map, lease_ms?: number }

import { parseQty, formatQty, QTY_ABS_MAX_MILLI } from './quantity.js';
import { discountToBp, bpToPercent } from './money.js';
import { wireLineAmounts, orderTotals, AmountOutOfRange } from './totals.js';
import { NOTE_CHARS_MAX, charCount } from './limits.js';

export const LEASE_MS_DEFAULT = 60_000;
const AMOUNT_ABS_MAX = 1_000_000_000_000; // minor units; far above any till sale

/** Every op kind of the contract, in its table order. */
export const OP_KINDS = [
  'create', 'share', 'unshare', 'add_line', 'add_qty', 'set_qty', 'set_price',
  'set_discount', 'set_line_note', 'remove_line', 'set_customer', 'set_note',
  'begin_payment', 'cancel_payment', 'pay', 'cancel',
];

/** The ops that would change a draft's lines: a refund's lines are fixed when it
 *  is made (`POST /orders/{id}/refund`), so these are refused on it, as the
 *  server's `changes_refund_lines` refuses them. */
export const REFUND_FIXED_KINDS = new Set(['add_line', 'add_qty', 'set_qty', 'set_price', 'set_discount', 'remove_line']);

function fail(code, message) {
  return { ok: false, code, message };
}

function isoAt(ms) {
  return new Date(ms).toISOString();
}

function isAmount(v) {
  return Number.isSafeInteger(v) && Math.abs(v) <= AMOUNT_ABS_MAX;
}

/** True while `order` is locked by a terminal other than ctx.by.terminal. */
export function lockedByOther(order, ctx) {
  const lock = order && order.lock;
  if (!lock) return false;
  if (lock.terminal === ctx.by.terminal) return false;
  return Date.parse(lock.until) > ctx.now;
}

/** A fresh empty draft as `create` makes it, before the server numbers it. */
export function newDraft(order_id, op, ctx) {
  const now = isoAt(ctx.now);
  return {
    id: order_id,
    reference: '',
    state: 'draft',
    version: 0,
    origin: { config_id: op.config_id ?? ctx.by.config_id, session_id: ctx.by.session_id },
    shared: !!op.share || !!(ctx.config && ctx.config.auto_share),
    customer_id: op.customer_id ?? null,
    note: op.note ?? '',
    lines: [],
    totals: { subtotal: 0, tax: 0, total: 0 },
    lock: null,
    payments: [],
    change: 0,
    invoice: false,
    paid_by: null,
    removed_line_ids: [],
    created_at: now,
    updated_at: now,
    updated_by: { ...ctx.by },
  };
}

function withLineAmounts(line) {
  return { ...line, ...wireLineAmounts(line) };
}

function findLine(order, line_id) {
  return order.lines.findIndex((l) => l.id === line_id);
}

function missingLine(order, line_id) {
  if ((order.removed_line_ids || []).includes(line_id)) {
    return fail('line_removed', 'this line was removed');
  }
  return fail('unknown_line', 'no such line');
}

/** Replace line i by `edit(line)` and recompute its amounts and the order totals.
 * Answers the result of applyOp: a line past the amount bound is refused, as the
 * server refuses it. */
function editLine(order, i, edit) {
  const lines = order.lines.slice();
  try {
    lines[i] = withLineAmounts(edit(lines[i]));
  } catch (err) {
    if (err instanceof AmountOutOfRange) return fail('invalid', err.message);
    throw err;
  }
  return { ok: true, order: { ...order, lines, totals: orderTotals(lines) } };
}

/** A note the server takes: a string of at most NOTE_CHARS_MAX characters, with no
 * control characters but line breaks and tabs. */
function isNote(value) {
  // eslint-disable-next-line no-control-regex
  return typeof value === 'string' && charCount(value) <= NOTE_CHARS_MAX && !/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(value);
}

function checkQty(value) {
  const milli = parseQty(value);
  if (milli === null || Math.abs(milli) > QTY_ABS_MAX_MILLI) return null;
  return milli;
}

/**
 * Apply `op` to `order` (null when the order does not exist locally).
 * @returns {{ok:true, order:object} | {ok:false, code:string, message:string}}
 */
export function applyOp(order, order_id, op, ctx) {
  if (!op || typeof op.kind !== 'string') return fail('invalid', 'op without kind');
  if (op.kind === 'create') {
    // A create of an order that exists is the server's duplicate (or `exists`):
    // either way the local copy does not change.
    if (order) return { ok: true, order };
    return { ok: true, order: newDraft(order_id, op, ctx) };
  }
  if (!order) return fail('not_found', 'no such order');
  if (order.state === 'paid') return fail('paid', 'this order is already paid');
  if (order.state === 'cancelled') return fail('cancelled', 'this order was cancelled');
  if (order.refund_of && REFUND_FIXED_KINDS.has(op.kind)) {
    return fail('invalid', 'the lines of a refund are fixed when it is made: cancel it and make a new refund');
  }
  if (lockedByOther(order, ctx)) {
    return fail('locked', `being paid at ${order.lock.config_name || 'another counter'}`);
  }

  // As on the server, an expired lock is dropped by the first op that comes after it.
  const base = order.lock && !(Date.parse(order.lock.until) > ctx.now) ? { ...order, lock: null } : order;
  const next = applyDraftOp(base, op, ctx);
  if (!next.ok) return next;
  return {
    ok: true,
    order: { ...next.order, updated_at: isoAt(ctx.now), updated_by: { ...ctx.by } },
  };
}

function applyDraftOp(order, op, ctx) {
  switch (op.kind) {
    case 'share':
      return { ok: true, order: { ...order, shared: true } };

    case 'unshare':
      if (order.origin.config_id !== ctx.by.config_id) {
        return fail('forbidden', 'only the origin counter can unshare');
      }
      return { ok: true, order: { ...order, shared: false } };

    case 'add_line': {
      if (typeof op.line_id !== 'string' || !op.line_id) return fail('invalid', 'line_id missing');
      if (findLine(order, op.line_id) >= 0) return { ok: true, order }; // already there
      // As the core: a line id is used once per order, even after its line is gone.
      if ((order.removed_line_ids || []).includes(op.line_id)) return fail('invalid', 'this line id was used before');
      const product = ctx.products && ctx.products.get(op.product_id);
      if (!product) return fail('invalid', 'unknown product');
      if (op.note !== undefined && op.note !== null && !isNote(op.note)) return fail('invalid', 'bad note');
      if (op.qty === undefined || op.qty === null) return fail('invalid', 'qty missing');
      const qty_milli = checkQty(op.qty);
      if (qty_milli === null) return fail('invalid', 'bad quantity');
      const unit_price = op.unit_price ?? product.price;
      if (!isAmount(unit_price)) return fail('invalid', 'bad price');
      const discount_bp = discountToBp(op.discount ?? '0');
      if (discount_bp === null) return fail('invalid', 'bad discount');
      const taxes = (product.tax_ids || [])
        .map((id) => ctx.taxes && ctx.taxes.get(id))
        .filter(Boolean)
        .map((t) => ({ tax_id: t.id, rate: t.rate, price_included: !!t.price_included }));
      let line;
      try {
        line = withLineAmounts({
          id: op.line_id,
          product_id: op.product_id,
          name: product.name,
          qty: formatQty(qty_milli),
          unit_price,
          discount: bpToPercent(discount_bp),
          note: op.note ?? '',
          taxes,
        });
      } catch (err) {
        if (err instanceof AmountOutOfRange) return fail('invalid', err.message);
        throw err;
      }
      const lines = [...order.lines, line];
      return { ok: true, order: { ...order, lines, totals: orderTotals(lines) } };
    }

    case 'add_qty': {
      const i = findLine(order, op.line_id);
      if (i < 0) return missingLine(order, op.line_id);
      const delta = checkQty(op.delta);
      if (delta === null) return fail('invalid', 'bad quantity');
      const current = parseQty(order.lines[i].qty);
      const sum = current + delta;
      if (Math.abs(sum) > QTY_ABS_MAX_MILLI) return fail('invalid', 'quantity too large');
      return editLine(order, i, (l) => ({ ...l, qty: formatQty(sum) }));
    }

    case 'set_qty': {
      const i = findLine(order, op.line_id);
      if (i < 0) return missingLine(order, op.line_id);
      const qty = checkQty(op.qty);
      if (qty === null) return fail('invalid', 'bad quantity');
      return editLine(order, i, (l) => ({ ...l, qty: formatQty(qty) }));
    }

    case 'set_price': {
      const i = findLine(order, op.line_id);
      if (i < 0) return missingLine(order, op.line_id);
      if (!isAmount(op.unit_price)) return fail('invalid', 'bad price');
      return editLine(order, i, (l) => ({ ...l, unit_price: op.unit_price }));
    }

    case 'set_discount': {
      const i = findLine(order, op.line_id);
      if (i < 0) return missingLine(order, op.line_id);
      const bp = discountToBp(op.discount);
      if (bp === null || op.discount === '' || op.discount == null) {
        return fail('invalid', 'bad discount');
      }
      return editLine(order, i, (l) => ({ ...l, discount: bpToPercent(bp) }));
    }

    case 'set_line_note': {
      const i = findLine(order, op.line_id);
      if (i < 0) return missingLine(order, op.line_id);
      if (!isNote(op.note)) return fail('invalid', 'bad note');
      return editLine(order, i, (l) => ({ ...l, note: op.note }));
    }

    case 'remove_line': {
      const i = findLine(order, op.line_id);
      if (i < 0) return missingLine(order, op.line_id);
      const lines = order.lines.filter((l) => l.id !== op.line_id);
      return {
        ok: true,
        order: {
          ...order,
          lines,
          totals: orderTotals(lines),
          removed_line_ids: [...(order.removed_line_ids || []), op.line_id],
        },
      };
    }

    case 'set_customer': {
      const id = op.customer_id ?? null;
      if (id !== null && !Number.isSafeInteger(id)) return fail('invalid', 'bad customer');
      return { ok: true, order: { ...order, customer_id: id } };
    }

    case 'set_note':
      if (!isNote(op.note)) return fail('invalid', 'bad note');
      return { ok: true, order: { ...order, note: op.note } };

    case 'begin_payment': {
      const lease_ms = ctx.lease_ms ?? LEASE_MS_DEFAULT;
      const lock = {
        terminal: ctx.by.terminal,
        session_id: ctx.by.session_id,
        config_id: ctx.by.config_id,
        config_name: ctx.by.config_name,
        until: isoAt(ctx.now + lease_ms),
      };
      return { ok: true, order: { ...order, lock } };
    }

    case 'cancel_payment':
      // lockedByOther() already refused a live lock of another terminal.
      return { ok: true, order: { ...order, lock: null } };

    case 'pay':
      return applyPay(order, op, ctx);

    case 'cancel':
      return { ok: true, order: { ...order, state: 'cancelled', lock: null } };

    default:
      return fail('invalid', `unknown op kind ${op.kind}`);
  }
}

function applyPay(order, op, ctx) {
  // Same checks in the same order as the server's core (crates/possync-core apply.rs).
  const payments = op.payments;
  if (!Array.isArray(payments)) return fail('invalid', 'no payments');
  if (order.lines.length === 0) return fail('invalid', 'an order without lines cannot be paid');
  const total = order.totals.total;
  if (op.expected_total !== total) {
    return fail('stale', 'the total changed; check the order and pay again');
  }
  if (op.invoice && order.customer_id == null) {
    return fail('invalid', 'an invoice needs a customer');
  }
  let paid = 0;
  let cash = 0;
  for (const p of payments) {
    if (!p || !Number.isSafeInteger(p.method_id) || !isAmount(p.amount)) {
      return fail('invalid', 'bad payment');
    }
    // Without the methods (ctx.payment_methods) the till cannot tell the kinds
    // apart, and leaves those checks to the server.
    const method = ctx.payment_methods ? ctx.payment_methods.get(p.method_id) : null;
    if (ctx.payment_methods && !method) return fail('invalid', `unknown payment method ${p.method_id}`);
    if (p.amount === 0 || (p.amount < 0) !== (total < 0)) {
      return fail('invalid', 'each payment must be non-zero and of the sign of the total');
    }
    paid += p.amount;
    if (method && method.kind === 'cash') cash += p.amount;
  }
  let change = 0;
  if (total >= 0) {
    if (paid < total) return fail('underpaid', 'payments do not cover the total');
    change = paid - total;
  } else if (paid !== total) {
    return fail('underpaid', 'a refund must pay out exactly the total');
  }
  // Only a positive change needs cash behind it. (The core, as read on the day this
  // was written, compares 0 > cash too, which refuses every cash refund: reported.)
  if (ctx.payment_methods && change > 0 && change > cash) {
    return fail('invalid', 'only cash can be given back as change');
  }
  return {
    ok: true,
    order: {
      ...order,
      state: 'paid',
      lock: null,
      payments: payments.map((p) => ({ method_id: p.method_id, amount: p.amount })),
      change,
      invoice: !!op.invoice,
      paid_by: { ...ctx.by },
    },
  };
}
