// refund.test.js: what the till's refund dialog offers and sends: what is left of
// each line after the refunds it knows of (cancelled ones free theirs), and the
// lines typed, refused in words beyond what is left.
import test from 'node:test';
import assert from 'node:assert/strict';
import { refundableMilli, refundLinesFrom } from '../js/views/dialogs/refund.js';

const sale = {
  id: 'O1', state: 'paid',
  lines: [
    { id: 'L1', name: 'Croissant', qty: '3', unit_price: 180 },
    { id: 'L2', name: 'Espresso', qty: '2', unit_price: 220 },
  ],
};
const refund = (state, lines) => ({ id: `R-${state}`, refund_of: 'O1', state, lines });

test('what is left of each line counts paid and draft refunds, not cancelled ones', () => {
  const known = [
    refund('paid', [{ id: 'L1', qty: '-1' }]),
    refund('draft', [{ id: 'L1', qty: '-0.5' }, { id: 'L2', qty: '-2' }]),
    refund('cancelled', [{ id: 'L1', qty: '-1.5' }]),
    { id: 'X', refund_of: 'O9', state: 'paid', lines: [{ id: 'L1', qty: '-3' }] },
  ];
  const left = refundableMilli(sale, known);
  assert.deepEqual([...left], [['L1', 1500], ['L2', 0]]);
  assert.deepEqual([...refundableMilli(sale, [])], [['L1', 3000], ['L2', 2000]]);
});

test('the lines typed become the refund, within what is left', () => {
  const left = refundableMilli(sale, []);
  assert.deepEqual(refundLinesFrom(sale, { L1: '3', L2: '1,5' }, left), [
    { line_id: 'L1', qty: '3' }, { line_id: 'L2', qty: '1.5' },
  ]);
  assert.throws(() => refundLinesFrom(sale, { L1: '3.5' }, left), /Only 3 of Croissant/);
  assert.throws(() => refundLinesFrom(sale, { L1: 'x' }, left), /not a quantity/);
  assert.throws(() => refundLinesFrom(sale, { L1: '0' }, left), /at least one line/);
});
