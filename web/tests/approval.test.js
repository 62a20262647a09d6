// approval.test.js: what the till's approval dialog sends and says: a manager with a
// PIN is asked for it first, one without for their password; a PIN is checked for
// its shape before it is sent, a password goes as typed; a refusal is told in words,
// a throttled one with how long to wait.
import test from 'node:test';
import assert from 'node:assert/strict';
import { approvalFrom, defaultMethod, refusalText } from '../js/views/dialogs/approval.js';

test('a manager with a PIN is asked for it first, one without for their password', () => {
  assert.equal(defaultMethod({ id: 1, name: 'Alex', has_pin: true }), 'pin');
  assert.equal(defaultMethod({ id: 2, name: 'Mia', has_pin: false }), 'password');
  assert.equal(defaultMethod(null), 'password');
});

test('a PIN is 4 to 8 digits; a password goes as typed, never empty', () => {
  assert.deepEqual(approvalFrom(7, 'pin', ' 2468 '), { approval: { user_id: 7, pin: '2468' } });
  for (const bad of ['123', '123456789', '12a4', '']) {
    assert.equal(approvalFrom(7, 'pin', bad).error, 'A PIN is 4 to 8 digits.', bad);
  }
  assert.deepEqual(approvalFrom(7, 'password', ' s3cret pass '), { approval: { user_id: 7, password: ' s3cret pass ' } });
  assert.match(approvalFrom(7, 'password', '').error, /password/);
  assert.equal(approvalFrom(7, 'password', '2468').approval.pin, undefined, 'one of the two, never both');
});

test('a refusal says what was wrong, and a throttled one says to wait', () => {
  assert.equal(refusalText({ code: 'forbidden', message: 'refused' }, 'pin'), 'That PIN is not right for this manager.');
  assert.equal(refusalText({ code: 'forbidden', message: 'refused' }, 'password'), 'That password is not right for this manager.');
  assert.equal(
    refusalText({ code: 'rate_limited', message: 'too many wrong passwords from this till; try again in 42 s' }, 'password'),
    'Too many tries from this till: wait 42 s, then try again.');
  assert.equal(
    refusalText({ code: 'rate_limited', message: 'too many checks at once; send the approval again in a second' }, 'pin'),
    'Too many tries: wait a moment, then try again.');
  assert.equal(refusalText({ code: 'unreachable', message: 'The server cannot be reached' }, 'pin'), 'The server cannot be reached');
});
