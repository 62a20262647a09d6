// ids.test.js: UUID v7 shape and time order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uuidv7 } from '../js/ids.js';

test('uuidv7 has version 7, the variant bits, and sorts by time', () => {
  const a = uuidv7(1_700_000_000_000);
  const b = uuidv7(1_700_000_000_001);
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.ok(a < b);
  assert.equal(a.slice(0, 13).replace('-', ''), (1_700_000_000_000).toString(16).padStart(12, '0'));
  assert.notEqual(uuidv7(5), uuidv7(5));
});
