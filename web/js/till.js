// till.js: one terminal at work, without the DOM. It opens the durable storage of
// its config, holds the outbox, the order store, the sync client and the catalog,
// keeps which order is open and which line is selected, and turns a cashier's
// intents (add this product, set this quantity, pay) into ops. Views render its
// state and call its methods; it tells them what changed through `subscribe`.

import { Outbox } from './outbox.js';
import { OrderStore } from './orderstore.js';
import { SyncClient, syncUrl } from './sync.js';
import { Catalog } from './catalog.js';
import { openIdbStorage, memoryStorage, requestPersistence } from './idb.js';
import { uuidv7 } from './ids.js';
import { parseQty, formatQty } from './quantity.js';
import { rejectMessage, rejectWorthTelling, removedMessage, orderLabel } from './wording.js';
import { lockedByOther, applyOp } from './apply.js';

const CATALOG_REFRESH_MS = 5 * 60_000;
/** On-hand stock is read again this often while the till runs (sales at counters this
 * till does not hear of), and soon after any sale it does hear of. */
const PRODUCTS_REFRESH_MS = 60_000;
const PRODUCTS_AFTER_SALE_MS = 300;
/** Orders arriving close together are told in one notice. */
const ARRIVALS_NOTICE_MS = 400;
const ANSWER_TIMEOUT_MS = 20_000;
const LINKS_TIMEOUT_MS = 2_000;

export class Till {
  /**
   * @param {object} o
   * @param {string} o.ns             storage namespace (one per terminal profile)
   * @param {string} o.terminalId
   * @param {import('./api.js').Api} o.api   with the terminal token
   * @param {{terminal_token:string, session:object, config:object, user:object}} o.auth
   * @param {object} [o.location]     window.location (for the WebSocket URL)
   */
  constructor({ ns, terminalId, api, auth, location = globalThis.location, createSocket, storage }) {
    this.ns = ns;
    this.terminalId = terminalId;
    this.api = api;
    this.auth = auth;
    this.location = location;
    this.createSocket = createSocket || ((url) => new WebSocket(url));
    this.injectedStorage = storage || null;
    this.listeners = new Set();
    this.catalog = new Catalog();
    this.catalogFetchedAt = 0;
    this.configNames = new Map([[auth.config.id, auth.config.name]]);
    this.linkedConfigs = [];
    this.currentOrderId = null;
    this.selectedLineId = null;
    this.answers = new Map(); // op_id -> resolve, for ops a view waits on (pay)
    this.receipts = new Map(); // order_id -> paid order snapshot
    this.unseenShared = new Set(); // orders shared with this till, not looked at yet
    this.arrivals = []; // orders arrived since the last notice
    this.arrivalsTimer = null;
    this.productsTimer = null;
    this.productsTicker = null;
    this.storageKind = 'none';
    this.persisted = false;
    this.lastSyncResult = null;
  }

  get config() { return this.auth.config; }
  get session() { return this.auth.session; }

  by() {
    return {
      session_id: this.session.id,
      config_id: this.config.id,
      config_name: this.config.name,
      terminal: this.terminalId,
    };
  }

  serverNow() {
    return this.sync ? this.sync.serverNow() : Date.now();
  }

  /** The context of apply.js at this instant. */
  ctx() {
    return {
      now: this.serverNow(),
      by: this.by(),
      config: { id: this.config.id, auto_share: !!this.config.auto_share },
      products: this.catalog.products,
      taxes: this.catalog.taxes,
      payment_methods: this.catalog.payment_methods.size ? this.catalog.payment_methods : undefined,
    };
  }

  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(event) {
    for (const fn of this.listeners) {
      try {
        fn(event);
      } catch (err) {
        console.error('possync: listener failed', err);
      }
    }
  }

  toast(text, tone = 'info') {
    this.emit({ type: 'toast', text, tone });
  }

  // ---- start and stop ---------------------------------------------------------

  async open() {
    const dbName = `possync:${this.ns}:config:${this.config.id}`;
    try {
      this.storage = this.injectedStorage || (await openIdbStorage(dbName));
    } catch (err) {
      console.warn('possync: IndexedDB unavailable, drafts kept in memory only', err);
      this.storage = memoryStorage();
    }
    this.storageKind = this.storage.kind;
    requestPersistence().then((ok) => {
      this.persisted = ok;
      this.emit({ type: 'storage' });
    });

    this.outbox = new Outbox({ storage: this.storage, newId: () => uuidv7() });
    this.store = new OrderStore({ outbox: this.outbox, storage: this.storage, context: () => this.ctx() });
    await this.outbox.load();
    await this.store.load();
    this.store.subscribe((e) => this.onStoreEvent(e));
    this.outbox.onChange(() => this.emit({ type: 'pending' }));

    const cached = await this.storage.get('meta', 'catalog').catch(() => null);
    if (cached && cached.value) this.catalog = new Catalog(cached.value);
    const names = await this.storage.get('meta', 'config_names').catch(() => null);
    if (names && names.value) for (const [id, name] of names.value) if (!this.configNames.has(id)) this.configNames.set(id, name);
    const current = await this.storage.get('meta', 'current').catch(() => null);
    if (current && current.value && this.store.view(current.value)) this.currentOrderId = current.value;

    // Ops refused with session_closed in an earlier session go out again from this one.
    if (this.outbox.heldCount() && this.outbox.reissueHeld()) {
      this.toast('Changes kept from the closed session are being sent again');
    }

    this.sync = new SyncClient({
      url: syncUrl(this.location, this.auth.terminal_token),
      terminal: this.terminalId,
      store: this.store,
      outbox: this.outbox,
      createSocket: this.createSocket,
      isOnline: () => (globalThis.navigator ? navigator.onLine !== false : true),
      onEvent: (e) => this.onSyncEvent(e),
    });
    this.sync.start();
    this.refreshCatalog();
    this.productsTicker = setInterval(() => this.refreshProducts(), PRODUCTS_REFRESH_MS);
  }

  stop() {
    clearInterval(this.productsTicker);
    clearTimeout(this.productsTimer);
    clearTimeout(this.arrivalsTimer);
    if (this.sync) this.sync.stop();
    if (this.storage && this.storage.close) this.storage.close();
  }

  async refreshCatalog() {
    try {
      const [products, categories, taxes, customers, payment_methods] = await Promise.all([
        this.api.list('products'),
        this.api.list('categories'),
        this.api.list('taxes'),
        this.api.list('customers'),
        this.api.list('payment_methods'),
      ]);
      this.catalog = new Catalog({ products, categories, taxes, customers, payment_methods });
      this.catalogFetchedAt = Date.now();
      this.store.invalidate(null);
      this.storage.put('meta', { key: 'catalog', value: this.catalog.toJSON() }).catch(() => {});
      this.emit({ type: 'catalog' });
    } catch (err) {
      if (err && err.status === 401) this.emit({ type: 'auth_failed' });
      // Offline: the cached catalog serves until the next successful refresh.
    }
  }

  /**
   * Read the products again (their on-hand stock), soon: a sale at any counter this
   * till hears of (an order leaving as paid) moves stock, and so does time (sales at
   * counters it does not hear of). Calls within a moment make one request.
   * No new message on the wire: GET /products is the contract's way to read stock.
   */
  refreshProducts(delay_ms = PRODUCTS_AFTER_SALE_MS) {
    if (this.productsTimer !== null) return;
    this.productsTimer = setTimeout(async () => {
      this.productsTimer = null;
      try {
        const products = await this.api.list('products');
        if (!Array.isArray(products)) return;
        this.catalog = new Catalog({ ...this.catalog.toJSON(), products });
        this.store.invalidate(null);
        this.storage.put('meta', { key: 'catalog', value: this.catalog.toJSON() }).catch(() => {});
        this.emit({ type: 'catalog' });
      } catch (err) {
        if (err && err.status === 401) this.emit({ type: 'auth_failed' });
      }
    }, delay_ms);
  }

  /** Shared orders that came to this till since the orders screen was last opened. */
  unseenSharedCount() {
    return this.unseenShared.size;
  }

  /** The orders screen shows them all: nothing is new any more. */
  markSharedSeen() {
    if (!this.unseenShared.size) return;
    this.unseenShared.clear();
    this.emit({ type: 'orders' });
  }

  /** An order from another counter came to this till: one notice for those that
   * come together (a first catch-up may bring many). */
  noteArrival(order) {
    if (!order || order.state !== 'draft' || !order.origin || order.origin.config_id === this.config.id) return;
    this.unseenShared.add(order.id);
    this.arrivals.push(order);
    if (this.arrivalsTimer !== null) return;
    this.arrivalsTimer = setTimeout(() => {
      this.arrivalsTimer = null;
      const arrived = this.arrivals.splice(0).filter((o) => this.store.view(o.id));
      if (!arrived.length) return;
      const from = [...new Set(arrived.map((o) => this.configName(o.origin.config_id)))].join(', ');
      this.toast(arrived.length === 1
        ? `Shared by ${from}: ${orderLabel(arrived[0])}`
        : `${arrived.length} orders shared by ${from}`);
      this.emit({ type: 'orders' });
    }, ARRIVALS_NOTICE_MS);
  }

  // ---- events from below ------------------------------------------------------

  onStoreEvent(e) {
    if (e.type === 'arrived') this.noteArrival(e.order);
    if (e.type === 'change' && e.by && e.by.terminal !== this.terminalId) {
      this.emit({ type: 'remote_change', order_id: e.order_id, line_ids: e.line_ids, by: e.by });
    }
    if (e.type === 'gone') {
      this.unseenShared.delete(e.order_id);
      if (e.order_id === this.currentOrderId) this.setCurrent(null);
      if (e.reason === 'paid') this.refreshProducts();
    }
    if (e.type === 'orders' || e.type === 'presence' || e.type === 'gone') this.emit({ type: 'orders', order_id: e.order_id });
  }

  onSyncEvent(e) {
    switch (e.type) {
      case 'state':
        this.emit({ type: 'sync' });
        break;
      case 'welcome': {
        const w = e.welcome;
        if (w.config && w.config.name) {
          this.auth.config = { ...this.auth.config, ...w.config };
          this.configNames.set(w.config.id, w.config.name);
        }
        if (w.session && w.session.id) this.auth.session = { ...this.auth.session, ...w.session };
        this.linkedConfigs = this.sync.linkedConfigs;
        for (const c of this.linkedConfigs) this.configNames.set(c.id, c.name);
        this.storage.put('meta', { key: 'config_names', value: [...this.configNames] }).catch(() => {});
        this.emit({ type: 'welcome' });
        break;
      }
      case 'synced':
        if (Date.now() - this.catalogFetchedAt > CATALOG_REFRESH_MS) this.refreshCatalog();
        this.emit({ type: 'sync' });
        break;
      case 'ack': {
        const resolve = this.answers.get(e.op_id);
        if (resolve) resolve({ ok: true, version: e.version });
        break;
      }
      case 'reject': {
        const resolve = this.answers.get(e.op_id);
        const removedBy = e.entry && e.entry.op.line_id ? this.store.lineRemovedBy.get(e.entry.op.line_id) : null;
        const text = rejectMessage({ ...e, removedBy });
        if (resolve) resolve({ ok: false, code: e.code, message: text });
        else if (e.entry && e.entry.op.kind === 'pay' && e.code !== 'session_closed') {
          // A payment taken without the server, refused now that it is back.
          const order = this.store.view(e.order_id);
          this.toast(`The server refused a payment taken offline (${order ? orderLabel(order) : 'an order'}): ${text}. The order is open again: settle it.`, 'bad');
        } else if (rejectWorthTelling(e)) this.toast(text, 'warn');
        this.emit({ type: 'reject', order_id: e.order_id, code: e.code, op: e.entry ? e.entry.op : null, text });
        // The op is held in the outbox (see orderstore); this session is over.
        if (e.code === 'session_closed') this.emit({ type: 'auth_failed', code: e.code });
        break;
      }
      case 'removed': {
        if (!e.dropped) break;
        const mine = e.by && e.by.terminal === this.terminalId;
        if (!mine && e.order) this.toast(removedMessage(e), e.reason === 'paid' ? 'info' : 'warn');
        this.emit({ type: 'removed', order_id: e.order_id, reason: e.reason, by: e.by, mine });
        break;
      }
      case 'order': {
        const o = this.store.view(e.order_id);
        if (o) this.noteConfigName(o.updated_by);
        break;
      }
      case 'change':
        if (e.by) this.noteConfigName(e.by);
        break;
      case 'auth_failed':
        this.emit({ type: 'auth_failed', code: e.code });
        break;
      case 'disconnected':
        this.emit({ type: 'disconnected', failures: e.failures });
        break;
      default:
        break;
    }
  }

  noteConfigName(by) {
    if (by && by.config_id && by.config_name && !this.configNames.has(by.config_id)) {
      this.configNames.set(by.config_id, by.config_name);
    }
  }

  configName(config_id) {
    return this.configNames.get(config_id) || `Counter #${config_id}`;
  }

  // ---- reading ----------------------------------------------------------------

  currentOrder() {
    return this.currentOrderId ? this.store.view(this.currentOrderId) || null : null;
  }

  drafts() {
    return this.store.drafts();
  }

  pendingCount() {
    return this.outbox ? this.outbox.pendingCount() : 0;
  }

  syncState() {
    return this.sync ? this.sync.state : 'idle';
  }

  /** A draft this till may pay without the server: its own counter's, not shared.
   * Nobody else can see it, so nobody else can be paying it. */
  canPayOffline(order) {
    return !!order && order.state === 'draft' && !order.shared && order.origin.config_id === this.config.id;
  }

  /** Orders paid on this till whose payment the server has not confirmed yet. */
  paidOffline() {
    return this.store.views().filter((o) => o.state === 'paid' && this.store.hasPendingOps(o.id));
  }

  /** The live lock of another terminal on `order`, or null. */
  foreignLock(order) {
    return order && lockedByOther(order, { by: this.by(), now: this.serverNow() }) ? order.lock : null;
  }

  presence(order_id) {
    return this.store.presence(order_id, this.terminalId);
  }

  /** The foreign lock on `order` when the terminal holding it is no longer connected
   * (not among those who have the order open): it ends only with its lease. */
  abandonedLock(order) {
    const lock = this.foreignLock(order);
    if (!lock) return null;
    return this.presence(order.id).some((t) => t.terminal === lock.terminal) ? null : lock;
  }

  // ---- the open order -----------------------------------------------------------

  setCurrent(order_id) {
    this.currentOrderId = order_id;
    if (order_id) this.unseenShared.delete(order_id);
    this.selectedLineId = null;
    if (order_id) {
      const o = this.store.view(order_id);
      if (o && o.lines.length) this.selectedLineId = o.lines[o.lines.length - 1].id;
    }
    this.storage.put('meta', { key: 'current', value: order_id }).catch(() => {});
    this.emit({ type: 'current' });
  }

  selectLine(line_id) {
    this.selectedLineId = line_id;
    this.emit({ type: 'selection' });
  }

  newOrder() {
    this.setCurrent(null);
  }

  /** Whether `op` would apply to the order as shown, without queuing it: {ok} or
   * {ok:false, code, message} (the same refusals as the server's). */
  check(order_id, op) {
    return applyOp(this.store.view(order_id) || null, order_id, op, this.ctx());
  }

  /** Apply an op locally and queue it; a refusal is told at once and not sent. */
  op(order_id, op) {
    const r = this.store.localOp(order_id, op);
    if (!r.ok) {
      const view = this.store.view(order_id) || null;
      this.toast(rejectMessage({ code: r.code, message: r.message, entry: { op }, before: view, after: view, removedBy: op.line_id ? this.store.lineRemovedBy.get(op.line_id) : null }), 'warn');
    }
    return r;
  }

  /** Sends `op` once more, as a new op, with a manager's approval ({user_id, pin} or
   * {user_id, password}), straight over HTTP (`POST /orders/{id}/ops`) as this
   * terminal: the PIN or password is never written to the outbox or the device. The
   * change comes back over the socket like any other. Resolves with {ok} or
   * {ok:false, code, message}. */
  async sendApproved(order_id, op, approval) {
    const { approval: _dropped, ...plain } = op;
    const body = { op_id: uuidv7(), op: { ...plain, approval } };
    try {
      await this.api.exchange('POST', `/orders/${order_id}/ops`, body, { headers: { 'X-Possync-Terminal': this.terminalId } });
      return { ok: true };
    } catch (err) {
      return { ok: false, code: err.code || 'unreachable', message: err.message || 'The server cannot be reached' };
    }
  }

  /** Asks the server for a refund draft of `lines` ([{line_id, qty}]) of the paid
   * order `paid_id` (`POST /orders/{id}/refund`), with a manager's approval when
   * given, as this terminal. The draft is the server's from the start (its lines
   * are copied there): it is taken into the till as the server sent it and made
   * the current order. `order_id` is the new draft's id: the same id is sent again
   * with an approval. Resolves {ok, order} or {ok:false, code, message}. */
  async refund(paid_id, { order_id, lines, approval = null }) {
    const body = { order_id, lines, ...(approval ? { approval } : {}) };
    try {
      const { data } = await this.api.exchange('POST', `/orders/${paid_id}/refund`, body, { headers: { 'X-Possync-Terminal': this.terminalId } });
      this.store.receiveOrder(data);
      this.setCurrent(data.id);
      return { ok: true, order: data };
    } catch (err) {
      return { ok: false, code: err.code || 'unreachable', message: err.message || 'The server cannot be reached' };
    }
  }

  /** Resolves with the server's answer to `entry` ({ok, code?, message?}). */
  answer(entry, timeout_ms = ANSWER_TIMEOUT_MS) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.answers.delete(entry.op_id);
        resolve({ ok: false, code: 'timeout', message: 'No answer from the server yet; the change is kept and will be sent again' });
      }, timeout_ms);
      this.answers.set(entry.op_id, (answer) => {
        clearTimeout(timer);
        this.answers.delete(entry.op_id);
        resolve(answer);
      });
    });
  }

  /** The current draft, created (offline if need be) when there is none. */
  ensureOrder(extra = {}) {
    const current = this.currentOrder();
    if (current && current.state === 'draft') return current.id;
    const id = uuidv7();
    const r = this.op(id, { kind: 'create', ...extra });
    if (!r.ok) return null;
    this.setCurrent(id);
    return id;
  }

  /** Add one of `product`: onto a plain line of the same product, else a new line. */
  addProduct(product, qty = '1') {
    const order_id = this.ensureOrder();
    if (!order_id) return;
    const order = this.store.view(order_id);
    const same = order.lines.find((l) => l.product_id === product.id && l.unit_price === product.price && (l.discount === '0' || l.discount === '0.00' || !l.discount) && !l.note);
    if (same && qty === '1') {
      // add_qty is commutative: two counters adding the same product both count.
      const r = this.op(order_id, { kind: 'add_qty', line_id: same.id, delta: '1' });
      if (r.ok) {
        this.selectLine(same.id);
        this.warnIfShort(order_id, product);
      }
      return;
    }
    const line_id = uuidv7();
    const r = this.op(order_id, { kind: 'add_line', line_id, product_id: product.id, qty });
    if (r.ok) {
      this.selectLine(line_id);
      this.warnIfShort(order_id, product);
    }
  }

  /** Selling more of a tracked product than is on hand is allowed (stock may go
   * negative and is reported), but the cashier is told. */
  warnIfShort(order_id, product) {
    if (!product.tracks_stock) return;
    const order = this.store.view(order_id);
    if (!order) return;
    const wanted = order.lines.filter((l) => l.product_id === product.id).reduce((n, l) => n + (parseQty(l.qty) ?? 0), 0);
    const onHand = parseQty(product.on_hand) ?? 0;
    if (wanted > onHand) this.toast(`Only ${formatQty(Math.max(0, onHand))} ${product.name} in stock`, 'warn');
  }

  /** Add the product with this barcode; answers whether one was found. */
  scan(code) {
    const product = this.catalog.productByBarcode(code);
    if (!product) {
      this.toast(`No product with barcode ${code}`, 'warn');
      return false;
    }
    this.addProduct(product);
    return true;
  }

  lineOp(kind, fields) {
    const order = this.currentOrder();
    if (!order || !this.selectedLineId) return null;
    return this.op(order.id, { kind, line_id: this.selectedLineId, ...fields });
  }

  removeSelectedLine() {
    const order = this.currentOrder();
    if (!order || !this.selectedLineId) return;
    const i = order.lines.findIndex((l) => l.id === this.selectedLineId);
    const r = this.op(order.id, { kind: 'remove_line', line_id: this.selectedLineId });
    if (r.ok) {
      const lines = this.currentOrder().lines;
      this.selectLine(lines.length ? lines[Math.min(i, lines.length - 1)].id : null);
    }
  }

  setCustomer(customer_id) {
    const order = this.currentOrder();
    if (!order) {
      this.ensureOrder({ customer_id });
      return;
    }
    this.op(order.id, { kind: 'set_customer', customer_id });
  }

  setNote(note) {
    const order = this.currentOrder();
    if (!order) {
      if (note) this.ensureOrder({ note });
      return;
    }
    this.op(order.id, { kind: 'set_note', note });
  }

  cancelOrder(reason) {
    const order = this.currentOrder();
    if (!order) return;
    const r = this.op(order.id, reason ? { kind: 'cancel', reason } : { kind: 'cancel' });
    if (r.ok) this.setCurrent(null);
  }

  /**
   * The Manual Sync button: share the open draft (when this counter made it and it
   * is not shared yet), send everything now, and say with whom it is in sync.
   */
  async manualSync() {
    const order = this.currentOrder();
    if (order && order.state === 'draft' && !order.shared && order.origin.config_id === this.config.id) {
      this.op(order.id, { kind: 'share' });
    }
    this.lastSyncResult = { busy: true, text: 'Syncing…' };
    this.emit({ type: 'manual_sync' });
    const r = await this.sync.syncNow();
    if (r.ok) {
      // The links may have changed since this till connected (welcome): ask.
      const linked = (await this.currentLinkedConfigs()) || r.linked_configs || [];
      const names = linked.map((c) => c.name);
      this.lastSyncResult = { ok: true, text: names.length ? `Synced with ${names.join(', ')}` : 'Saved on the server (no linked counters)' };
    } else if (r.reason === 'offline') {
      this.lastSyncResult = { ok: false, text: `Offline: ${r.pending} change${r.pending === 1 ? '' : 's'} will sync when back online` };
    } else {
      this.lastSyncResult = { ok: false, text: `Still sending ${r.pending} change${r.pending === 1 ? '' : 's'}…` };
    }
    this.emit({ type: 'manual_sync' });
    return this.lastSyncResult;
  }

  /** This counter's linked counters as the server has them now ([{id, name}]), or
   * null when it does not answer quickly (the welcome's list is used then). */
  async currentLinkedConfigs(timeout_ms = LINKS_TIMEOUT_MS) {
    let timer = null;
    const late = new Promise((resolve) => { timer = setTimeout(() => resolve(null), timeout_ms); });
    const asked = this.api.configs().then((configs) => {
      if (!Array.isArray(configs)) return null;
      const own = configs.find((c) => c.id === this.config.id);
      if (!own || !Array.isArray(own.sync_with)) return null;
      const byId = new Map(configs.map((c) => [c.id, c]));
      for (const c of configs) this.configNames.set(c.id, c.name);
      this.linkedConfigs = own.sync_with.map((id) => ({ id, name: byId.has(id) ? byId.get(id).name : this.configName(id) }));
      return this.linkedConfigs;
    }, () => null);
    try {
      return await Promise.race([asked, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Add a customer at the counter (POST /customers with this till's token) and
   * keep it in the catalog at once. Rejects with the ApiError when it cannot. */
  async addCustomer(body) {
    const customer = await this.api.create('customers', body);
    this.catalog = new Catalog({ ...this.catalog.toJSON(), customers: [...this.catalog.customers.values(), customer] });
    this.storage.put('meta', { key: 'catalog', value: this.catalog.toJSON() }).catch(() => {});
    this.emit({ type: 'catalog' });
    return customer;
  }

  /** Keep a paid order for its receipt (it leaves the store when the server says so). */
  keepReceipt(order) {
    this.receipts.set(order.id, order);
    this.storage.put('meta', { key: 'last_receipt', value: order }).catch(() => {});
  }

  async receipt(order_id) {
    if (this.receipts.has(order_id)) return this.receipts.get(order_id);
    const last = await this.storage.get('meta', 'last_receipt').catch(() => null);
    if (last && last.value && last.value.id === order_id) return last.value;
    try {
      return await this.api.order(order_id);
    } catch {
      return null;
    }
  }
}
