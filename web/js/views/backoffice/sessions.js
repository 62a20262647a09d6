// sessions.js: the back office's sessions: open a session at a closed counter (with
// opening cash), the list of sessions newest first, close an open one with the
// counted cash (the shared dialog), and each session's report.

import { h, replace } from '../../dom.js';
import { formatMoney, parseMoney } from '../../money.js';
import { toast } from '../ui.js';
import { askCountedCash, openDraftsWarning } from '../dialogs/countedcash.js';
import { renderSessionReport } from '../dialogs/sessionreport.js';
import { nameIn } from './lookups.js';
import { sectionHead, errorLine, listTable, emptyRow } from './layout.js';

export const sessionsSection = { key: 'sessions', title: 'Sessions', mount: (ctx, id) => mountSessions(ctx, id) };

async function mountSessions(ctx, id) {
  // Paged (PROTOCOL.md "Paging"): the newest sessions now, older ones on "Load more".
  const [first, configs] = await Promise.all([ctx.api.sessionsPage(), ctx.api.configs()]);
  const sessions = first.items;
  let next = first.next;
  const configName = (cid) => nameIn(configs, cid);
  if (id) {
    const [report, users] = await Promise.all([ctx.api.sessionReport(id), ctx.api.list('users').catch(() => [])]);
    replace(ctx.content,
      sectionHead(`Session #${id}`, h('button', { class: 'btn', testid: 'bo-session-print', onclick: () => window.print() }, 'Print'), h('a', { class: 'btn', href: '#/office/sessions' }, 'All sessions')),
      renderSessionReport(report, { configName: configName(report.session && report.session.config_id), userName: (uid) => nameIn(users, uid) }));
    return;
  }
  const closedConfigs = configs.filter((c) => !c.open_session_id);
  const configSelect = h('select', { testid: 'bo-session-config', 'aria-label': 'Counter' },
    closedConfigs.map((c) => h('option', { value: String(c.id) }, c.name)));
  const opening = h('input', { type: 'text', inputmode: 'decimal', testid: 'bo-session-opening', placeholder: 'Opening cash', 'aria-label': 'Opening cash' });
  const error = errorLine();
  const openForm = h('form', {
    class: 'inline-form', testid: 'bo-session-form',
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = '';
      const cash = opening.value.trim() === '' ? undefined : parseMoney(opening.value);
      if (cash === null) { error.textContent = 'Opening cash: not a valid amount'; return; }
      try {
        await ctx.api.openSession(Number(configSelect.value), cash);
        toast('Session opened', 'info');
        mountSessions(ctx, null).catch(ctx.fail);
      } catch (err) {
        error.textContent = err.message;
      }
    },
  }, configSelect, opening, h('button', { type: 'submit', class: 'btn btn-primary', testid: 'bo-session-open', disabled: !closedConfigs.length }, 'Open session'));

  async function closeSession(s) {
    // The drafts that stay open, and the linked counters that keep seeing the shared ones.
    let warning = null;
    try {
      const drafts = await ctx.api.allPages('/orders?state=draft&limit=1000');
      const config = configs.find((c) => c.id === s.config_id) || { id: s.config_id, name: configName(s.config_id) };
      const linked = configs.filter((c) => (config.sync_with || []).includes(c.id));
      warning = openDraftsWarning(drafts, config, linked);
    } catch (err) {
      toast(`Open orders could not be read: ${err.message}`, 'warn');
    }
    const answer = await askCountedCash({ title: `Close session #${s.id} at ${configName(s.config_id)}`, warning });
    if (!answer) return;
    try {
      await ctx.api.closeSession(s.id, answer.counted ?? undefined);
      location.hash = `#/office/sessions/${s.id}`;
    } catch (err) {
      toast(err.message, 'warn');
    }
  }

  const sessionRow = (s) => h('tr', { testid: 'bo-row', 'data-id': s.id, 'data-state': s.state },
    h('td', {}, String(s.id)),
    h('td', {}, configName(s.config_id)),
    h('td', {}, h('span', { class: ['tag', s.state === 'open' ? 'tag-open' : null] }, s.state)),
    h('td', {}, s.opened_at ? new Date(s.opened_at).toLocaleString() : ''),
    h('td', {}, s.closed_at ? new Date(s.closed_at).toLocaleString() : '—'),
    h('td', { class: 'num' }, formatMoney(s.opening_cash ?? 0)),
    h('td', { class: 'num' }, s.counted_cash == null ? '—' : formatMoney(s.counted_cash)),
    h('td', { class: 'actions' },
      h('a', { class: 'btn btn-small', href: `#/office/sessions/${s.id}`, testid: 'bo-session-report' }, 'Report'),
      s.state === 'open' ? h('button', { class: 'btn btn-small btn-danger-ghost', testid: 'bo-session-close', onclick: () => closeSession(s) }, 'Close…') : null));
  const tbody = h('tbody', {}, sessions.length ? sessions.map(sessionRow) : emptyRow(8, 'No sessions yet.'));
  const more = h('button', { type: 'button', class: 'btn', testid: 'bo-load-more', hidden: !next }, 'Load more');
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const page = await ctx.api.page(next);
      for (const s of page.items) tbody.append(sessionRow(s));
      next = page.next;
      more.hidden = !next;
    } catch (err) {
      toast(err.message, 'warn');
    }
    more.disabled = false;
  });

  replace(ctx.content,
    sectionHead('Sessions'),
    openForm, error,
    listTable(['#', 'Counter', 'State', 'Opened', 'Closed', 'Opening cash', 'Counted', ''], tbody),
    h('div', { class: 'form-actions' }, more));
}
