import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHash, decideRoute } from '../js/app/router.js';
import { Profile, profileNamespace, parseSettings, tabNamespaces, TABS_PER_PROFILE_MAX } from '../js/app/profile.js';

const SCREENS = {
  login: { access: 'anyone' },
  session: { access: 'user' },
  pos: { access: 'till' },
  pay: { access: 'till' },
  office: { access: 'manager' },
};
const NOBODY = { signedIn: false, manager: false, hasTill: false };
const CASHIER = { signedIn: true, manager: false, hasTill: false };
const CASHIER_AT_TILL = { signedIn: true, manager: false, hasTill: true };
const MANAGER = { signedIn: true, manager: true, hasTill: false };

test('a hash splits into the screen and its arguments, decoded', () => {
  assert.deepEqual(parseHash('#/office/products/12'), { name: 'office', args: ['products', '12'] });
  assert.deepEqual(parseHash('#/pay/0190-a%2Fb'), { name: 'pay', args: ['0190-a/b'] });
  assert.deepEqual(parseHash(''), { name: '', args: [] });
  assert.deepEqual(parseHash('#/pos/%E0%A4%A'), { name: 'pos', args: ['%E0%A4%A'] });
});

test('each screen is shown only to whom it is for; the others go home', () => {
  const route = (name, who) => decideRoute(SCREENS, { name, args: [] }, who);
  assert.deepEqual(route('login', NOBODY), { screen: 'login' });
  assert.deepEqual(route('pos', NOBODY), { redirect: '#/login' });
  assert.deepEqual(route('pos', CASHIER), { redirect: '#/session' });
  assert.deepEqual(route('pay', CASHIER_AT_TILL), { screen: 'pay' });
  assert.deepEqual(route('session', NOBODY), { redirect: '#/login' });
  assert.deepEqual(route('office', MANAGER), { screen: 'office' });
  assert.equal(route('office', CASHIER).redirect, '#/session');
  assert.match(route('office', CASHIER).flash, /for managers/);
  assert.equal(route('office', NOBODY).redirect, '#/login');
  // Unknown screens (and inherited names) lead home.
  assert.deepEqual(route('nowhere', CASHIER_AT_TILL), { redirect: '#/pos' });
  assert.deepEqual(route('constructor', NOBODY), { redirect: '#/login' });
  assert.deepEqual(route('', CASHIER), { redirect: '#/session' });
});

test('a profile keeps its sign-in and terminal id under its own namespace', () => {
  const items = new Map();
  const storage = { getItem: (k) => (items.has(k) ? items.get(k) : null), setItem: (k, v) => items.set(k, String(v)) };
  let n = 0;
  const a = new Profile(profileNamespace('?t=bar'), storage, () => `id-${(n += 1)}`);
  const b = new Profile(profileNamespace(''), storage, () => `id-${(n += 1)}`);
  assert.equal(a.ns, 'bar');
  assert.equal(b.ns, 'default');
  assert.equal(profileNamespace('?t=../x y'), 'xy');
  assert.deepEqual(a.loadAuth(), {});
  a.saveAuth({ user_token: 'u1' });
  assert.deepEqual(a.loadAuth(), { user_token: 'u1' });
  assert.deepEqual(b.loadAuth(), {});
  assert.equal(a.terminalId(), 'id-1');
  assert.equal(a.terminalId(), 'id-1');
  assert.equal(b.terminalId(), 'id-2');
  items.set('possync:bar:auth', '{not json');
  assert.deepEqual(a.loadAuth(), {});
});

test('each further tab gets a namespace of its own, valid and bounded', () => {
  assert.deepEqual(tabNamespaces('default').slice(0, 3), ['default', '2', '3']);
  assert.deepEqual(tabNamespaces('bar').slice(0, 3), ['bar', 'bar-2', 'bar-3']);
  const long = 'x'.repeat(32);
  for (const ns of [...tabNamespaces('default'), ...tabNamespaces('bar'), ...tabNamespaces(long)]) {
    assert.equal(profileNamespace(`?t=${ns}`), ns, `${ns} survives the URL`);
  }
  const all = tabNamespaces(long);
  assert.equal(all.length, TABS_PER_PROFILE_MAX);
  assert.equal(new Set(all).size, all.length, 'no two tabs share a namespace');
});

test('a new tab starts signed in as the person of its first tab, never with its session', () => {
  const items = new Map();
  const storage = { getItem: (k) => (items.has(k) ? items.get(k) : null), setItem: (k, v) => items.set(k, String(v)) };
  const first = new Profile('default', storage, () => 'x');
  first.saveAuth({ user_token: 'u1', user: { login: 'ann' }, terminal_token: 't1', terminal_id: 'id-1', session: { id: 1 } });
  const second = new Profile('2', storage, () => 'y');
  second.adoptSignIn(first);
  assert.deepEqual(second.loadAuth(), { user_token: 'u1', user: { login: 'ann' } });
  // A tab that has its own session keeps it.
  const third = new Profile('3', storage, () => 'z');
  third.saveAuth({ user_token: 'u3', terminal_token: 't3' });
  third.adoptSignIn(first);
  assert.deepEqual(third.loadAuth(), { user_token: 'u3', terminal_token: 't3' });
});

test('till settings keep their bounds; a bad stored value gets the default', () => {
  assert.deepEqual(parseSettings(null), { qty_confirm_above: 100 });
  assert.deepEqual(parseSettings({ qty_confirm_above: 250 }), { qty_confirm_above: 250 });
  assert.deepEqual(parseSettings({ qty_confirm_above: 0 }), { qty_confirm_above: 100 });
  assert.deepEqual(parseSettings({ qty_confirm_above: 2_000_000 }), { qty_confirm_above: 100 });
  assert.deepEqual(parseSettings({ qty_confirm_above: '50' }), { qty_confirm_above: 100 });
  const items = new Map();
  const storage = { getItem: (k) => (items.has(k) ? items.get(k) : null), setItem: (k, v) => items.set(k, String(v)) };
  const profile = new Profile('a', storage, () => 'x');
  assert.deepEqual(profile.loadSettings(), { qty_confirm_above: 100 });
  profile.saveSettings({ qty_confirm_above: 12 });
  assert.deepEqual(profile.loadSettings(), { qty_confirm_above: 12 });
});
