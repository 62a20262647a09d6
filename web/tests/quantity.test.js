// quantity.test.js: quantities as thousandths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseQty, formatQty, addQty } from '../js/quantity.js';

test('parseQty reads wire strings, numbers and typed input', () => {
  assert.equal(parseQty('2'), 2000);
  assert.equal(parseQty('0.350'), 350);
  assert.equal(parseQty('0.35'), 350);
  assert.equal(parseQty('-1'), -1000);
  assert.equal(parseQty('1,5'), 1500);
  assert.equal(parseQty(2), 2000);
  assert.equal(parseQty(0.25), 250);
  assert.equal(parseQty('1.2345'), null);
  assert.equal(parseQty('abc'), null);
  assert.equal(parseQty(''), null);
  assert.equal(parseQty(1e21), null);
  assert.equal(parseQty('-0'), 0);
});

test('formatQty writes the shortest decimal', () => {
  assert.equal(formatQty(2000), '2');
  assert.equal(formatQty(350), '0.35');
  assert.equal(formatQty(-1000), '-1');
  assert.equal(formatQty(-5), '-0.005');
  assert.equal(formatQty(0), '0');
});

test('addQty adds exactly (0.1 + 0.2 is 0.3)', () => {
  assert.equal(addQty('0.1', '0.2'), '0.3');
  assert.equal(addQty('1', '-3'), '-2');
  assert.equal(addQty('x', '1'), null);
});
