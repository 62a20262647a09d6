// sync.test.js: the WebSocket client's message handling, driven by a fake socket and
// a manual clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyncClient, backoffDelay, syncUrl, DEFAULT_TIMING } from '../js/sync.js';
import { OrderStore } from '../js/orderstore.js';
import { Outbox } from '../js/outbox.js';
import { memoryStorage } from '../js/idb.js';
import { ctxFor, serverDraft, coffeeLine, BY_1, BY_2 } from './fixtures.js';
import { ManualTimers, FakeSocket, settle } from './doubles.js';

const ID = 'order-1';

function setup({ random = () => 0.5, timing = {} } = {}) {
  const timers = new ManualTimers();
  const storage = memoryStorage();
  let n = 0;
  const outbox = new Outbox({ storage, newId: () => `op-${++n}`, now: timers.now });
  const store = new OrderStore({ outbox, storage, context: () => ctxFor(BY_1) });
  const sockets = [];
  const events = [];
  const sync = new SyncClient({
    url: 'ws://till/api/v1/sync?token=t',
    terminal: 't-1',
    store,
    outbox,
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    timers,
    now: timers.now,
    random,
    timing,
    onEvent: (e) => events.push(e),
  });
  const last = () => sockets[sockets.length - 1];
  /** Open the current socket and play welcome + catch-up + synced. */
  const connect = (catchUp = []) => {
    last().open();
    last().receive({ type: 'welcome', session: { id: 1 }, config: { id: 1 }, linked_configs: [{ id: 2, name: 'Counter 2' }], server_time: new Date(timers.now() + 5000).toISOString() });
    for (const m of catchUp) last().receive(m);
    last().receive({ type: 'synced' });
  };
  return { timers, storage, outbox, store, sockets, events, sync, last, connect };
}

test('hello carries the protocol, terminal and known versions; synced makes it live', () => {
  const t = setup();
  t.store.receiveOrder(serverDraft(ID, { version: 4 }));
  t.sync.start();
  assert.equal(t.sync.state, 'connecting');
  t.last().open();
  assert.deepEqual(t.last().sent[0], { type: 'hello', protocol: 1, terminal: 't-1', known: { [ID]: 4 } });
  assert.equal(t.sync.state, 'catching_up');
  t.last().receive({ type: 'welcome', session: {}, config: {}, linked_configs: [{ id: 2, name: 'Counter 2' }], server_time: new Date(t.timers.now() + 5000).toISOString() });
  assert.equal(t.sync.serverNow() - t.timers.now(), 5000);
  t.last().receive({ type: 'order', order: { ...serverDraft('new'), version: 2 } });
  t.last().receive({ type: 'removed', order_id: ID, reason: 'cancelled', version: 5, by: BY_2 });
  t.last().receive({ type: 'synced' });
  assert.equal(t.sync.state, 'live');
  assert.deepEqual(t.store.known(), { new: 2 });
  assert.deepEqual(t.sync.linkedConfigs, [{ id: 2, name: 'Counter 2' }]);
});

test('ops wait for catch-up, then go out in order; ack and change settle them', async () => {
  const t = setup();
  t.store.localOp(ID, { kind: 'create' });
  t.store.localOp(ID, { kind: 'add_line', line_id: 'A', product_id: 10, qty: '1' });
  await settle();
  t.sync.start();
  t.last().open();
  assert.equal(t.last().sentOfType('op').length, 0, 'not before synced');
  t.connect();
  const ops = t.last().sentOfType('op');
  assert.deepEqual(ops.map((m) => [m.op_id, m.order_id, m.op.kind]), [['op-1', ID, 'create'], ['op-2', ID, 'add_line']]);

  t.last().receive({ type: 'ack', op_id: 'op-1', order_id: ID, version: 1, duplicate: false });
  t.last().receive({ type: 'order', order: serverDraft(ID, { version: 1 }) });
  t.last().receive({ type: 'ack', op_id: 'op-2', order_id: ID, version: 2, duplicate: false });
  assert.equal(t.outbox.pendingCount(), 0);
  assert.equal(t.store.view(ID).lines.length, 1, 'still shown between ack and change');
  t.last().receive({ type: 'change', order_id: ID, version: 2, op_id: 'op-2', by: BY_1, at: 'x', patch: { upsert_lines: [coffeeLine('A')] } });
  assert.equal(t.outbox.entries().length, 0);
  assert.equal(t.store.view(ID).version, 2);
});

test('new ops are sent as soon as they are stored while live', async () => {
  const t = setup();
  t.store.receiveOrder(serverDraft(ID, { version: 1 }));
  t.sync.start();
  t.connect();
  t.store.localOp(ID, { kind: 'set_note', note: 'x' });
  assert.equal(t.last().sentOfType('op').length, 0, 'stored first');
  await settle();
  assert.deepEqual(t.last().sentOfType('op').map((m) => m.op), [{ kind: 'set_note', note: 'x' }]);
});

test('after a drop, unacked ops are resent by the same op_id on the next connection', async () => {
  const t = setup();
  t.store.receiveOrder(serverDraft(ID, { version: 1, lines: [coffeeLine('A')] }));
  t.sync.start();
  t.connect();
  t.store.localOp(ID, { kind: 'add_qty', line_id: 'A', delta: '1' });
  await settle();
  const first = t.last().sentOfType('op')[0];
  t.last().serverClose(1006);
  assert.equal(t.sync.state, 'reconnecting');
  assert.equal(t.sockets.length, 1);
  t.timers.advance(backoffDelay(1, () => 0.5));
  assert.equal(t.sockets.length, 2, 'reconnected after the backoff');
  t.connect();
  const again = t.last().sentOfType('op');
  assert.equal(again.length, 1);
  assert.equal(again[0].op_id, first.op_id);
  t.last().receive({ type: 'ack', op_id: first.op_id, order_id: ID, version: 2, duplicate: true });
  assert.equal(t.outbox.pendingCount(), 0);
});

test('backoff grows exponentially with full jitter and a cap', () => {
  assert.equal(backoffDelay(1, () => 0), 250);
  assert.equal(backoffDelay(1, () => 1), 500);
  assert.equal(backoffDelay(4, () => 1), 4000);
  assert.equal(backoffDelay(30, () => 1), DEFAULT_TIMING.backoff_max_ms);
  assert.ok(backoffDelay(30, () => 0) < 1000, 'jitter reaches low delays too');
});

test('repeated failures show offline; synced resets the backoff', () => {
  const t = setup({ random: () => 0 });
  t.sync.start();
  t.last().serverClose(1006);
  assert.equal(t.sync.state, 'reconnecting');
  // With random 0 each retry comes after backoff_base_ms / 2, well before the
  // connect timeout of the next attempt.
  t.timers.advance(1_000);
  t.last().serverClose(1006);
  t.timers.advance(1_000);
  t.last().serverClose(1006);
  assert.equal(t.sync.state, 'offline');
  assert.equal(t.sync.failures, 3);
  t.timers.advance(1_000);
  t.connect();
  assert.equal(t.sync.failures, 0);
  assert.equal(t.sync.state, 'live');
});

test('a version gap asks for a resync once, and the full order repairs it', () => {
  const t = setup();
  t.store.receiveOrder(serverDraft(ID, { version: 1 }));
  t.sync.start();
  t.connect();
  t.last().receive({ type: 'change', order_id: ID, version: 3, op_id: 'x', by: BY_2, at: 'x', patch: { header: { note: 'v3' } } });
  t.last().receive({ type: 'change', order_id: ID, version: 4, op_id: 'y', by: BY_2, at: 'x', patch: { header: { note: 'v4' } } });
  assert.deepEqual(t.last().sentOfType('resync'), [{ type: 'resync', order_ids: [ID] }]);
  t.last().receive({ type: 'order', order: { ...serverDraft(ID, { version: 4 }), note: 'v4' } });
  assert.equal(t.store.view(ID).note, 'v4');
  t.last().receive({ type: 'change', order_id: ID, version: 6, op_id: 'z', by: BY_2, at: 'x', patch: {} });
  assert.equal(t.last().sentOfType('resync').length, 2, 'a later gap asks again');
});

test('a final reject undoes the op and reports it; retryable codes keep it for later', async () => {
  // A server that answers only what it is asked here: no stall detection in the way.
  const t = setup({ timing: { answer_timeout_ms: 3_600_000 } });
  t.store.receiveOrder(serverDraft(ID, { version: 1, lines: [coffeeLine('A')] }));
  t.sync.start();
  t.connect();
  t.store.localOp(ID, { kind: 'set_qty', line_id: 'A', qty: '5' });
  t.store.localOp(ID, { kind: 'set_note', note: 'n' });
  await settle();
  const [qtyOp, noteOp] = t.last().sentOfType('op');

  t.last().receive({ type: 'reject', op_id: noteOp.op_id, order_id: ID, code: 'unavailable', message: 'try later', order: null });
  assert.equal(t.outbox.pendingCount(), 2, 'retryable: kept');
  assert.equal(t.store.view(ID).note, 'n');

  const removedCopy = { ...serverDraft(ID, { version: 2 }), removed_line_ids: ['A'] };
  t.last().receive({ type: 'reject', op_id: qtyOp.op_id, order_id: ID, code: 'line_removed', message: 'removed by Counter 2', order: removedCopy });
  const reject = t.events.find((e) => e.type === 'reject');
  assert.equal(reject.code, 'line_removed');
  assert.equal(reject.entry.op.kind, 'set_qty');
  assert.deepEqual(t.store.view(ID).lines, []);
  assert.equal(t.outbox.pendingCount(), 1);

  const before = t.last().sentOfType('op').length;
  t.timers.advance(DEFAULT_TIMING.backoff_max_ms);
  const resent = t.last().sentOfType('op').slice(before);
  assert.deepEqual(resent.map((m) => m.op_id), [noteOp.op_id], 'retried by the same op_id');
});

test('a change carrying our own op_id counts as its ack', async () => {
  const t = setup();
  t.store.receiveOrder(serverDraft(ID, { version: 1 }));
  t.sync.start();
  t.connect();
  t.store.localOp(ID, { kind: 'set_note', note: 'n' });
  await settle();
  const op = t.last().sentOfType('op')[0];
  t.last().receive({ type: 'change', order_id: ID, version: 2, op_id: op.op_id, by: BY_1, at: 'x', patch: { header: { note: 'n' } } });
  assert.equal(t.outbox.entries().length, 0);
});

test('ack of a create without the order asks for it after a moment', async () => {
  const t = setup();
  t.sync.start();
  t.connect();
  t.store.localOp(ID, { kind: 'create' });
  await settle();
  const op = t.last().sentOfType('op')[0];
  t.last().receive({ type: 'ack', op_id: op.op_id, order_id: ID, version: 1, duplicate: false });
  assert.equal(t.last().sentOfType('resync').length, 0);
  t.timers.advance(DEFAULT_TIMING.create_check_ms);
  assert.deepEqual(t.last().sentOfType('resync'), [{ type: 'resync', order_ids: [ID] }]);
});

test('pings keep the link; silence past dead_after_ms reconnects', () => {
  const t = setup();
  t.sync.start();
  t.connect();
  t.timers.advance(DEFAULT_TIMING.ping_interval_ms);
  assert.equal(t.last().sentOfType('ping').length, 1);
  t.last().receive({ type: 'pong', t: t.last().sentOfType('ping')[0].t });
  assert.equal(t.sockets.length, 1);
  t.timers.advance(DEFAULT_TIMING.dead_after_ms + DEFAULT_TIMING.ping_interval_ms);
  assert.ok(t.sockets[0].closed, 'the silent socket was closed');
  assert.notEqual(t.sync.state, 'live');
});

test('no welcome in time: drop and reconnect', () => {
  const t = setup();
  t.sync.start();
  t.last().open();
  t.timers.advance(DEFAULT_TIMING.welcome_timeout_ms);
  assert.equal(t.sync.state, 'reconnecting');
});

test('presence is sent when live and again after a reconnect', () => {
  const t = setup();
  t.sync.start();
  t.sync.setPresence(ID);
  assert.equal(t.last().sent.length, 0);
  t.connect();
  assert.deepEqual(t.last().sentOfType('presence'), [{ type: 'presence', order_id: ID }]);
  t.sync.setPresence(null);
  assert.deepEqual(t.last().sentOfType('presence')[1], { type: 'presence', order_id: null });
  t.last().receive({ type: 'presence', order_id: ID, terminals: [{ terminal: 't-2', config_id: 2, config_name: 'Counter 2' }] });
  assert.deepEqual(t.store.presence(ID, 't-1').map((x) => x.config_name), ['Counter 2']);
});

test('presence on a new order is sent again once its create is acknowledged', async () => {
  const t = setup();
  t.sync.start();
  t.connect();
  t.store.localOp(ID, { kind: 'create' });
  t.sync.setPresence(ID); // the till opens the new order at once
  await settle();
  const create = t.last().sentOfType('op')[0];
  assert.equal(create.op.kind, 'create');
  // Sent before the server has the order: it is ignored there.
  assert.deepEqual(t.last().sentOfType('presence'), [{ type: 'presence', order_id: ID }]);
  t.last().receive({ type: 'ack', op_id: create.op_id, order_id: ID, version: 1, duplicate: false });
  assert.deepEqual(t.last().sentOfType('presence'), [
    { type: 'presence', order_id: ID },
    { type: 'presence', order_id: ID },
  ]);
  // The ack of another order's create says nothing about presence.
  t.store.localOp('other', { kind: 'create' });
  await settle();
  const other = t.last().sentOfType('op').find((m) => m.order_id === 'other');
  t.last().receive({ type: 'ack', op_id: other.op_id, order_id: 'other', version: 1, duplicate: false });
  assert.equal(t.last().sentOfType('presence').length, 2);
});

test('syncNow resolves once every op is acknowledged, naming the linked configs', async () => {
  const t = setup();
  t.store.receiveOrder(serverDraft(ID, { version: 1 }));
  t.sync.start();
  t.connect();
  t.store.localOp(ID, { kind: 'share' });
  await settle();
  const done = t.sync.syncNow();
  const op = t.last().sentOfType('op')[0];
  t.last().receive({ type: 'ack', op_id: op.op_id, order_id: ID, version: 2, duplicate: false });
  const r = await done;
  assert.equal(r.ok, true);
  assert.deepEqual(r.linked_configs.map((c) => c.name), ['Counter 2']);
});

test('syncNow while offline times out with the pending count', async () => {
  const t = setup();
  t.store.localOp(ID, { kind: 'create' });
  await settle();
  t.sync.start();
  t.last().serverClose(1006);
  const done = t.sync.syncNow(5000);
  t.timers.advance(5000);
  const r = await done;
  assert.equal(r.ok, false);
  assert.equal(r.pending, 1);
});

test('an auth error stops the client for good', () => {
  const t = setup();
  t.sync.start();
  t.last().open();
  t.last().receive({ type: 'error', code: 'unauthorized', message: 'bad token' });
  assert.equal(t.sync.state, 'stopped');
  assert.ok(t.events.some((e) => e.type === 'auth_failed'));
  t.timers.advance(120_000);
  assert.equal(t.sockets.length, 1, 'no reconnect after stop');
});

test('garbage and unknown message types are ignored', () => {
  const t = setup();
  t.sync.start();
  t.connect();
  t.last().receive('not json');
  t.last().receive({ type: 'future_thing' });
  assert.equal(t.sync.state, 'live');
});

test('syncUrl picks ws or wss and escapes the token', () => {
  assert.equal(syncUrl({ protocol: 'http:', host: 'till:8080' }, 'a b'), 'ws://till:8080/api/v1/sync?token=a%20b');
  assert.equal(syncUrl({ protocol: 'https:', host: 'x' }, 't'), 'wss://x/api/v1/sync?token=t');
});

test('a silent link turns stalled within the answer timeout, then is dropped; any message ends the wait', async () => {
  const t = setup();
  t.sync.start();
  t.connect();
  t.store.localOp(ID, { kind: 'create' });
  await settle();
  assert.equal(t.last().sentOfType('op').length, 1);
  t.timers.advance(DEFAULT_TIMING.answer_timeout_ms - 1);
  assert.equal(t.sync.state, 'live');
  t.timers.advance(1);
  assert.equal(t.sync.state, 'stalled', 'no answer to the op: stalled');
  assert.equal(t.last().sentOfType('ping').length, 1, 'a ping asks whether the link lives');
  // Ops still go out while stalled: the server may only be slow.
  t.store.localOp(ID, { kind: 'set_note', note: 'x' });
  await settle();
  assert.equal(t.last().sentOfType('op').length, 2);
  t.last().receive({ type: 'pong', t: 0 });
  assert.equal(t.sync.state, 'live', 'an answer ends the stall');
  // Silence again, this time for good: stalled, then dropped and reconnecting.
  t.store.localOp(ID, { kind: 'set_note', note: 'y' });
  await settle();
  t.timers.advance(DEFAULT_TIMING.answer_timeout_ms);
  assert.equal(t.sync.state, 'stalled');
  t.timers.advance(DEFAULT_TIMING.stall_drop_ms);
  assert.ok(t.sockets[0].closed);
  assert.equal(t.sync.state, 'reconnecting');
});

test('an idle link is checked by its ping; the browser going offline drops it at once', () => {
  const t = setup();
  t.sync.start();
  t.connect();
  t.timers.advance(DEFAULT_TIMING.ping_interval_ms + DEFAULT_TIMING.answer_timeout_ms);
  assert.equal(t.sync.state, 'stalled');
  const u = setup();
  u.sync.start();
  u.connect();
  u.sync.isOnline = () => false;
  u.sync.wentOffline();
  assert.ok(u.sockets[0].closed);
  assert.equal(u.sync.state, 'offline');
});

test('a handshake that never opens (a silent network) is given up and tried again', () => {
  const t = setup();
  t.sync.start();
  assert.equal(t.sockets.length, 1);
  t.timers.advance(DEFAULT_TIMING.connect_timeout_ms);
  assert.ok(t.sockets[0].closed, 'the hanging socket was closed');
  assert.equal(t.sync.state, 'reconnecting');
  t.timers.advance(1_000);
  assert.equal(t.sockets.length, 2, 'and a new one tried');
});
