// profile.js: what one terminal profile keeps in the browser's localStorage: who is
// signed in (user token), which session this terminal works in (terminal token,
// session, config) and the terminal's own id. Each profile has a namespace, the `t`
// URL parameter ("?t=2"), so two terminals can share one browser for testing.
// DOM-free (the storage is passed in), so it runs under `node --test`.

const NAMESPACE_MAX_CHARS = 32;

/** The profile namespace from a URL query string ("?t=bar" -> "bar"). */
export function profileNamespace(search) {
  const raw = new URLSearchParams(search || '').get('t') || 'default';
  return raw.replace(/[^\w-]/g, '').slice(0, NAMESPACE_MAX_CHARS) || 'default';
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
  }

  /** The stored sign-in record: {user_token, user, terminal_token, session, config}. */
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

  /** This profile's terminal UUID, made once and kept. */
  terminalId() {
    let id = this.storage.getItem(this.terminalKey);
    if (!id) {
      id = this.newId();
      this.storage.setItem(this.terminalKey, id);
    }
    return id;
  }
}
