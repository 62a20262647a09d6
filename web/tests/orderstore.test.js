// orderstore.test.js: confirmed copy + pending ops, and their rebase on server news.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrderStore, rebase } from '../js/orderstore.js';
import { Outbox } from '../js/outbox.js';
import { memoryStorage } from '../js/idb.js';
import { ctxFor, serverDraft, coffeeLine, BY_1, BY_2 } from './fixtures.js';
import { settle } from './doubles.js';

const ID = 'order-1';

function makeStore({ storage = memoryStorage(), by = BY_1 } = {}) {
  let n = 0;
  const outbox = new Outbox({ storage, newId: () => `op-${++n}` });
  const store = new OrderStore({ outbox, storage, context: () => ctxFor(by) });
  return { store, outbox, storage };
}

test('rebase: pending ops are re-applied on a new confirmed copy', () => {
  // Local: +2 coffees on line A. Meanwhile the server copy got +1 from Counter 2.
  const entries = [{ op: { kind: 'add_qty', line_id: 'A', delta: '2' }, acked_version: null }];
  const confirmed = serverDraft(ID, { version: 3, lines: [coffeeLine('A', '2')] });
  const view = rebase(confirmed, ID, entries, ctxFor());
  assert.equal(view.lines[0].qty, '4', 'concurrent adds all count');
  assert.equal(view.version, 3);
  assert.equal(confirmed.lines[0].qty, '2', 'confirmed copy untouched');
});

test('rebase: an op whose line was removed meanwhile drops out of the view', () => {
  const entries = [
    { op: { kind: 'set_qty', line_id: 'A', qty: '9' }, acked_version: null },
    { op: { kind: 'set_note', note: 'still here' }, acked_version: null },
  ];
  const confirmed = { ...serverDraft(ID, { version: 4 }), removed_line_ids: ['A'] };
  const view = rebase(confirmed, ID, entries, ctxFor());
  assert.deepEqual(view.lines, []);
  assert.equal(view.note, 'still here');
});

test('rebase: acked ops already inside the confirmed copy are not applied twice', () => {
  const entries = [
    { op: { kind: 'add_qty', line_id: 'A', delta: '1' }, acked_version: 2 },
    { op: { kind: 'add_qty', line_id: 'A', delta: '1' }, acked_version: 3 },
  ];
  const confirmed = serverDraft(ID, { version: 2, lines: [coffeeLine('A', '2')] });
  assert.equal(rebase(confirmed, ID, entries, ctxFor()).lines[0].qty, '3');
});

test('a local op shows at once, survives ack until its change, and the change settles it', async () => {
  const { store, outbox } = makeStore();
  store.receiveOrder(serverDraft(ID, { version: 1, lines: [coffeeLine('A', '1')] }));
  const r = store.localOp(ID, { kind: 'add_qty', line_id: 'A', delta: '1' });
  assert.equal(r.ok, true);
  assert.equal(store.view(ID).lines[0].qty, '2');
  await settle();

  store.receiveAck({ op_id: r.entry.op_id, order_id: ID, version: 2 });
  assert.equal(outbox.pendingCount(), 0);
  assert.equal(store.view(ID).lines[0].qty, '2', 'no flicker between ack and change');

  store.receiveChange({ order_id: ID, version: 2, op_id: r.entry.op_id, by: BY_1, at: 'x', patch: { upsert_lines: [coffeeLine('A', '2')] } });
  assert.equal(store.view(ID).lines[0].qty, '2');
  assert.equal(outbox.entries().length, 0);
});

test('a change from another counter lands under the pending ops', () => {
  const { store } = makeStore();
  store.receiveOrder(serverDraft(ID, { version: 1, lines: [coffeeLine('A', '1')] }));
  store.localOp(ID, { kind: 'set_note', note: 'mine' });
  const r = store.receiveChange({ order_id: ID, version: 2, op_id: 'theirs', by: BY_2, at: 'x', patch: { upsert_lines: [coffeeLine('B', '3')] } });
  assert.equal(r.status, 'apply');
  const v = store.view(ID);
  assert.deepEqual(v.lines.map((l) => l.id), ['A', 'B']);
  assert.equal(v.note, 'mine');
  assert.equal(store.confirmed(ID).version, 2);
});

test('a version gap is reported and changes nothing', () => {
  const { store } = makeStore();
  store.receiveOrder(serverDraft(ID, { version: 1 }));
  assert.equal(store.receiveChange({ order_id: ID, version: 3, patch: { header: { note: 'x' } } }).status, 'gap');
  assert.equal(store.view(ID).note, '');
  assert.equal(store.receiveChange({ order_id: 'unknown', version: 1, patch: {} }).status, 'gap');
});

test('an older full order does not overwrite a newer one', () => {
  const { store } = makeStore();
  store.receiveOrder({ ...serverDraft(ID, { version: 5 }), note: 'new' });
  assert.equal(store.receiveOrder({ ...serverDraft(ID, { version: 4 }), note: 'old' }).accepted, false);
  assert.equal(store.view(ID).note, 'new');
});

test('a reject undoes the op and takes the server copy', () => {
  const { store, outbox } = makeStore();
  store.receiveOrder(serverDraft(ID, { version: 1, lines: [coffeeLine('A', '1')] }));
  const r = store.localOp(ID, { kind: 'set_qty', line_id: 'A', qty: '7' });
  assert.equal(store.view(ID).lines[0].qty, '7');
  const server = { ...serverDraft(ID, { version: 2 }), removed_line_ids: ['A'] };
  const out = store.receiveReject({ op_id: r.entry.op_id, order_id: ID, code: 'line_removed', message: 'removed', order: server });
  assert.equal(out.entry.op.kind, 'set_qty');
  assert.equal(out.before.lines[0].qty, '7');
  assert.deepEqual(store.view(ID).lines, []);
  assert.equal(outbox.entries().length, 0);
});

test('a refused create takes the order and its later ops away', () => {
  const { store, outbox } = makeStore();
  const c = store.localOp(ID, { kind: 'create' });
  store.localOp(ID, { kind: 'set_note', note: 'x' });
  assert.equal(store.drafts().length, 1);
  store.receiveReject({ op_id: c.entry.op_id, order_id: ID, code: 'invalid', message: 'no', order: null });
  assert.equal(store.view(ID), undefined);
  assert.equal(outbox.entries().length, 0);
});

test('session_closed holds the op instead of dropping it', () => {
  const { store, outbox } = makeStore();
  const c = store.localOp(ID, { kind: 'create' });
  store.receiveReject({ op_id: c.entry.op_id, order_id: ID, code: 'session_closed', message: 'closed', order: null });
  assert.equal(outbox.heldCount(), 1);
  assert.ok(store.view(ID), 'the draft is kept');
});

test('local ops the apply refuses are not queued', () => {
  const { store, outbox } = makeStore({ by: BY_2 });
  const lock = { terminal: 't-1', session_id: 1, config_id: 1, config_name: 'Counter 1', until: '2099-01-01T00:00:00Z' };
  store.receiveOrder({ ...serverDraft(ID, { version: 3, lines: [coffeeLine('A')] }), shared: true, lock });
  const r = store.localOp(ID, { kind: 'add_qty', line_id: 'A', delta: '1' });
  assert.equal(r.ok, false);
  assert.equal(r.code, 'locked');
  assert.equal(outbox.entries().length, 0);
});

test('removed paid/cancelled deletes the order and its pending ops; unshared only elsewhere', () => {
  const { store, outbox } = makeStore();
  store.receiveOrder(serverDraft(ID, { version: 1 }));
  store.localOp(ID, { kind: 'set_note', note: 'x' });
  const gone = store.receiveRemoved({ order_id: ID, reason: 'paid', version: 2, by: BY_2 });
  assert.equal(gone.dropped, true);
  assert.equal(gone.order.note, 'x');
  assert.equal(store.view(ID), undefined);
  assert.equal(outbox.entries().length, 0);

  // unshared does not remove a draft from its origin counter
  store.receiveOrder(serverDraft('own', { version: 1, origin: BY_1 }));
  assert.equal(store.receiveRemoved({ order_id: 'own', reason: 'unshared', version: 2 }).dropped, false);
  // ...but does from another counter
  store.receiveOrder(serverDraft('theirs', { version: 1, origin: BY_2, shared: true }));
  assert.equal(store.receiveRemoved({ order_id: 'theirs', reason: 'unshared', version: 2 }).dropped, true);
  assert.deepEqual(store.drafts().map((o) => o.id), ['own']);
});

test('a full order in a final state leaves the till', () => {
  const { store } = makeStore();
  store.receiveOrder(serverDraft(ID, { version: 1 }));
  store.receiveOrder({ ...serverDraft(ID, { version: 2 }), state: 'paid' });
  assert.equal(store.view(ID), undefined);
});

test('drafts survive a reload: confirmed copies and pending ops come back', async () => {
  const storage = memoryStorage();
  const a = makeStore({ storage });
  a.store.receiveOrder(serverDraft(ID, { version: 2, lines: [coffeeLine('A', '1')] }));
  a.store.localOp(ID, { kind: 'add_qty', line_id: 'A', delta: '2' });
  a.store.localOp('offline-order', { kind: 'create' });
  a.store.localOp('offline-order', { kind: 'add_line', line_id: 'Z', product_id: 12, qty: '1' });
  await a.outbox.flushed();
  await a.store.writes;

  const b = makeStore({ storage });
  await b.outbox.load();
  await b.store.load();
  assert.equal(b.store.view(ID).lines[0].qty, '3');
  assert.equal(b.store.view('offline-order').lines[0].name, 'Water');
  assert.deepEqual(b.store.known(), { [ID]: 2 });
  assert.equal(b.outbox.pendingCount(), 3);
});

test('presence excludes this terminal', () => {
  const { store } = makeStore();
  store.receivePresence({ order_id: ID, terminals: [{ terminal: 't-1', config_id: 1, config_name: 'Counter 1' }, { terminal: 't-2', config_id: 2, config_name: 'Counter 2' }] });
  assert.deepEqual(store.presence(ID, 't-1').map((t) => t.config_name), ['Counter 2']);
});
