// audit.js: the back office's audit trail (`GET /audit`): who changed links, prices,
// users, configs, the catalog, or closed a session, and when; newest first, a page
// at a time.

import { h, replace } from '../../dom.js';
import { formatMoney } from '../../money.js';
import { toast } from '../ui.js';
import { nameIn } from './lookups.js';
import { sectionHead, listTable, emptyRow } from './layout.js';

export const auditSection = { key: 'audit', title: 'Audit trail', mount: (ctx) => mountAudit(ctx) };

/** Fields of the details that are money in minor units, shown as the till shows money. */
const MONEY_FIELDS = new Set(['price', 'counted_cash']);

function showValue(key, value) {
  return MONEY_FIELDS.has(key) && Number.isInteger(value) ? formatMoney(value) : JSON.stringify(value);
}

/** A short, readable account of an entry's details. */
export function describeAudit(entry) {
  const d = entry.details || {};
  if (entry.action === 'links.set') return `linked to [${(d.before || []).join(', ')}] → [${(d.after || []).join(', ')}]`;
  if (entry.action === 'session.close') return d.counted_cash == null ? 'closed' : `closed, counted ${formatMoney(d.counted_cash)}`;
  if (d.before && d.after) {
    const changed = Object.keys(d.after).filter((k) => JSON.stringify(d.after[k]) !== JSON.stringify(d.before[k]));
    const parts = changed.map((k) => `${k}: ${showValue(k, d.before[k])} → ${showValue(k, d.after[k])}`);
    if (d.password_changed) parts.push('password changed');
    // The PIN itself is never in the trail, only that it changed.
    if (d.pin_changed) parts.push(d.has_pin ? 'PIN set' : 'PIN removed');
    return parts.join('; ') || 'no change';
  }
  const parts = Object.entries(d).filter(([, v]) => v != null).map(([k, v]) => `${k}: ${showValue(k, v)}`);
  return parts.join('; ');
}

/** What an entry was done to, by name when there is one: the name its details
 * recorded at the time, else `currentName(kind, id)`, with the target itself
 * ("product 12") in brackets; the target alone when no name is known. */
export function describeTarget(entry, currentName = () => '') {
  const target = String(entry.target || '');
  const [kind, id] = target.split(' ');
  const d = entry.details || {};
  const name = (d.after && d.after.name) || d.name || currentName(kind, Number(id));
  return name ? `${name} (${target})` : target;
}

async function mountAudit(ctx) {
  const [first, users, products, configs] = await Promise.all([ctx.api.page('/audit?limit=100'),
    ctx.api.list('users'), ctx.api.list('products'), ctx.api.list('configs')]);
  const lists = { user: users, product: products, config: configs };
  const currentName = (kind, id) => (lists[kind] || []).find((x) => x.id === id)?.name || '';
  let next = first.next;
  const row = (e) => h('tr', { testid: 'audit-row', 'data-action': e.action },
    h('td', {}, e.at ? new Date(e.at).toLocaleString() : ''),
    h('td', { testid: 'audit-who' }, nameIn(users, e.user_id)),
    h('td', { testid: 'audit-action' }, e.action),
    h('td', { testid: 'audit-target' }, describeTarget(e, currentName)),
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
