// account.js: who is signed in on this terminal profile: sign-in and sign-out with a
// user token, whether that user is a manager, the API client with that token, and
// what a failed user-token call means (401: sign in again; no answer: say so).

import { Api, ApiError } from '../api.js';
import { toast } from '../views/ui.js';

/** How long Sign out waits for the server to revoke the tokens before going on. */
const LOGOUT_WAIT_MS = 3000;

export class Account {
  /** @param {object} app  the app context (auth record, profile, router, lifecycle) */
  constructor(app) {
    this.app = app;
  }

  get user() {
    return this.app.auth.user || null;
  }

  signedIn() {
    return !!this.app.auth.user_token;
  }

  isManager() {
    const { auth } = this.app;
    return !!(auth.user && auth.user.role === 'manager' && auth.user_token);
  }

  /** The HTTP client with the user token, for back-office calls. */
  userApi() {
    return new Api({ token: this.app.auth.user_token });
  }

  async login(login, password) {
    const r = await new Api().login(login, password);
    this.app.auth.user_token = r.token;
    this.app.auth.user = r.user;
    this.app.saveAuth();
    this.app.router.go(this.app.till ? '#/pos' : '#/session');
  }

  /** Signs out: the server revokes this device's tokens (POST /logout), so a
   * copy of them left anywhere stops working, and the device forgets them. The
   * revocation is waited for briefly, never blocking a till that is offline. */
  async logout() {
    const { user_token: userToken, terminal_token: terminalToken } = this.app.auth;
    this.app.lifecycle.stop();
    const revocations = [terminalToken, userToken].filter(Boolean).map((token) => new Api({ token }).logout().catch(() => {}));
    await Promise.race([Promise.all(revocations), new Promise((resolve) => { setTimeout(resolve, LOGOUT_WAIT_MS); })]);
    this.app.auth = {};
    this.app.saveAuth();
    this.app.flash = 'Signed out. Drafts stay saved on this device.';
    this.app.router.go('#/login');
  }

  /** A user-token call failed: a bad token means signing in again; anything else is
   * shown in `errorEl` (or a toast). */
  handleUserError(err, errorEl) {
    if (err instanceof ApiError && err.status === 401) {
      this.app.auth.user_token = null;
      this.app.saveAuth();
      this.app.flash = 'Please sign in again.';
      this.app.router.go('#/login');
      return;
    }
    const text = err instanceof ApiError && err.unreachable ? 'The server cannot be reached.' : (err && err.message) || 'Request failed';
    if (errorEl) errorEl.textContent = text;
    else toast(text, 'warn');
  }
}
