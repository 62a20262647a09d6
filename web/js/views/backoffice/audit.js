// audit.js: the back office's audit trail (`GET /audit`): who changed links, prices,
// users, configs, the catalog, or closed a session, and when; newest first, a page
// at a time.

import { h, replace } from '../../dom.js';
import { toast } from '../ui.js';
import { nameIn } from './lookups.js';
import { sectionHead, listTable, emptyRow } from './layout.js';

export const auditSection = { key: 'audit', title: 'Audit trail', mount: (ctx) => mountAudit(ctx) };

/** A short, readable account of an entry's details. */
export function describeAudit(entry) {
  const d = entry.details || {};
  if (entry.action === 'links.set') return `linked to [${(d.before || []).join(', ')}] → [${(d.after || []).join(', ')}]`;
  if (entry.action === 'session.close') return d.counted_cash == null ? 'closed' : `closed, counted ${d.counted_cash}`;
  if (d.before && d.after) {
    const changed = Object.keys(d.after).filter((k) => JSON.stringify(d.after[k]) !== JSON.stringify(d.before[k]));
    const parts = changed.map((k) => `${k}: ${JSON.stringify(d.before[k])} → ${JSON.stringify(d.after[k])}`);
    if (d.password_changed) parts.push('password changed');
    return parts.join('; ') || 'no change';
  }
  return JSON.stringify(d);
}

async function mountAudit(ctx) {
  const [first, users] = await Promise.all([ctx.api.page('/audit?limit=100'), ctx.api.list('users')]);
  let next = first.next;
  const row = (e) => h('tr', { testid: 'audit-row', 'data-action': e.action },
    h('td', {}, e.at ? new Date(e.at).toLocaleString() : ''),
    h('td', { testid: 'audit-who' }, nameIn(users, e.user_id)),
    h('td', { testid: 'audit-action' }, e.action),
    h('td', {}, e.target),
    h('td', { testid: 'audit-what' }, describeAudit(e)));
  const tbody = h('tbody', {}, first.items.length ? first.items.map(row) : emptyRow(5, 'Nothing recorded yet.'));
  const more = h('button', { type: 'button', class: 'btn', testid: 'bo-load-more', hidden: !next }, 'Load more');
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const page = await ctx.api.page(next);
      for (const e of page.items) tbody.append(row(e));
      next = page.next;
      more.hidden = !next;
    } catch (err) {
      toast(err.message, 'warn');
    }
    more.disabled = false;
  });
  replace(ctx.content, sectionHead('Audit trail'), listTable(['When', 'Who', 'What', 'On', 'Change'], tbody),
    h('div', { class: 'form-actions' }, more));
}
