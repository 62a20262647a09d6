// scanner.test.js: a barcode scanner's burst versus a person typing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createScanDetector, SCAN_GAP_MS } from '../js/scanner.js';
import { ManualTimers } from './doubles.js';

function setup() {
  const timers = new ManualTimers();
  const barcodes = [];
  const keys = [];
  const d = createScanDetector({ timers, now: timers.now, onBarcode: (c) => barcodes.push(c), onKeys: (k) => keys.push(...k) });
  const typeAt = (text, gap) => {
    for (const ch of text) {
      d.feed(ch);
      timers.advance(gap);
    }
  };
  return { timers, barcodes, keys, d, typeAt };
}

test('fast digits ending in Enter are a barcode', () => {
  const t = setup();
  t.typeAt('5400000000010', 5);
  t.d.feed('Enter');
  assert.deepEqual(t.barcodes, ['5400000000010']);
  assert.deepEqual(t.keys, []);
});

test('slow digits are ordinary keys, in order, and Enter stays a key', () => {
  const t = setup();
  t.typeAt('12', 150);
  t.d.feed('Enter');
  assert.deepEqual(t.barcodes, []);
  assert.deepEqual(t.keys, ['1', '2', 'Enter']);
});

test('a short fast burst is not a barcode', () => {
  const t = setup();
  t.typeAt('12', 5);
  t.d.feed('Enter');
  assert.deepEqual(t.barcodes, []);
  assert.deepEqual(t.keys, ['1', '2', 'Enter']);
});

test('held keys are released after the gap', () => {
  const t = setup();
  t.d.feed('7');
  assert.deepEqual(t.keys, []);
  t.timers.advance(SCAN_GAP_MS);
  assert.deepEqual(t.keys, ['7']);
});

test('a person typing then a scan: the typing is kept apart', () => {
  const t = setup();
  t.typeAt('3', 200);
  t.typeAt('123456', 4);
  t.d.feed('Enter');
  assert.deepEqual(t.keys, ['3']);
  assert.deepEqual(t.barcodes, ['123456']);
});

test('special keys pass straight through', () => {
  const t = setup();
  t.d.feed('ArrowUp');
  assert.deepEqual(t.keys, ['ArrowUp']);
});

test('the Enter that ends a barcode says so; pending() tells a scan under way', () => {
  const timers = new ManualTimers();
  const codes = [];
  const keys = [];
  const d = createScanDetector({ onBarcode: (c) => codes.push(c), onKeys: (k) => keys.push(...k), timers, now: timers.now });
  assert.equal(d.pending(), false);
  for (const ch of '8420001000007') d.feed(ch);
  assert.equal(d.pending(), true);
  assert.equal(d.feed('Enter'), 'barcode');
  assert.deepEqual(codes, ['8420001000007']);
  assert.equal(d.pending(), false);
  assert.equal(d.feed('Enter'), true, 'a lone Enter is an ordinary key');
  assert.deepEqual(keys, ['Enter']);
});
