// outbox.test.js: order, persistence, acks, retries and held ops of the outbox.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Outbox } from '../js/outbox.js';
import { memoryStorage } from '../js/idb.js';
import { settle } from './doubles.js';

function makeOutbox(storage = memoryStorage()) {
  let n = 0;
  return new Outbox({ storage, newId: () => `op-${++n}`, now: () => 1000 });
}

test('ops keep the order they were made, and are sendable once persisted', async () => {
  const box = makeOutbox();
  box.add('A', { kind: 'create' });
  box.add('B', { kind: 'create' });
  box.add('A', { kind: 'set_note', note: 'x' });
  assert.deepEqual(box.sendable(), [], 'nothing is sent before it is durable');
  await settle();
  assert.deepEqual(box.sendable().map((e) => e.op_id), ['op-1', 'op-2', 'op-3']);
  assert.deepEqual(box.forOrder('A').map((e) => e.op.kind), ['create', 'set_note']);
  assert.equal(box.pendingCount(), 3);
});

test('a reload reads the same ops back in the same order', async () => {
  const storage = memoryStorage();
  const box = makeOutbox(storage);
  for (let i = 0; i < 12; i += 1) box.add(i % 2 ? 'A' : 'B', { kind: 'set_note', note: String(i) });
  await box.flushed();
  const again = new Outbox({ storage, newId: () => 'later' });
  await again.load();
  assert.deepEqual(again.entries().map((e) => e.op.note), box.entries().map((e) => e.op.note));
  const added = again.add('A', { kind: 'share' });
  assert.equal(added.seq, 13, 'sequence continues after the stored ones');
});

test('ack takes an op out of the send queue; prune drops it once the copy has it', async () => {
  const storage = memoryStorage();
  const box = makeOutbox(storage);
  box.add('A', { kind: 'create' });
  box.add('A', { kind: 'share' });
  await settle();
  box.markAcked('op-1', 1);
  assert.deepEqual(box.sendable().map((e) => e.op_id), ['op-2']);
  assert.equal(box.pendingCount(), 1);
  assert.equal(box.entries().length, 2, 'kept until the confirmed copy reaches version 1');
  assert.equal(box.pruneAcked('A', 0), 0);
  assert.equal(box.pruneAcked('A', 1), 1);
  assert.deepEqual(box.entries().map((e) => e.op_id), ['op-2']);
  await box.flushed();
  assert.deepEqual((await storage.getAll('outbox')).map((e) => e.op_id), ['op-2']);
});

test('a retry waits and holds back the later ops of the same order only', async () => {
  const box = makeOutbox();
  box.add('A', { kind: 'add_line', line_id: 'L' });
  box.add('B', { kind: 'create' });
  box.add('A', { kind: 'set_qty', line_id: 'L', qty: '2' });
  await settle();
  box.scheduleRetry('op-1', 5000);
  assert.deepEqual(box.sendable(1000).map((e) => e.op_id), ['op-2']);
  assert.equal(box.nextRetryAt(1000), 5000);
  assert.deepEqual(box.sendable(5000).map((e) => e.op_id), ['op-1', 'op-2', 'op-3']);
  assert.equal(box.get('op-1').attempts, 1);
});

test('drop and dropOrder remove ops for good', async () => {
  const storage = memoryStorage();
  const box = makeOutbox(storage);
  box.add('A', { kind: 'create' });
  box.add('B', { kind: 'create' });
  box.add('A', { kind: 'share' });
  box.drop('op-2');
  assert.equal(box.dropOrder('A'), 2);
  assert.equal(box.entries().length, 0);
  await box.flushed();
  assert.deepEqual(await storage.getAll('outbox'), []);
});

test('held ops (session closed) are not sent until reissued under new op ids', async () => {
  const box = makeOutbox();
  box.add('A', { kind: 'create' });
  box.add('A', { kind: 'set_note', note: 'x' });
  await settle();
  box.hold('op-1');
  assert.deepEqual(box.sendable(), [], 'the whole order waits behind its held op');
  assert.equal(box.heldCount(), 1);
  assert.equal(box.reissueHeld(), 1);
  assert.deepEqual(box.sendable().map((e) => e.op_id), ['op-3', 'op-2']);
  assert.equal(box.get('op-1'), undefined);
});
