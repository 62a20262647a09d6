// orderstore.js: the till's picture of every order it can see. Per order it keeps
// the last copy the server confirmed, and computes what the cashier sees as that
// copy with this terminal's pending ops (the outbox) re-applied on top. Server
// messages replace or patch the confirmed copy; the pending ops are then rebased on
// it, so a local edit survives a concurrent edit from another counter, and an edit
// the server refused disappears with it. No DOM, no socket: sync.js feeds it.

import { applyOp } from './apply.js';
import { applyPatch, classifyChange } from './patch.js';

const FINAL_STATES = new Set(['paid', 'cancelled']);

/** Fold `entries` (outbox entries of one order, in op order) over `confirmed`.
 * Acknowledged ops the confirmed copy already contains are skipped; ops that no
 * longer apply (their line was removed meanwhile...) are skipped too: the server
 * will reject them and the reject explains it. */
export function rebase(confirmed, order_id, entries, ctx) {
  let order = confirmed || null;
  const confirmedVersion = confirmed ? confirmed.version : 0;
  for (const e of entries) {
    if (e.acked_version !== null && e.acked_version !== undefined && e.acked_version <= confirmedVersion) {
      continue;
    }
    const r = applyOp(order, order_id, e.op, ctx);
    if (r.ok) order = r.order;
  }
  return order;
}

export class OrderStore {
  /**
   * @param {{outbox: import('./outbox.js').Outbox, storage: object, context: () => object}} options
   * context() answers the ctx of apply.js (now, by, config, catalog) at call time.
   */
  constructor({ outbox, storage, context }) {
    this.outbox = outbox;
    this.storage = storage;
    this.context = context;
    this.confirmedById = new Map();
    this.viewCache = new Map();
    this.presenceById = new Map(); // order_id -> [{terminal, config_id, config_name}]
    this.lineRemovedBy = new Map(); // line_id -> by (who removed it, for messages)
    this.listeners = new Set();
    this.writes = Promise.resolve();
    outbox.onChange((order_id) => this.invalidate(order_id));
  }

  async load() {
    const rows = await this.storage.getAll('orders');
    for (const order of rows) this.confirmedById.set(order.id, order);
    // Ops acknowledged before the last shutdown whose change already arrived.
    for (const order of rows) this.outbox.pruneAcked(order.id, order.version);
    this.invalidate(null);
  }

  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(event) {
    for (const fn of this.listeners) fn(event);
  }

  invalidate(order_id) {
    if (order_id === null || order_id === undefined) this.viewCache.clear();
    else this.viewCache.delete(order_id);
    this.emit({ type: 'orders', order_id: order_id ?? null });
  }

  write(fn) {
    this.writes = this.writes.then(fn).catch((err) => console.warn('possync: order storage failed', err));
    return this.writes;
  }

  setConfirmed(order) {
    this.confirmedById.set(order.id, order);
    this.write(() => this.storage.put('orders', order));
    this.outbox.pruneAcked(order.id, order.version);
    this.invalidate(order.id);
  }

  forget(order_id) {
    this.confirmedById.delete(order_id);
    this.presenceById.delete(order_id);
    this.write(() => this.storage.delete('orders', order_id));
    this.outbox.dropOrder(order_id);
    this.invalidate(order_id);
  }

  confirmed(order_id) {
    return this.confirmedById.get(order_id);
  }

  /** What the cashier sees: confirmed copy + pending ops. Undefined if unknown. */
  view(order_id) {
    if (this.viewCache.has(order_id)) return this.viewCache.get(order_id);
    const entries = this.outbox.forOrder(order_id);
    const confirmed = this.confirmedById.get(order_id);
    if (!confirmed && entries.length === 0) return undefined;
    const order = rebase(confirmed, order_id, entries, this.context()) || undefined;
    this.viewCache.set(order_id, order);
    return order;
  }

  /** Every order this terminal knows, as seen now (any state). */
  views() {
    const ids = new Set([...this.confirmedById.keys(), ...this.outbox.orderIds()]);
    const out = [];
    for (const id of ids) {
      const v = this.view(id);
      if (v) out.push(v);
    }
    return out;
  }

  /** Visible drafts, most recently changed first. */
  drafts() {
    return this.views()
      .filter((o) => o.state === 'draft')
      .sort((a, b) => (a.updated_at < b.updated_at ? 1 : a.updated_at > b.updated_at ? -1 : 0));
  }

  /** `known` for hello: the confirmed versions. */
  known() {
    const out = {};
    for (const [id, order] of this.confirmedById) out[id] = order.version;
    return out;
  }

  hasPendingOps(order_id) {
    return this.outbox.forOrder(order_id).some((e) => e.acked_version === null);
  }

  /**
   * Apply a cashier's op: check it against the current view, then queue it.
   * @returns {{ok:true, entry:object, order:object} | {ok:false, code:string, message:string}}
   */
  localOp(order_id, op) {
    const ctx = this.context();
    const r = applyOp(this.view(order_id) || null, order_id, op, ctx);
    if (!r.ok) return r;
    const entry = this.outbox.add(order_id, op);
    return { ok: true, entry, order: this.view(order_id) };
  }

  // ---- server messages ------------------------------------------------------

  /** A full `order` message (catch-up, resync, newly visible) or `reject.order`. */
  receiveOrder(order) {
    if (!order || typeof order.id !== 'string') return { accepted: false };
    const current = this.confirmedById.get(order.id);
    if (current && order.version < current.version) return { accepted: false };
    if (FINAL_STATES.has(order.state)) {
      // The server says this order is paid or cancelled: it leaves the till.
      const last = this.view(order.id);
      this.forget(order.id);
      this.emit({ type: 'gone', order_id: order.id, reason: order.state, order: last || order, by: order.paid_by || order.updated_by });
      return { accepted: true, gone: true };
    }
    // Neither a copy nor an op of ours: the order has just come to this till (shared
    // by another counter, a link made, or a first catch-up).
    const arrived = !current && this.outbox.forOrder(order.id).length === 0;
    this.setConfirmed(order);
    if (arrived) this.emit({ type: 'arrived', order_id: order.id, order });
    return { accepted: true };
  }

  /** A `change` message. Answers 'apply', 'duplicate' or 'gap' (caller resyncs). */
  receiveChange(msg) {
    const confirmed = this.confirmedById.get(msg.order_id);
    const status = classifyChange(confirmed, msg);
    if (status !== 'apply') return { status };
    const order = applyPatch(confirmed, msg);
    for (const line_id of (msg.patch && msg.patch.remove_lines) || []) {
      this.lineRemovedBy.set(line_id, msg.by || null);
    }
    // An ack lost on the way (reconnect) is implied by our own op's change.
    const own = msg.op_id ? this.outbox.get(msg.op_id) : null;
    if (own && own.acked_version === null) this.outbox.markAcked(own.op_id, msg.version);
    this.setConfirmed(order);
    const line_ids = ((msg.patch && msg.patch.upsert_lines) || []).map((l) => l.id);
    this.emit({ type: 'change', order_id: msg.order_id, by: msg.by || null, line_ids, own: !!own });
    return { status };
  }

  /** An `ack`: the op is durable on the server at `version`. */
  receiveAck(msg) {
    const entry = this.outbox.markAcked(msg.op_id, msg.version);
    const confirmed = this.confirmedById.get(msg.order_id);
    if (confirmed) this.outbox.pruneAcked(msg.order_id, confirmed.version);
    return { entry, needsOrder: !confirmed };
  }

  /** A final `reject`: undo the op locally (drop it; take `reject.order` if given).
   * `session_closed` is held instead, to be sent again from a new session. */
  receiveReject(msg) {
    const entry = this.outbox.get(msg.op_id) || null;
    const before = this.view(msg.order_id) || null;
    if (entry) {
      if (msg.code === 'session_closed') this.outbox.hold(msg.op_id);
      else if (entry.op.kind === 'create' && !msg.order && !this.confirmedById.has(msg.order_id)) {
        // The order never came to be: its later ops could only be refused one by
        // one, so they go with it and the cashier hears about it once.
        this.outbox.dropOrder(msg.order_id);
      } else this.outbox.drop(msg.op_id);
    }
    if (msg.order) this.receiveOrder(msg.order);
    return { entry, before, after: this.view(msg.order_id) || null };
  }

  /** A `removed` message: paid or cancelled (everywhere), or unshared (this config may
   * no longer see it). Answers the last view, for the cashier's message. */
  receiveRemoved(msg) {
    const last = this.view(msg.order_id);
    const ctx = this.context();
    if (msg.reason === 'unshared' && last && last.origin && last.origin.config_id === ctx.by.config_id) {
      // The origin counter keeps its own drafts; "unshared" cannot concern it.
      return { dropped: false, order: last };
    }
    if (!last && !this.confirmedById.has(msg.order_id)) return { dropped: false, order: null };
    this.forget(msg.order_id);
    this.emit({ type: 'gone', order_id: msg.order_id, reason: msg.reason, order: last || null, by: msg.by || null });
    return { dropped: true, order: last || null };
  }

  receivePresence(msg) {
    this.presenceById.set(msg.order_id, Array.isArray(msg.terminals) ? msg.terminals : []);
    this.emit({ type: 'presence', order_id: msg.order_id });
  }

  /** Other terminals that have `order_id` open (this terminal excluded). */
  presence(order_id, own_terminal) {
    return (this.presenceById.get(order_id) || []).filter((t) => t.terminal !== own_terminal);
  }
}
