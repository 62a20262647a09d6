// lifecycle.js: the life of this terminal's till. Opening or joining a session
// (terminal token), starting the Till for it and stopping it, noticing that the
// session ended elsewhere (closed from the back office, token revoked), and
// closing it from the till's menu with the counted cash and its report; and asking
// a manager to approve a money op the server refused for rights.

import { Api, ApiError } from '../api.js';
import { Till } from '../till.js';
import { toast } from '../views/ui.js';
import { askCountedCash, openDraftsWarning } from '../views/dialogs/countedcash.js';
import { showSessionReportDialog } from '../views/dialogs/sessionreport.js';
import { askApproval } from '../views/dialogs/approval.js';
import { describeOp, needsPriceControl } from '../wording.js';

export class TillLifecycle {
  /** @param {object} app  the app context (auth record, profile, router, account) */
  constructor(app) {
    this.app = app;
  }

  /** Open (or join) the session of `config` and start its till. */
  async openSession(config, opening_cash) {
    const { app } = this;
    const r = await app.account.userApi().openSession(config.id, opening_cash);
    let cfg = { id: config.id, name: config.name, auto_share: !!config.auto_share, sync_with: config.sync_with || [] };
    try {
      const me = await new Api({ token: r.terminal_token }).me();
      if (me && me.config) cfg = { ...cfg, ...me.config };
    } catch {
      /* the configs list already told us enough */
    }
    this.stop();
    app.auth.terminal_token = r.terminal_token;
    // A terminal id belongs to the token that first names it (the server refuses
    // it to any other token): a new token is a new terminal.
    app.auth.terminal_id = app.profile.newTerminalId();
    app.auth.session = r.session;
    app.auth.config = cfg;
    app.saveAuth();
    await this.start();
    app.router.go('#/pos');
  }

  /** True when the stored record names a session to work in. */
  canResume() {
    const { auth } = this.app;
    return !!(auth.terminal_token && auth.session && auth.config);
  }

  async start() {
    const { app } = this;
    const auth = app.auth;
    if (!auth.terminal_id) {
      // A record from before terminal ids followed tokens: this token has used the profile's id.
      auth.terminal_id = app.profile.terminalId();
      app.saveAuth();
    }
    const till = new Till({
      ns: app.profile.ns,
      terminalId: auth.terminal_id,
      api: new Api({ token: auth.terminal_token }),
      auth: { terminal_token: auth.terminal_token, session: auth.session, config: auth.config, user: auth.user },
    });
    app.till = till;
    till.subscribe((e) => this.onTillEvent(e));
    await till.open();
  }

  stop() {
    const { app } = this;
    if (!app.till) return;
    app.till.stop();
    app.till = null;
  }

  onTillEvent(e) {
    const { app } = this;
    if (e.type === 'toast') toast(e.text, e.tone);
    if (e.type === 'welcome' && app.till) {
      app.auth.config = { ...app.auth.config, ...app.till.auth.config };
      app.auth.session = { ...app.auth.session, ...app.till.auth.session };
      app.saveAuth();
    }
    if (e.type === 'auth_failed') this.sessionEnded();
    if (e.type === 'disconnected' && e.failures % 3 === 1) this.checkTerminal();
    if (e.type === 'reject' && e.code === 'forbidden' && e.op && needsPriceControl(e.op)) this.askManager(e);
  }

  /** A price, discount or return refused at a counter that keeps them for managers:
   * a manager may approve it on the spot. One dialog at a time: a refusal that
   * comes while it is open (the numpad sends a discount as it is typed, "1" then
   * "10") replaces the op it approves, so the manager approves what is on screen. */
  async askManager(e) {
    const till = this.app.till;
    if (!till) return;
    this.refusedOp = e;
    if (this.approving) return;
    this.approving = true;
    const words = (refused) => `${describeOp(refused.op, { productName: (id) => till.catalog.products.get(id)?.name })}: this counter keeps prices, discounts and returns for managers.`;
    try {
      await askApproval(till, {
        what: words(e),
        send: (approval) => till.sendApproved(this.refusedOp.order_id, this.refusedOp.op, approval),
      });
    } finally {
      this.approving = false;
      this.refusedOp = null;
    }
  }

  /** After failed connects, ask over HTTP whether the terminal token still holds:
   * a WebSocket refused for a bad token looks just like a network failure. */
  async checkTerminal() {
    const till = this.app.till;
    if (!till) return;
    try {
      const me = await till.api.me();
      if (me && me.session && me.session.state === 'closed') this.sessionEnded();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) this.sessionEnded();
    }
  }

  sessionEnded() {
    const { app } = this;
    if (!app.till) return;
    const pending = app.till.pendingCount();
    this.stop();
    app.auth.terminal_token = null;
    app.saveAuth();
    app.flash = `The session at this counter has ended. ${pending ? `${pending} unsent change${pending === 1 ? ' is' : 's are'} kept on this device and will be sent from the next session.` : 'Open or join a session to go on.'}`;
    // A manager who closed this counter's session from the back office stays there
    // (to read the report); the till screens have nothing left to show.
    if (app.router.parse().name === 'office') {
      toast(app.flash, 'info');
      app.flash = '';
      return;
    }
    app.router.go(app.account.signedIn() ? '#/session' : '#/login');
  }

  /** Tell the others which order this terminal has open (null: none). */
  setPresence(order_id) {
    const till = this.app.till;
    if (till && till.sync) till.sync.setPresence(order_id);
  }

  /** The till menu's "Close session…": counted cash, close, the report. */
  async closeSession() {
    const { app } = this;
    const till = app.till;
    if (!till) return;
    if (!app.account.signedIn()) {
      toast('Sign in again to close the session', 'warn');
      return;
    }
    const answer = await askCountedCash({
      title: `Close the session at ${till.config.name}`,
      warning: openDraftsWarning(till.drafts(), till.config, till.linkedConfigs),
    });
    if (!answer) return;
    // Closing revokes the till's token: nothing more goes out with it (the
    // printer's poll, say), and what already went is answered before the close.
    await till.api.hold();
    try {
      const report = await app.account.userApi().closeSession(till.session.id, answer.counted ?? undefined);
      this.stop();
      app.auth.terminal_token = null;
      app.saveAuth();
      // The counter's receipt printer prints the report too, when it has one.
      const userApi = app.account.userApi();
      const printer = await userApi.printerStatus(till.config.id).catch(() => null);
      await showSessionReportDialog(report, {
        configName: till.config.name,
        printOnPrinter: printer && printer.state !== 'none'
          ? () => userApi.post(`/sessions/${report.session.id}/print`, {})
          : null,
      });
      app.router.go('#/session');
    } catch (err) {
      // Still open (refused, or the server unreachable): the till goes on with its token.
      if (app.till === till) till.api.release();
      app.account.handleUserError(err);
    }
  }
}
