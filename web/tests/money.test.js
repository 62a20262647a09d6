// money.test.js: formatting and parsing of minor units and percent strings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMoney, parseMoney, percentToBp, bpToPercent, discountToBp } from '../js/money.js';

test('formatMoney writes minor units with two decimals', () => {
  assert.equal(formatMoney(1250), '12.50');
  assert.equal(formatMoney(5), '0.05');
  assert.equal(formatMoney(0), '0.00');
  assert.equal(formatMoney(-5), '-0.05');
  assert.equal(formatMoney(-123456), '-1234.56');
  assert.equal(formatMoney(9007199254740991), '90071992547409.91');
  assert.equal(formatMoney(7, 0), '7');
  assert.equal(formatMoney(7, 3), '0.007');
});

test('parseMoney reads typed amounts without floats', () => {
  assert.equal(parseMoney('12'), 1200);
  assert.equal(parseMoney('12.5'), 1250);
  assert.equal(parseMoney('12,50'), 1250);
  assert.equal(parseMoney(' 0.07 '), 7);
  assert.equal(parseMoney('.5'), 50);
  assert.equal(parseMoney('3.'), 300);
  assert.equal(parseMoney('-3'), -300);
  assert.equal(parseMoney('-0'), 0);
  // 0.1 + 0.2 style traps: 1.15 * 100 is 114.99999999999999 in floats.
  assert.equal(parseMoney('1.15'), 115);
  assert.equal(parseMoney('1.005'), null);
  assert.equal(parseMoney(''), null);
  assert.equal(parseMoney('.'), null);
  assert.equal(parseMoney('1e3'), null);
  assert.equal(parseMoney('12a'), null);
  assert.equal(parseMoney('99999999999999999'), null);
});

test('percent strings convert to basis points and back', () => {
  assert.equal(percentToBp('21'), 2100);
  assert.equal(percentToBp('12.5'), 1250);
  assert.equal(percentToBp('0.01'), 1);
  assert.equal(percentToBp('5.55'), 555);
  assert.equal(percentToBp('5.555'), null);
  assert.equal(percentToBp('x'), null);
  assert.equal(bpToPercent(2100), '21');
  assert.equal(bpToPercent(1250), '12.5');
  assert.equal(bpToPercent(1), '0.01');
  assert.equal(bpToPercent(0), '0');
});

test('discountToBp accepts 0..100 only', () => {
  assert.equal(discountToBp('100'), 10000);
  assert.equal(discountToBp('0'), 0);
  assert.equal(discountToBp(undefined), 0);
  assert.equal(discountToBp('100.01'), null);
  assert.equal(discountToBp('-1'), null);
});
