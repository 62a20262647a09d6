// wording.js: turns codes, ops and times into the short sentences a cashier reads:
// why a change was undone ("Counter 2 removed this line", "Being paid at Counter 1"),
// why an order left the screen, what each history entry did, and how long ago.

import { formatMoney } from './money.js';
import { formatQty, parseQty } from './quantity.js';

function who(by, fallback = 'another counter') {
  return (by && by.config_name) || fallback;
}

function lineName(order, line_id) {
  const line = order && order.lines && order.lines.find((l) => l.id === line_id);
  return line ? line.name : null;
}

/**
 * The sentence for a final reject.
 * @param {object} r  {code, message, entry, before, after, removedBy, ownConfigId}
 *   entry: the outbox entry refused (its op), before/after: the order views around it,
 *   removedBy: who removed the line, if known (from an earlier change).
 */
export function rejectMessage({ code, message, entry, before, after, removedBy }) {
  const op = entry ? entry.op : null;
  const order = after || before;
  switch (code) {
    case 'line_removed': {
      const name = op && op.line_id ? lineName(before, op.line_id) : null;
      const subject = name ? `“${name}”` : 'this line';
      return `${who(removedBy)} removed ${subject}`;
    }
    case 'unknown_line':
      return 'That line is no longer on the order';
    case 'locked': {
      const lock = order && order.lock;
      return `Being paid at ${lock && lock.config_name ? lock.config_name : nameFromMessage(message) || 'another counter'}`;
    }
    case 'paid':
      return order && order.paid_by ? `Already paid at ${who(order.paid_by)}` : 'This order is already paid';
    case 'cancelled':
      return 'This order was cancelled';
    case 'stale':
      return 'The total changed while paying: check the order and validate again';
    case 'underpaid':
      return 'The payments do not cover the total';
    case 'forbidden':
      // Under the counter's "restrict price control" (PROTOCOL.md), prices,
      // discounts and returns need a manager; any other refusal is about sight.
      if (needsPriceControl(op)) return 'Only a manager may change prices, discounts or returns at this counter';
      return 'This order is no longer shared with this counter';
    case 'not_found':
      return 'This order is no longer shared with this counter';
    case 'session_closed':
      return 'This session was closed: open a new session to send the change';
    case 'too_large':
      return 'This order is too large to take more changes';
    case 'exists':
      return 'An order with this number already exists';
    case 'invalid':
      return `The server refused this change${message ? `: ${message}` : ''}`;
    default:
      return message || `Refused (${code})`;
  }
}

/** Why the till refuses an op before sending it ({code, message} from apply.js), in
 * the cashier's words. */
export function refusalWords({ code, message }) {
  if (code === 'invalid' && /line amount/.test(message || '')) return 'This line would come to more than the till can take';
  if (code === 'invalid' && /quantity/.test(message || '')) return 'This quantity is out of range';
  if (code === 'invalid' && /note/.test(message || '')) return 'This note is too long';
  return rejectMessage({ code, message });
}

/** Whether `op` is one a counter with restricted price control keeps for managers:
 * set_price, set_discount, a negative quantity or delta, a line added with its own
 * price or discount. */
export function needsPriceControl(op) {
  if (!op) return false;
  const negative = (q) => typeof q === 'string' ? q.trim().startsWith('-') : typeof q === 'number' && q < 0;
  switch (op.kind) {
    case 'set_price':
    case 'set_discount':
      return true;
    case 'set_qty':
      return negative(op.qty);
    case 'add_qty':
      return negative(op.delta);
    case 'add_line':
      return negative(op.qty) || op.unit_price != null || (op.discount != null && op.discount !== '0');
    default:
      return false;
  }
}

function nameFromMessage(message) {
  // "locked by Counter 1 until ..." style messages; best effort only.
  const m = /(?:at|by) ([^,.;()]+?)(?: until| since|[,.;(]|$)/i.exec(message || '');
  return m ? m[1].trim() : null;
}

/** Should a reject be shown at all? A line removal that lost to another removal
 * already has the outcome the cashier wanted. */
export function rejectWorthTelling({ code, entry }) {
  if (!entry) return false; // the order had already gone; that was said then
  if (entry.op.kind === 'remove_line' && (code === 'line_removed' || code === 'unknown_line')) return false;
  if (entry.op.kind === 'cancel_payment') return false;
  return true;
}

/** Why an order left the till. */
export function removedMessage({ reason, by, order }) {
  const ref = order ? orderLabel(order) : 'An order';
  if (reason === 'paid') return `${ref} was paid at ${who(by)}`;
  if (reason === 'cancelled') return `${ref} was cancelled at ${who(by)}`;
  if (reason === 'unshared') return `${ref} is no longer shared by ${who(by, 'its counter')}`;
  return `${ref} is no longer available`;
}

/** A short, stable label for an order: its reference, or a part of its id. */
export function orderLabel(order) {
  if (order.reference) return order.reference;
  return `Order ${order.id.replace(/-/g, '').slice(-6).toUpperCase()}`;
}

/** One op in words, for history: "Added 2 × Coffee", "Paid 12.10". */
export function describeOp(op, { productName = () => null, lineNames = new Map(), customerName = () => null, methodName = () => null } = {}) {
  const ln = (id) => lineNames.get(id) || 'a line';
  switch (op.kind) {
    case 'create': return `Created the order${op.share ? ' (shared)' : ''}`;
    case 'share': return 'Shared with linked counters';
    case 'unshare': return 'Stopped sharing';
    case 'add_line': {
      const name = productName(op.product_id) || `product #${op.product_id}`;
      return `Added ${qtyText(op.qty ?? '1')} × ${name}${op.unit_price != null ? ` at ${formatMoney(op.unit_price)}` : ''}`;
    }
    case 'add_qty': {
      const d = parseQty(op.delta);
      return `${d !== null && d < 0 ? 'Took' : 'Added'} ${qtyText(d !== null ? formatQty(Math.abs(d)) : op.delta)} ${d !== null && d < 0 ? 'from' : 'to'} ${ln(op.line_id)}`;
    }
    case 'set_qty': return `Set quantity of ${ln(op.line_id)} to ${qtyText(op.qty)}`;
    case 'set_price': return `Set price of ${ln(op.line_id)} to ${formatMoney(op.unit_price)}`;
    case 'set_discount': return `Set discount of ${ln(op.line_id)} to ${op.discount}%`;
    case 'set_line_note': return `Noted on ${ln(op.line_id)}: “${op.note}”`;
    case 'remove_line': return `Removed ${ln(op.line_id)}`;
    case 'set_customer': return op.customer_id == null ? 'Removed the customer' : `Customer: ${customerName(op.customer_id) || `#${op.customer_id}`}`;
    case 'set_note': return op.note ? `Order note: “${op.note}”` : 'Cleared the order note';
    case 'begin_payment': return 'Started payment (order locked)';
    case 'cancel_payment': return 'Left payment (order unlocked)';
    case 'pay': {
      const parts = (op.payments || []).map((p) => `${methodName(p.method_id) || `#${p.method_id}`} ${formatMoney(p.amount)}`);
      return `Paid ${formatMoney(op.expected_total)}${parts.length ? ` (${parts.join(', ')})` : ''}${op.invoice ? ', invoiced' : ''}`;
    }
    case 'cancel': return `Cancelled the order${op.reason ? `: ${op.reason}` : ''}`;
    default: return op.kind;
  }
}

function qtyText(q) {
  const milli = parseQty(q);
  return milli === null ? String(q) : formatQty(milli);
}

/** "just now", "3 min ago", "2 h ago", or the date. */
export function timeAgo(iso, now_ms) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.max(0, Math.round((now_ms - t) / 1000));
  if (s < 30) return 'just now';
  if (s < 90) return '1 min ago';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h ago`;
  return new Date(t).toISOString().slice(0, 10);
}

/** The top bar's sync state: label and tone. */
export function syncStateLabel(state, pending) {
  const more = pending > 0 ? ` · ${pending} pending` : '';
  switch (state) {
    case 'live': return { label: `Live${more}`, tone: pending > 0 ? 'busy' : 'ok' };
    case 'stalled': return { label: `No answer${more}`, tone: 'warn' };
    case 'connecting':
    case 'catching_up': return { label: `Connecting…${more}`, tone: 'busy' };
    case 'reconnecting': return { label: `Reconnecting${more}`, tone: 'warn' };
    case 'offline': return { label: `Offline${more}`, tone: 'bad' };
    case 'stopped': return { label: `Signed out${more}`, tone: 'bad' };
    default: return { label: `Starting…${more}`, tone: 'busy' };
  }
}

/** Time left until `until` (RFC 3339) as "m:ss" ("0:42"); "0:00" once passed. */
export function timeLeft(until, now_ms) {
  const ms = Date.parse(until) - now_ms;
  const s = Number.isNaN(ms) ? 0 : Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** A lock whose holder is no longer connected: it ends only when its lease does. */
export function abandonedLockText(lock, now_ms) {
  return `${lock.config_name || 'The other counter'} is no longer connected: the lock ends in ${timeLeft(lock.until, now_ms)}`;
}

/**
 * What the top bar says about the counter's receipt printer, from
 * GET /configs/{id}/printer ({state, queued}); null when there is nothing to say
 * (no printer, or one that prints and has nothing waiting).
 * @returns {{label: string, tone: 'warn'|'busy'}|null}
 */
export function printerStateLabel(status) {
  if (!status || status.state === 'none') return null;
  const queued = Number(status.queued) || 0;
  if (status.state === 'offline') {
    return { label: queued ? `Printer offline, ${queued} queued` : 'Printer offline', tone: 'warn' };
  }
  if (queued > 0) return { label: `Printing, ${queued} queued`, tone: 'busy' };
  return null;
}
