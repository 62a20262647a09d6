// api.test.js: a token about to be revoked (the till's, as its session
// closes) is held back: nothing more is sent with it, and the hold ends once
// what was already sent is answered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, ApiError } from '../js/api.js';

function answer(body) {
  return { ok: true, status: 200, headers: { get: () => null }, text: async () => JSON.stringify(body) };
}

test('a held token sends nothing more, and the hold waits for what was sent', async () => {
  const sent = [];
  let answerFirst;
  const fetch = (url) => {
    sent.push(url);
    if (sent.length === 1) return new Promise((resolve) => { answerFirst = () => resolve(answer({ state: 'ok' })); });
    return Promise.resolve(answer({ n: sent.length }));
  };
  const api = new Api({ token: 't', fetch });

  const first = api.get('/configs/1/printer');
  let held = false;
  const hold = api.hold().then(() => { held = true; });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(held, false, 'the request already sent is still unanswered');

  await assert.rejects(api.get('/configs/1/printer'), (err) => err instanceof ApiError && err.status === 0 && err.code === 'held');
  assert.deepEqual(sent, ['/api/v1/configs/1/printer'], 'the held request never reached the server');

  answerFirst();
  assert.deepEqual(await first, { state: 'ok' });
  await hold;
  assert.equal(held, true);

  api.release();
  assert.deepEqual(await api.get('/me'), { n: 2 });
  assert.equal(sent.length, 2);
});

test('a request that fails still ends the hold', async () => {
  let fail;
  const api = new Api({ fetch: () => new Promise((_, reject) => { fail = reject; }) });
  const first = api.get('/me');
  const hold = api.hold();
  fail(new TypeError('network down'));
  await assert.rejects(first, (err) => err instanceof ApiError && err.unreachable);
  await hold;
  assert.equal(api.inFlight.size, 0);
});
