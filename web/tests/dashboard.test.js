// dashboard.test.js: the dashboard's pure parts: the chart geometry (a round scale,
// bars up from zero and refunds below it), the preset periods in local dates, when a
// period is shown per hour or per day, and the report query it sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { niceCeiling, barLayout } from '../js/charts.js';
import { presetPeriod, timeGrouping, salesQuery, shortTimeLabel, isoDate } from '../js/views/backoffice/dashboard.js';

test('the scale rounds up to 1, 2 or 5 times a power of ten', () => {
  assert.equal(niceCeiling(0), 0);
  assert.equal(niceCeiling(-3), 0);
  assert.equal(niceCeiling(7), 10);
  assert.equal(niceCeiling(1), 1);
  assert.equal(niceCeiling(130), 200);
  assert.equal(niceCeiling(620), 1000);
  assert.equal(niceCeiling(2000), 2000);
  assert.equal(niceCeiling(2001), 5000);
});

test('bars rise from the zero line, refunds hang below it', () => {
  const { zeroY, top, bottom, bars } = barLayout([500, 0, -180, 1000], { width: 400, height: 100, gap: 0.2 });
  assert.equal((top), 1000);
  assert.equal(bottom, -200);
  assert.ok(Math.abs(zeroY - (100 - (200 / 1200) * 100)) < 1e-9);
  assert.equal(bars.length, 4);
  assert.deepEqual(bars.map((b) => b.x), [10, 110, 210, 310]);
  assert.ok(bars.every((b) => b.w === 80));
  assert.ok(Math.abs(bars[3].y - 0) < 1e-9, 'the largest reaches the top');
  assert.ok(Math.abs(bars[0].h - bars[3].h / 2) < 1e-9, 'half the value, half the height');
  assert.equal(bars[1].h, 0);
  assert.ok(Math.abs(bars[2].y - zeroY) < 1e-9 && bars[2].h > 0, 'a refund starts at zero and goes down');
  assert.deepEqual(barLayout([], { width: 100, height: 50 }).bars, []);
  assert.equal(barLayout([0, 0], { width: 100, height: 50 }).bars[0].h, 0, 'nothing sold: flat, not a division by zero');
});

test('presets are local dates, both ends included', () => {
  const today = new Date(2026, 10, 30, 15, 0); // 30 November 2026, local
  assert.equal(isoDate(today), '2026-11-30');
  assert.deepEqual(presetPeriod('today', today), ['2026-11-30', '2026-11-30']);
  assert.deepEqual(presetPeriod('yesterday', today), ['2026-11-29', '2026-11-29']);
  assert.deepEqual(presetPeriod('week', today), ['2026-11-24', '2026-11-30']);
  assert.deepEqual(presetPeriod('month', today), ['2026-11-01', '2026-11-30']);
  assert.deepEqual(presetPeriod('week', new Date(2026, 0, 3)), ['2025-12-28', '2026-01-03']);
});

test('a day or two is shown per hour, longer per day', () => {
  assert.equal(timeGrouping('2026-11-30', '2026-11-30'), 'hour');
  assert.equal(timeGrouping('2026-11-29', '2026-11-30'), 'hour');
  assert.equal(timeGrouping('2026-11-28', '2026-11-30'), 'day');
  assert.equal(salesQuery('config', '2026-11-30', '2026-11-30', 60),
    '/reports/sales?group=config&from=2026-11-30&to=2026-11-30&utc_offset_minutes=60');
  assert.equal(shortTimeLabel('2026-11-30 14:00', 'hour'), '14h');
  assert.equal(shortTimeLabel('2026-11-30 14:00', 'hour', true), '30 14h');
  assert.equal(shortTimeLabel('2026-11-30', 'day'), '11-30');
});
