// lineentry.test.js: the numpad on a line: what each key sends, when the typing
// starts again, what is refused in words, and the quantity held for confirmation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineEntry, quantityWords } from '../js/lineentry.js';

const line = (qty, extra = {}) => ({ id: 'l1', qty, unit_price: 340, discount: '0', ...extra });
const entry = () => new LineEntry({ confirm_above_milli: 100_000 });

test('keys on a line send the value typed so far', () => {
  const e = entry();
  assert.deepEqual(e.press('5', line('1')), { type: 'send', op: { kind: 'set_qty', line_id: 'l1', qty: '5' } });
  assert.deepEqual(e.press('2', line('5')), { type: 'send', op: { kind: 'set_qty', line_id: 'l1', qty: '52' } });
});

test('a line changed elsewhere starts a new number: 2, never 52', () => {
  const told = entry();
  told.press('5', line('1'));
  assert.equal(told.remoteChanged('l1'), true);
  assert.deepEqual(told.press('2', line('7')).op.qty, '2');
  // Without being told (a full order message), the value that does not match says it.
  const untold = entry();
  untold.press('5', line('1'));
  assert.deepEqual(untold.press('2', line('7')).op.qty, '2');
  // A change of another line leaves the typing alone.
  const other = entry();
  other.press('5', line('1'));
  assert.equal(other.remoteChanged('l2'), false);
  assert.equal(other.press('2', line('5')).op.qty, '52');
});

test('refused values say why and change nothing; a check refuses what the till cannot send', () => {
  const e = entry();
  e.setMode('discount');
  e.press('1', line('1'));
  e.press('5', line('1', { discount: '1' }));
  assert.deepEqual(e.press('0', line('1', { discount: '15' })), { type: 'none' });
  assert.equal(e.hint, 'A discount is at most 100%');
  assert.equal(e.press('backspace', line('1', { discount: '15' })).op.discount, '1');
  assert.equal(e.hint, '', 'an accepted key clears the message');
  const p = entry();
  p.setMode('price');
  assert.equal(p.press('9', line('1'), () => 'This line would be too large').type, 'none');
  assert.equal(p.hint, 'This line would be too large');
  assert.equal(p.press('8', line('1')).op.unit_price, 800, 'the refused key left the number as it was');
});

test('a quantity above the threshold is held, confirmed or put back', () => {
  const e = entry();
  assert.equal(e.press('8', line('2')).op.qty, '8');
  assert.equal(e.press('4', line('8')).op.qty, '84');
  assert.deepEqual(e.press('2', line('84')), { type: 'stage', value: 842_000 });
  assert.deepEqual(e.press('0', line('84')), { type: 'stage', value: 8_420_000 });
  assert.equal(quantityWords(e.staged), '8,420');
  // Cancel (or Enter) puts the line back to the 2 it had before the typing began.
  assert.deepEqual(e.cancel(line('84')), { type: 'send', op: { kind: 'set_qty', line_id: 'l1', qty: '2' } });
  assert.equal(e.staged, null);
  const c = entry();
  c.press('1', line('2'));
  c.press('5', line('1'));
  c.press('0', line('15'));
  assert.deepEqual(c.confirm(line('15')), { type: 'send', op: { kind: 'set_qty', line_id: 'l1', qty: '150' } });
  assert.equal(c.press('3', line('150')).op.qty, '3', 'after a confirmation the next key starts anew');
});

test('backspace on a fresh zero quantity removes the line', () => {
  assert.deepEqual(entry().press('backspace', line('0')), { type: 'remove' });
});

test('at a counter that keeps discounts for managers, the whole value waits for confirmation', () => {
  const hold = (op) => op.kind === 'set_discount' || op.kind === 'set_price';
  const e = entry();
  e.setMode('discount');
  // "1" then "0": nothing is sent on the way, so no manager is asked for 1 %.
  assert.deepEqual(e.press('1', line('1'), undefined, hold), { type: 'stage', value: 100 });
  assert.deepEqual(e.press('0', line('1'), undefined, hold), { type: 'stage', value: 1000 });
  assert.deepEqual(e.confirm(line('1')), { type: 'send', op: { kind: 'set_discount', line_id: 'l1', discount: '10' } });
  assert.equal(e.staged, null);
  // Cancelled: nothing was sent, nothing is sent back.
  const c = entry();
  c.setMode('price');
  assert.equal(c.press('5', line('1'), undefined, hold).type, 'stage');
  assert.deepEqual(c.cancel(line('1')), { type: 'none' });
  // Quantities are not held (below the threshold).
  const q = entry();
  assert.equal(q.press('5', line('1'), undefined, hold).type, 'send');
});
