// till.test.js: the Manual Sync button's words, against a fake socket and API:
// it names the counters linked now (the links may have changed since the till
// connected), and falls back to the welcome's list when the server does not say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Till } from '../js/till.js';
import { memoryStorage } from '../js/idb.js';
import { PRODUCTS, TAXES, PAYMENT_METHODS } from './fixtures.js';
import { FakeSocket, settle } from './doubles.js';

const CONFIG_1 = { id: 1, name: 'Counter 1', sync_with: [2], auto_share: false, open_session_id: 1 };

async function openTill({ configs }) {
  const sockets = [];
  const api = {
    list: async (what) => ({ products: PRODUCTS, categories: [], taxes: TAXES, customers: [], payment_methods: PAYMENT_METHODS })[what],
    configs,
  };
  const till = new Till({
    ns: 'test',
    terminalId: 't-1',
    api,
    auth: { terminal_token: 'tok', session: { id: 1, config_id: 1 }, config: { id: 1, name: 'Counter 1' }, user: { name: 'Sam' } },
    location: { protocol: 'http:', host: 'till' },
    storage: memoryStorage(),
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
  });
  await till.open();
  const socket = sockets[0];
  socket.open();
  socket.receive({ type: 'welcome', session: { id: 1 }, config: CONFIG_1, linked_configs: [{ id: 2, name: 'Counter 2' }], server_time: new Date().toISOString() });
  socket.receive({ type: 'synced' });
  await settle();
  return till;
}

test('Manual Sync names the counters linked now, as the server has them', async () => {
  const till = await openTill({
    configs: async () => [
      { ...CONFIG_1, sync_with: [2, 3] },
      { id: 2, name: 'Counter 2', sync_with: [1], auto_share: false, open_session_id: null },
      { id: 3, name: 'Bar', sync_with: [1], auto_share: false, open_session_id: null },
    ],
  });
  try {
    const r = await till.manualSync();
    assert.deepEqual(r, { ok: true, text: 'Synced with Counter 2, Bar' });
    assert.deepEqual(till.linkedConfigs, [{ id: 2, name: 'Counter 2' }, { id: 3, name: 'Bar' }]);
  } finally {
    till.stop();
  }
});

test('Manual Sync falls back to the welcome list when the server cannot say', async () => {
  const till = await openTill({ configs: async () => { throw new Error('unreachable'); } });
  try {
    const r = await till.manualSync();
    assert.deepEqual(r, { ok: true, text: 'Synced with Counter 2' });
  } finally {
    till.stop();
  }
});

test('Manual Sync with every link removed says the order is saved on the server', async () => {
  const till = await openTill({ configs: async () => [{ ...CONFIG_1, sync_with: [] }] });
  try {
    const r = await till.manualSync();
    assert.deepEqual(r, { ok: true, text: 'Saved on the server (no linked counters)' });
  } finally {
    till.stop();
  }
});
