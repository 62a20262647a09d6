// outbox.js: the ordered queue of ops this terminal made and the server has not yet
// confirmed. An op is written to durable storage before it is sent, and stays until
// the server answers it: on `ack` it leaves the send queue at once (it is durable on
// the server) but is kept, marked with the acked version, until the order's confirmed
// copy reaches that version, so the screen never flickers back between the ack and
// the `change` that carries it. A final `reject` drops it; a retryable one keeps it
// with a retry time.
//
// Entry: {seq, op_id, order_id, op, created_at, acked_version, attempts, retry_at,
//         reissue, persisted}

export class Outbox {
  /**
   * @param {{storage: object, newId?: () => string, now?: () => number}} options
   */
  constructor({ storage, newId = () => crypto.randomUUID(), now = () => Date.now() }) {
    this.storage = storage;
    this.newId = newId;
    this.now = now;
    this.bySeq = []; // entries in seq order
    this.byId = new Map();
    this.nextSeq = 1;
    this.writes = Promise.resolve();
    this.listeners = new Set();
    this.storageErrors = 0;
  }

  /** Read the entries left by an earlier run (reload, crash). */
  async load() {
    const rows = await this.storage.getAll('outbox');
    rows.sort((a, b) => a.seq - b.seq);
    this.bySeq = [];
    this.byId.clear();
    for (const row of rows) {
      const entry = { ...row, persisted: true, retry_at: 0 };
      this.bySeq.push(entry);
      this.byId.set(entry.op_id, entry);
      this.nextSeq = Math.max(this.nextSeq, entry.seq + 1);
    }
    this.emit(null);
  }

  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(order_id) {
    for (const fn of this.listeners) fn(order_id);
  }

  /** Queue a write behind the earlier ones, so storage sees ops in the order made. */
  write(fn) {
    this.writes = this.writes.then(fn).catch((err) => {
      this.storageErrors += 1;
      console.warn('possync: outbox storage failed', err);
    });
    return this.writes;
  }

  persist(entry) {
    const { persisted, ...row } = entry;
    return this.write(() => this.storage.put('outbox', row));
  }

  /** Add an op made now; answers the entry (not yet persisted). */
  add(order_id, op) {
    const entry = {
      seq: this.nextSeq++,
      op_id: this.newId(),
      order_id,
      op,
      created_at: this.now(),
      acked_version: null,
      attempts: 0,
      retry_at: 0,
      reissue: false,
      persisted: false,
    };
    this.bySeq.push(entry);
    this.byId.set(entry.op_id, entry);
    this.persist(entry).then(() => {
      // Even when storage failed the op is sent: losing durability must not also
      // stop the sync; storageErrors tells the app to warn.
      entry.persisted = true;
      this.emit(order_id);
    });
    this.emit(order_id);
    return entry;
  }

  /** Resolves when every write queued so far has finished. */
  flushed() {
    return this.writes;
  }

  get(op_id) {
    return this.byId.get(op_id);
  }

  entries() {
    return this.bySeq.slice();
  }

  forOrder(order_id) {
    return this.bySeq.filter((e) => e.order_id === order_id);
  }

  orderIds() {
    return [...new Set(this.bySeq.map((e) => e.order_id))];
  }

  /** Ops not yet acknowledged by the server (the "N pending" the top bar shows). */
  pendingCount() {
    let n = 0;
    for (const e of this.bySeq) if (e.acked_version === null) n += 1;
    return n;
  }

  /**
   * Entries to send now, in op order: persisted, not acknowledged, not waiting for a
   * retry, not held for a new session. An order with an op waiting for its retry
   * holds back its later ops, so the server always sees one order's ops in the
   * order they were made.
   */
  sendable(now = this.now()) {
    const held = new Set();
    const out = [];
    for (const e of this.bySeq) {
      if (e.acked_version !== null) continue;
      if (!e.persisted) break; // later ops wait until earlier ones are durable
      if (held.has(e.order_id)) continue;
      if (e.reissue || e.retry_at > now) {
        held.add(e.order_id);
        continue;
      }
      out.push(e);
    }
    return out;
  }

  /** Earliest future retry time, or null. */
  nextRetryAt(now = this.now()) {
    let at = null;
    for (const e of this.bySeq) {
      if (e.acked_version === null && !e.reissue && e.retry_at > now) {
        if (at === null || e.retry_at < at) at = e.retry_at;
      }
    }
    return at;
  }

  markAcked(op_id, version) {
    const e = this.byId.get(op_id);
    if (!e) return null;
    e.acked_version = version;
    e.retry_at = 0;
    this.persist(e);
    this.emit(e.order_id);
    return e;
  }

  scheduleRetry(op_id, at) {
    const e = this.byId.get(op_id);
    if (!e) return null;
    e.attempts += 1;
    e.retry_at = at;
    this.emit(e.order_id);
    return e;
  }

  /** Hold an op that was refused because the session closed: it is sent again, under
   * a new op_id, once a new session is open (see reissueHeld). */
  hold(op_id) {
    const e = this.byId.get(op_id);
    if (!e) return null;
    e.reissue = true;
    this.persist(e);
    this.emit(e.order_id);
    return e;
  }

  /** Give every held op a new op_id and release it. The server remembers the old
   * op_id's final reject, so resending it unchanged could never succeed. */
  reissueHeld() {
    let n = 0;
    for (const e of this.bySeq) {
      if (!e.reissue) continue;
      const old = e.op_id;
      this.byId.delete(old);
      e.op_id = this.newId();
      e.reissue = false;
      e.attempts = 0;
      this.byId.set(e.op_id, e);
      this.write(() => this.storage.delete('outbox', old));
      this.persist(e);
      n += 1;
    }
    if (n) this.emit(null);
    return n;
  }

  heldCount() {
    return this.bySeq.filter((e) => e.reissue).length;
  }

  drop(op_id) {
    const e = this.byId.get(op_id);
    if (!e) return null;
    this.byId.delete(op_id);
    this.bySeq = this.bySeq.filter((x) => x !== e);
    this.write(() => this.storage.delete('outbox', op_id));
    this.emit(e.order_id);
    return e;
  }

  dropOrder(order_id) {
    const gone = this.bySeq.filter((e) => e.order_id === order_id);
    if (!gone.length) return 0;
    this.bySeq = this.bySeq.filter((e) => e.order_id !== order_id);
    for (const e of gone) {
      this.byId.delete(e.op_id);
      this.write(() => this.storage.delete('outbox', e.op_id));
    }
    this.emit(order_id);
    return gone.length;
  }

  /** Drop the acknowledged ops the confirmed copy (at `version`) already contains. */
  pruneAcked(order_id, version) {
    let n = 0;
    for (const e of this.forOrder(order_id)) {
      if (e.acked_version !== null && e.acked_version <= version) {
        this.byId.delete(e.op_id);
        this.bySeq = this.bySeq.filter((x) => x !== e);
        this.write(() => this.storage.delete('outbox', e.op_id));
        n += 1;
      }
    }
    if (n) this.emit(order_id);
    return n;
  }
}
