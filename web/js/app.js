// app.js: the browser entry point. It builds the app context that every screen gets
// (`app`), holds the one-tab-per-terminal lock, registers the service worker, resumes
// the till of the stored session, and starts routing. The parts live in app/:
// profile (what the browser keeps), account (sign-in), lifecycle (the till's
// session), router and screens (the URL hash -> a view).
//
// The app context, as views use it:
//   app.auth       the stored record {user_token, user, terminal_token, terminal_id, session, config}
//   app.till       the running Till (till.js) or null
//   app.account    sign-in: user, signedIn(), isManager(), userApi(), login(), logout(), handleUserError()
//   app.lifecycle  the till's session: openSession(), closeSession(), setPresence(), ...
//   app.router     go(hash), parse()
//   app.flash      a sentence for the next screen (e.g. why the session ended)
//   app.settings   this till's own settings (app/profile.js SETTINGS); saveSettings(s)

import { h, replace } from './dom.js';
import { toast } from './views/ui.js';
import { Profile, profileNamespace } from './app/profile.js';
import { Account } from './app/account.js';
import { TillLifecycle } from './app/lifecycle.js';
import { Router } from './app/router.js';
import { SCREENS } from './app/screens.js';

const profile = new Profile(profileNamespace(location.search), localStorage, () => crypto.randomUUID());

const app = {
  ns: profile.ns,
  profile,
  auth: profile.loadAuth(),
  till: null,
  flash: '',
  account: null,
  lifecycle: null,
  router: null,
  settings: profile.loadSettings(),
  saveAuth() {
    profile.saveAuth(this.auth);
  },
  saveSettings(settings) {
    profile.saveSettings(settings);
    this.settings = profile.loadSettings();
  },
};
app.account = new Account(app);
app.lifecycle = new TillLifecycle(app);

/** Only one tab per terminal profile: two would send the same outbox twice and
 * fight over presence. Web Locks where available; without them, carry on. */
function holdTabLock() {
  if (!navigator.locks || !navigator.locks.request) return Promise.resolve(true);
  return new Promise((resolve) => {
    navigator.locks.request(`possync:${profile.ns}:tab`, { ifAvailable: true }, (lock) => {
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
  const root = document.getElementById('app');
  if (!(await holdTabLock())) {
    replace(root, h('main', { class: 'screen screen-center' }, h('div', { class: 'card', testid: 'other-tab' },
      h('h1', {}, 'Already open'),
      h('p', {}, 'This till is already open in another tab or window. Use that one, or close it and reload this page.'),
      h('button', { class: 'btn btn-primary', onclick: () => location.reload() }, 'Reload'))));
    return;
  }
  app.router = new Router({ screens: SCREENS, app, root });
  if (app.lifecycle.canResume()) {
    try {
      await app.lifecycle.start();
    } catch (err) {
      console.error('possync: could not start the till', err);
      toast('Could not start the till on this device', 'bad');
    }
  }
  window.addEventListener('hashchange', () => app.router.route());
  window.addEventListener('online', () => app.till && app.till.sync && app.till.sync.reconnectNow());
  window.addEventListener('offline', () => app.till && app.till.sync && app.till.sync.wentOffline());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && app.till) app.till.refreshProducts();
  });
  app.router.route();
}

window.possync = app; // for the console and for end-to-end tests
boot();
