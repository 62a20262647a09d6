// payment.test.js: remaining, change and validity on the payment screen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizePayment, defaultAmount, payOp } from '../js/payment.js';

const methods = new Map([[1, { kind: 'cash' }], [2, { kind: 'card' }]]);

test('nothing paid yet', () => {
  const s = summarizePayment(1210, [], methods);
  assert.equal(s.remaining, 1210);
  assert.equal(s.valid, false);
});

test('split payment with change from cash', () => {
  const s = summarizePayment(1210, [{ method_id: 2, amount: 1000 }, { method_id: 1, amount: 500 }], methods);
  assert.deepEqual([s.paid, s.remaining, s.change, s.valid], [1500, 0, 290, true]);
});

test('underpaid and card overpaid are not valid', () => {
  assert.equal(summarizePayment(1210, [{ method_id: 1, amount: 1000 }], methods).problem, 'Payments do not cover the total');
  assert.equal(summarizePayment(1210, [{ method_id: 2, amount: 1300 }], methods).problem, 'Only cash can be more than the total');
});

test('refunds are paid out exactly', () => {
  assert.equal(defaultAmount(-500, []), -500);
  assert.equal(summarizePayment(-500, [{ method_id: 1, amount: -500 }], methods).valid, true);
  assert.equal(summarizePayment(-500, [{ method_id: 1, amount: -400 }], methods).valid, false);
});

test('a new method starts with what is still due', () => {
  assert.equal(defaultAmount(1210, [{ method_id: 2, amount: 1000 }]), 210);
  assert.equal(defaultAmount(1210, [{ method_id: 1, amount: 2000 }]), 0);
});

test('the pay op drops empty lines and carries the expected total', () => {
  assert.deepEqual(payOp(1210, [{ method_id: 2, amount: 0 }, { method_id: 1, amount: 1210 }], true), {
    kind: 'pay', payments: [{ method_id: 1, amount: 1210 }], expected_total: 1210, invoice: true,
  });
  assert.deepEqual(payOp(0, [{ method_id: 1, amount: 0 }], false).payments, []);
});

test('a free order needs no payment; wrong signs are refused', () => {
  assert.equal(summarizePayment(0, [], methods).valid, true);
  assert.equal(summarizePayment(1210, [{ method_id: 1, amount: -100 }, { method_id: 1, amount: 1310 }], methods).problem, 'An amount is negative');
});
