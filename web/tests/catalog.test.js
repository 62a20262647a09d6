// catalog.test.js: product search, categories and barcodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Catalog } from '../js/catalog.js';
import { PRODUCTS, TAXES } from './fixtures.js';

const catalog = new Catalog({
  products: [...PRODUCTS, { id: 13, name: 'Café crème', price: 300, tax_ids: [], category_id: 1, barcode: null }],
  categories: [{ id: 1, name: 'Drinks' }, { id: 2, name: 'Bakery' }, { id: 3, name: 'Empty' }],
  taxes: TAXES,
  customers: [{ id: 1, name: 'Ada Lovelace', email: 'ada@example.org', phone: null }, { id: 2, name: 'Bob', email: null, phone: '555-1234' }],
});

test('search by words, accents ignored, within a category', () => {
  assert.deepEqual(catalog.search('cafe').map((p) => p.id), [13]);
  assert.deepEqual(catalog.search('', 1).map((p) => p.name), ['Café crème', 'Coffee', 'Water']);
  assert.deepEqual(catalog.search('co', 2).map((p) => p.id), []);
});

test('search by barcode prefix and exact barcode lookup', () => {
  assert.deepEqual(catalog.search('5400').map((p) => p.id), [10]);
  assert.equal(catalog.productByBarcode('123').name, 'Water');
  assert.equal(catalog.productByBarcode('999'), null);
});

test('customers by name, email or phone; used categories only', () => {
  assert.deepEqual(catalog.searchCustomers('555').map((c) => c.name), ['Bob']);
  assert.deepEqual(catalog.searchCustomers('ADA').map((c) => c.id), [1]);
  assert.deepEqual(catalog.usedCategories().map((c) => c.name), ['Bakery', 'Drinks']);
});

test('a new customer typed at the till is checked in words before it is sent', async () => {
  const { readNewCustomer } = await import('../js/views/dialogs/customerpicker.js');
  assert.deepEqual(readNewCustomer({ name: '  Nadia Haddad ', phone: '+32 470 12 34 56', email: 'nadia@example.com' }),
    { ok: true, body: { name: 'Nadia Haddad', phone: '+32 470 12 34 56', email: 'nadia@example.com' } });
  assert.deepEqual(readNewCustomer({ name: 'Li' }), { ok: true, body: { name: 'Li' } });
  assert.equal(readNewCustomer({ name: ' ' }).message, 'A customer needs a name.');
  assert.match(readNewCustomer({ name: 'x'.repeat(121) }).message, /at most 120/);
  assert.match(readNewCustomer({ name: 'A', phone: 'call me' }).message, /phone/);
  assert.match(readNewCustomer({ name: 'A', email: 'nadia@' }).message, /email/);
});
