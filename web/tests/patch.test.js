// patch.test.js: applying server change messages to the confirmed copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatch, classifyChange } from '../js/patch.js';
import { serverDraft, coffeeLine, BY_2 } from './fixtures.js';

const ID = 'order-1';

test('classifyChange: next version applies, older is a duplicate, a jump is a gap', () => {
  const o = serverDraft(ID, { version: 4 });
  assert.equal(classifyChange(o, { version: 5 }), 'apply');
  assert.equal(classifyChange(o, { version: 4 }), 'duplicate');
  assert.equal(classifyChange(o, { version: 2 }), 'duplicate');
  assert.equal(classifyChange(o, { version: 7 }), 'gap');
  assert.equal(classifyChange(undefined, { version: 1 }), 'gap');
});

test('header fields are assigned; version, by and at follow the change', () => {
  const o = serverDraft(ID, { version: 1 });
  const n = applyPatch(o, {
    version: 2, by: BY_2, at: '2025-01-01T12:30:00Z',
    patch: { header: { note: 'hello', shared: true, customer_id: 5, totals: { subtotal: 1, tax: 0, total: 1 } } },
  });
  assert.equal(n.note, 'hello');
  assert.equal(n.shared, true);
  assert.equal(n.customer_id, 5);
  assert.equal(n.version, 2);
  assert.deepEqual(n.updated_by, BY_2);
  assert.equal(n.updated_at, '2025-01-01T12:30:00Z');
  assert.equal(o.version, 1, 'input untouched');
  assert.equal(o.note, '');
});

test('upsert replaces lines in place, appends new ones, remove drops them', () => {
  const o = serverDraft(ID, { lines: [coffeeLine('A'), coffeeLine('B'), coffeeLine('C')] });
  const n = applyPatch(o, {
    version: 2,
    patch: { upsert_lines: [coffeeLine('B', '5'), coffeeLine('D', '2')], remove_lines: ['A'] },
  });
  assert.deepEqual(n.lines.map((l) => [l.id, l.qty]), [['B', '5'], ['C', '1'], ['D', '2']]);
  assert.deepEqual(n.removed_line_ids, ['A']);
  assert.equal(o.lines.length, 3);
});

test('a lock in the header is set and cleared', () => {
  const lock = { terminal: 't-2', session_id: 2, config_id: 2, config_name: 'Counter 2', until: '2025-01-01T12:01:00Z' };
  const locked = applyPatch(serverDraft(ID), { version: 2, patch: { header: { lock } } });
  assert.deepEqual(locked.lock, lock);
  const free = applyPatch(locked, { version: 3, patch: { header: { lock: null } } });
  assert.equal(free.lock, null);
});

test('patches in version order rebuild the server order', () => {
  let o = serverDraft(ID, { version: 1 });
  const changes = [
    { version: 2, patch: { upsert_lines: [coffeeLine('A')], header: { totals: { subtotal: 250, tax: 53, total: 303 } } } },
    { version: 3, patch: { upsert_lines: [coffeeLine('A', '2')], header: { totals: { subtotal: 500, tax: 105, total: 605 } } } },
    { version: 4, patch: { upsert_lines: [coffeeLine('B')], header: { totals: { subtotal: 750, tax: 158, total: 908 } } } },
    { version: 5, patch: { remove_lines: ['A'], header: { totals: { subtotal: 250, tax: 53, total: 303 } } } },
  ];
  for (const c of changes) {
    assert.equal(classifyChange(o, c), 'apply');
    o = applyPatch(o, c);
  }
  assert.equal(o.version, 5);
  assert.deepEqual(o.lines.map((l) => l.id), ['B']);
  assert.deepEqual(o.totals, { subtotal: 250, tax: 53, total: 303 });
});
