// profile.js: what one terminal profile keeps in the browser's localStorage: who is
// signed in (user token), which session this terminal works in (terminal token,
// session, config) and the terminal's own id. Each profile has a namespace, the `t`
// URL parameter ("?t=2"), so two terminals can share one browser for testing, and
// this till's own settings (how large a quantity needs confirming).
// DOM-free (the storage is passed in), so it runs under `node --test`.

const NAMESPACE_MAX_CHARS = 32;

/** This till's own settings, with their defaults and bounds. */
export const SETTINGS = {
  /** A quantity above this many units is held on the numpad until confirmed. */
  qty_confirm_above: { default: 100, min: 1, max: 1_000_000 },
};

/** Settings as stored, each one checked: a missing or bad value gets its default. */
export function parseSettings(stored) {
  const out = {};
  for (const [name, rule] of Object.entries(SETTINGS)) {
    const v = stored && typeof stored === 'object' ? stored[name] : undefined;
    out[name] = Number.isInteger(v) && v >= rule.min && v <= rule.max ? v : rule.default;
  }
  return out;
}

/** The profile namespace from a URL query string ("?t=bar" -> "bar"). */
export function profileNamespace(search) {
  const raw = new URLSearchParams(search || '').get('t') || 'default';
  return raw.replace(/[^\w-]/g, '').slice(0, NAMESPACE_MAX_CHARS) || 'default';
}

/** How many tabs of one browser can each be a till of their own. */
export const TABS_PER_PROFILE_MAX = 9;

/**
 * The namespaces a tab tries, in order, when it opens `ns`: `ns` itself, then
 * one per further tab ("default" -> "2", "3", ...; "bar" -> "bar-2", ...).
 * Each tab is its own terminal, with its own terminal id and token; the first
 * free one is taken (app.js holds it with a Web Lock for the life of the tab).
 */
export function tabNamespaces(ns) {
  const out = [ns];
  for (let n = 2; n <= TABS_PER_PROFILE_MAX; n += 1) {
    const suffix = ns === 'default' ? `${n}` : `-${n}`;
    const base = ns === 'default' ? '' : ns.slice(0, NAMESPACE_MAX_CHARS - suffix.length);
    out.push(`${base}${suffix}`);
  }
  return out;
}

export class Profile {
  /**
   * @param {string} ns
   * @param {{getItem(k:string):string|null, setItem(k:string, v:string):void}} storage localStorage
   * @param {() => string} newId   a fresh terminal UUID
   */
  constructor(ns, storage, newId) {
    this.ns = ns;
    this.storage = storage;
    this.newId = newId;
    this.authKey = `possync:${ns}:auth`;
    this.terminalKey = `possync:${ns}:terminal`;
    this.settingsKey = `possync:${ns}:settings`;
  }

  /** This till's settings (see SETTINGS). */
  loadSettings() {
    try {
      return parseSettings(JSON.parse(this.storage.getItem(this.settingsKey)));
    } catch {
      return parseSettings(null);
    }
  }

  saveSettings(settings) {
    this.storage.setItem(this.settingsKey, JSON.stringify(parseSettings(settings)));
  }

  /** The stored sign-in record: {user_token, user, terminal_token, terminal_id, session, config}. */
  loadAuth() {
    try {
      const parsed = JSON.parse(this.storage.getItem(this.authKey));
      return parsed && typeof parsed === 'object' ? parsed : {};
    } catch {
      return {};
    }
  }

  saveAuth(auth) {
    this.storage.setItem(this.authKey, JSON.stringify(auth));
  }

  /**
   * A new tab's profile starts signed in as the person of the tab it came from
   * (same user token), but never with that tab's session: the terminal token and
   * terminal id are the other tab's own. Nothing changes when this profile already
   * has a sign-in or a session.
   * @param {Profile} from
   */
  adoptSignIn(from) {
    const mine = this.loadAuth();
    if (mine.user_token || mine.terminal_token) return;
    const theirs = from.loadAuth();
    if (!theirs.user_token) return;
    this.saveAuth({ user_token: theirs.user_token, user: theirs.user });
  }

  /** A fresh terminal UUID, for a new terminal token. */
  newTerminalId() {
    return this.newId();
  }

  /** The profile's first terminal UUID, made once and kept (records that predate
   * `auth.terminal_id` used it with their token). */
  terminalId() {
    let id = this.storage.getItem(this.terminalKey);
    if (!id) {
      id = this.newId();
      this.storage.setItem(this.terminalKey, id);
    }
    return id;
  }
}
