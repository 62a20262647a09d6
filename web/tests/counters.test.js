// counters.test.js: the till's counter picker offers a cashier only the counters
// assigned to them (their `config_ids`), a manager every counter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countersOf } from '../js/views/session.js';

const configs = [
  { id: 3, name: 'Counter 2' },
  { id: 1, name: 'Bar' },
  { id: 2, name: 'Counter 1' },
];

test('a cashier sees only their counters, by name', () => {
  const cashier = { role: 'cashier', config_ids: [2, 3] };
  assert.deepEqual(countersOf(cashier, configs).map((c) => c.id), [2, 3]);
  assert.deepEqual(countersOf({ role: 'cashier', config_ids: [] }, configs), []);
  assert.deepEqual(countersOf({ role: 'cashier' }, configs), [], 'no config_ids: none');
});

test('a manager sees every counter, by name', () => {
  assert.deepEqual(countersOf({ role: 'manager', config_ids: [] }, configs).map((c) => c.name), ['Bar', 'Counter 1', 'Counter 2']);
});
