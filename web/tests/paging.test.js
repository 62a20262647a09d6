// paging.test.js: the back office follows `Link: <url>; rel="next"` headers
// (PROTOCOL.md "Paging") page by page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, nextPagePath } from '../js/api.js';

test('the next page path comes from the Link header, under the API base', () => {
  assert.equal(nextPagePath('</api/v1/orders?state=paid&limit=2&after=1.x>; rel="next"'), '/orders?state=paid&limit=2&after=1.x');
  assert.equal(nextPagePath('<http://till.local:8080/api/v1/sessions?limit=5&before=9>; rel="next"'), '/sessions?limit=5&before=9');
  assert.equal(nextPagePath('</api/v1/x>; rel="prev", </api/v1/y?a=1>; rel="next"'), '/y?a=1');
  assert.equal(nextPagePath(null), null);
  assert.equal(nextPagePath('</elsewhere/x>; rel="next"'), null, 'never leaves the API');
  assert.equal(nextPagePath('</api/v1/x>; rel="prev"'), null);
});

test('allPages fetches every page once, in order', async () => {
  const pages = {
    '/api/v1/h': { items: [1, 2], link: '</api/v1/h?after=2>; rel="next"' },
    '/api/v1/h?after=2': { items: [3], link: null },
  };
  const asked = [];
  const fetch = async (url) => {
    asked.push(url);
    const page = pages[url];
    return {
      ok: true,
      status: 200,
      headers: { get: (name) => (name === 'Link' ? page.link : null) },
      text: async () => JSON.stringify(page.items),
    };
  };
  const api = new Api({ fetch });
  assert.deepEqual(await api.allPages('/h'), [1, 2, 3]);
  assert.deepEqual(asked, ['/api/v1/h', '/api/v1/h?after=2']);
});

test('audit entries read as what changed, money as money', async () => {
  const { describeAudit } = await import('../js/views/backoffice/audit.js');
  assert.equal(describeAudit({ action: 'links.set', details: { before: [2], after: [2, 3] } }), 'linked to [2] → [2, 3]');
  assert.equal(describeAudit({ action: 'product.update', details: { before: { price: 200, name: 'Tea' }, after: { price: 250, name: 'Tea' } } }), 'price: 2.00 → 2.50');
  assert.equal(describeAudit({ action: 'user.update', details: { before: { active: true }, after: { active: false }, password_changed: true } }), 'active: true → false; password changed');
  assert.equal(describeAudit({ action: 'user.update', details: { before: { role: 'manager' }, after: { role: 'manager' }, password_changed: false, pin_changed: true, has_pin: true } }), 'PIN set');
  assert.equal(describeAudit({ action: 'user.update', details: { before: { role: 'manager' }, after: { role: 'manager' }, pin_changed: true, has_pin: false } }), 'PIN removed');
  assert.equal(describeAudit({ action: 'config.update', details: { before: { name: 'Bar' }, after: { name: 'Bar' } } }), 'no change');
  assert.equal(describeAudit({ action: 'session.close', details: { counted_cash: 1000 } }), 'closed, counted 10.00');
  assert.equal(describeAudit({ action: 'product.create', details: { id: 4, name: 'Tea', price: 180, barcode: null } }), 'id: 4; name: "Tea"; price: 1.80');
  assert.equal(describeAudit({ action: 'stock.adjust', details: { reason: 'delivery', qty: '5', on_hand: '15' } }), 'reason: "delivery"; qty: "5"; on_hand: "15"');
});

test('audit entries name what they were done to', async () => {
  const { describeTarget } = await import('../js/views/backoffice/audit.js');
  const current = (kind, id) => (kind === 'product' && id === 4 ? 'Green tea' : '');
  // The name recorded at the time comes first, then today's, then the bare target.
  assert.equal(describeTarget({ target: 'product 4', details: { before: { name: 'Tea' }, after: { name: 'Tea' } } }, current), 'Tea (product 4)');
  assert.equal(describeTarget({ target: 'user 2', details: { login: 'ann', name: 'Ann' } }, current), 'Ann (user 2)');
  assert.equal(describeTarget({ target: 'product 4', details: { reason: 'count' } }, current), 'Green tea (product 4)');
  assert.equal(describeTarget({ target: 'config 3', details: { before: [], after: [1] } }, current), 'config 3');
  assert.equal(describeTarget({ target: 'order 0190-ab', details: { kind: 'set_discount', config_name: 'Bar' } }), 'order 0190-ab');
});
