import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedMap } from '../js/boundedmap.js';

test('keeps at most max_entries, dropping the least recently used first', () => {
  const m = new BoundedMap(3);
  m.set('a', 1).set('b', 2).set('c', 3);
  assert.equal(m.get('a'), 1); // a is now the most recent; b is the oldest
  m.set('d', 4);
  assert.equal(m.size, 3);
  assert.equal(m.has('b'), false);
  assert.deepEqual([...m.keys()], ['c', 'a', 'd']);
  m.set('c', 30); // setting again refreshes too
  m.set('e', 5);
  assert.deepEqual([...m.keys()], ['d', 'c', 'e']);
  assert.equal(m.get('c'), 30);
});

test('thousands of entries stay within the bound', () => {
  const m = new BoundedMap(100);
  for (let i = 0; i < 5000; i += 1) m.set(`order-${i}`, { i });
  assert.equal(m.size, 100);
  assert.equal(m.get('order-4999').i, 4999);
  assert.equal(m.get('order-0'), undefined);
});

test('a bound must be a positive integer', () => {
  assert.throws(() => new BoundedMap(0), RangeError);
  assert.throws(() => new BoundedMap(1.5), RangeError);
});
