// router.js: screens by the URL hash (`#/pos`, `#/pay/<order id>`,
// `#/office/products/12`). A screen is one entry of a table (app/screens.js):
// who may see it and how to mount it, so a new screen is one new entry. The
// access decision is a pure function, unit-tested under Node; the Router applies it
// to the page (unmounting the old view, mounting the new one).

/** `#/office/products/12` -> {name: 'office', args: ['products', '12']}. */
export function parseHash(hash) {
  const parts = String(hash || '').replace(/^#\/?/, '').split('/').filter(Boolean).map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part; // a malformed escape stays as typed; no screen will match it
    }
  });
  return { name: parts[0] || '', args: parts.slice(1) };
}

/** Where a visitor may go: `anyone`, `user` (signed in), `manager`, `till` (a session open here). */
export const ACCESS = ['anyone', 'user', 'manager', 'till'];

/**
 * What to do for a hash, given who is here.
 * @param {Record<string, {access: string}>} screens
 * @param {{name: string}} target   parsed hash
 * @param {{signedIn: boolean, manager: boolean, hasTill: boolean}} who
 * @returns {{screen: string} | {redirect: string, flash?: string}}
 */
export function decideRoute(screens, target, who) {
  const home = who.hasTill ? '#/pos' : who.signedIn ? '#/session' : '#/login';
  const screen = Object.prototype.hasOwnProperty.call(screens, target.name) ? screens[target.name] : null;
  if (!screen) return { redirect: home };
  switch (screen.access) {
    case 'anyone':
      return { screen: target.name };
    case 'user':
      return who.signedIn ? { screen: target.name } : { redirect: '#/login' };
    case 'manager':
      if (who.manager) return { screen: target.name };
      return {
        redirect: who.signedIn ? '#/session' : '#/login',
        flash: who.signedIn ? 'The back office is for managers.' : 'Sign in as a manager for the back office.',
      };
    case 'till':
      return who.hasTill ? { screen: target.name } : { redirect: who.signedIn ? '#/session' : '#/login' };
    default:
      throw new Error(`screen ${target.name}: unknown access ${screen.access}`);
  }
}

export class Router {
  /**
   * @param {object} o
   * @param {Record<string, {access: string, mount: (root: Element, app: object, args: string[]) => {unmount?: Function}}>} o.screens
   * @param {object} o.app       handed to every screen's mount
   * @param {Element} o.root     where screens render
   * @param {Location} [o.location]
   */
  constructor({ screens, app, root, location = globalThis.location }) {
    this.screens = screens;
    this.app = app;
    this.root = root;
    this.location = location;
    this.view = null;
    this.current = { name: '', args: [] };
  }

  /** The screen the URL names now. */
  parse() {
    return parseHash(this.location.hash);
  }

  /** Go to `hash`; routes again when the URL is already there (a refresh of the screen). */
  go(hash) {
    if (this.location.hash !== hash) this.location.hash = hash;
    else this.route();
  }

  route() {
    const target = this.parse();
    const decision = decideRoute(this.screens, target, {
      signedIn: this.app.account.signedIn(),
      manager: this.app.account.isManager(),
      hasTill: !!this.app.till,
    });
    if (decision.redirect) {
      if (decision.flash) this.app.flash = decision.flash;
      this.go(decision.redirect);
      return;
    }
    if (this.view && this.view.unmount) this.view.unmount();
    this.view = null;
    this.current = target;
    document.body.dataset.screen = target.name;
    this.view = this.screens[target.name].mount(this.root, this.app, target.args) || null;
  }
}
