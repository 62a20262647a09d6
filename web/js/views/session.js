// session.js: after sign-in, pick the counter (config) and open its session with
// the opening cash, or join the session already open there.

import { h, replace } from '../dom.js';
import { parseMoney } from '../money.js';

export function mountSession(root, app) {
  let configs = [];
  let chosen = null;
  const list = h('div', { class: 'config-list', testid: 'config-picker', role: 'radiogroup', 'aria-label': 'Counter' });
  const cash = h('input', { type: 'text', inputmode: 'decimal', id: 'opening-cash', testid: 'opening-cash', placeholder: '0.00', autocomplete: 'off' });
  const cashRow = h('div', { class: 'field' }, h('label', { for: 'opening-cash' }, 'Opening cash'), cash);
  const error = h('p', { class: 'form-error', testid: 'session-error', role: 'alert' }, app.flash || '');
  app.flash = '';
  const open = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'session-open', disabled: true }, 'Open session');
  const resume = h('div', {});

  function render() {
    replace(list, configs.length ? configs.map((c) => h('button', {
      type: 'button', role: 'radio', 'aria-checked': String(chosen && chosen.id === c.id),
      class: ['config-option', chosen && chosen.id === c.id ? 'active' : null], testid: 'config-option', 'data-config-id': c.id,
      onclick: () => { chosen = c; render(); },
    },
    h('span', { class: 'config-name' }, c.name),
    h('span', { class: ['tag', c.open_session_id ? 'tag-open' : null] }, c.open_session_id ? 'session open' : 'closed'))) : h('p', { class: 'empty' }, 'Loading counters…'));
    cashRow.hidden = !chosen || !!chosen.open_session_id;
    open.disabled = !chosen;
    open.textContent = chosen && chosen.open_session_id ? `Join session at ${chosen.name}` : chosen ? `Open session at ${chosen.name}` : 'Open session';
    replace(resume, app.till ? h('button', { type: 'button', class: 'btn btn-block', testid: 'session-resume', onclick: () => { location.hash = '#/pos'; } }, `Back to ${app.till.config.name}`) : null);
  }

  const form = h('form', {
    class: 'card session-card',
    onsubmit: async (e) => {
      e.preventDefault();
      if (!chosen) return;
      error.textContent = '';
      let opening;
      if (!chosen.open_session_id && cash.value.trim() !== '') {
        opening = parseMoney(cash.value);
        if (opening === null || opening < 0) {
          error.textContent = 'The opening cash is not a valid amount.';
          cash.focus();
          return;
        }
      }
      open.disabled = true;
      try {
        await app.lifecycle.openSession(chosen, opening);
      } catch (err) {
        error.textContent = err.message || 'Could not open the session.';
        open.disabled = false;
      }
    },
  },
  h('h1', {}, 'Choose your counter'),
  h('p', { class: 'muted', testid: 'session-user' }, app.auth.user ? `Signed in as ${app.auth.user.name}` : ''),
  list, cashRow, error, open, resume,
  h('div', { class: 'row-links' },
    app.account.isManager() ? h('a', { href: '#/office/configs', testid: 'backoffice-link' }, 'Back office') : null,
    h('button', { type: 'button', class: 'link', testid: 'logout', onclick: () => app.account.logout() }, 'Sign out')));

  replace(root, h('main', { class: 'screen screen-center' }, form));
  render();
  const api = app.account.userApi();
  Promise.all([api.configs(), api.me()]).then(([got, me]) => {
    configs = countersOf(me.user, got);
    const last = app.auth.config && configs.find((c) => c.id === app.auth.config.id);
    chosen = last || (configs.length === 1 ? configs[0] : null);
    render();
    if (!configs.length) replace(list, h('p', { class: 'empty', testid: 'no-counters' }, app.account.isManager() ? 'No counters yet: create one in the back office.' : 'No counter is assigned to you: ask a manager.'));
  }).catch((err) => app.account.handleUserError(err, error));
  return { unmount() {} };
}


/** The counters `user` may open, by name: a manager any, a cashier those in their `config_ids`. */
export function countersOf(user, configs) {
  const mine = user && user.role === 'manager' ? configs : configs.filter((c) => ((user && user.config_ids) || []).includes(c.id));
  return mine.slice().sort((a, b) => a.name.localeCompare(b.name));
}
