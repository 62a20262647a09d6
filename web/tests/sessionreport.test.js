// sessionreport.test.js: closing a session in the shop's words: what the counted cash
// says about the drawer, how a tax rate is named, and the warning about drafts that
// stay open and the linked counters that keep seeing them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cashVerdict, taxLabel } from '../js/views/dialogs/sessionreport.js';
import { openDraftsWarning, joinNames } from '../js/views/dialogs/countedcash.js';

test('a shortage or a surplus is named with its amount', () => {
  assert.deepEqual(cashVerdict({ difference: -500 }), { tone: 'short', label: 'Shortage of 5.00' });
  assert.deepEqual(cashVerdict({ difference: 230 }), { tone: 'over', label: 'Surplus of 2.30' });
  assert.deepEqual(cashVerdict({ difference: 0 }), { tone: 'even', label: 'The drawer balances' });
  assert.deepEqual(cashVerdict({ difference: null }), { tone: 'none', label: 'Not counted' });
});

test('a tax is named once with its rate', () => {
  assert.equal(taxLabel({ name: 'VAT 10%', rate: '10' }), 'VAT 10%');
  assert.equal(taxLabel({ name: 'IVA reducido', rate: '10' }), 'IVA reducido 10%');
  assert.equal(taxLabel({ name: '', rate: '21' }), 'Tax 21%');
});

const COUNTER_1 = { id: 1, name: 'Counter 1' };
const draft = (config_id, shared, state = 'draft') => ({ origin: { config_id }, shared, state });

test('closing says which drafts stay open and who keeps seeing them', () => {
  const linked = [{ id: 2, name: 'Counter 2' }, { id: 4, name: 'Terrace' }];
  assert.equal(openDraftsWarning([], COUNTER_1, linked), null);
  assert.equal(openDraftsWarning([draft(2, true), draft(1, false, 'paid')], COUNTER_1, linked), null, 'only own open drafts count');
  assert.equal(openDraftsWarning([draft(1, false)], COUNTER_1, linked),
    '1 open order stays open after closing. It comes back when Counter 1 opens again.');
  assert.equal(openDraftsWarning([draft(1, true), draft(1, true)], COUNTER_1, linked),
    '2 open orders stay open after closing. Counter 2 and Terrace will still see them and can finish them.');
  assert.equal(openDraftsWarning([draft(1, true), draft(1, false), draft(1, false)], COUNTER_1, linked.slice(0, 1)),
    '3 open orders stay open after closing. Counter 2 will still see the 1 shared and can finish it. The other 2 come back when Counter 1 opens again.');
  assert.equal(openDraftsWarning([draft(1, true)], COUNTER_1, []),
    '1 open order stays open after closing. It comes back when Counter 1 opens again.', 'shared with nobody linked: nobody sees it');
});

test('names join as a sentence does', () => {
  assert.equal(joinNames([]), '');
  assert.equal(joinNames(['Bar']), 'Bar');
  assert.equal(joinNames(['Bar', 'Terrace']), 'Bar and Terrace');
  assert.equal(joinNames(['A', 'B', 'C']), 'A, B and C');
});

test('a cash move is typed positive, its direction chosen, its reason required', async () => {
  const { cashMoveBody } = await import('../js/views/dialogs/cashmove.js');
  assert.deepEqual(cashMoveBody('in', '20', ' Float '), { amount: 2000, reason: 'Float' });
  assert.deepEqual(cashMoveBody('out', '12,50', 'Bank drop'), { amount: -1250, reason: 'Bank drop' });
  assert.throws(() => cashMoveBody('in', '0', 'x'), /above zero/);
  assert.throws(() => cashMoveBody('in', '-5', 'x'), /above zero/);
  assert.throws(() => cashMoveBody('in', 'abc', 'x'), /above zero/);
  assert.throws(() => cashMoveBody('out', '5', '  '), /why/);
});
