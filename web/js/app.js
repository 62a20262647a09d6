// app.js: the browser entry point. It builds the app context that every screen gets
// (`app`), gives each tab a terminal profile of its own, registers the service worker, resumes
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
import { Profile, profileNamespace, tabNamespaces, TABS_PER_PROFILE_MAX } from './app/profile.js';
import { Account } from './app/account.js';
import { TillLifecycle } from './app/lifecycle.js';
import { Router } from './app/router.js';
import { SCREENS } from './app/screens.js';

const requestedProfile = new Profile(profileNamespace(location.search), localStorage, () => crypto.randomUUID());

/** Each tab is a terminal of its own: the first profile namespace no other tab
 * holds (profile.js `tabNamespaces`). Two tabs on one profile would send the same
 * outbox twice and share a terminal id, which the server binds to one token.
 * Web Locks where available; without them, the requested profile. Null when
 * every namespace is taken. */
function claimTabProfile() {
  if (!navigator.locks || !navigator.locks.request) return Promise.resolve(requestedProfile);
  const tryNamespace = (ns) =>
    new Promise((resolve) => {
      navigator.locks.request(`possync:${ns}:tab`, { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve(false);
          return undefined;
        }
        resolve(true);
        return new Promise(() => {}); // held for the life of the tab
      });
    });
  return (async () => {
    for (const ns of tabNamespaces(requestedProfile.ns)) {
      if (!(await tryNamespace(ns))) continue;
      if (ns === requestedProfile.ns) return requestedProfile;
      const profile = new Profile(ns, localStorage, () => crypto.randomUUID());
      profile.adoptSignIn(requestedProfile);
      // A reload of this tab comes back to the same terminal.
      const url = new URL(location.href);
      url.searchParams.set('t', ns);
      history.replaceState(history.state, '', url);
      return profile;
    }
    return null;
  })();
}

const claimedProfile = await claimTabProfile();
const profile = claimedProfile || requestedProfile;

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
  if (!claimedProfile) {
    replace(root, h('main', { class: 'screen screen-center' }, h('div', { class: 'card', testid: 'other-tab' },
      h('h1', {}, 'Already open'),
      h('p', {}, `This browser already has ${TABS_PER_PROFILE_MAX} tills open in other tabs or windows. Use one of those, or close one and reload this page.`),
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
