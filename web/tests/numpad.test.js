// numpad.test.js: typing quantities, prices, discounts and amounts on the numpad.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { numpadStart, numpadPress, numpadKeyFor } from '../js/numpad.js';

function type(mode, keys, current = '') {
  let state = numpadStart(mode);
  let value;
  for (const k of keys) {
    const r = numpadPress(state, k, current);
    state = r.state;
    if (r.value !== undefined) value = r.value;
  }
  return { state, value };
}

test('the first key replaces the value, later keys append', () => {
  assert.equal(type('qty', ['3'], '1').value, 3000);
  assert.equal(type('qty', ['1', '2'], '5').value, 12000);
  assert.equal(type('qty', ['0', '.', '3', '5'], '1').value, 350);
  assert.equal(type('price', ['1', '2', '.', '5'], '2.50').value, 1250);
  assert.equal(type('discount', ['1', '5'], '0').value, 1500);
  assert.equal(type('amount', ['2', '0'], '').value, 2000);
});

test('too many decimals or too much discount are not accepted', () => {
  const qty = type('qty', ['1', '.', '2', '3', '4', '5']);
  assert.equal(qty.state.buffer, '1.234');
  assert.equal(qty.value, 1234);
  assert.equal(type('price', ['1', '.', '9', '9', '9']).state.buffer, '1.99');
  const disc = type('discount', ['1', '0', '1']);
  assert.equal(disc.state.buffer, '10');
  assert.equal(disc.value, 1000);
  assert.equal(type('qty', ['1', '.', '.', '5']).value, 1500);
});

test('backspace and clear', () => {
  assert.equal(type('qty', ['1', '2', 'backspace']).value, 1000);
  assert.equal(type('qty', ['7', 'backspace']).value, 0);
  assert.equal(type('qty', ['backspace'], '4').value, 0, 'backspace on a fresh value clears it');
  assert.equal(type('price', ['5', 'clear']).value, 0);
});

test('+/- flips the sign of the shown value or of what is typed', () => {
  assert.equal(type('qty', ['+/-'], '2').value, -2000);
  assert.equal(type('qty', ['+/-'], '-2').value, 2000);
  assert.equal(type('qty', ['3', '+/-']).value, -3000);
  assert.equal(type('qty', ['+/-', '4'], '0').value, -4000, 'minus first, then the digits: a return');
  assert.equal(type('discount', ['+/-'], '5').value, undefined, 'no negative discounts');
});

test('keyboard keys map to numpad keys', () => {
  assert.equal(numpadKeyFor('7'), '7');
  assert.equal(numpadKeyFor(','), '.');
  assert.equal(numpadKeyFor('Backspace'), 'backspace');
  assert.equal(numpadKeyFor('-'), '+/-');
  assert.equal(numpadKeyFor('a'), null);
});

test('values past the server bounds are refused in words, and change nothing', () => {
  let state = numpadStart('qty');
  for (const k of ['1', '0', '0', '0', '0', '0', '0']) state = numpadPress(state, k, '1').state;
  assert.equal(state.buffer, '1000000', 'one million units is the bound, and allowed');
  const over = numpadPress(state, '0', '1');
  assert.equal(over.value, undefined);
  assert.equal(over.state, state);
  assert.equal(over.refused, 'A quantity is at most 1,000,000');
  const disc = numpadPress(numpadPress(numpadPress(numpadStart('discount'), '1').state, '5').state, '0');
  assert.equal(disc.value, undefined);
  assert.equal(disc.state.buffer, '15');
  assert.equal(disc.refused, 'A discount is at most 100%');
  assert.equal(type('discount', ['1', '0', '0']).value, 10000);
  assert.equal(numpadPress(numpadStart('discount'), '+/-', '5').refused, 'A discount cannot be negative');
  let price = numpadStart('price');
  for (const k of '10000000000'.split('')) price = numpadPress(price, k, '').state;
  assert.equal(price.buffer, '10000000000', '10,000,000,000.00 is the largest price');
  assert.equal(numpadPress(price, '0', '').refused, 'A price is at most 10,000,000,000.00');
  assert.equal(numpadPress(numpadPress(numpadStart('price'), '.').state, '1', '').refused, undefined);
  const decimals = numpadPress(type('price', ['1', '.', '9', '9']).state, '9');
  assert.equal(decimals.refused, 'At most 2 decimals');
});
