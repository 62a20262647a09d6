// app.js: the browser entry point. It keeps who is signed in (user token) and which
// session this terminal works in (terminal token), starts the Till for that
// session, routes between screens by the URL hash, and makes sure only one tab of
// a terminal profile runs at a time. Each terminal profile has a namespace, the
// `t` URL parameter ("?t=2"), so two terminals can share one browser for testing.

import { Api, ApiError } from './api.js';
import { Till } from './till.js';
import { h, replace } from './dom.js';
import { parseMoney } from './money.js';
import { toast, openDialog } from './views/ui.js';
import { mountLogin } from './views/login.js';
import { mountSession } from './views/session.js';
import { mountPos } from './views/pos.js';
import { mountOrders } from './views/orders.js';
import { mountPayment } from './views/payment.js';
import { mountReceipt } from './views/receipt.js';
import { mountBackOffice, renderReport } from './views/backoffice.js';

const ns = (new URLSearchParams(location.search).get('t') || 'default').replace(/[^\w-]/g, '').slice(0, 32) || 'default';
const AUTH_KEY = `possync:${ns}:auth`;
const TERMINAL_KEY = `possync:${ns}:terminal`;

function loadAuth() {
  try {
    return JSON.parse(localStorage.getItem(AUTH_KEY)) || {};
  } catch {
    return {};
  }
}

function terminalId() {
  let id = localStorage.getItem(TERMINAL_KEY);
  if (!id) {
    id = crypto.randomUUID();
    localStorage.setItem(TERMINAL_KEY, id);
  }
  return id;
}

const app = {
  ns,
  auth: loadAuth(),
  till: null,
  flash: '',
  view: null,
  root: null,

  saveAuth() {
    localStorage.setItem(AUTH_KEY, JSON.stringify(this.auth));
  },

  isManager() {
    return !!(this.auth.user && this.auth.user.role === 'manager' && this.auth.user_token);
  },

  userApi() {
    return new Api({ token: this.auth.user_token });
  },

  async login(login, password) {
    const r = await new Api().login(login, password);
    this.auth.user_token = r.token;
    this.auth.user = r.user;
    this.saveAuth();
    location.hash = this.till ? '#/pos' : '#/session';
  },

  logout() {
    this.stopTill();
    this.auth = {};
    this.saveAuth();
    this.flash = 'Signed out. Drafts stay saved on this device.';
    go('#/login');
  },

  /** A user-token call failed: a bad token means signing in again. */
  handleUserError(err, errorEl) {
    if (err instanceof ApiError && err.status === 401) {
      this.auth.user_token = null;
      this.saveAuth();
      this.flash = 'Please sign in again.';
      go('#/login');
      return;
    }
    const text = err instanceof ApiError && err.unreachable ? 'The server cannot be reached.' : err.message || 'Request failed';
    if (errorEl) errorEl.textContent = text;
    else toast(text, 'warn');
  },

  async openSession(config, opening_cash) {
    const r = await this.userApi().openSession(config.id, opening_cash);
    let cfg = { id: config.id, name: config.name, auto_share: !!config.auto_share, sync_with: config.sync_with || [] };
    try {
      const me = await new Api({ token: r.terminal_token }).me();
      if (me && me.config) cfg = { ...cfg, ...me.config };
    } catch {
      /* the configs list already told us enough */
    }
    this.stopTill();
    this.auth.terminal_token = r.terminal_token;
    this.auth.session = r.session;
    this.auth.config = cfg;
    this.saveAuth();
    await this.startTill();
    location.hash = '#/pos';
  },

  async startTill() {
    const auth = this.auth;
    const till = new Till({
      ns,
      terminalId: terminalId(),
      api: new Api({ token: auth.terminal_token }),
      auth: { terminal_token: auth.terminal_token, session: auth.session, config: auth.config, user: auth.user },
    });
    this.till = till;
    till.subscribe((e) => this.onTillEvent(e));
    await till.open();
  },

  stopTill() {
    if (!this.till) return;
    this.till.stop();
    this.till = null;
  },

  onTillEvent(e) {
    if (e.type === 'toast') toast(e.text, e.tone);
    if (e.type === 'welcome' && this.till) {
      this.auth.config = { ...this.auth.config, ...this.till.auth.config };
      this.auth.session = { ...this.auth.session, ...this.till.auth.session };
      this.saveAuth();
    }
    if (e.type === 'auth_failed') this.sessionEnded();
    if (e.type === 'disconnected' && e.failures % 3 === 1) this.checkTerminal();
  },

  /** After failed connects, ask over HTTP whether the terminal token still holds:
   * a WebSocket refused for a bad token looks just like a network failure. */
  async checkTerminal() {
    const till = this.till;
    if (!till) return;
    try {
      const me = await till.api.me();
      if (me && me.session && me.session.state === 'closed') this.sessionEnded();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) this.sessionEnded();
    }
  },

  sessionEnded() {
    if (!this.till) return;
    const pending = this.till.pendingCount();
    this.stopTill();
    this.auth.terminal_token = null;
    this.saveAuth();
    this.flash = `The session at this counter has ended. ${pending ? `${pending} unsent change${pending === 1 ? ' is' : 's are'} kept on this device and will be sent from the next session.` : 'Open or join a session to go on.'}`;
    // A manager who closed this counter's session from the back office stays there
    // (to read the report); the till screens have nothing left to show.
    if (parseHash().name === 'office') {
      toast(this.flash, 'info');
      this.flash = '';
      return;
    }
    go(this.auth.user_token ? '#/session' : '#/login');
  },

  setPresence(order_id) {
    if (this.till && this.till.sync) this.till.sync.setPresence(order_id);
  },

  async closeSessionDialog() {
    const till = this.till;
    if (!till) return;
    if (!this.auth.user_token) {
      toast('Sign in again to close the session', 'warn');
      return;
    }
    const counted = await openDialog((close) => {
      const input = h('input', { type: 'text', inputmode: 'decimal', testid: 'counted-cash', placeholder: '0.00', autofocus: true, 'aria-label': 'Counted cash' });
      const err = h('p', { class: 'form-error', role: 'alert' });
      return h('form', {
        class: 'dialog-form',
        onsubmit: (e) => {
          e.preventDefault();
          if (input.value.trim() === '') return close({ counted: null });
          const v = parseMoney(input.value);
          if (v === null) { err.textContent = 'Not a valid amount.'; return undefined; }
          return close({ counted: v });
        },
      },
      h('h2', {}, `Close the session at ${till.config.name}`),
      h('p', { class: 'muted' }, 'Count the cash in the drawer. Drafts stay drafts and come back at the next session.'),
      input, err,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => close(null) }, 'Cancel'),
        h('button', { type: 'submit', class: 'btn btn-danger', testid: 'close-session-confirm' }, 'Close session')));
    }, { testid: 'close-session', label: 'Close session' });
    if (!counted) return;
    try {
      const report = await this.userApi().closeSession(till.session.id, counted.counted ?? undefined);
      this.stopTill();
      this.auth.terminal_token = null;
      this.saveAuth();
      await openDialog((close) => h('div', { class: 'dialog-form dialog-wide' },
        h('h2', {}, 'Session closed'),
        renderReport(report, { configName: till.config.name }),
        h('div', { class: 'dialog-actions' },
          h('button', { class: 'btn', onclick: () => window.print() }, 'Print'),
          h('button', { class: 'btn btn-primary', testid: 'report-done', onclick: () => close(true) }, 'Done'))),
      { testid: 'session-report-dialog', label: 'Session report' });
      go('#/session');
    } catch (err) {
      this.handleUserError(err);
    }
  },
};

// ---- routing ----------------------------------------------------------------------

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] || '', args: parts.slice(1) };
}

function go(hash) {
  if (location.hash !== hash) location.hash = hash;
  else route();
}

function route() {
  const { name, args } = parseHash();
  const tillScreens = { pos: 1, orders: 1, pay: 1, receipt: 1 };
  if (tillScreens[name] && !app.till) return go(app.auth.user_token ? '#/session' : '#/login');
  if (name === 'session' && !app.auth.user_token) return go('#/login');
  if (name === 'office' && !app.isManager()) {
    app.flash = app.auth.user_token ? 'The back office is for managers.' : 'Sign in as a manager for the back office.';
    return go(app.auth.user_token ? '#/session' : '#/login');
  }
  if (!name || !['login', 'session', 'office', ...Object.keys(tillScreens)].includes(name)) {
    return go(app.till ? '#/pos' : app.auth.user_token ? '#/session' : '#/login');
  }
  if (app.view && app.view.unmount) app.view.unmount();
  app.view = null;
  document.body.dataset.screen = name;
  switch (name) {
    case 'login': app.view = mountLogin(app.root, app); break;
    case 'session': app.view = mountSession(app.root, app); break;
    case 'pos': app.view = mountPos(app.root, app); break;
    case 'orders': app.view = mountOrders(app.root, app); break;
    case 'pay': app.view = mountPayment(app.root, app, { order_id: args[0] }); break;
    case 'receipt': app.view = mountReceipt(app.root, app, { order_id: args[0] }); break;
    case 'office': app.view = mountBackOffice(app.root, app, { section: args[0] || 'configs', id: args[1] || null }); break;
    default: break;
  }
  return undefined;
}

// ---- start ------------------------------------------------------------------------

/** Only one tab per terminal profile: two would send the same outbox twice and
 * fight over presence. Web Locks where available; without them, carry on. */
function holdTabLock() {
  if (!navigator.locks || !navigator.locks.request) return Promise.resolve(true);
  return new Promise((resolve) => {
    navigator.locks.request(`possync:${ns}:tab`, { ifAvailable: true }, (lock) => {
      if (!lock) {
        resolve(false);
        return undefined;
      }
      resolve(true);
      return new Promise(() => {}); // held for the life of the tab
    });
  });
}

/** The service worker (sw.js) keeps the till's files, so a reload while the
 * server is down still starts the till with its drafts. Without one (an insecure
 * origin, an old browser) the till works the same, only not from a cold reload. */
function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('sw.js').catch((err) => console.warn('possync: no offline start', err));
}

async function boot() {
  registerServiceWorker();
  app.root = document.getElementById('app');
  if (!(await holdTabLock())) {
    replace(app.root, h('main', { class: 'screen screen-center' }, h('div', { class: 'card', testid: 'other-tab' },
      h('h1', {}, 'Already open'),
      h('p', {}, 'This till is already open in another tab or window. Use that one, or close it and reload this page.'),
      h('button', { class: 'btn btn-primary', onclick: () => location.reload() }, 'Reload'))));
    return;
  }
  if (app.auth.terminal_token && app.auth.session && app.auth.config) {
    try {
      await app.startTill();
    } catch (err) {
      console.error('possync: could not start the till', err);
      toast('Could not start the till on this device', 'bad');
    }
  }
  window.addEventListener('hashchange', route);
  window.addEventListener('online', () => app.till && app.till.sync && app.till.sync.reconnectNow());
  route();
}

window.possync = app; // for the console and for end-to-end tests
boot();
