// sync.js: the WebSocket client of PROTOCOL.md. It connects with the terminal token,
// says hello with the versions it knows, feeds catch-up and live messages to the
// OrderStore, sends the outbox (again, by the same op_id, after every reconnect:
// the server answers duplicates with their first answer), retries what the server
// could not commit, resyncs on a version gap, pings to notice a dead link, and
// reconnects with exponential backoff and full jitter.
//
// A network that goes away often says nothing (no FIN, no RST): the socket stays
// "open" while nothing arrives. So every op sent and every ping expects an answer:
// with nothing at all back within `answer_timeout_ms` (2 s) the state turns
// `stalled` ("No answer · 1 pending") at once, a ping goes out, and after
// `stall_drop_ms` more of silence the link is dropped and reconnected. Any message
// from the server ends the wait. The browser's `offline` event drops it at once. The socket, the timers, the
// clock and randomness are injected, so tests drive it with a fake socket.

export const PROTOCOL_VERSION = 1;
export const RETRYABLE_CODES = new Set(['rate_limited', 'unavailable']);
const AUTH_ERROR_CODES = new Set(['unauthorized', 'session_closed', 'forbidden']);
const MESSAGE_BYTES_MAX = 64 * 1024;
const KNOWN_ORDERS_MAX = 1000; // keeps hello under the 64 KiB message bound

export const DEFAULT_TIMING = {
  backoff_base_ms: 500,
  backoff_max_ms: 30_000,
  ping_interval_ms: 10_000,
  dead_after_ms: 45_000, // no message at all for this long: the link is dead
  answer_timeout_ms: 2_000, // an op or a ping without any message back: stalled
  stall_drop_ms: 6_000, // stalled this long: drop the link and reconnect
  connect_timeout_ms: 8_000, // a handshake a silent network swallowed never ends by itself
  welcome_timeout_ms: 10_000,
  create_check_ms: 1_500, // ack of a create without its order: ask for it
  offline_after_failures: 3,
};

/** Delay before reconnect attempt `attempt` (1, 2, ...): full jitter over an
 * exponentially growing window, so many tills restarting together spread out. */
export function backoffDelay(attempt, random = Math.random, timing = DEFAULT_TIMING) {
  const window = Math.min(timing.backoff_max_ms, timing.backoff_base_ms * 2 ** Math.max(0, attempt - 1));
  return Math.floor(timing.backoff_base_ms / 2 + random() * (window - timing.backoff_base_ms / 2));
}

/** Build the WebSocket URL for a page served at `location`. */
export function syncUrl(location, token) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/api/v1/sync?token=${encodeURIComponent(token)}`;
}

export class SyncClient {
  /**
   * @param {object} o
   * @param {string} o.url
   * @param {string} o.terminal            this terminal's UUID
   * @param {import('./orderstore.js').OrderStore} o.store
   * @param {import('./outbox.js').Outbox} o.outbox
   * @param {(url:string) => object} o.createSocket  a browser WebSocket or a double
   * @param {object} [o.timers]             {setTimeout, clearTimeout}
   * @param {() => number} [o.now]
   * @param {() => number} [o.random]
   * @param {() => boolean} [o.isOnline]
   * @param {(event:object) => void} [o.onEvent]
   */
  constructor(o) {
    this.url = o.url;
    this.terminal = o.terminal;
    this.store = o.store;
    this.outbox = o.outbox;
    this.createSocket = o.createSocket;
    this.timers = o.timers || { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (t) => clearTimeout(t) };
    this.now = o.now || (() => Date.now());
    this.random = o.random || Math.random;
    this.isOnline = o.isOnline || (() => true);
    this.onEvent = o.onEvent || (() => {});
    this.timing = { ...DEFAULT_TIMING, ...(o.timing || {}) };

    this.state = 'idle'; // idle | connecting | catching_up | live | stalled | reconnecting | offline | stopped
    this.socket = null;
    this.failures = 0;
    this.sent = new Set(); // op_ids sent on the current connection
    this.resyncWanted = new Set();
    this.presenceOrderId = null;
    this.serverOffsetMs = 0;
    this.welcome = null;
    this.linkedConfigs = [];
    this.lastMessageAt = 0;
    this.reconnectTimer = null;
    this.heartbeatTimer = null;
    this.welcomeTimer = null;
    this.retryTimer = null;
    this.retryAt = null;
    this.answerTimer = null; // running while something sent waits for any message back
    this.waiters = []; // manual sync promises waiting for an empty outbox
    this.unsubscribe = this.outbox.onChange(() => this.onOutboxChange());
  }

  // ---- lifecycle ------------------------------------------------------------

  start() {
    if (this.state !== 'idle' && this.state !== 'stopped') return;
    this.setState('connecting');
    this.connect();
  }

  stop() {
    this.setState('stopped');
    this.clearTimers();
    this.detach();
    for (const w of this.waiters.splice(0)) w.resolve({ ok: false, reason: 'stopped' });
  }

  /** Connect at once (browser came back online, Manual Sync while offline). */
  reconnectNow() {
    if (this.state === 'stopped' || this.state === 'idle') return;
    if (this.socket) return;
    this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.connect();
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.onEvent({ type: 'state', state });
  }

  serverNow() {
    return this.now() + this.serverOffsetMs;
  }

  clearTimers() {
    for (const name of ['reconnectTimer', 'heartbeatTimer', 'welcomeTimer', 'retryTimer', 'answerTimer']) {
      if (this[name] !== null) this.timers.clearTimeout(this[name]);
      this[name] = null;
    }
    this.retryAt = null;
  }

  connect() {
    this.reconnectTimer = null;
    let socket;
    try {
      socket = this.createSocket(this.url);
    } catch (err) {
      this.onDisconnect(null);
      return;
    }
    this.socket = socket;
    this.sent.clear();
    this.timers.clearTimeout(this.welcomeTimer);
    this.welcomeTimer = this.timers.setTimeout(() => {
      this.welcomeTimer = null;
      if (this.socket === socket && this.state !== 'live' && this.state !== 'stalled' && this.state !== 'catching_up') this.dropConnection();
    }, this.timing.connect_timeout_ms);
    socket.onopen = () => this.onOpen(socket);
    socket.onmessage = (ev) => this.onRawMessage(socket, ev.data);
    socket.onclose = (ev) => this.onClose(socket, ev);
    socket.onerror = () => {}; // onclose follows and decides
  }

  detach() {
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    try {
      socket.close();
    } catch {
      /* already closed */
    }
  }

  /** The browser says the network is gone: drop the link now rather than wait. */
  wentOffline() {
    if (this.socket) this.dropConnection();
  }

  /** Something was sent that the server answers: with no message at all back in
   * time, the link is stalled; a while longer, and it is dropped. */
  expectAnswer() {
    if (this.answerTimer !== null || !this.socket) return;
    this.answerTimer = this.timers.setTimeout(() => {
      this.answerTimer = null;
      if (!this.socket) return;
      if (this.state === 'live') this.setState('stalled');
      this.sendRaw({ type: 'ping', t: this.now() });
      this.answerTimer = this.timers.setTimeout(() => {
        this.answerTimer = null;
        if (this.socket) this.dropConnection();
      }, this.timing.stall_drop_ms);
    }, this.timing.answer_timeout_ms);
  }

  /** Any message from the server: the link answers. */
  answered() {
    if (this.answerTimer !== null) this.timers.clearTimeout(this.answerTimer);
    this.answerTimer = null;
    if (this.state === 'stalled') this.setState('live');
  }

  /** Drop the current link (dead, or never welcomed) and go the reconnect way. */
  dropConnection() {
    const socket = this.socket;
    this.detach();
    if (socket) this.onDisconnect({ code: 4000, reason: 'client gave up on the link' });
  }

  onOpen(socket) {
    if (socket !== this.socket) return;
    this.lastMessageAt = this.now();
    this.setState('catching_up');
    this.sendRaw({ type: 'hello', protocol: PROTOCOL_VERSION, terminal: this.terminal, known: this.knownForHello() });
    this.timers.clearTimeout(this.welcomeTimer);
    this.welcomeTimer = this.timers.setTimeout(() => {
      this.welcomeTimer = null;
      if (this.state === 'catching_up') this.dropConnection();
    }, this.timing.welcome_timeout_ms);
    this.armHeartbeat();
  }

  knownForHello() {
    const known = this.store.known();
    const ids = Object.keys(known);
    if (ids.length <= KNOWN_ORDERS_MAX) return known;
    // Orders left out are simply sent in full by the catch-up.
    const out = {};
    for (const id of ids.slice(0, KNOWN_ORDERS_MAX)) out[id] = known[id];
    return out;
  }

  onClose(socket, ev) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.onDisconnect(ev || null);
  }

  onDisconnect(ev) {
    if (this.state === 'stopped') return;
    this.timers.clearTimeout(this.heartbeatTimer);
    this.timers.clearTimeout(this.welcomeTimer);
    this.timers.clearTimeout(this.answerTimer);
    this.heartbeatTimer = this.welcomeTimer = this.answerTimer = null;
    this.sent.clear();
    this.failures += 1;
    const offline = !this.isOnline() || this.failures >= this.timing.offline_after_failures;
    this.setState(offline ? 'offline' : 'reconnecting');
    this.onEvent({ type: 'disconnected', failures: this.failures, code: ev && ev.code });
    const delay = backoffDelay(this.failures, this.random, this.timing);
    this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = this.timers.setTimeout(() => this.connect(), delay);
  }

  armHeartbeat() {
    this.timers.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = this.timers.setTimeout(() => {
      this.heartbeatTimer = null;
      if (!this.socket) return;
      if (this.now() - this.lastMessageAt >= this.timing.dead_after_ms) {
        this.dropConnection();
        return;
      }
      if (this.sendRaw({ type: 'ping', t: this.now() })) this.expectAnswer();
      this.armHeartbeat();
    }, this.timing.ping_interval_ms);
  }

  sendRaw(message) {
    if (!this.socket) return false;
    try {
      this.socket.send(JSON.stringify(message));
      return true;
    } catch {
      return false;
    }
  }

  // ---- incoming -------------------------------------------------------------

  onRawMessage(socket, data) {
    if (socket !== this.socket) return;
    this.lastMessageAt = this.now();
    this.answered();
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return; // not ours to crash on; the server only sends JSON
    }
    if (msg && typeof msg.type === 'string') this.handle(msg);
  }

  /** Handle one decoded server message (public so tests can feed messages). */
  handle(msg) {
    switch (msg.type) {
      case 'welcome': return this.onWelcome(msg);
      case 'order': return this.onOrder(msg);
      case 'change': return this.onChange(msg);
      case 'removed': return this.onRemoved(msg);
      case 'synced': return this.onSynced();
      case 'ack': return this.onAck(msg);
      case 'reject': return this.onReject(msg);
      case 'presence': return this.store.receivePresence(msg);
      case 'error': return this.onError(msg);
      case 'pong': return this.onEvent({ type: 'pong', rtt_ms: typeof msg.t === 'number' ? this.now() - msg.t : null });
      default: return undefined; // unknown types are ignored: the contract may grow
    }
  }

  onWelcome(msg) {
    this.timers.clearTimeout(this.welcomeTimer);
    this.welcomeTimer = null;
    this.welcome = msg;
    this.linkedConfigs = Array.isArray(msg.linked_configs) ? msg.linked_configs : [];
    const server_ms = Date.parse(msg.server_time);
    if (!Number.isNaN(server_ms)) this.serverOffsetMs = server_ms - this.now();
    this.onEvent({ type: 'welcome', welcome: msg });
  }

  onOrder(msg) {
    if (!msg.order) return;
    this.resyncWanted.delete(msg.order.id);
    this.store.receiveOrder(msg.order);
    this.onEvent({ type: 'order', order_id: msg.order.id });
  }

  onChange(msg) {
    const { status } = this.store.receiveChange(msg);
    if (status === 'gap') this.resync([msg.order_id]);
    else this.onEvent({ type: 'change', order_id: msg.order_id, by: msg.by || null });
    this.settleWaiters();
  }

  onRemoved(msg) {
    const r = this.store.receiveRemoved(msg);
    this.onEvent({ type: 'removed', order_id: msg.order_id, reason: msg.reason, by: msg.by || null, order: r.order, dropped: r.dropped });
    this.settleWaiters();
  }

  onSynced() {
    this.failures = 0;
    this.setState('live');
    if (this.presenceOrderId) this.sendRaw({ type: 'presence', order_id: this.presenceOrderId });
    this.onEvent({ type: 'synced' });
    this.flush();
  }

  onAck(msg) {
    this.sent.delete(msg.op_id);
    const { entry, needsOrder } = this.store.receiveAck(msg);
    if (entry && entry.op.kind === 'create' && msg.order_id === this.presenceOrderId) {
      // The server ignores presence on an order it does not have yet, and a new
      // order is opened (presence sent) before its create is acknowledged.
      this.sendRaw({ type: 'presence', order_id: msg.order_id });
    }
    if (entry && needsOrder && entry.op.kind === 'create') {
      // The server shows a creator its new order by a change or an order message;
      // if neither comes, ask for it rather than guess the order from the patch.
      this.timers.setTimeout(() => {
        if (!this.store.confirmed(msg.order_id)) this.resync([msg.order_id]);
      }, this.timing.create_check_ms);
    }
    this.onEvent({ type: 'ack', op_id: msg.op_id, order_id: msg.order_id, version: msg.version, duplicate: !!msg.duplicate, entry });
    this.settleWaiters();
  }

  onReject(msg) {
    this.sent.delete(msg.op_id);
    if (RETRYABLE_CODES.has(msg.code)) {
      const entry = this.outbox.get(msg.op_id);
      if (entry) {
        const delay = backoffDelay(entry.attempts + 1, this.random, this.timing);
        this.outbox.scheduleRetry(msg.op_id, this.now() + delay);
        this.armRetry();
      }
      this.onEvent({ type: 'retry', op_id: msg.op_id, code: msg.code });
      return;
    }
    const r = this.store.receiveReject(msg);
    this.onEvent({ type: 'reject', code: msg.code, message: msg.message, op_id: msg.op_id, order_id: msg.order_id, entry: r.entry, before: r.before, after: r.after, server_order: msg.order || null });
    this.settleWaiters();
  }

  onError(msg) {
    this.onEvent({ type: 'error', code: msg.code, message: msg.message });
    if (AUTH_ERROR_CODES.has(msg.code)) {
      this.stop();
      this.onEvent({ type: 'auth_failed', code: msg.code, message: msg.message });
    }
  }

  // ---- outgoing -------------------------------------------------------------

  /** Open and welcomed: ops may go (a stalled link too: it may only be slow). */
  canSend() {
    return (this.state === 'live' || this.state === 'stalled') && !!this.socket;
  }

  onOutboxChange() {
    // New ops are sent as soon as they are durable; acks also land here (harmless).
    if (this.canSend()) this.flush();
  }

  /** Send every sendable op not yet sent on this connection, in op order. */
  flush() {
    if (!this.canSend()) return;
    for (const e of this.outbox.sendable(this.now())) {
      if (this.sent.has(e.op_id)) continue;
      const message = { type: 'op', op_id: e.op_id, order_id: e.order_id, op: e.op };
      const text = JSON.stringify(message);
      if (text.length > MESSAGE_BYTES_MAX) {
        // The server would refuse it; refuse it here the same way, in words.
        this.onReject({ type: 'reject', op_id: e.op_id, order_id: e.order_id, code: 'too_large', message: 'this change is too large to send', order: null });
        continue;
      }
      try {
        this.socket.send(text);
      } catch {
        return; // the close handler will reconnect and resend
      }
      this.sent.add(e.op_id);
      this.expectAnswer();
    }
    this.armRetry();
  }

  armRetry() {
    const at = this.outbox.nextRetryAt(this.now());
    if (at === null) return;
    if (this.retryTimer !== null && this.retryAt !== null && this.retryAt <= at) return;
    this.timers.clearTimeout(this.retryTimer);
    this.retryAt = at;
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      this.retryAt = null;
      this.flush();
    }, Math.max(0, at - this.now()));
  }

  resync(order_ids) {
    const fresh = order_ids.filter((id) => !this.resyncWanted.has(id));
    if (!fresh.length) return;
    for (const id of fresh) this.resyncWanted.add(id);
    if (this.canSend() || this.state === 'catching_up') {
      this.sendRaw({ type: 'resync', order_ids: fresh });
    }
  }

  /** Tell the server which order this terminal has open (null: none). */
  setPresence(order_id) {
    if (this.presenceOrderId === order_id) return;
    this.presenceOrderId = order_id;
    if (this.canSend()) this.sendRaw({ type: 'presence', order_id });
  }

  /**
   * Manual Sync's second half: send everything now (reconnecting at once if the link
   * is down) and resolve when the outbox has nothing unacknowledged, or with
   * {ok:false} after `timeout_ms`.
   */
  syncNow(timeout_ms = 10_000) {
    if (this.canSend()) this.flush();
    else this.reconnectNow();
    return new Promise((resolve) => {
      const waiter = { resolve, timer: null };
      waiter.timer = this.timers.setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve({ ok: false, reason: this.state === 'live' ? 'timeout' : 'offline', pending: this.outbox.pendingCount() });
      }, timeout_ms);
      this.waiters.push(waiter);
      this.settleWaiters();
    });
  }

  settleWaiters() {
    if (!this.waiters.length) return;
    if (this.state !== 'live' || this.outbox.sendable(this.now()).length || this.outbox.pendingCount() > this.outbox.heldCount()) return;
    for (const w of this.waiters.splice(0)) {
      this.timers.clearTimeout(w.timer);
      w.resolve({ ok: true, linked_configs: this.linkedConfigs });
    }
  }
}
